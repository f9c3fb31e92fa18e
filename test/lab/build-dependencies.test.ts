/**
 * Wherever the lab builds a driver it reads the modules' dependencies (`modinfo -F
 * depends`) and records them, classified as `kmodlab check` does, in the build event;
 * the report shows them in its details. Real kbuild against an installed kernel; no
 * node is booted (a lab cluster of zero nodes only builds).
 */
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDriver } from '../../src/driver/load.js';
import { REFERENCE_DRIVER_FILE } from '../../src/driver/reference.js';
import { writeReports } from '../../src/report/write.js';
import { LabCluster } from '../../src/targets/lab/control-plane/lab-cluster.js';
import { listKernels } from '../../src/targets/lab/kernels/catalog.js';
import { FIXED_NOW, FIXTURES as RUN_FIXTURES } from '../report/support.js';

const kernel = listKernels().find((k) => !k.flavour.includes('rt'));
const DRIVER_FIXTURES = path.resolve(import.meta.dirname, '../fixtures/drivers');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Ev {
  kind: string;
  data: Record<string, unknown>;
}

/** Builds the driver once in a node-less lab cluster; returns its build event's data. */
async function buildEvent(driverFile: string): Promise<Record<string, unknown>> {
  const driver = await loadDriver(driverFile);
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-deps-'));
  dirs.push(runDir);
  const events: Ev[] = [];
  const cluster = await LabCluster.create({ runDir, nodes: 0, release: { kernel: kernel! }, driver, buildStore: path.join(runDir, 'store'), emit: (kind, data) => events.push({ kind, data }) });
  try {
    expect(await cluster.build(kernel!.kver, 'test', `quay.io/acme/${driver.spec.name}`)).toBeDefined();
  } finally {
    await cluster.shutdown();
  }
  const build = events.find((e) => e.kind === 'build');
  expect(build?.data.ok).toBe(true);
  return build!.data;
}

/** The complete fixture run with its first dtk day2 build carrying `data`'s dependencies, reported (report.md then report.html). */
function reportWith(data: Record<string, unknown>): string {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'kmodlab-deps-report-')), 'complete');
  dirs.push(path.dirname(dir));
  cpSync(path.join(RUN_FIXTURES, 'complete'), dir, { recursive: true });
  const file = path.join(dir, 'events.jsonl');
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  const i = lines.findIndex((l) => l.includes('"kind":"build"') && l.includes('"method":"dtk"') && l.includes('"scenario":"day2"'));
  expect(i).toBeGreaterThan(-1);
  const ev = JSON.parse(lines[i]!) as { data: Record<string, unknown> };
  lines[i] = JSON.stringify({ ...ev, data: { ...ev.data, dependencies: data['dependencies'] } });
  rmSync(file);
  appendFileSync(file, lines.join('\n') + '\n');
  writeReports(dir, { now: FIXED_NOW });
  return readFileSync(path.join(dir, 'report.md'), 'utf8') + readFileSync(path.join(dir, 'report.html'), 'utf8');
}

describe.skipIf(!kernel)(`build events record the modules' dependencies${kernel ? '' : ' (skipped: no kernel with headers installed)'}`, () => {
  it('the reference driver needs no in-tree module; the report says so on its build line', async () => {
    const data = await buildEvent(REFERENCE_DRIVER_FILE);
    const deps = data['dependencies'] as { kind: string }[];
    expect(Array.isArray(deps)).toBe(true);
    expect(deps.filter((d) => d.kind !== 'driver')).toEqual([]);
    const md = reportWith(data);
    expect(md).toMatch(deps.length === 0 ? /- dtk: build for \S+: ok, [^\n]*no module dependencies/ : /- dtk: build for \S+: ok, [^\n]*\(0 in-tree; table below\)/);
  }, 300_000);

  it('a module using crc7 records crc7 as in-tree, and the report lists it in the dependency table', async () => {
    const data = await buildEvent(path.join(DRIVER_FIXTURES, 'needs-crc7', 'driver.yaml'));
    expect(data['dependencies']).toEqual([{ module: 'needs_crc7', name: 'crc7', kind: 'in-tree', file: expect.stringMatching(/crc7\.ko/) }]);
    const md = reportWith(data);
    expect(md).toMatch(/- dtk: build for \S+: ok, [^\n]*1 module dependency \(1 in-tree; table below\)/);
    expect(md).toContain('| Method | Kernel | Module | Needs | Class |');
    expect(md).toMatch(/\| dtk \| \S+ \| needs_crc7 \| crc7 \| in-tree \|/);
    expect(md).toContain('<code>needs_crc7</code> needs <code>crc7</code> (in-tree)'); // report.html's notes
  }, 300_000);
});
