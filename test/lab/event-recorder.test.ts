/**
 * The lab kubelets' event recorder (src/targets/lab/kubelet/event-recorder.ts): a repeat of an
 * identical Event counts the recorded one up, as client-go's recorder does — against a fake
 * sink (the rules), then against the lab API with client-node (the PATCH a watcher sees as
 * MODIFIED, what `kubectl get events` shows as one line).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { EventRecorder, eventSinkOf, type EventSink, type RecordedEvent } from '../../src/targets/lab/kubelet/event-recorder.js';
import { startTestApi, type TestApi } from './api-server-helpers.js';

function hookFailed(pod: string, message: string, at: string): RecordedEvent {
  return {
    metadata: { generateName: `${pod}.`, namespace: 'ns' },
    involvedObject: { apiVersion: 'v1', kind: 'Pod', name: pod, namespace: 'ns', uid: `uid-${pod}`, fieldPath: 'spec.containers{c}' },
    type: 'Warning',
    reason: 'FailedPostStartHook',
    message,
    source: { component: 'kubelet', host: 'lab-node-0' },
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
  };
}

describe('EventRecorder (rules, fake sink)', () => {
  function fakeSink(opts: { gone?: Set<string>; patch?: boolean } = {}) {
    const calls: string[] = [];
    let n = 0;
    const sink: EventSink = {
      async createEvent(ns, e) {
        const name = `${(e as RecordedEvent).involvedObject.name}.${++n}`;
        calls.push(`create ${ns}/${name} ${(e as RecordedEvent).message}`);
        return name;
      },
      ...(opts.patch === false
        ? {}
        : {
            async patchEvent(ns, name, p) {
              calls.push(`patch ${ns}/${name} ${JSON.stringify(p)}`);
              return !opts.gone?.has(name);
            },
          }),
    };
    return { sink, calls };
  }

  it('an identical Event counts up the recorded one; another message, object or container is a new Event', async () => {
    const { sink, calls } = fakeSink();
    const r = new EventRecorder(sink);
    await r.record('ns', hookFailed('p', 'modprobe exited 1', 't1'));
    await r.record('ns', hookFailed('p', 'modprobe exited 1', 't2'));
    await r.record('ns', hookFailed('p', 'modprobe exited 1', 't3'));
    await r.record('ns', hookFailed('p', 'modprobe exited 2', 't4'));
    await r.record('ns', hookFailed('q', 'modprobe exited 1', 't5'));
    const other = hookFailed('p', 'modprobe exited 1', 't6');
    other.involvedObject.fieldPath = 'spec.containers{d}';
    await r.record('ns', other);
    expect(calls).toEqual([
      'create ns/p.1 modprobe exited 1',
      'patch ns/p.1 {"count":2,"lastTimestamp":"t2","message":"modprobe exited 1"}',
      'patch ns/p.1 {"count":3,"lastTimestamp":"t3","message":"modprobe exited 1"}',
      'create ns/p.2 modprobe exited 2',
      'create ns/q.3 modprobe exited 1',
      'create ns/p.4 modprobe exited 1',
    ]);
  });

  it('when the recorded Event is gone, the next occurrence creates a new one (count 1); a sink that cannot patch creates every time', async () => {
    const gone = new Set(['p.1']);
    const a = fakeSink({ gone });
    const r = new EventRecorder(a.sink);
    await r.record('ns', hookFailed('p', 'm', 't1'));
    await r.record('ns', hookFailed('p', 'm', 't2'));
    await r.record('ns', hookFailed('p', 'm', 't3'));
    expect(a.calls).toEqual(['create ns/p.1 m', 'patch ns/p.1 {"count":2,"lastTimestamp":"t2","message":"m"}', 'create ns/p.2 m', 'patch ns/p.2 {"count":2,"lastTimestamp":"t3","message":"m"}']);
    const b = fakeSink({ patch: false });
    const r2 = new EventRecorder(b.sink);
    await r2.record('ns', hookFailed('p', 'm', 't1'));
    await r2.record('ns', hookFailed('p', 'm', 't2'));
    expect(b.calls).toEqual(['create ns/p.1 m', 'create ns/p.2 m']);
  });
});

describe('EventRecorder against the lab API (client-node)', () => {
  let api: TestApi;
  let kc: KubeConfig;
  let core: CoreV1Api;
  beforeAll(async () => {
    api = await startTestApi();
    kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'ns' } } });
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('three identical postStart failures are one Event with count 3 (a watcher sees ADDED, then MODIFIED); one with another message is its own Event', async () => {
    const seen: string[] = [];
    const req = await new Watch(kc).watch('/api/v1/namespaces/ns/events', {}, (type, e: { count?: number; message?: string }) => seen.push(`${type} ${e.count} ${e.message}`), () => undefined);
    try {
      const r = new EventRecorder(eventSinkOf(core));
      for (const at of ['2026-01-01T00:00:01Z', '2026-01-01T00:00:09Z', '2026-01-01T00:00:30Z']) await r.record('ns', hookFailed('p', 'modprobe exited 1', at));
      await r.record('ns', hookFailed('p', 'modprobe exited 2', '2026-01-01T00:00:31Z'));
      const list = (await core.listNamespacedEvent({ namespace: 'ns' })).items;
      expect(list.map((e) => [e.message, e.count])).toEqual(expect.arrayContaining([['modprobe exited 1', 3], ['modprobe exited 2', 1]]));
      expect(list).toHaveLength(2);
      const first = list.find((e) => e.message === 'modprobe exited 1')!;
      // firstTimestamp stays, lastTimestamp moves (client-node hands them back as Dates).
      expect(new Date(first.firstTimestamp!).toISOString()).toBe('2026-01-01T00:00:01.000Z');
      expect(new Date(first.lastTimestamp!).toISOString()).toBe('2026-01-01T00:00:30.000Z');
      const deadline = Date.now() + 5_000;
      while (seen.length < 4 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      expect(seen).toEqual(['ADDED 1 modprobe exited 1', 'MODIFIED 2 modprobe exited 1', 'MODIFIED 3 modprobe exited 1', 'ADDED 1 modprobe exited 2']);
      // Deleted (as an API's event TTL does): the next occurrence is a new Event again.
      await core.deleteNamespacedEvent({ namespace: 'ns', name: first.metadata!.name! });
      await r.record('ns', hookFailed('p', 'modprobe exited 1', '2026-01-01T00:01:00Z'));
      const again = (await core.listNamespacedEvent({ namespace: 'ns' })).items.filter((e) => e.message === 'modprobe exited 1');
      expect(again.map((e) => e.count)).toEqual([1]);
    } finally {
      req.abort();
    }
  });
});
