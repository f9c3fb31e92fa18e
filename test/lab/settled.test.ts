/**
 * When a lab wait for the driver may end before its timeout (control-plane/settled.ts):
 * only after whole reconcile passes that did nothing, with nothing running on the node
 * that could still (un)load a module.
 */
import { describe, expect, it } from 'vitest';
import { ActivityCounter, nothingLeftToRun, QUIET_PASSES, SettleWatch } from '../../src/targets/lab/control-plane/settled.js';
import type { ClusterNode, PodRecord } from '../../src/targets/lab/control-plane/cluster-types.js';

function node(name: string, state: string, pods: Partial<PodRecord>[] = []): ClusterNode {
  return { name, lab: { state } as ClusterNode['lab'], pool: 'master', labels: {}, os: { kind: 'stock' }, pods: new Map(pods.map((p, i) => [String(i), p as PodRecord])), cordoned: false };
}

describe('settled waits (lab)', () => {
  it('counts what controllers do, not what observing records', () => {
    const a = new ActivityCounter();
    const seen: string[] = [];
    const emit = a.wrap((kind) => seen.push(kind));
    for (const k of ['canary', 'module-state', 'sample-memory', 'sample-cpu', 'sample-node-memory'] as const) emit(k, {});
    expect(a.count).toBe(0);
    for (const k of ['pod-start', 'fault', 'build', 'progress', 'node-up'] as const) emit(k, {});
    expect(a.count).toBe(5);
    // Everything still reaches the recorder.
    expect(seen).toHaveLength(10);
  });

  it('settles only after enough quiet passes in a row; any activity starts the count again', () => {
    const a = new ActivityCounter();
    const emit = a.wrap(() => undefined);
    const w = new SettleWatch(a);
    emit('pod-start', {}); // the first pass restarted a pod
    expect(w.pass()).toBe(false);
    for (let i = 1; i < QUIET_PASSES; i++) expect(w.pass()).toBe(false);
    emit('fault', {}); // a crash loop: every pass acts again
    expect(w.pass()).toBe(false);
    emit('canary', {}); // observations do not keep it busy
    for (let i = 1; i < QUIET_PASSES; i++) expect(w.pass()).toBe(false);
    expect(w.pass()).toBe(true);
  });

  it('a running pod or a node that is not ready can still change the module state', () => {
    expect(nothingLeftToRun([node('sno', 'ready')], ['sno'])).toMatch(/nothing left to do/);
    expect(nothingLeftToRun([node('sno', 'ready', [{ phase: 'ImagePullBackOff' }])], ['sno'])).toMatch(/nothing left to do/);
    expect(nothingLeftToRun([node('sno', 'ready', [{ phase: 'Running' }])], ['sno'])).toBeUndefined();
    expect(nothingLeftToRun([node('sno', 'rebooting')], ['sno'])).toBeUndefined();
    expect(nothingLeftToRun([node('a', 'ready'), node('b', 'booting')], ['a'])).toBeUndefined();
  });
});
