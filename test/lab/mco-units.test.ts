/**
 * The lab MCO's pure parts against machine-config-operator release-4.14 semantics: render
 * (merge order, osImageURL override, realtime wins, invalid kernelType), pool membership
 * (master wins on single-node), the node controller's candidates (maxUnavailable, paused,
 * a Degraded node can be retargeted) and the pool status.
 */
import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ANN, candidates, maxUnavailable, nodesOfPool, poolStatus } from '../../src/targets/lab/control-plane/api-controllers/mco/pool-status.js';
import { CURRENT_BUILD_ANNOTATION, layeredBuildWait, MACHINEOSBUILDS, MACHINEOSCONFIGS } from '../../src/targets/lab/control-plane/api-controllers/machineosconfig.js';
import type { SharedInformers } from '../../src/targets/lab/control-plane/informers.js';
import { defaultPool, RenderError, renderPool, templateConfig, type MachineConfig, type MachineConfigPool } from '../../src/targets/lab/control-plane/api-controllers/mco/render.js';
import { repositoryOf } from '../../src/targets/lab/control-plane/api-controllers/mco/os-target.js';

const base = { osImage: 'reg/node-os@sha256:aa', releaseVersion: 'lab-x', controllerVersion: 'v' };
const mc = (name: string, role: string, spec: MachineConfig['spec']): MachineConfig => ({ metadata: { name, labels: { 'machineconfiguration.openshift.io/role': role } }, spec });
const master = (): MachineConfigPool => ({ ...defaultPool('master'), metadata: { name: 'master', uid: 'u1', generation: 2 } });
const worker = (): MachineConfigPool => ({ ...defaultPool('worker'), metadata: { name: 'worker', uid: 'u2', generation: 1 } });

function node(name: string, roles: string[], ann: Record<string, string> = {}, ready = true): V1Node {
  return {
    metadata: { name, labels: Object.fromEntries(roles.map((r) => [`node-role.kubernetes.io/${r}`, ''])), annotations: ann },
    status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}
const at = (cfg: string, desired = cfg, state = 'Done', reason = '') => ({ [ANN.current]: cfg, [ANN.desired]: desired, [ANN.state]: state, [ANN.reason]: reason });

describe('render', () => {
  it('merges the selected configs in name order: last osImageURL wins, realtime wins, base image otherwise', () => {
    const all = [templateConfig('master', 'v'), templateConfig('worker', 'v'), mc('99-b', 'master', { osImageURL: 'reg/b@sha256:bb' }), mc('50-a', 'master', { osImageURL: 'reg/a@sha256:cc', kernelType: 'realtime' }), mc('60-c', 'master', { kernelType: 'default' })];
    const r = renderPool(master(), all, base);
    expect(r.sources.map((s) => s.name)).toEqual(['00-master', '50-a', '60-c', '99-b']);
    expect(r.config.spec).toMatchObject({ osImageURL: 'reg/b@sha256:bb', kernelType: 'realtime' });
    expect(r.config.metadata.name).toMatch(/^rendered-master-[0-9a-f]{32}$/);
    expect(r.config.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'MachineConfigPool', name: 'master', uid: 'u1', controller: true });
    const w = renderPool(worker(), all, base);
    expect(w.config.spec).toMatchObject({ osImageURL: base.osImage, kernelType: 'default' });
    // Same sources → same name; another base image → another name (an upgrade re-renders).
    expect(renderPool(master(), [...all].reverse(), base).config.metadata.name).toBe(r.config.metadata.name);
    expect(renderPool(worker(), all, { ...base, osImage: 'reg/node-os@sha256:dd' }).config.metadata.name).not.toBe(w.config.metadata.name);
  });

  it('an invalid kernelType is a render error naming the config', () => {
    expect(() => renderPool(master(), [templateConfig('master', 'v'), mc('99-x', 'master', { kernelType: 'rt' })], base)).toThrow(RenderError);
    expect(() => renderPool(master(), [mc('99-x', 'master', { kernelType: 'rt' })], base)).toThrow(/99-x: kernelType=rt is invalid/);
  });
});

