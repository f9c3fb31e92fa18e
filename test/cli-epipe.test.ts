/**
 * A reader that closes the pipe early (`kmodlab help render | head -1`): the command
 * exits quietly — no "write EPIPE" stack trace, no failure exit code.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'kmodlab.js');

/** Runs kmodlab with its stdout pipe already closed by the reader. */
function withClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

beforeAll(() => {
  if (!existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
});

describe('closed stdout', () => {
  it.each([
    [['help', 'render']],
    [['render', '--help']],
    [['render', '--method', 'dtk', '--allow-placeholders', '-o', 'yaml']],
    [['rbac']],
  ])('kmodlab %j exits 0 without a stack trace', async (args) => {
    const r = await withClosedStdout(args);
    expect(r.stderr).not.toContain('EPIPE');
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    expect(r.code).toBe(0);
  });
});
