/**
 * Where `pods/log` reads from. The node agent (a kubelet stand-in) will feed container
 * output here; until then anything can append lines (tests, controllers). `follow`
 * streams appended lines until the client goes away or the container is marked ended.
 */
export interface LogQuery {
  namespace: string;
  pod: string;
  container: string;
  follow: boolean;
  tailLines?: number;
  previous?: boolean;
}

export interface LogSource {
  /** The lines so far; undefined when the container has no log (→ 400 as kubelet answers). */
  read(q: LogQuery): string[] | undefined;
  /** Calls `onLine` for each line appended later and `onEnd` when the container ends; returns an unsubscribe. */
  follow(q: LogQuery, onLine: (line: string) => void, onEnd: () => void): () => void;
}

interface Stream {
  lines: string[];
  ended: boolean;
  followers: Set<{ onLine: (l: string) => void; onEnd: () => void }>;
}

/** A bounded in-memory log per container. */
export class MemoryLogSource implements LogSource {
  private readonly streams = new Map<string, Stream>();
  constructor(private readonly maxLines = 10_000) {}

  private key(ns: string, pod: string, container: string) {
    return `${ns}/${pod}/${container}`;
  }

  private stream(ns: string, pod: string, container: string): Stream {
    const k = this.key(ns, pod, container);
    let s = this.streams.get(k);
    if (!s) this.streams.set(k, (s = { lines: [], ended: false, followers: new Set() }));
    return s;
  }

  append(namespace: string, pod: string, container: string, text: string): void {
    const s = this.stream(namespace, pod, container);
    for (const line of text.replace(/\n$/, '').split('\n')) {
      s.lines.push(line);
      for (const f of s.followers) f.onLine(line);
    }
    if (s.lines.length > this.maxLines) s.lines.splice(0, s.lines.length - this.maxLines);
  }

  /** A container started: its log exists (empty until it prints). */
  open(namespace: string, pod: string, container: string): void {
    this.stream(namespace, pod, container);
  }

  end(namespace: string, pod: string, container: string): void {
    const s = this.stream(namespace, pod, container);
    s.ended = true;
    for (const f of s.followers) f.onEnd();
    s.followers.clear();
  }

  forget(namespace: string, pod: string): void {
    for (const k of [...this.streams.keys()]) if (k.startsWith(`${namespace}/${pod}/`)) this.streams.delete(k);
  }

  read(q: LogQuery): string[] | undefined {
    const s = this.streams.get(this.key(q.namespace, q.pod, q.container));
    if (!s) return undefined;
    return q.tailLines !== undefined ? s.lines.slice(Math.max(0, s.lines.length - q.tailLines)) : [...s.lines];
  }

  follow(q: LogQuery, onLine: (line: string) => void, onEnd: () => void): () => void {
    const s = this.stream(q.namespace, q.pod, q.container);
    if (s.ended) {
      onEnd();
      return () => undefined;
    }
    const f = { onLine, onEnd };
    s.followers.add(f);
    return () => s.followers.delete(f);
  }
}
