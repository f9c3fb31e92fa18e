/**
 * `render --output-dir` into places that cannot hold a render: one line naming the
 * flag and why, exit 2, nothing created, no hang (procfs); and a non-empty directory
 * is refused unless --overwrite, which leaves no stale file of an earlier render.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkOutputDir } from '../src/artifacts/output-dir.js';
import { UserError } from '../src/errors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'kmodlab.js');
const RELEASE = ['--ocp-version', '4.14.12', '--kernel', '5.14.0-284.52.1.el9_2.x86_64'];

function kmodlab(args: string[], as?: { uid: number; gid: number }) {
  // A generous timeout only so a regression (the old procfs spin) fails instead of hanging the suite.
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: ROOT, timeout: 90_000, ...as });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

const NO_STACK = /\n\s+at .+\(.+:\d+:\d+\)/;

beforeAll(() => {
  if (!existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
});

describe('--output-dir that cannot hold a render', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-outdir-'));
  const file = path.join(tmp, 'a-file');
  writeFileSync(file, 'not a directory\n');
  const dangling = path.join(tmp, 'dangling');
  symlinkSync(path.join(tmp, 'missing-target'), dangling);

  it.each([
    ['a regular file', file, /--output-dir .*a-file: exists and is not a directory/],
    ['below a regular file', path.join(file, 'out'), /--output-dir .*a-file\/out: .*not a directory/],
    ['a dangling symlink', dangling, /--output-dir .*dangling: is a symbolic link to .*missing-target, which does not exist/],
    ['/sys/x', '/sys/kmodlab-out', /--output-dir \/sys\/kmodlab-out: \/sys is on sysfs, a kernel interface/],
    ['/proc/x', '/proc/kmodlab-out', /--output-dir \/proc\/kmodlab-out: \/proc is on procfs, a kernel interface/],
  ])('%s → one line naming --output-dir, exit 2', (_label, dir, pattern) => {
    const r = kmodlab(['render', '--method', 'kmm', ...RELEASE, '--output-dir', dir]);
    expect(r.signal, 'no hang').toBeNull();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
    expect(r.stderr).not.toMatch(NO_STACK);
    expect(r.stdout).toBe('');
    expect(existsSync(path.join(tmp, 'missing-target')), 'nothing created').toBe(false);
  });

  it.each([['/proc/kmodlab-out'], ['/proc/self/kmodlab/deeper'], ['/sys/kernel/kmodlab']])('%s is refused within a second', async (dir) => {
    const started = performance.now();
    await expect(checkOutputDir(dir)).rejects.toThrow(UserError);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('a read-only directory (as an unprivileged user: root may write anywhere)', (ctx) => {
    if (process.getuid?.() !== 0) ctx.skip(); // needs root to switch to the unprivileged user
    const ro = path.join(tmp, 'read-only');
    mkdirSync(ro);
    chmodSync(tmp, 0o755);
    chmodSync(ro, 0o555);
    for (const dir of [ro, path.join(ro, 'out')]) {
      const r = kmodlab(['render', '--method', 'kmm', ...RELEASE, '--output-dir', dir], { uid: 65534, gid: 65534 });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--output-dir .*read-only.*not writable: permission denied \(EACCES\)/);
      expect(r.stderr).not.toMatch(NO_STACK);
    }
  });
});

describe('--output-dir that already holds files', () => {
  it('refuses a non-empty directory, exit 2, and writes nothing', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-outdir-'));
    writeFileSync(path.join(dir, 'notes.txt'), 'mine\n');
    const r = kmodlab(['render', '--method', 'kmm', ...RELEASE, '--output-dir', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--output-dir .*: is not empty \(notes\.txt\)/);
    expect(r.stderr).toContain('--overwrite');
    expect(readdirSync(dir)).toEqual(['notes.txt']);
  });

  it('a render for another pool into the same directory: refused, then with --overwrite only the new MachineConfig is left', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-outdir-'));
    const first = kmodlab(['render', '--method', 'layering', ...RELEASE, '--pool', 'worker', '--output-dir', dir]);
    expect(first.code).toBe(0);
    expect(readdirSync(path.join(dir, 'layering'))).toContain('00-machineconfig-worker.yaml');
    const again = kmodlab(['render', '--method', 'layering', ...RELEASE, '--pool', 'master', '--output-dir', dir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/is not empty \(layering\)/);
    const over = kmodlab(['render', '--method', 'layering', ...RELEASE, '--pool', 'master', '--output-dir', dir, '--overwrite']);
    expect(over.code).toBe(0);
    const files = readdirSync(path.join(dir, 'layering'));
    expect(files).toContain('00-machineconfig-master.yaml');
    expect(files).not.toContain('00-machineconfig-worker.yaml');
  });

  it('an empty existing directory is fine', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-outdir-'));
    const r = kmodlab(['render', '--method', 'dtk', ...RELEASE, '--output-dir', dir]);
    expect(r.code).toBe(0);
    expect(readdirSync(dir)).toEqual(['dtk']);
  });

  it('--overwrite without --output-dir is refused', () => {
    const r = kmodlab(['render', '--method', 'dtk', ...RELEASE, '--overwrite', '-o', 'yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--overwrite applies to --output-dir/);
  });
});
