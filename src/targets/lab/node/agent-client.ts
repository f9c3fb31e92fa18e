/**
 * Host side of the agent channel: a line-oriented client over the unix socket that
 * QEMU connects to the node's virtio-serial port. One job: turn requests into
 * framed lines and match framed answers to requests by id (see agent.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { encodeRequest, parseFrame, type AgentOp } from './agent.js';

export interface AgentResult {
  code: number;
  stdout: Buffer;
  stderr: Buffer;
}

export interface Hello {
  bootId: string;
  kernelRelease: string;
}

export class AgentTimeoutError extends Error {
  override readonly name = 'AgentTimeoutError';
}

export class AgentClosedError extends Error {
  override readonly name = 'AgentClosedError';
}

interface Pending {
  resolve: (v: AgentResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class AgentClient {
  private buffer = '';
  private readonly pending = new Map<string, Pending>();
  private counter = 0;
  private closed = false;
  private helloWaiters: ((h: Hello) => void)[] = [];
  /** Latest hello seen (the agent says hello once per start). */
  lastHello: Hello | undefined;
  /** Lines that were not frames: stale or garbage bytes, counted for diagnostics. */
  discardedLines = 0;

  constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () => this.fail(new AgentClosedError('agent channel closed')));
    socket.on('error', () => undefined); // 'close' follows and fails pending requests
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      this.onLine(line);
    }
  }

  private onLine(line: string): void {
    const f = parseFrame(line);
    if (!f) {
      this.discardedLines++;
      return;
    }
    if (f.kind === 'hello') {
      this.lastHello = { bootId: f.bootId, kernelRelease: f.kernelRelease };
      const waiters = this.helloWaiters;
      this.helloWaiters = [];
      for (const w of waiters) w(this.lastHello);
      return;
    }
    const p = this.pending.get(f.id);
    if (!p) {
      // An answer to a request we gave up on, or queued from before a resync.
      this.discardedLines++;
      return;
    }
    this.pending.delete(f.id);
    clearTimeout(p.timer);
    if (f.kind === 'sync') p.resolve({ code: 0, stdout: Buffer.from(f.token), stderr: Buffer.alloc(0) });
    else p.resolve({ code: f.code, stdout: f.stdout, stderr: f.stderr });
  }

  private fail(e: Error): void {
    this.closed = true;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Resolves on the agent's hello (immediately if one was already seen and `fresh` is false). */
  waitHello(fresh = false): Promise<Hello> {
    if (this.lastHello && !fresh) return Promise.resolve(this.lastHello);
    return new Promise((resolve) => this.helloWaiters.push(resolve));
  }

  request(op: AgentOp, arg: string | Buffer | undefined, timeoutMs: number): Promise<AgentResult> {
    if (this.closed) return Promise.reject(new AgentClosedError('agent channel closed'));
    // Unique ids: an answer can never be mistaken for another request's.
    const id = `${(++this.counter).toString(36)}.${randomBytes(3).toString('hex')}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new AgentTimeoutError(`agent did not answer ${op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.write(encodeRequest(id, op, arg) + '\n');
    });
  }

  /** Resynchronise: send a unique token and wait for it to come back; earlier queued bytes are dropped. */
  async sync(timeoutMs: number): Promise<void> {
    const token = randomBytes(8).toString('hex');
    const r = await this.request('sync', token, timeoutMs);
    if (r.stdout.toString() !== token) throw new Error('agent resync answered with the wrong token');
  }

  close(): void {
    this.socket.destroy();
  }
}
