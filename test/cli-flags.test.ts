/**
 * One spelling per concept across commands: `--method` and `--methods` in render and
 * evaluate, `-o/--output` wherever a command prints something (render, report, rbac,
 * lab kernels), report's earlier `--format` still accepted.
 */
import { cpSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { parseYamlStream } from '../src/yaml.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function kmodlab(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'kmodlab', ...args], { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

function runCopy(): string {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'kmodlab-flags-')), 'run');
  cpSync(path.join(ROOT, 'test', 'fixtures', 'runs', 'complete'), dir, { recursive: true });
  return dir;
}

const RELEASE = ['--ocp-version', '4.14.12', '--kernel', '5.14.0-284.52.1.el9_2.x86_64', '--allow-placeholders'];

describe('--method and --methods', () => {
  it('render takes --methods as --method', async () => {
    const a = await kmodlab('render', '--method', 'kmm', ...RELEASE, '-o', 'yaml');
    const b = await kmodlab('render', '--methods', 'kmm', ...RELEASE, '-o', 'yaml');
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(b.stdout).toBe(a.stdout);
  });

  it('render refuses both spellings with different values', async () => {
    const r = await kmodlab('render', '--method', 'dtk', '--methods', 'kmm', ...RELEASE, '-o', 'yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--method and --methods are the same flag: give one/);
  });

  it('evaluate takes --method as --methods (validated the same way)', async () => {
    const r = await kmodlab('evaluate', '--method', 'bogus');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown value "bogus": expected a comma-separated list of layering, layering-on-cluster, dtk, dtk-tracking, kmm/);
  });

  it('--help shows one spelling', async () => {
    const r = await kmodlab('render', '--help');
    expect(r.stdout).toMatch(/--method <method>/);
    expect(r.stdout).not.toMatch(/--methods <list>/);
    const e = await kmodlab('evaluate', '--help');
    expect(e.stdout).toMatch(/--methods <list>/);
    expect(e.stdout).not.toMatch(/--method <list>/);
  });
});

describe('-o wherever there is output', () => {
  it('report -o json prints the JSON report; --format json still works', async () => {
    const r = await kmodlab('report', runCopy(), '-o', 'json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    const old = await kmodlab('report', runCopy(), '--format', 'json');
    expect(old.code).toBe(0);
    expect(Object.keys(JSON.parse(old.stdout) as object)).toEqual(Object.keys(report));
    const help = await kmodlab('report', '--help');
    expect(help.stdout).toMatch(/-o, --output <format>/);
    expect(help.stdout).not.toContain('--format');
  });

  it.each([
    [['-o', 'pdf'], /-o\/--output: unknown format "pdf"/],
    [['--format', 'pdf'], /--format: unknown format "pdf"/],
  ])('report %j → exit 2 naming the flag typed', async (args, pattern) => {
    const r = await kmodlab('report', runCopy(), ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(pattern);
  });

  it('rbac -o yaml (default) and -o json print the same ClusterRoles', async () => {
    const y = await kmodlab('rbac', '-o', 'yaml');
    const d = await kmodlab('rbac');
    const j = await kmodlab('rbac', '-o', 'json');
    expect(y.code).toBe(0);
    expect(j.code).toBe(0);
    expect(d.stdout).toBe(y.stdout);
    const fromYaml = parseYamlStream(y.stdout);
    const list = JSON.parse(j.stdout) as { apiVersion: string; kind: string; items: unknown[] };
    expect(list).toMatchObject({ apiVersion: 'v1', kind: 'List' });
    expect(list.items).toEqual(fromYaml);
    expect((list.items as { kind: string }[]).every((i) => i.kind === 'ClusterRole')).toBe(true);
  });

  it('rbac -o xml → exit 2', async () => {
    const r = await kmodlab('rbac', '-o', 'xml');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/-o\/--output: unknown format "xml": expected yaml or json/);
  });
});
