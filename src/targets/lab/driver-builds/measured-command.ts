/**
 * Runs a shell command under GNU time, so the figures cover the whole process tree
 * (make → gcc → ld): wall time, user+system CPU of every waited-for descendant and the
 * peak RSS of the largest single process. Output is streamed to a log file as it
 * comes, so a failed build keeps its log.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool } from '../host/tools.js';

export interface CommandUsage {
  exitCode: number;
  wallMs: number;
  userCpuMs: number;
  systemCpuMs: number;
  /** Largest resident set of one process of the tree (GNU time %M), in bytes. */
  peakRssBytes: number;
}

export interface MeasuredCommandOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export async function runMeasured(script: string, opts: MeasuredCommandOptions): Promise<CommandUsage> {
  const time = requireTool('time');
  const scratch = mkdtempSync(join(tmpdir(), 'kmodlab-time-'));
  const usageFile = join(scratch, 'usage');
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  const started = performance.now();
  try {
    const exitCode = await new Promise<number>((resolve, reject) => {
      const child = spawn(time, ['-f', '%e %U %S %M', '-o', usageFile, '/bin/sh', '-ec', script], {
        cwd: opts.cwd,
        env: opts.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        signal: opts.signal,
      });
      child.stdout.pipe(log, { end: false });
      child.stderr.pipe(log, { end: false });
      const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
      child.on('error', (e) => {
        if (timer) clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code, sig) => {
        if (timer) clearTimeout(timer);
        resolve(code ?? (sig ? 128 : 1));
      });
    });
    const wallMs = performance.now() - started;
    // GNU time writes "Command exited with non-zero status N" before the figures on failure.
    const lines = readFileSync(usageFile, 'utf8').trim().split('\n');
    const [, user, sys, maxRssKb] = (lines[lines.length - 1] ?? '').split(' ').map(Number);
    return {
      exitCode,
      wallMs,
      userCpuMs: Math.round((user ?? 0) * 1000),
      systemCpuMs: Math.round((sys ?? 0) * 1000),
      peakRssBytes: (maxRssKb ?? 0) * 1024,
    };
  } finally {
    await new Promise<void>((r) => log.end(r));
    rmSync(scratch, { recursive: true, force: true });
  }
}
