/**
 * Render flags that parse but match no real node or release: a RHEL kernel without its
 * architecture (exit 2), another kernel without one (warning), KMM before OpenShift 4.12
 * (exit 2). Unit cases in-process, one of each through the shipped CLI.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkKernelFlag, checkMethodsForRelease } from '../src/cli/render-checks.js';
import { UserError } from '../src/errors.js';
import { ReleaseSchema } from '../src/release/release.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'kmodlab.js');

function kmodlab(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: ROOT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('--kernel', () => {
  it.each([['5.14.0-284.52.1.el9_2.x86_64'], ['5.14.0-284.52.1.el9_2.aarch64'], ['5.14.0-427.13.1.el9_4.aarch64+64k'], ['4.18.0-372.43.1.el8_6.s390x'], [undefined]])('%s is accepted silently', (k) => {
    expect(checkKernelFlag(k)).toEqual([]);
  });

  it.each([['5.14.0-284.52.1.el9_2'], ['4.18.0-372.43.1.el8_6'], ['5.14.0-570.17.1.el9']])('RHEL kernel %s without architecture → UserError naming --kernel', (k) => {
    expect(() => checkKernelFlag(k)).toThrow(UserError);
    expect(() => checkKernelFlag(k)).toThrow(new RegExp(`--kernel ${k.replace(/\./g, '\\.')}: no node reports this: .*${k.replace(/\./g, '\\.')}\\.x86_64`));
  });

  it('another kernel without architecture → a warning naming --kernel', () => {
    const w = checkKernelFlag('6.1.0-50-amd64');
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(/^--kernel 6\.1\.0-50-amd64 does not end in an architecture/);
  });
});

describe('KMM and the OpenShift version', () => {
  const release = (version?: string) => ReleaseSchema.parse({ version });
  it.each([['4.12.0'], ['4.14.12'], ['4.20.1'], ['5.0.0'], [undefined]])('%s: kmm accepted', (v) => {
    expect(() => checkMethodsForRelease(['kmm'], release(v), '--ocp-version')).not.toThrow();
  });
  it.each([['4.11.59'], ['4.10.3'], ['3.11.0']])('%s: kmm refused naming the flag, other methods fine', (v) => {
    expect(() => checkMethodsForRelease(['layering', 'kmm'], release(v), '--ocp-version')).toThrow(/--ocp-version .*: Kernel Module Management is available from OpenShift 4\.12/);
    expect(() => checkMethodsForRelease(['layering', 'dtk'], release(v), '--ocp-version')).not.toThrow();
  });
});

describe('through the CLI', () => {
  beforeAll(() => {
    if (!existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  });

  it('a RHEL kernel without architecture: exit 2', () => {
    const r = kmodlab('render', '--method', 'kmm', '--ocp-version', '4.14.12', '--kernel', '5.14.0-284.52.1.el9_2', '--allow-placeholders', '-o', 'yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --kernel 5\.14\.0-284\.52\.1\.el9_2: no node reports this/m);
    expect(r.stdout).toBe('');
  });

  it('kmm on OpenShift 4.11: exit 2 with the methods that do work', () => {
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'kmodlab-render-')), 'out');
    const r = kmodlab('render', '--ocp-version', '4.11.59', '--output-dir', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error: --ocp-version 4\.11\.59: Kernel Module Management is available from OpenShift 4\.12/);
    expect(r.stderr).toMatch(/hint: render without kmm: --method layering,dtk/);
    expect(existsSync(out), 'nothing written').toBe(false);
  });
});
