/**
 * W3: node reboots as a cluster shows them. On single-node OpenShift the API is down
 * while the node reboots, so the watch sees, after the API returns, a node with a new
 * bootID that is usually still NotReady (kubelet starting), Ready=True later:
 *   - the unobserved node-down is backdated to when the API outage began (its `at`),
 *     and the downtime metric measures from there;
 *   - node-up is when the node is Ready=True again, not the first sight of the new bootID.
 */
import { describe, expect, it } from 'vitest';
import { nodeEvents } from '../../src/targets/cluster/observers.js';
import type { WatchObject } from '../../src/targets/cluster/watch.js';
import { deriveScenario } from '../../src/evaluation/metrics/index.js';
import { apply, mod, runOf, runStart, scenario, up, type Ev } from '../evaluation/helpers.js';
import { node } from './node-fixtures.js';

const n = (boot: string, ready: boolean) => node('sno-0', boot, ready) as unknown as WatchObject & never;

describe('node events on single-node OpenShift', () => {
  it('new bootID while NotReady: node-down (backdated to the outage), no node-up yet', () => {
    const out = nodeEvents('MODIFIED', n('boot-b', false), n('boot-a', true), 1_000_000);
    expect(out.map((e) => e[0])).toEqual(['node-down']);
    expect(out[0]![1]).toMatchObject({ reason: 'reboot', at: 1_000_000 });
  });

  it('then Ready=True: node-up with the new boot', () => {
    const out = nodeEvents('MODIFIED', n('boot-b', true), n('boot-b', false));
    expect(out).toEqual([['node-up', expect.objectContaining({ bootId: 'boot-b' }), 'sno-0']]);
  });

  it('new bootID already Ready: node-down (backdated) and node-up', () => {
    const out = nodeEvents('MODIFIED', n('boot-b', true), n('boot-a', true), 1_000_000);
    expect(out.map((e) => e[0])).toEqual(['node-down', 'node-up']);
    expect(out[0]![1]['at']).toBe(1_000_000);
  });

  it('NotReady observed, then new bootID still NotReady, then Ready: one down, one up (at Ready)', () => {
    const a = nodeEvents('MODIFIED', n('boot-a', false), n('boot-a', true));
    const b = nodeEvents('MODIFIED', n('boot-b', false), n('boot-a', false));
    const c = nodeEvents('MODIFIED', n('boot-b', true), n('boot-b', false));
    expect([...a, ...b, ...c].map((e) => e[0])).toEqual(['node-down', 'node-up']);
    expect(c[0]![1]).toMatchObject({ bootId: 'boot-b' });
  });

  it('downtime is measured from the backdated node-down', () => {
    // Recorded at 6000 (after the API came back), the outage began at 2000; Ready at 8000.
    const events = (downAt?: number): Ev[] => [
      runStart(),
      up(1, 'b0'),
      ...scenario('dtk', 'day2', 100, 10_000, [apply(1000), { at: 6000, kind: 'node-down', node: 'n1', data: { reason: 'reboot', ...(downAt !== undefined ? { at: downAt } : {}) } }, up(8000, 'b1'), mod(8500, true)]),
      { at: 10_001, kind: 'run-end', data: { status: 'completed' } },
    ];
    // The helpers place `at` after a base time: the backdated `at` is in the same clock.
    const base = runOf(events()).events[0]!.t;
    expect(deriveScenario(runOf(events()), 'dtk', 'day2').metrics['downtimeTotalMs']).toHaveProperty('value', 2000);
    expect(deriveScenario(runOf(events(base + 2000)), 'dtk', 'day2').metrics['downtimeTotalMs']).toHaveProperty('value', 6000);
  });
});

describe('through the cluster target: a single-node reboot behind an API outage', async () => {
  const { ClusterTarget } = await import('../../src/targets/cluster/cluster-target.js');
  const { ReleaseSchema } = await import('../../src/release/release.js');
  const { startFakeCluster, KVER } = await import('./fake-cluster.js');
  const { FIXTURE_TOKEN, kubeconfigFor, tempDir, until } = await import('./helpers.js');

  it('node-down backdated to the outage start, node-up only at Ready=True', async () => {
    const cluster = await startFakeCluster(FIXTURE_TOKEN, []);
    const events: { kind: string; data: Record<string, unknown>; node?: string; t: number }[] = [];
    const t = await ClusterTarget.connect({
      kubeconfig: kubeconfigFor('ocp-token.kubeconfig', cluster.api.url),
      env: {},
      home: tempDir(),
      emit: (kind, data, node) => events.push({ kind, data, node, t: Date.now() }),
      readyzIntervalMs: 50,
      observeOnly: true,
      watch: { backoffMs: { initial: 20, max: 100 }, watchdogMs: 5000 },
    });
    try {
      await t.reset({ release: ReleaseSchema.parse({ version: '4.14.12', kernelVersion: KVER, sources: {} }) });
      events.length = 0;
      const wentDown = Date.now();
      cluster.api.readyz = 'down';
      cluster.api.disconnectWatches();
      await until(() => events.some((e) => e.data['apiOutage'] === 'start'), 5000, 'outage start');
      // The node reboots while nobody can see it; the kubelet reports the new boot NotReady first.
      cluster.api.put(node('worker-0', 'boot-0-b', false, { kernel: KVER }));
      await new Promise((r) => setTimeout(r, 300));
      cluster.api.readyz = 'ok';
      await until(() => events.some((e) => e.kind === 'node-down' && e.node === 'worker-0'), 5000, 'node-down');
      await new Promise((r) => setTimeout(r, 200));
      expect(events.filter((e) => e.kind === 'node-up')).toEqual([]);
      const down = events.find((e) => e.kind === 'node-down')!;
      expect(down.data['at'] as number).toBeGreaterThanOrEqual(wentDown);
      expect(down.data['at'] as number).toBeLessThan(down.t - 250); // recorded after the API came back, dated before
      cluster.api.put(node('worker-0', 'boot-0-b', true, { kernel: KVER }));
      await until(() => events.some((e) => e.kind === 'node-up'), 5000, 'node-up');
      expect(events.find((e) => e.kind === 'node-up')!.data).toMatchObject({ bootId: 'boot-0-b' });
    } finally {
      await t.close();
      await cluster.api.stop();
    }
  }, 20_000);
});
