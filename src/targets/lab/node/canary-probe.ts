/**
 * The canary's prober, host side: an HTTP GET to the workload in the guest every
 * `intervalMs`, through QEMU user networking's hostfwd on 127.0.0.1 (qemu.ts). The path
 * goes through the guest's kernel, network stack and the workload process, and not
 * through the node agent (virtio-serial): an agent hang is not a canary failure, and a
 * canary failure is what a client of the node's workload would have seen.
 *
 * Probes never overlap: one starts every interval, or right after the previous one when
 * it took longer (a slow node under TCG). Each result goes to `onSample`.
 */
import { request } from 'node:http';
import { createServer } from 'node:net';

export interface CanarySample {
  up: boolean;
  /** Host clock when the probe started. */
  t: number;
  /** How long the probe took (to an answer or to the error). */
  probeMs: number;
  /** Why it failed (connection refused, timeout, HTTP status…). */
  error?: string;
}

export interface CanaryProberOptions {
  port: number;
  intervalMs?: number;
  timeoutMs?: number;
  onSample(s: CanarySample): void;
}

/** One GET of http://127.0.0.1:<port>/: up when it answers 200. */
export function probeOnce(port: number, timeoutMs: number): Promise<CanarySample> {
  const t = Date.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (up: boolean, error?: string) => {
      if (done) return;
      done = true;
      resolve({ up, t, probeMs: Date.now() - t, ...(error ? { error } : {}) });
    };
    const req = request({ host: '127.0.0.1', port, path: '/', method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => finish(res.statusCode === 200, res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`));
      res.on('error', (e) => finish(false, e.message));
    });
    req.on('timeout', () => {
      req.destroy();
      finish(false, `no answer within ${timeoutMs} ms`);
    });
    req.on('error', (e: NodeJS.ErrnoException) => finish(false, e.code ?? e.message));
    req.end();
  });
}

export class CanaryProber {
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  constructor(private readonly o: CanaryProberOptions) {}

  start(): void {
    if (this.loop) return;
    const interval = this.o.intervalMs ?? 500;
    const timeout = this.o.timeoutMs ?? 2_000;
    this.loop = (async () => {
      let next = Date.now();
      while (!this.stopped) {
        const s = await probeOnce(this.o.port, timeout);
        if (this.stopped) break;
        this.o.onSample(s);
        next = Math.max(next + interval, Date.now());
        await new Promise<void>((r) => {
          this.wake = r;
          setTimeout(r, next - Date.now()).unref();
        });
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago (QEMU binds it for the node's forward). */
export async function freeLocalPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
