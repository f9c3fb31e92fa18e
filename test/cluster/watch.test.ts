import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeClient } from '../../src/targets/cluster/client.js';
import { Credentials } from '../../src/targets/cluster/kubeconfig.js';
import { ResumableWatch, type WatchEventType, type WatchObject } from '../../src/targets/cluster/watch.js';
import { nodeEvents, type Emitted } from '../../src/targets/cluster/observers.js';
import { NODES } from '../../src/targets/cluster/cluster-target.js';
import { FakeKubeApiServer } from './fake-kube-apiserver.js';
import { FIXTURE_TOKEN, kubeconfigFor, until } from './helpers.js';
import { node } from './node-fixtures.js';

describe('ResumableWatch against the fake API server', () => {
  let fake: FakeKubeApiServer;
  let client: KubeClient;
  let seen: { type: WatchEventType; name: string; rv?: string }[];
  let w: ResumableWatch;

  const watch = (opts: Partial<ConstructorParameters<typeof ResumableWatch>[0]> = {}) =>
    new ResumableWatch({
      client,
      call: 'watch-nodes',
      ref: NODES,
      backoffMs: { initial: 20, max: 200 },
      watchdogMs: 5000,
      onChange: (type, o) => seen.push({ type, name: o.metadata.name, rv: o.metadata.resourceVersion }),
      ...opts,
    });

  beforeEach(async () => {
    fake = new FakeKubeApiServer();
    fake.tokens.add(FIXTURE_TOKEN);
    const kc = kubeconfigFor('ocp-token.kubeconfig', await fake.start());
    client = new KubeClient({ credentials: new Credentials({ kubeconfig: kc }) });
    seen = [];
    fake.put(node('worker-0', 'boot-a'));
  });
  afterEach(async () => {
    await w?.stop();
    await fake.stop();
  });

  it('lists, then streams changes from the list resourceVersion', async () => {
    w = watch();
    await w.start();
    expect(seen).toEqual([{ type: 'ADDED', name: 'worker-0', rv: expect.any(String) }]);
    await until(() => fake.openWatches === 1, 2000, 'watch open');
    fake.put(node('worker-1', 'boot-b'));
    await until(() => seen.length === 2);
    expect(seen[1]).toMatchObject({ type: 'ADDED', name: 'worker-1' });
    const wq = fake.log.find((r) => r.query['watch'] === 'true')!;
    expect(wq.query['resourceVersion']).toBe(String(Number(seen[0]!.rv)));
  });

  it('after a disconnect it reconnects from the last resourceVersion and misses nothing', async () => {
    w = watch();
    await w.start();
    await until(() => fake.openWatches === 1);
    fake.put(node('worker-1', 'boot-b'));
    await until(() => seen.length === 2);
    fake.disconnectWatches();
    // Changes while disconnected are replayed from the history after the last resourceVersion seen.
    fake.put(node('worker-2', 'boot-c'));
    await until(() => seen.some((s) => s.name === 'worker-2'), 3000, 'worker-2 after reconnect');
    expect(w.stats.lists).toBe(1); // resumed, not relisted
    const watches = fake.log.filter((r) => r.query['watch'] === 'true');
    expect(watches.length).toBeGreaterThanOrEqual(2);
    expect(Number(watches.at(-1)!.query['resourceVersion'])).toBe(Number(seen[1]!.rv));
    expect(seen.filter((s) => s.name === 'worker-2')).toHaveLength(1);
  });

  it('410 Gone → relist; the relist is diffed so changes made meanwhile are still seen', async () => {
    w = watch();
    await w.start();
    await until(() => fake.openWatches === 1);
    fake.disconnectWatches();
    fake.emptyWatchResponses = 0;
    // While the watch is down: a change, a deletion, then compaction makes our resourceVersion too old.
    const rvBefore = fake.resourceVersion;
    fake.update('v1', 'Node', 'worker-0', undefined, (n) => (n.status.nodeInfo.bootID = 'boot-a2'));
    fake.compact();
    expect(fake.resourceVersion).toBeGreaterThan(rvBefore);
    await until(() => w.stats.relistsAfterGone >= 1 && w.stats.lists >= 2, 3000, 'relist after 410');
    await until(() => seen.some((s) => s.type === 'MODIFIED'), 3000);
    expect(seen.filter((s) => s.type === 'MODIFIED')).toHaveLength(1);
  });

  it('an empty 200 that ends at once backs off (exponentially) instead of busy-looping, then relists', async () => {
    w = watch({ backoffMs: { initial: 50, max: 400 } });
    fake.emptyWatchResponses = 5;
    const t0 = Date.now();
    await w.start();
    await until(() => fake.emptyWatchResponses === 0 && fake.openWatches === 1, 5000, 'a real watch after the empty ones');
    const elapsed = Date.now() - t0;
    expect(w.stats.emptyStreams).toBe(5);
    expect(w.stats.backoffs.slice(0, 5)).toEqual([50, 100, 200, 400, 400]);
    expect(elapsed).toBeGreaterThanOrEqual(50 + 100 + 200 + 400 + 400 - 20);
    const watches = fake.log.filter((r) => r.query['watch'] === 'true');
    expect(watches.length).toBe(6); // five empty + the one now open: no storm
    expect(w.stats.lists).toBe(2); // relisted after three empty answers in a row
  });

  it('API down (connection reset) → reconnect with capped backoff; resumes when it is back', async () => {
    w = watch({ backoffMs: { initial: 20, max: 80 } });
    await w.start();
    await until(() => fake.openWatches === 1);
    fake.readyz = 'down';
    fake.disconnectWatches();
    await until(() => w.stats.backoffs.length >= 4, 3000, 'backoffs while down');
    expect(Math.max(...w.stats.backoffs)).toBe(80);
    fake.readyz = 'ok';
    fake.put(node('worker-9', 'boot-z'));
    await until(() => seen.some((s) => s.name === 'worker-9'), 3000);
  });

  it('a silent connection is cut by the watchdog and resumed', async () => {
    w = watch({ watchdogMs: 150 });
    await w.start();
    await until(() => w.stats.connects >= 3, 3000, 'watchdog reconnects');
    fake.put(node('worker-5', 'boot-5'));
    await until(() => seen.some((s) => s.name === 'worker-5'), 3000);
  });

  it('reboot detection: a bootID change on the watched Node gives node-down + node-up with the new boot', async () => {
    const events: Emitted[] = [];
    w = watch({ onChange: (t, o, old) => events.push(...nodeEvents(t, o as never, old as never)) });
    await w.start();
    await until(() => fake.openWatches === 1);
    expect(events).toEqual([]); // first sight is not an event
    fake.update('v1', 'Node', 'worker-0', undefined, (n) => {
      n.spec.unschedulable = true;
      n.metadata.annotations = { 'machineconfiguration.openshift.io/state': 'Working' };
    });
    fake.update('v1', 'Node', 'worker-0', undefined, (n) => (n.status.conditions[0] = { type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown' }));
    fake.update('v1', 'Node', 'worker-0', undefined, (n) => {
      n.status.conditions[0].status = 'True';
      n.status.nodeInfo.bootID = 'boot-a2';
      n.status.nodeInfo.kernelVersion = '5.14.0-284.52.1.el9_2.x86_64+rt';
    });
    fake.update('v1', 'Node', 'worker-0', undefined, (n) => (n.spec.unschedulable = false));
    await until(() => events.length >= 4, 3000);
    expect(events).toEqual([
      ['node-drain', { phase: 'start' }, 'worker-0'],
      ['node-down', { reason: 'reboot', detail: 'Ready=Unknown (NodeStatusUnknown)' }, 'worker-0'],
      ['node-up', { bootId: 'boot-a2', kver: '5.14.0-284.52.1.el9_2.x86_64+rt', osImage: expect.stringContaining('CoreOS') }, 'worker-0'],
      ['node-drain', { phase: 'end' }, 'worker-0'],
    ]);
  });
});

describe('nodeEvents (pure)', () => {
  const o = (x: object) => x as unknown as WatchObject;
  it('a bootID change with no NotReady seen (API down during the reboot, SNO) still records the reboot', () => {
    expect(nodeEvents('MODIFIED', o(node('sno', 'b2')), o(node('sno', 'b1')))).toEqual([
      ['node-down', { reason: 'reboot', detail: 'bootID changed; the NotReady phase was not observed' }, 'sno'],
      ['node-up', expect.objectContaining({ bootId: 'b2' }), 'sno'],
    ]);
  });
  it('KMM node labels appearing/going are timeline notes on the node', () => {
    const before = node('w', 'b1');
    const after = { ...node('w', 'b1'), metadata: { ...before.metadata, labels: { ...before.metadata.labels, 'kmm.node.kubernetes.io/kmm-ns.simple-kmod.ready': '' } } };
    expect(nodeEvents('MODIFIED', o(after), o(before))).toEqual([
      ['progress', { step: 'KMM node label kmm.node.kubernetes.io/kmm-ns.simple-kmod.ready added', kmmLabel: 'kmm.node.kubernetes.io/kmm-ns.simple-kmod.ready', change: 'added', value: '' }, 'w'],
    ]);
    expect(nodeEvents('MODIFIED', o(before), o(after))[0]![1]).toMatchObject({ change: 'removed' });
  });
  it('NotReady without a planned update is a hang, not a reboot', () => {
    expect(nodeEvents('MODIFIED', o(node('w', 'b1', false)), o(node('w', 'b1')))[0]).toEqual(['node-down', expect.objectContaining({ reason: 'hang' }), 'w']);
  });
});
