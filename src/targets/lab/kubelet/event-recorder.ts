/**
 * How the lab's kubelets record core/v1 Events: as the kubelet's client-go recorder does
 * (tools/record, its EventCorrelator). An Event identical to one this recorder already
 * recorded — same source, involved object (fieldPath included), type, reason and message —
 * is not created again: the existing Event's `count` goes up and its `lastTimestamp` moves
 * (a PATCH), which `kubectl get events` shows as "(x4 over 40s)" and a watcher sees as
 * MODIFIED. So a container whose postStart hook fails on every restart leaves one Event,
 * not one per restart, as on a cluster. When that Event is gone (deleted, expired), the
 * next occurrence creates a new one. The recorder remembers the last 4096 keys (client-go's
 * LRU size); client-go's spam filter and its aggregation of *similar* messages are not
 * reproduced.
 */
import { ApiException, PatchStrategy, setHeaderOptions, type CoreV1Api } from '@kubernetes/client-node';

/** Where Events go: the lab API through client-node (kubelets.ts, node-api.ts) or a test's fake. */
export interface EventSink {
  /** Creates the Event; resolves with the name the server gave it. */
  createEvent?(namespace: string, event: object): Promise<string | undefined>;
  /** Patches an existing Event; resolves `false` when it no longer exists (404). */
  patchEvent?(namespace: string, name: string, patch: object): Promise<boolean>;
}

/** The fields of a core/v1 Event the recorder reads. */
export interface RecordedEvent {
  metadata: { generateName?: string; namespace?: string; annotations?: Record<string, string> };
  involvedObject: { apiVersion?: string; kind?: string; name?: string; namespace?: string; uid?: string; fieldPath?: string };
  type: string;
  reason: string;
  message: string;
  source: { component?: string; host?: string };
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
  [k: string]: unknown;
}

const CACHE_SIZE = 4096;

/** client-go's getEventKey: what makes two Events the same occurrence. */
function eventKey(namespace: string, e: RecordedEvent): string {
  const o = e.involvedObject;
  return JSON.stringify([namespace, e.source.component, e.source.host, o.kind, o.namespace, o.name, o.uid, o.apiVersion, o.fieldPath, e.type, e.reason, e.message]);
}

export class EventRecorder {
  /** Key → the Event recorded for it (Map order = least recently used first). */
  private readonly seen = new Map<string, { name: string; count: number }>();

  constructor(private readonly sink: EventSink) {}

  /** Records `event` in `namespace`: a new Event, or one more occurrence of an identical one. */
  async record(namespace: string, event: RecordedEvent): Promise<void> {
    if (!this.sink.createEvent) return;
    const key = eventKey(namespace, event);
    const last = this.seen.get(key);
    this.seen.delete(key);
    if (last && this.sink.patchEvent) {
      const count = last.count + 1;
      const patched = await this.sink.patchEvent(namespace, last.name, { count, lastTimestamp: event.lastTimestamp, message: event.message });
      if (patched) {
        this.remember(key, { ...last, count });
        return;
      }
    }
    const name = await this.sink.createEvent(namespace, event);
    if (name) this.remember(key, { name, count: event.count });
  }

  private remember(key: string, v: { name: string; count: number }): void {
    this.seen.set(key, v);
    if (this.seen.size > CACHE_SIZE) this.seen.delete(this.seen.keys().next().value!);
  }
}

/** The sink of a client-node CoreV1Api: create, and the strategic merge patch client-go's recorder sends. */
export function eventSinkOf(core: CoreV1Api): Required<EventSink> {
  const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
  return {
    async createEvent(namespace, event) {
      return (await core.createNamespacedEvent({ namespace, body: event as never })).metadata?.name;
    },
    async patchEvent(namespace, name, patch) {
      try {
        await core.patchNamespacedEvent({ namespace, name, body: patch }, smp);
        return true;
      } catch (e) {
        if (e instanceof ApiException && e.code === 404) return false;
        throw e;
      }
    },
  };
}
