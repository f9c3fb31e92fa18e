/**
 * The uninstall scenario's `leftovers`: what the removal left on the targeted nodes, as
 * the cluster target reads it through the API — pods in the method's namespaces, a
 * custom OS image the node is still on (the MCO's currentConfig/currentImage annotations
 * against the release's base OS image), KMM node labels.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { listLeftovers, MCO_CURRENT_CONFIG, MCO_CURRENT_IMAGE } from '../../src/targets/cluster/leftovers.js';
import { labApiHarness, referenceDtkSet, type LabApiHarness } from './lab-api-target.js';

const BASE = `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'b'.repeat(64)}`;
const LAYERED = `registry.example/acme/layered@sha256:${'c'.repeat(64)}`;

describe('listLeftovers', () => {
  const node = (annotations: Record<string, string> = {}, labels: Record<string, string> = {}) => ({ name: 'n1', annotations, labels });
  it('nothing on a node back on the base image, with no KMM label and no pod', () => {
    expect(listLeftovers({ nodes: [node({ [MCO_CURRENT_CONFIG]: 'rendered-1' })], pods: [], renderedOsImage: new Map([['rendered-1', BASE]]), baseOSImage: BASE })).toEqual([]);
  });
  it('a rendered config on another image, an on-cluster image, KMM labels and pods are each listed', () => {
    const pods = [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ds-x', namespace: 'drv' }, spec: { nodeName: 'n1' }, status: { phase: 'Running' } }];
    const left = listLeftovers({
      nodes: [node({ [MCO_CURRENT_CONFIG]: 'rendered-2' }, { 'kmm.node.kubernetes.io/drv.simple-kmod.ready': '', 'node-role.kubernetes.io/worker': '' })],
      pods,
      renderedOsImage: new Map([['rendered-2', LAYERED]]),
      baseOSImage: BASE,
    });
    expect(left).toEqual(['n1: pod drv/ds-x (Running)', `n1: custom OS image ${LAYERED}`, 'n1: node label kmm.node.kubernetes.io/drv.simple-kmod.ready']);
    expect(listLeftovers({ nodes: [node({ [MCO_CURRENT_IMAGE]: LAYERED })], pods: [], renderedOsImage: new Map(), baseOSImage: BASE })).toEqual([`n1: custom OS image ${LAYERED}`]);
  });
  it('without the base image to compare with, no image is called custom', () => {
    expect(listLeftovers({ nodes: [node({ [MCO_CURRENT_IMAGE]: LAYERED })], pods: [], renderedOsImage: new Map() })).toEqual([]);
  });
});

describe('ClusterTarget.leftovers() through the lab API server', () => {
  let h: LabApiHarness;
  afterEach(async () => {
    await h?.stop();
  });

  async function create(obj: unknown): Promise<void> {
    const r = await h.api.kubectl(['create', '-f', h.api.file(`obj-${Math.random().toString(36).slice(2)}.json`, JSON.stringify(obj))]);
    expect(r.code, r.stderr).toBe(0);
  }

  it('after a removal: the layered image the node is still on and the KMM label are listed; dry-run lists nothing', async () => {
    h = await labApiHarness();
    await create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'openshift-machine-config-operator' } });
    await create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'machine-config-osimageurl', namespace: 'openshift-machine-config-operator' }, data: { baseOSContainerImage: BASE } });
    await create({ apiVersion: 'machineconfiguration.openshift.io/v1', kind: 'MachineConfig', metadata: { name: 'rendered-worker-2' }, spec: { osImageURL: LAYERED } });
    await create({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'worker-0', labels: { 'node-role.kubernetes.io/worker': '', 'kmm.node.kubernetes.io/x.y.ready': '' }, annotations: { [MCO_CURRENT_CONFIG]: 'rendered-worker-2' } },
    });
    const set = await referenceDtkSet();
    const t = await h.connect();
    await t.reset({ release: t.releases().from });
    await t.apply(set);
    await t.remove(set);
    expect(await t.leftovers()).toEqual([`worker-0: custom OS image ${LAYERED}`, 'worker-0: node label kmm.node.kubernetes.io/x.y.ready']);
    await t.close();
    const dry = await h.connect({ dryRun: 'server' });
    expect(await dry.leftovers()).toBeUndefined();
    await dry.close();
  }, 60_000);
});
