/** `kmodlab report` through the CLI entry point (in process): output streams, files, exit codes. */
import { cpSync, existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { writeRunReports } from '../../src/cli/cmds/report.js';
import { REPORT_SCHEMA_VERSION } from '../../src/report/model.js';
import { FIXTURES } from './support.js';

async function kmodlab(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'kmodlab', ...args], { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

function copy(name: string) {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'kmodlab-cli-')), name);
  cpSync(path.join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

describe('kmodlab report <run-dir>', () => {
  const savedPath = process.env['PATH'];
  afterEach(() => {
    process.env['PATH'] = savedPath;
  });

  it('writes report.md/json/html (+ schema) and prints Markdown on stdout; notes go to stderr', async () => {
    const dir = copy('complete');
    const r = await kmodlab('report', dir);
    expect(r.code).toBe(0);
    for (const f of ['report.md', 'report.json', 'report.html', 'report.schema.json']) expect(existsSync(path.join(dir, f))).toBe(true);
    expect(r.stdout).toBe(readFileSync(path.join(dir, 'report.md'), 'utf8'));
    expect(r.stdout).toContain('| Out-Of-Tree method | Additional resource consumption | Day1 | Day2 | Upgrade rollout | Kernel switch | Uninstall | Memory consumption |');
    expect(r.stderr).toMatch(/^wrote .*report\.md/m);
  });

  it.each([
    ['json', (s: string) => expect(JSON.parse(s).schemaVersion).toBe(REPORT_SCHEMA_VERSION)],
    ['html', (s: string) => expect(s.startsWith('<!doctype html>')).toBe(true)],
  ])('--format %s prints that format', async (format, check) => {
    const dir = copy('complete');
    const r = await kmodlab('report', dir, '--format', format);
    expect(r.code).toBe(0);
    check(r.stdout);
    expect(r.stdout).toBe(readFileSync(path.join(dir, `report.${format}`), 'utf8'));
  });

  it('an interrupted run: reported, with warnings and a note on stderr', async () => {
    const r = await kmodlab('report', copy('interrupted'));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: line \d+: last line is cut short/);
    expect(r.stderr).toMatch(/note: the run was interrupted/);
  });

  it('--open without xdg-open prints the path of report.html', async () => {
    const dir = copy('complete');
    process.env['PATH'] = '/nonexistent';
    const r = await kmodlab('report', dir, '--open');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`open ${path.join(dir, 'report.html')} in a browser (xdg-open not found)`);
  });

  it('--print-schema prints the JSON Schema of report.json', async () => {
    const r = await kmodlab('report', '--print-schema');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', title: 'kmodlab report' });
  });

  it.each([
    ['a missing run dir', (d: string) => path.join(d, 'nope'), /^error: .*events\.jsonl not found/],
    ['a dir without events.jsonl', (d: string) => d, /^error: .*events\.jsonl not found/],
    ['a file without run-start', (d: string) => (writeFileSync(path.join(d, 'events.jsonl'), '{"t":1,"source":"lab","kind":"progress","data":{"step":"x"}}\n'), d), /has no run-start event/],
  ])('%s → exit 2, one clear message', async (_n, make, message) => {
    const d = make(mkdtempSync(path.join(tmpdir(), 'kmodlab-cli-')));
    const r = await kmodlab('report', d);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('an unknown --format → exit 2', async () => {
    const r = await kmodlab('report', copy('complete'), '--format', 'pdf');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--format: unknown format "pdf": expected md, json, html');
  });

  describe('without a run dir: the newest run under ./runs', () => {
    const savedCwd = process.cwd();
    afterEach(() => process.chdir(savedCwd));

    it('takes the run whose record was written last', async () => {
      const root = mkdtempSync(path.join(tmpdir(), 'kmodlab-cwd-'));
      for (const [name, fixture, age] of [['b-older', 'complete', 3600], ['a-newer', 'interrupted', 0]] as const) {
        const dir = path.join(root, 'runs', name);
        cpSync(path.join(FIXTURES, fixture), dir, { recursive: true });
        const t = new Date(Date.now() - age * 1000);
        utimesSync(path.join(dir, 'events.jsonl'), t, t);
      }
      process.chdir(root);
      const r = await kmodlab('report', '--format', 'json');
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`report: newest run ${path.join('runs', 'a-newer')}`);
      expect(JSON.parse(r.stdout).run.status).toBe('interrupted');
      expect(existsSync(path.join(root, 'runs', 'a-newer', 'report.md'))).toBe(true);
      expect(existsSync(path.join(root, 'runs', 'b-older', 'report.md'))).toBe(false);
    });

    it('no run at all → exit 2 saying where it looked', async () => {
      process.chdir(mkdtempSync(path.join(tmpdir(), 'kmodlab-cwd-')));
      const r = await kmodlab('report');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/no run under \.\/runs: pass the run directory/);
    });
  });
});

describe('writeRunReports (used by kmodlab evaluate)', () => {
  it('writes the reports and returns a summary that fits the terminal, not a wide Markdown table', async () => {
    const dir = copy('complete');
    for (const width of [80, 60]) {
      const summary = await writeRunReports(dir, width);
      const lines = summary.trimEnd().split('\n');
      for (const l of lines) expect([...l].length, l).toBeLessThanOrEqual(width);
      expect(summary).not.toMatch(/^\|/m);
      expect(lines[0]).toMatch(/^Measured on lab \(QEMU TCG\), 1 node\./);
      // One block per method, each with one line per column (the seed's wording).
      for (const title of ['RHCOS image layering', 'Driver Toolkit', 'Kernel Module Management']) expect(summary).toMatch(new RegExp(`^${title}.* \\(`, 'm'));
      expect(summary).toMatch(/^ {2}Upgrade rollout +\S/m);
    }
    expect(existsSync(path.join(dir, 'report.html'))).toBe(true);
  });
});