describe('node controller', () => {
  it('single-node: a master+worker node is in master only', () => {
    const pools = [master(), worker()];
    const sno = [node('n0', ['master', 'control-plane', 'worker'])];
    expect(nodesOfPool(pools[0]!, pools, sno).map((n) => n.metadata!.name)).toEqual(['n0']);
    expect(nodesOfPool(pools[1]!, pools, sno)).toEqual([]);
  });

  it('points at most maxUnavailable nodes at the target, none while paused; a Degraded node is retargeted', () => {
    const p = { ...worker(), spec: { ...worker().spec, configuration: { name: 'rendered-worker-new' } } };
    const nodes = [node('a', ['worker'], at('old')), node('b', ['worker'], at('old')), node('c', ['worker'], at('old'))];
    expect(candidates(p, nodes).map((n) => n.metadata!.name)).toHaveLength(1);
    expect(candidates({ ...p, spec: { ...p.spec, maxUnavailable: 2 } }, nodes)).toHaveLength(2);
    expect(maxUnavailable({ ...p, spec: { maxUnavailable: '50%' } }, 3)).toBe(1);
    expect(candidates({ ...p, spec: { ...p.spec, paused: true } }, nodes)).toEqual([]);
    // One node updating (Working) uses up the capacity.
    expect(candidates(p, [node('a', ['worker'], at('old', 'rendered-worker-new', 'Working')), nodes[1]!])).toEqual([]);
    // A node Degraded on another config is not unavailable: it is retargeted.
    expect(candidates(p, [node('a', ['worker'], at('old', 'rendered-worker-bad', 'Degraded', 'failed'))]).map((n) => n.metadata!.name)).toEqual(['a']);
    // Degraded on the target itself: counts against capacity.
    expect(candidates(p, [node('a', ['worker'], at('old', 'rendered-worker-new', 'Degraded', 'failed')), nodes[1]!])).toEqual([]);
  });

  it('pool status: counts and conditions; status.configuration moves when every node is updated', () => {
    const p: MachineConfigPool = { ...master(), spec: { ...master().spec, configuration: { name: 'rendered-master-new' } }, status: { configuration: { name: 'rendered-master-old' } } };
    const updating = poolStatus(p, [node('n0', ['master'], at('rendered-master-old', 'rendered-master-new', 'Working'))], undefined, 'T');
    expect(updating).toMatchObject({ observedGeneration: 2, machineCount: 1, updatedMachineCount: 0, unavailableMachineCount: 1, degradedMachineCount: 0, configuration: { name: 'rendered-master-old' } });
    const cond = (s: typeof updating, t: string) => s.conditions!.find((c) => c.type === t)!.status;
    expect([cond(updating, 'Updated'), cond(updating, 'Updating'), cond(updating, 'Degraded')]).toEqual(['False', 'True', 'False']);
    const done = poolStatus(p, [node('n0', ['master'], at('rendered-master-new'))], undefined, 'T');
    expect(done).toMatchObject({ updatedMachineCount: 1, readyMachineCount: 1, unavailableMachineCount: 0, configuration: { name: 'rendered-master-new' } });
    expect(cond(done, 'Updated')).toBe('True');
    const degraded = poolStatus(p, [node('n0', ['master'], at('rendered-master-old', 'rendered-master-new', 'Degraded', 'failed to update OS'))], undefined, 'T');
    expect(degraded.degradedMachineCount).toBe(1);
    expect([cond(degraded, 'NodeDegraded'), cond(degraded, 'Degraded')]).toEqual(['True', 'True']);
    expect(degraded.conditions!.find((c) => c.type === 'NodeDegraded')!.message).toContain('failed to update OS');
    const render = poolStatus(p, [], 'kernelType=rt is invalid', 'T');
    expect([cond(render, 'RenderDegraded'), cond(render, 'Degraded')]).toEqual(['True', 'True']);
  });

  it('pool status while its on-cluster layering image is built: Updating with the build named, not Updated, though every node is Done on the config', () => {
    const p: MachineConfigPool = { ...master(), spec: { ...master().spec, configuration: { name: 'rendered-master-new' } }, status: { configuration: { name: 'rendered-master-new' } } };
    const nodes = [node('n0', ['master'], at('rendered-master-new'))];
    const wait = 'Pool is waiting for OS image build to complete (mosb: layered-abc)';
    const s = poolStatus(p, nodes, undefined, 'T', wait);
    const c = (t: string) => s.conditions!.find((x) => x.type === t)!;
    expect([c('Updated').status, c('Updating').status, c('Degraded').status]).toEqual(['False', 'True', 'False']);
    expect(c('Updating').message).toBe(wait);
    expect(s.updatedMachineCount).toBe(0);
    // Once the build has ended (no wait), the nodes decide again.
    expect(poolStatus(p, nodes, undefined, 'T').conditions!.find((x) => x.type === 'Updated')!.status).toBe('True');
  });

  it('layeredBuildWait: no build yet, Prepared or Building → waiting, in upstream words; Succeeded or Failed, or no MachineOSConfig → none', () => {
    const mosc = { metadata: { name: 'layered', annotations: {} as Record<string, string> }, spec: { machineConfigPool: { name: 'master' } } };
    const builds: object[] = [];
    const informers = { list: (path: string) => (path === MACHINEOSCONFIGS ? [mosc] : path === MACHINEOSBUILDS ? builds : []) } as unknown as SharedInformers;
    expect(layeredBuildWait(informers, 'worker')).toBeUndefined();
    expect(layeredBuildWait(informers, 'master')).toBe('Pool is waiting for a new OS image build to start (mosc: layered)');
    mosc.metadata.annotations[CURRENT_BUILD_ANNOTATION] = 'layered-abc';
    const build = (state: string) => ({ metadata: { name: 'layered-abc' }, status: { conditions: ['Prepared', 'Building', 'Failed', 'Interrupted', 'Succeeded'].map((type) => ({ type, status: type === state ? 'True' : 'False' })) } });
    for (const state of ['Prepared', 'Building']) {
      builds.splice(0, builds.length, build(state));
      expect(layeredBuildWait(informers, 'master'), state).toBe('Pool is waiting for OS image build to complete (mosb: layered-abc)');
    }
    for (const state of ['Succeeded', 'Failed']) {
      builds.splice(0, builds.length, build(state));
      expect(layeredBuildWait(informers, 'master'), state).toBeUndefined();
    }
  });

  it('repositoryOf strips a tag or a digest, not a registry port', () => {
    expect(repositoryOf('127.0.0.1:5000/kmodlab/node-os:tag')).toBe('127.0.0.1:5000/kmodlab/node-os');
    expect(repositoryOf('127.0.0.1:5000/kmodlab/node-os@sha256:ab')).toBe('127.0.0.1:5000/kmodlab/node-os');
    expect(repositoryOf('127.0.0.1:5000/kmodlab/node-os')).toBe('127.0.0.1:5000/kmodlab/node-os');
  });
});
