/**
 * A resumable watch: list, then watch from the list's resourceVersion, forever, until
 * stopped. What the API does and what we do:
 *   - 410 Gone (HTTP status or an ERROR event): our resourceVersion is too old → relist
 *     (the relist is diffed against what we knew, so handlers still see every change);
 *   - the server closes the stream (it does every few minutes; client-node's Watch just
 *     ends silently) → reconnect from the last resourceVersion seen;
 *   - connection refused/reset (API down during a reboot) → reconnect with capped
 *     exponential backoff;
 *   - nothing received for `watchdogMs` (a half-open TCP connection) → abort, reconnect;
 *   - a 200 that ends at once with no event (seen with a stale resourceVersion) counts
 *     as a failure: backoff, and relist after a few, so it can never busy-loop;
 *   - 401/403/404 (credentials refused, no permission, kind not served) will not heal
 *     by retrying → stop and say so.
 */
import { KubeApiError, sleep, type KubeClient, type ResourceRef } from './client.js';
import type { ApiCallId } from './api-calls.js';
import type { K8sObject } from '../../artifacts/artifact-set.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchObject extends K8sObject {
  metadata: K8sObject['metadata'] & { resourceVersion?: string; uid?: string };
  [k: string]: unknown;
}

export interface WatchOptions {
  client: KubeClient;
  call: ApiCallId;
  ref: ResourceRef;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Called for every change, with the previous version of the object when known. */
  onChange: (type: WatchEventType, obj: WatchObject, old: WatchObject | undefined) => void;
  /** Called when the watch gives up (403/404) or a handler throws. */
  onError?: (e: Error) => void;
  /** Backoff after failures: initial and cap (ms). */
  backoffMs?: { initial: number; max: number };
  /** No line for this long → the connection is presumed dead. */
  watchdogMs?: number;
  /** Asked of the server: end each watch after this many seconds (it picks a jitter). */
  timeoutSeconds?: number;
  /** A stream that ends sooner than this with no event is "empty". */
  minHealthyMs?: number;
}

export interface WatchStats {
  lists: number;
  connects: number;
  relistsAfterGone: number;
  reconnects: number;
  emptyStreams: number;
  backoffs: number[];
}

export class ResumableWatch {
  readonly stats: WatchStats = { lists: 0, connects: 0, relistsAfterGone: 0, reconnects: 0, emptyStreams: 0, backoffs: [] };
  /** Current objects by namespace/name. */
  readonly cache = new Map<string, WatchObject>();
  private readonly abort = new AbortController();
  private currentStream: { abort(): void } | undefined;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private firstList: Promise<void>;
  private resolveFirstList!: () => void;
  private rejectFirstList!: (e: Error) => void;

  constructor(private readonly o: WatchOptions) {
    this.firstList = new Promise((res, rej) => {
      this.resolveFirstList = res;
      this.rejectFirstList = rej;
    });
    this.firstList.catch(() => undefined);
  }

  /** Starts the loop; resolves after the first successful list (or rejects if it cannot start). */
  start(): Promise<void> {
    this.loop ??= this.run();
    return this.firstList;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.currentStream?.abort();
    await this.loop;
  }

  get running(): boolean {
    return this.loop !== undefined && !this.stopped;
  }

  private key(o: WatchObject): string {
    return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  }

  private emit(type: WatchEventType, obj: WatchObject, old: WatchObject | undefined): void {
    try {
      this.o.onChange(type, obj, old);
    } catch (e) {
      this.o.onError?.(e as Error);
    }
  }

  /** Lists and diffs against the cache; returns the list's resourceVersion. */
  private async relist(): Promise<string> {
    const { items, resourceVersion } = await this.o.client.list(this.o.call, this.o.ref, {
      namespace: this.o.namespace,
      labelSelector: this.o.labelSelector,
      fieldSelector: this.o.fieldSelector,
    });
    this.stats.lists++;
    const seen = new Set<string>();
    for (const raw of items as WatchObject[]) {
      const k = this.key(raw);
      seen.add(k);
      const old = this.cache.get(k);
      this.cache.set(k, raw);
      if (!old) this.emit('ADDED', raw, undefined);
      else if (old.metadata.resourceVersion !== raw.metadata.resourceVersion) this.emit('MODIFIED', raw, old);
    }
    for (const [k, old] of [...this.cache]) {
      if (!seen.has(k)) {
        this.cache.delete(k);
        this.emit('DELETED', old, old);
      }
    }
    return resourceVersion;
  }

