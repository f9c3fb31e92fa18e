/**
 * In-memory object storage with etcd's resourceVersion semantics, as kube-apiserver's
 * watch cache exposes them (k8s.io/apiserver pkg/storage/cacher):
 *   - one cluster-wide, increasing resourceVersion; every write gets the next one;
 *   - per resource type, a bounded history of events: a watch from resourceVersion N
 *     replays the events after N, then streams; if events after N were already
 *     dropped from the history, the watch fails with 410 Gone ("too old resource
 *     version") and the client must relist;
 *   - one fan-out per resource type: every open watch of that type is a listener on
 *     the same event stream (never one producer per watcher or per node).
 */
import { gone, type Obj } from './status.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  type: EventType;
  rv: number;
  object: Obj;
  /** The previous version (for MODIFIED/DELETED), so watchers can tell selector moves. */
  old?: Obj;
}

export type Listener = (ev: StoredEvent) => void;

class TypeStore {
  readonly objects = new Map<string, Obj>();
  readonly history: StoredEvent[] = [];
  /** Events with rv ≤ this are no longer in `history`. */
  compactedRv = 0;
  readonly listeners = new Set<Listener>();
}

export const objectKey = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;

export interface StoreOptions {
  /** Events kept per resource type for watch resumption. */
  historyLimit?: number;
}

export class Store {
  private rv = 1;
  private readonly types = new Map<string, TypeStore>();
  private readonly historyLimit: number;

  constructor(opts: StoreOptions = {}) {
    this.historyLimit = opts.historyLimit ?? 2000;
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  private ts(type: string): TypeStore {
    let t = this.types.get(type);
    if (!t) {
      t = new TypeStore();
      // A type first seen now has no history before the current revision.
      t.compactedRv = 0;
      this.types.set(type, t);
    }
    return t;
  }

  get(type: string, namespace: string | undefined, name: string): Obj | undefined {
    const o = this.ts(type).objects.get(objectKey(namespace, name));
    return o && structuredClone(o);
  }

  /** Live objects (copies), optionally in one namespace; with the revision they reflect. */
  list(type: string, namespace?: string): { items: Obj[]; resourceVersion: string } {
    const items: Obj[] = [];
    for (const o of this.ts(type).objects.values()) {
      if (namespace === undefined || o.metadata.namespace === namespace) items.push(structuredClone(o));
    }
    items.sort((a, b) => objectKey(a.metadata.namespace, a.metadata.name).localeCompare(objectKey(b.metadata.namespace, b.metadata.name)));
    return { items, resourceVersion: this.resourceVersion };
  }

  count(type: string): number {
    return this.ts(type).objects.size;
  }

  /** Writes (or removes, for DELETED) an object; stamps the next resourceVersion. Returns a copy. */
  commit(type: string, evType: EventType, obj: Obj): Obj {
    const t = this.ts(type);
    const key = objectKey(obj.metadata.namespace, obj.metadata.name);
    const old = t.objects.get(key);
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(++this.rv);
    if (evType === 'DELETED') t.objects.delete(key);
    else t.objects.set(key, stored);
    const ev: StoredEvent = { type: evType, rv: this.rv, object: stored, old };
    t.history.push(ev);
    while (t.history.length > this.historyLimit) t.compactedRv = t.history.shift()!.rv;
    for (const l of t.listeners) l(ev);
    return structuredClone(stored);
  }

  /** Drops all watch history (what an etcd compaction does): older resourceVersions now answer 410. */
  compact(): void {
    for (const t of this.types.values()) {
      t.history.length = 0;
      t.compactedRv = this.rv;
    }
  }

  /** Drops a type's objects without events (a CRD's instances after the CRD is gone). */
  dropType(type: string): void {
    this.types.delete(type);
  }

  /**
   * Subscribes to a type's events after `fromRv` (replayed from history first).
   * `fromRv` undefined → only new events. Throws 410 when history no longer reaches back.
   */
  watch(type: string, fromRv: number | undefined, listener: Listener): () => void {
    const t = this.ts(type);
    if (fromRv !== undefined) {
      if (fromRv < t.compactedRv) throw gone(`too old resource version: ${fromRv} (${t.compactedRv + 1})`);
      for (const ev of t.history) if (ev.rv > fromRv) listener(ev);
    }
    t.listeners.add(listener);
    return () => t.listeners.delete(listener);
  }

  watcherCount(type?: string): number {
    if (type) return this.types.get(type)?.listeners.size ?? 0;
    let n = 0;
    for (const t of this.types.values()) n += t.listeners.size;
    return n;
  }
}
