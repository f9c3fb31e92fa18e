/**
 * Run a host tool and collect its output. The lab shells out to system tools
 * (xz, depmod, cpio, make, qemu) instead of adding npm dependencies, so one small
 * wrapper keeps error messages uniform: the command line and its stderr tail.
 */
import { spawn } from 'node:child_process';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Bytes written to the tool's stdin (then stdin is closed). */
  input?: Buffer | string;
  /** Kill the tool after this many milliseconds. */
  timeoutMs?: number;
  /** Resolve even when the tool exits non-zero (caller inspects `code`). */
  allowFailure?: boolean;
}

export interface RunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly result: RunResult,
  ) {
    const tail = result.stderr.trim().split('\n').slice(-15).join('\n');
    super(`${command} exited with code ${result.code}${tail ? `:\n${tail}` : ''}`);
    this.name = 'CommandError';
  }
}

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) {
      timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    }
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // A tool that stops reading early (e.g. xz on trailing garbage) must not crash us with EPIPE.
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const result: RunResult = {
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString('utf8') + (signal ? `\n(killed by ${signal})` : ''),
      };
      if (result.code !== 0 && !opts.allowFailure) {
        reject(new CommandError([cmd, ...args].join(' '), result));
      } else {
        resolve(result);
      }
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}