  private async run(): Promise<void> {
    const backoff = this.o.backoffMs ?? { initial: 500, max: 30_000 };
    const watchdogMs = this.o.watchdogMs ?? 120_000;
    const minHealthyMs = this.o.minHealthyMs ?? 1000;
    let failures = 0;
    let emptyInARow = 0;
    let rv: string | undefined;
    const pause = async () => {
      const ms = Math.min(backoff.max, backoff.initial * 2 ** Math.min(failures, 20));
      failures++;
      this.stats.backoffs.push(ms);
      await sleep(ms, this.abort.signal);
    };
    while (!this.stopped) {
      try {
        if (rv === undefined) {
          rv = await this.relist();
          this.resolveFirstList();
        }
        const started = Date.now();
        const stream = await this.o.client.stream(this.o.call, {
          method: 'GET',
          ref: this.o.ref,
          namespace: this.o.namespace,
          query: {
            watch: true,
            resourceVersion: rv,
            allowWatchBookmarks: true,
            timeoutSeconds: this.o.timeoutSeconds ?? 300,
            labelSelector: this.o.labelSelector,
            fieldSelector: this.o.fieldSelector,
          },
        });
        this.currentStream = stream;
        // stop() may have run while the request was in flight: it could not abort this stream.
        if (this.stopped) {
          stream.abort();
          break;
        }
        this.stats.connects++;
        let events = 0;
        let gone = false;
        let dog: NodeJS.Timeout | undefined;
        const feed = () => {
          clearTimeout(dog);
          dog = setTimeout(() => stream.abort(), watchdogMs);
        };
        feed();
        try {
          for await (const line of stream.lines) {
            feed();
            let ev: { type?: string; object?: WatchObject & { code?: number } };
            try {
              ev = JSON.parse(line);
            } catch {
              continue;
            }
            const obj = ev.object;
            if (!obj) continue;
            if (ev.type === 'ERROR') {
              if (obj.code === 410) gone = true;
              break;
            }
            if (ev.type === 'BOOKMARK') {
              rv = obj.metadata?.resourceVersion ?? rv;
              events++;
              continue;
            }
            if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED' && ev.type !== 'DELETED') continue;
            events++;
            rv = obj.metadata.resourceVersion ?? rv;
            const k = this.key(obj);
            const old = this.cache.get(k);
            if (ev.type === 'DELETED') this.cache.delete(k);
            else this.cache.set(k, obj);
            this.emit(ev.type, obj, old);
          }
        } finally {
          clearTimeout(dog);
          stream.abort();
          this.currentStream = undefined;
        }
        if (this.stopped) break;
        if (gone) {
          this.stats.relistsAfterGone++;
          rv = undefined;
          // Two Gone in a row without progress would loop: the second one waits.
          if (events === 0) await pause();
          continue;
        }
        if (events === 0 && Date.now() - started < minHealthyMs) {
          // An empty 200 that ended at once: do not hammer the server.
          this.stats.emptyStreams++;
          emptyInARow++;
          if (emptyInARow >= 3) {
            rv = undefined; // the resourceVersion is probably stale: start over
            emptyInARow = 0;
          }
          await pause();
          continue;
        }
        // A healthy stream that ended (server timeout or watchdog): resume at once.
        failures = 0;
        emptyInARow = 0;
        this.stats.reconnects++;
      } catch (e) {
        if (this.stopped) break;
        if (e instanceof KubeApiError && e.status === 410) {
          this.stats.relistsAfterGone++;
          rv = undefined;
          await pause();
          continue;
        }
        // Refused credentials (after the client's one reload), no permission, kind not served:
        // retrying will not heal them.
        if (e instanceof KubeApiError && (e.status === 401 || e.status === 403 || e.status === 404)) {
          this.rejectFirstList(e);
          this.o.onError?.(e);
          break;
        }
        if (!(e instanceof KubeApiError)) {
          // A bug (e.g. an API_CALLS mismatch): retrying cannot help.
          this.rejectFirstList(e as Error);
          this.o.onError?.(e as Error);
          break;
        }
        this.stats.reconnects++;
        await pause();
      }
    }
  }
}
