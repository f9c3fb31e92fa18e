/**
 * An OS image pull, end to end through the lab API: the machine-config daemon records the
 * pull of a layered image as a `Pulled` Event on the Node (once per digest, the blobs the
 * node did not hold), and the cluster target's event observer reads it back as the node's
 * image-pull. The images are pushed to kmodlab's own registry from hand-made OCI layouts.
 */
import { KubeConfig, type CoreV1Event } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterEventEvents } from '../../src/targets/cluster/observers.js';
import { NodeDaemon } from '../../src/targets/lab/control-plane/api-controllers/mco/daemon.js';
import type { SharedInformers } from '../../src/targets/lab/control-plane/informers.js';
import { run } from '../../src/targets/lab/host/run.js';
import { inspectManifest } from '../../src/targets/lab/images/registry-client.js';
import { openRegistry } from '../../src/targets/lab/images/registry.js';
import type { LabNode } from '../../src/targets/lab/node/node.js';
import { startTestApi } from './api-server-helpers.js';
import { removeTempDirs, tempDir } from './helpers.js';
import { layer, layout } from './oci-layout.js';

afterAll(removeTempDirs);

describe("the machine-config daemon's OS image pull", () => {
  it('is one Pulled Event on the Node per digest, with the layered image’s own blobs; the observer counts it for the node', async () => {
    const registry = await openRegistry({ dir: tempDir('registry') });
    const api = await startTestApi();
    try {
      const push = async (dir: string, repo: string) => {
        await run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${dir}:latest`, `docker://${registry.prefix}/${repo}:latest`]);
        const m = (await inspectManifest(`${registry.prefix}/${repo}:latest`, true))!;
        return { ref: `${registry.prefix}/${repo}@${m.digest}`, manifest: m };
      };
      const baseLayer = await layer({ 'os-release': 'node-os\n'.repeat(2000) });
      const base = await push(layout([baseLayer], 'node-os'), 'node-os');
      const layered = await push(layout([baseLayer, await layer({ 'simple-kmod.ko': 'module\n'.repeat(3000) })], 'layered'), 'simple-kmod-layered');

      const kc = new KubeConfig();
      kc.loadFromFile(api.kubeconfig);
      const node = { name: 'node-0' } as LabNode;
      const daemon = new NodeDaemon({ kc, informers: {} as SharedInformers, insecure: () => true, installedImage: `${registry.prefix}/node-os:latest` }, node);
      const os = { digestRef: layered.ref, kver: '6.1.0-56-amd64', why: 'osImageURL' };
      await daemon.recordPull(os, 2_345);
      // Booted again (a retry, a rollback and forward): the digest is on the node, nothing pulled.
      await daemon.recordPull(os, 10);
      // The node's installed image: held from the start.
      await daemon.recordPull({ digestRef: base.ref, kver: '6.1.0-56-amd64', why: 'base image' }, 10);

      const r = await api.kubectl(['get', 'events', '-n', 'default', '-o', 'json']);
      expect(r.code, r.stderr).toBe(0);
      const events = (JSON.parse(r.stdout) as { items: CoreV1Event[] }).items.filter((e) => e.reason === 'Pulled');
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'Normal', involvedObject: { kind: 'Node', name: 'node-0' }, source: { component: 'machine-config-daemon', host: 'node-0' } });
      const own = layered.manifest.sizeBytes - base.manifest.layers[0]!.size;
      expect(clusterEventEvents('ADDED', { ...events[0], metadata: { name: events[0]!.metadata.name!, namespace: 'default' } } as never)).toEqual([
        ['image-pull', { image: layered.ref, bytes: own, pullMs: 2_345, imageBytes: layered.manifest.sizeBytes, osImage: 'osImageURL' }, 'node-0'],
      ]);
    } finally {
      await api.stop();
      await registry.stop();
    }
  }, 120_000);
});
