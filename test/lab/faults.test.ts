/**
 * Faults on `kmodlab lab up`, seen as a cluster shows them (bin/kmodlab.js and kubectl; needs
 * `npm run build`), never crashing the lab (a kernel refusing an unsigned module is in
 * signing.test.ts, on its Secure Boot node with module.sig_enforce=1):
 *   - a node whose QEMU is killed while a layering rollout drains it is seen dead
 *     (Ready=Unknown), restarted (the lab's machine health check), and the rollout completes:
 *     both nodes on the layered image with its module loaded, never two down at once
 *     (maxUnavailable 1);
 *   - with maxUnavailable 2 the pool updates both nodes at once.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTool } from '../../src/targets/lab/host/tools.js';
import type { LabState } from '../../src/targets/lab/up/state.js';
import { kubectlBinary } from './api-server-helpers.js';
import { labAvailability, pollUntil, primaryKernel, skipReason } from './helpers.js';
import { LabUpHarness, runtimeBaseOf } from './lab-up-harness.js';
import { buildAsBuildSh } from './layering-build-sh.js';

const lab = labAvailability();
const missing = ['buildah', 'skopeo', 'docker-registry', 'mkfs.erofs'].filter((t) => !findTool(t));
const ok = lab.ok && missing.length === 0 && !!kubectlBinary();
const why = !lab.ok ? skipReason(lab) : ` [SKIPPED: ${missing.length ? `not installed: ${missing.join(', ')}` : 'no kubectl'}]`;
const kernel = lab.ok ? primaryKernel(lab.kernels.filter((k) => !k.flavour.startsWith('rt'))) : undefined;

interface Pod {
  metadata: { name: string };
  spec: { nodeName?: string };
}
interface Node {
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: { unschedulable?: boolean };
  status: { nodeInfo: { bootID: string; kernelVersion: string }; conditions: { type: string; status: string; reason?: string }[] };
}

describe.skipIf(!ok)(`lab faults on two nodes: a node killed mid-rollout, maxUnavailable${ok ? '' : why}`, () => {
  const h = new LabUpHarness('faults-2n', { timeoutMs: 1_500_000 });
  const { dir, kubectl } = h;
  let runtimeBase: string;
  const nodes = async () => JSON.parse((await kubectl('get', 'nodes', '-o', 'json')).stdout).items as Node[];
  const pool = async () => JSON.parse((await kubectl('get', 'mcp', 'worker', '-o', 'json')).stdout) as { spec: { configuration?: { name?: string } } };
  const state = () => JSON.parse(readFileSync(path.join(dir, 'cache', 'lab-api', 'lab.json'), 'utf8')) as LabState;

  /** Samples the Nodes every `everyMs` until stopped: how many were cordoned at once, and what `onSample` did. */
  function watchNodes(onSample: (ns: Node[]) => void = () => undefined, everyMs = 500) {
    let stop = false;
    let maxCordoned = 0;
    const samples: Node[][] = [];
    const loop = (async () => {
      while (!stop) {
        const ns = await nodes().catch(() => [] as Node[]);
        samples.push(ns);
        maxCordoned = Math.max(maxCordoned, ns.filter((n) => n.spec?.unschedulable).length);
        onSample(ns);
        await new Promise((r) => setTimeout(r, everyMs));
      }
    })();
    return {
      samples,
      stop: async () => {
        stop = true;
        await loop;
        return maxCordoned;
      },
    };
  }

  /** Waits for the pool to render a config other than `before`, then for it to be Updated on it. */
  async function rolledOut(before: string): Promise<string> {
    const p = await pollUntil(pool, (x) => (x.spec.configuration?.name ?? before) !== before, 60_000, 500);
    const target = p.spec.configuration!.name!;
    expect(target, 'the pool was not rendered again').not.toBe(before);
    const w = await kubectl('wait', 'mcp/worker', `--for=jsonpath={.status.configuration.name}=${target}`, '--timeout=1200s');
    expect(w.code, `${w.stderr}\n${h.logTail(30, /machine-config|crash|restart/)}`).toBe(0);
    const u = await kubectl('wait', 'mcp/worker', '--for=condition=Updated', '--timeout=120s');
    expect(u.code, u.stderr).toBe(0);
    return target;
  }

  /** The modules each node has loaded, seen from a pod per node (a DaemonSet's pods' logs). */
  async function loadedPerNode(): Promise<Map<string, string[]>> {
    const f = path.join(dir, 'lsmod.json');
    writeFileSync(f, JSON.stringify({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'lsmod', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'lsmod' } }, template: { metadata: { labels: { app: 'lsmod' } }, spec: { containers: [{ name: 'lsmod', image: runtimeBase, command: ['sh', '-c', 'cut -d" " -f1 /proc/modules; echo end-of-list; exec sleep infinity'] }] } } } }));
    expect((await kubectl('apply', '-f', f)).code).toBe(0);
    const out = new Map<string, string[]>();
    await pollUntil(
      async () => {
        const pods = (JSON.parse((await kubectl('get', 'pods', '-l', 'app=lsmod', '-o', 'json')).stdout) as { items: Pod[] }).items;
        for (const p of pods) {
          const logs = (await kubectl('logs', p.metadata.name)).stdout;
          if (logs.includes('end-of-list') && p.spec.nodeName) out.set(p.spec.nodeName, logs.split('\n').filter((l) => l && l !== 'end-of-list'));
        }
        return out.size;
      },
      (n) => n >= 2,
      240_000,
      1_000,
    );
    await kubectl('delete', 'ds', 'lsmod', '--wait=true');
    return out;
  }

  beforeAll(async () => {
    const { release, up } = await h.start({ kernel: kernel!, upArgs: ['--nodes', '2', '--kernel', kernel!.kver] });
    expect(up.code, up.stderr).toBe(0);
    runtimeBase = runtimeBaseOf(release);
  }, 1_200_000);
  afterAll(() => h.stop(), 600_000);

  it('a node killed in the middle of a layering rollout is detected, restarted, and the rollout completes', async () => {
    // Render for the lab release, build and push as build.sh does, pin the digest (lab-up-mco.test.ts).
    const info = await h.kmodlab('lab', 'release-info', kernel!.kver);
    writeFileSync(path.join(dir, 'release.json'), info.stdout);
    const out = path.join(dir, 'out');
    const r = await h.kmodlab('render', '--method', 'layering', '--pool', 'worker', '--registry', h.registry.prefix, '--release-info', path.join(dir, 'release.json'), '--output-dir', out);
    expect(r.code, r.stderr).toBe(0);
    const { repo, digest, machineConfig: mcFile } = await buildAsBuildSh(path.join(out, 'layering'), 'worker', path.join(dir, 'layering-build.log'));
    const layered = `${repo}@${digest}`;

    const start = (await pool()).spec.configuration!.name!;
    const qemu = new Map(state().nodes.map((n) => [n.name, n.qemuPid!]));
    let killed: string | undefined;
    let killedBoot: string | undefined;
    // Pull the plug on the first node the rollout drains, as soon as it is cordoned for it.
    const watch = watchNodes((ns) => {
      if (killed) return;
      const n = ns.find((x) => x.metadata.annotations?.['machineconfiguration.openshift.io/desiredDrain']?.startsWith('drain-') && x.metadata.annotations?.['machineconfiguration.openshift.io/desiredConfig'] !== start);
      if (!n) return;
      killed = n.metadata.name;
      killedBoot = n.status.nodeInfo.bootID;
      process.kill(qemu.get(killed)!, 'SIGKILL');
    });
    expect((await kubectl('apply', '-f', mcFile)).code).toBe(0);
    const target = await rolledOut(start);
    const maxCordoned = await watch.stop();

    expect(killed, 'the rollout drained a node').toBeDefined();
    // Detected: the node lifecycle controller saw the heartbeats stop (Ready=Unknown).
    const seenUnknown = watch.samples.some((ns) => ns.find((n) => n.metadata.name === killed)?.status.conditions.find((c) => c.type === 'Ready')?.status === 'Unknown');
    expect(seenUnknown, 'the killed node was seen Ready=Unknown').toBe(true);
    // Restarted by the lab's machine health check, then rebooted by the rollout.
    const log = readFileSync(h.labLog, 'utf8');
    expect(log).toMatch(new RegExp(`node ${killed}: crashed \\(.*QEMU exited unexpectedly \\(code null, signal SIGKILL\\)\\); Ready=Unknown; restarting it`));
    expect(log).toMatch(new RegExp(`node ${killed}: restarted after a crash`));
    const events = JSON.parse((await kubectl('get', 'events', '-n', 'default', '--field-selector', `involvedObject.name=${killed}`, '-o', 'json')).stdout).items as { reason: string; message: string }[];
    expect(events.some((e) => e.reason === 'Rebooted'), JSON.stringify(events)).toBe(true);
    // The rollout completed on both nodes: on the layered config, uncordoned, the baked-in module loaded.
    const rendered = JSON.parse((await kubectl('get', 'mc', target, '-o', 'json')).stdout) as { spec: { osImageURL: string } };
    expect(rendered.spec.osImageURL).toBe(layered);
    for (const n of await nodes()) {
      expect(n.metadata.annotations).toMatchObject({ 'machineconfiguration.openshift.io/currentConfig': target, 'machineconfiguration.openshift.io/state': 'Done' });
      expect(n.spec?.unschedulable ?? false).toBe(false);
      if (n.metadata.name === killed) expect(n.status.nodeInfo.bootID).not.toBe(killedBoot);
    }
    const mods = await loadedPerNode();
    for (const n of ['lab-node-0', 'lab-node-1']) expect(mods.get(n), n).toContain('simple_kmod');
    // maxUnavailable 1 (the default): the two nodes were never cordoned at the same time.
    expect(maxCordoned).toBe(1);
  }, 2_400_000);

  it('a MachineConfigPool with maxUnavailable 2 updates both nodes at once', async () => {
    const p = await kubectl('patch', 'mcp', 'worker', '--type', 'merge', '-p', JSON.stringify({ spec: { maxUnavailable: 2 } }));
    expect(p.code, p.stderr).toBe(0);
    const before = (await pool()).spec.configuration!.name!;
    const boots = new Map((await nodes()).map((n) => [n.metadata.name, n.status.nodeInfo.bootID]));
    const watch = watchNodes();
    // Back to the release's base image: both nodes reboot.
    const mc = JSON.parse((await kubectl('get', 'mc', '-o', 'json')).stdout).items.find((m: { metadata: { name: string } }) => /^99-worker-.*layered/.test(m.metadata.name)).metadata.name as string;
    expect((await kubectl('delete', 'mc', mc)).code).toBe(0);
    const target = await rolledOut(before);
    expect(await watch.stop()).toBe(2);
    for (const n of await nodes()) {
      expect(n.metadata.annotations?.['machineconfiguration.openshift.io/currentConfig']).toBe(target);
      expect(n.status.nodeInfo.bootID).not.toBe(boots.get(n.metadata.name));
    }
  }, 1_800_000);
});
