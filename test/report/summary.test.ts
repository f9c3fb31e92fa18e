/** The summary table, filled from measurements: short cells, details in footnotes, honest about what was not measured. */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeReports } from '../../src/report/write.js';
import { formatBytes, formatMs } from '../../src/report/format.js';
import { FIXED_NOW, FIXTURES, reportFixture } from './support.js';

const complete = reportFixture('complete');
const interrupted = reportFixture('interrupted');
type R = typeof complete;
const cells = (r: R, method: string) => r.report.summary.rows.find((x) => x.method === method)!.cells.map((c) => c.text);
const col = (r: R, id: string) => r.report.summary.columnIds.indexOf(id);
const cell = (r: R, method: string, id: string) => r.report.summary.rows.find((x) => x.method === method)!.cells[col(r, id)]!;
const notesOf = (r: R, method: string, id: string) => cell(r, method, id).notes.map((n) => r.report.summary.footnotes[n - 1]!);

/** A fixture run with its run-start rewritten (e.g. fewer scenarios) and reported. */
function variantOf(name: 'complete', edit: (events: Record<string, any>[]) => Record<string, any>[]) {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'kmodlab-summary-')), name);
  cpSync(path.join(FIXTURES, name), dir, { recursive: true });
  const file = path.join(dir, 'events.jsonl');
  const events = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  writeFileSync(file, `${edit(events).map((e) => JSON.stringify(e)).join('\n')}\n`);
  return writeReports(dir, { now: FIXED_NOW });
}

describe('summary of the complete run', () => {
  it('the seed’s columns for the scenarios that ran, one row per method', () => {
    expect(complete.report.summary.columns).toEqual(['Out-Of-Tree method', 'Additional resource consumption', 'Day1', 'Day2', 'Upgrade rollout', 'Kernel switch', 'Uninstall', 'Memory consumption']);
    expect(complete.report.summary.rows.map((r) => r.method)).toEqual(['layering', 'dtk', 'kmm']);
  });

  it('no empty, #N/A cell; every cell is one short line', () => {
    for (const row of complete.report.summary.rows) {
      expect(row.cells).toHaveLength(8);
      for (const c of row.cells) {
        expect(c.text.trim()).not.toBe('');
        expect(c.text).not.toMatch(/#N\/A|undefined|NaN|null|\n/);
        expect(c.text.length, c.text).toBeLessThanOrEqual(48);
        for (const m of c.text.matchAll(/not measured \(([^)]*)\)/g)) expect(m[1]).toMatch(/emulated by the target/);
      }
    }
  });

  it.each([
    ['layering', 'day1', /^yes, \+1 reboot, [\d.]+ s$/],
    ['layering', 'day2', /^yes, [\d.]+ s, 1 reboot$/],
    // The MCO keeps a layered image's kernel: no reboot, and the driver is not restored.
    ['layering', 'upgrade', /^no, 1 manual step, no reboot$/],
    ['layering', 'memory', /^0 \(none resident\)$/],
    ['dtk', 'day1', /^yes, first boot, [\d.]+ s$/],
    ['dtk', 'day2', /^yes, [\d.]+ s, no reboot$/],
    ['dtk', 'memory', /^1\.\d\d MB$/],
    // The upgrade itself reboots the node (no baseline in this fixture: as measured).
    ['kmm', 'upgrade', /^yes, automatic, [\d.]+ s, 1 reboot$/],
    // The lab emulates KMM's operator: nothing resident to sample, said in a footnote; the cell is the build.
    ['kmm', 'resources', /^build [\d.]+ s$/],
    ['kmm', 'uninstall', /^yes, [\d.]+ s(, nothing left)?$/],
  ])('%s %s', (method, id, re) => expect(cell(complete, method, id).text).toMatch(re));

  it('details are footnotes: why the upgrade was not restored, the manual step, the build cost', () => {
    expect(notesOf(complete, 'dtk', 'upgrade')).toEqual(expect.arrayContaining([expect.stringMatching(/^dtk, upgrade: not restored: driver loaded on 0\/1 nodes after the change, 4 pod restarts$/), expect.stringMatching(/^dtk, upgrade: manual step: /)]));
    expect(notesOf(complete, 'layering', 'upgrade')).toContain('layering, upgrade: not restored: 1/1 node left on the old kernel');
    expect(notesOf(complete, 'kmm', 'resources')).toEqual([
      expect.stringMatching(/^kmm: resident components not measured: kmm-operator emulated by the target/),
      expect.stringMatching(/^kmm: driver build \(day2\): [\d.]+ s wall, [\d.]+ s CPU, [\d.]+ MB peak RSS, [\d.]+ kB output$/),
      // The fixture's builds are bare makes and its pods record no pulls: said in footnotes, not in the cell.
      expect.stringMatching(/^kmm: image not measured: no build recorded its image/),
      expect.stringMatching(/^kmm: image bytes pulled not measured: no image pull recorded/),
      // Recorded before the lab read its registry after each scenario.
      expect.stringMatching(/^kmm: registry storage used not measured: no registry storage recorded in this scenario/),
    ]);
  });

  it('the target label is said once, in the caption, not after every duration', () => {
    expect(complete.report.summary.caption).toMatch(/^Measured on lab \(QEMU TCG\), 1 node\. Durations are lab-scale/);
    for (const row of complete.report.summary.rows) for (const c of row.cells) expect(c.text).not.toContain('QEMU');
    const md = complete.texts.md;
    const summary = md.slice(md.indexOf('## Summary'), md.indexOf('## Results per scenario'));
    expect(summary.match(/lab \(QEMU TCG\)/g)).toHaveLength(1);
  });

  it('one unit style: sizes in kB/MB, never a thousands-separated byte count', () => {
    const visible = complete.texts.html.replace(/<style>[\s\S]*?<\/style>/, '').replace(/<[^>]+>/g, ' ');
    for (const text of [complete.texts.md, visible]) expect(text).not.toMatch(/\d,\d{3}/);
  });

  it('plain words, no jargon about where the table came from', () => {
    for (const text of [complete.texts.md, complete.texts.html]) expect(text).not.toMatch(/seed/i);
  });

  it('the Markdown table carries the footnote marks and lists the footnotes under it', () => {
    const lines = complete.texts.md.split('\n');
    const head = lines.findIndex((l) => l.startsWith('| Out-Of-Tree method'));
    for (let i = 0; i < 3; i++) expect(lines[head + 2 + i]!.split(' | ').length).toBe(8);
    expect(lines[head + 3]).toMatch(/ [¹²³⁴⁵⁶⁷⁸⁹⁰]/);
    const n = complete.report.summary.footnotes.length;
    expect(n).toBeGreaterThan(3);
    expect(lines.slice(head + 6, head + 6 + n).map((l) => l.trimEnd())).toEqual(complete.report.summary.footnotes.map((f, i) => `${[...String(i + 1)].map((d) => '⁰¹²³⁴⁵⁶⁷⁸⁹'[Number(d)]).join('')} ${f}`));
  });

  it('each cell lists the metrics it was composed from', () => {
    expect(cell(complete, 'dtk', 'day2').metrics).toEqual(expect.arrayContaining(['dtk.day2.success', 'dtk.day2.timeToDriverMs', 'dtk.day2.reboots']));
  });
});

describe('columns follow the scenarios that ran', () => {
  it('a kernel-switch-only run has a kernel-switch column and no “not planned” Day1/Day2/Upgrade', () => {
    const r = variantOf('complete', (events) =>
      events
        .filter((e) => e.kind === 'run-start' || e.kind === 'run-end' || e.scenario === 'kernel-switch')
        .map((e) => (e.kind === 'run-start' ? { ...e, data: { ...e.data, scenarios: ['kernel-switch'] } } : e)),
    );
    expect(r.report.summary.columns).toEqual(['Out-Of-Tree method', 'Additional resource consumption', 'Kernel switch', 'Memory consumption']);
    expect(r.texts.md.split('\n').filter((l) => /not planned/.test(l)).map((l) => l.slice(0, 200))).toEqual([]);
    expect(r.report.summary.rows.find((x) => x.method === 'kmm')!.cells[2]!.text).toMatch(/^yes, automatic, [\d.]+ s, 1 reboot$/);
  });
});

describe('a failed build shows how long it ran before it failed', () => {
  it('"build failed after …" with the error as footnote, not "did not record wallMs"', () => {
    const r = variantOf('complete', (events) => {
      // The dtk day-2 build failed after the time it ran (as the lab records a failed kbuild).
      const b = events.find((e) => e.kind === 'build' && e.method === 'dtk' && e.scenario === 'day2')!;
      b.data = { kver: b.data.kver, ok: false, cached: false, wallMs: 2345, error: 'build of simple-kmod for x failed (exit 2)' };
      return events.filter((e) => !(e.kind === 'build' && e.method === 'dtk' && e.scenario !== 'day2'));
    });
    const c = r.report.summary.rows.find((x) => x.method === 'dtk')!;
    expect(c.cells[1]!.text).toMatch(/build failed after 2\.3 s$/);
    expect(c.cells[1]!.notes.map((n) => r.report.summary.footnotes[n - 1])).toContainEqual(expect.stringMatching(/failed: build of simple-kmod for x failed \(exit 2\)$/));
    expect(r.texts.md).toMatch(/dtk: build for \S+: failed after 2\.3 s \(build of simple-kmod/);
    expect(r.texts.md).not.toMatch(/did not record/);
  });
  it('a failed build followed by one that worked (a retriggered Build): the cell shows the one that worked, the failure is a footnote', () => {
    const r = variantOf('complete', (events) => {
      const i = events.findIndex((e) => e.kind === 'build' && e.method === 'dtk' && e.scenario === 'day2');
      const ok = events[i]!;
      const failed: typeof ok = { ...ok, data: { kver: ok.data.kver, ok: false, cached: false, wallMs: 2000, error: 'Build Failed (ImageStream not resolved yet)' } };
      return [...events.slice(0, i), failed, ...events.slice(i)].filter((e) => !(e.kind === 'build' && e.method === 'dtk' && e.scenario !== 'day2'));
    });
    const c = r.report.summary.rows.find((x) => x.method === 'dtk')!;
    expect(c.cells[1]!.text).toMatch(/^build [\d.]+ m?s/);
    expect(c.cells[1]!.text).not.toMatch(/failed/);
    expect(c.cells[1]!.notes.map((n) => r.report.summary.footnotes[n - 1])).toContainEqual(expect.stringMatching(/failed after 2\.0 s before one succeeded: Build Failed \(ImageStream not resolved yet\)$/));
  });
  it('a build that worked followed by one that failed (an on-cluster rebuild on an upgrade): the footnote says an earlier one succeeded', () => {
    const r = variantOf('complete', (events) => {
      const i = events.findIndex((e) => e.kind === 'build' && e.method === 'dtk' && e.scenario === 'day2');
      const ok = events[i]!;
      const failed: typeof ok = { ...ok, data: { kver: ok.data.kver, ok: false, cached: false, wallMs: 7000, error: 'Failed: Build Failed' } };
      return [...events.slice(0, i + 1), failed, ...events.slice(i + 1)].filter((e) => !(e.kind === 'build' && e.method === 'dtk' && e.scenario !== 'day2'));
    });
    const c = r.report.summary.rows.find((x) => x.method === 'dtk')!;
    expect(c.cells[1]!.text).toMatch(/^build [\d.]+ m?s/);
    expect(c.cells[1]!.notes.map((n) => r.report.summary.footnotes[n - 1])).toContainEqual(expect.stringMatching(/failed after 7\.0 s \(an earlier one succeeded\): Failed: Build Failed$/));
  });
  it('a failed build that names no kernel (a MachineOSBuild) names none in its footnote', () => {
    const r = variantOf('complete', (events) => {
      const b = events.find((e) => e.kind === 'build' && e.method === 'dtk' && e.scenario === 'day2')!;
      b.data = { kver: '', ok: false, cached: false, wallMs: 10_000, error: 'Failed: Build Failed' };
      return events.filter((e) => !(e.kind === 'build' && e.method === 'dtk' && e.scenario !== 'day2'));
    });
    const footnotes = r.report.summary.footnotes.filter((f) => /driver build/.test(f));
    expect(footnotes).toContainEqual('dtk: driver build (day2) failed: Failed: Build Failed');
    expect(footnotes.filter((f) => /build for +\(/.test(f))).toEqual([]);
  });
});

describe('image figures of a method show in its resources cell', () => {
  /** The complete run with dtk's day-2 build an image build, its pull by node-0 and the registry read after it. */
  const withImage = (extra: { storage?: boolean; pulls?: Array<[string, number]> } = {}) =>
    variantOf('complete', (events) => {
      const at = events.findIndex((e) => e.kind === 'build' && e.method === 'dtk' && e.scenario === 'day2');
      const b = events[at]!;
      b.data = { ...b.data, cached: false, wallMs: 20_000, userCpuMs: 9_000, systemCpuMs: 3_000, peakRssBytes: 210_000_000, imageBytes: 12_000_000, layers: 3, bytesPushed: 1_500_000 };
      const pulls = (extra.pulls ?? [['node-0', 12_000_000]]).map(([node, bytes]) => ({ ...b, kind: 'image-pull', node, data: { image: 'reg/dtk@sha256:1', bytes } }));
      const storage = extra.storage ? [{ ...b, kind: 'registry-storage', data: { bytes: 1_400_000, blobs: 2, images: ['reg/dtk@sha256:1'] } }] : [];
      const nodes = [...new Set([...(events[0]!.data.nodes as string[]), ...pulls.map((p) => p.node)])];
      const start = { ...events[0]!, data: { ...events[0]!.data, nodes } };
      return [start, ...events.slice(1, at + 1), ...pulls, ...storage, ...events.slice(at + 1)];
    });

  it('"build … · 12.0 MB img · 12.0 MB/node"; layers, bytes pushed and each node\'s pull in footnotes', () => {
    const r = withImage();
    const c = r.report.summary.rows.find((x) => x.method === 'dtk')!.cells[1]!;
    expect(c.text).toMatch(/^build [\d.]+ s · 12\.0 MB img · 12\.0 MB\/node$/);
    const notes = c.notes.map((n) => r.report.summary.footnotes[n - 1]);
    expect(notes).toContain('dtk: image (day2): 12.0 MB as the registry stores it, 3 layers; 1.50 MB pushed');
    expect(notes).toContainEqual(expect.stringMatching(/^dtk: image bytes pulled per node \(day2\): node-0 12\.0 MB; /));
  });

  it('details keep every figure: resident, build CPU and peak RSS, layers, bytes pushed, per-node pulls, registry storage', () => {
    const r = withImage({ storage: true });
    const c = r.report.summary.rows.find((x) => x.method === 'dtk')!.cells[1]!;
    expect(c.text.length).toBeLessThanOrEqual(48);
    const notes = c.notes.map((n) => r.report.summary.footnotes[n - 1]!).join('\n');
    const day2 = r.report.results.find((x) => x.method === 'dtk' && x.scenario === 'day2')!;
    const fig = (m: string) => {
      const v = day2.metrics[m];
      expect(v && 'value' in v, m).toBe(true);
      return (v as { value: number }).value;
    };
    // Each figure the cell leaves out is in a footnote, written as the report writes it.
    expect(notes).toContain(`${formatMs(fig('buildWallMs'))} wall`);
    expect(notes).toContain(`${formatMs(fig('buildCpuMs'))} CPU`);
    expect(notes).toContain(`${formatBytes(fig('buildPeakRssBytes'))} peak RSS`);
    expect(notes).toContain(`${formatBytes(fig('buildImageBytes'))} as the registry stores it, ${fig('buildImageLayers')} layers`);
    expect(notes).toContain(`${formatBytes(fig('buildBytesPushed'))} pushed`);
    expect(notes).toContain(`node-0 ${formatBytes(fig('imagePulledBytesPerNode'))}`);
    expect(notes).toMatch(new RegExp(`registry storage used \\(after day2\\): ${formatBytes(fig('registryStorageBytes')).replace('.', '\\.')} of blobs beyond the release images \\(2 blobs of 1 image\\)`));
    expect(notes).toMatch(/^dtk: resident \(day2\): driver-container, [\d.]+ % CPU$/m);
    // And the cell's figures are the same ones.
    expect(c.text).toContain(`build ${formatMs(fig('buildWallMs'))}`);
    expect(c.text).toContain(`${formatBytes(fig('buildImageBytes'))} img`);
  });

  it('an uneven pull reads "≤ the most on one node", each node in the footnote', () => {
    const r = withImage({ pulls: [['node-0', 12_000_000], ['node-1', 3_000_000]] });
    const c = r.report.summary.rows.find((x) => x.method === 'dtk')!.cells[1]!;
    expect(c.text).toMatch(/ · ≤12\.0 MB\/node$/);
    expect(c.notes.map((n) => r.report.summary.footnotes[n - 1])).toContainEqual(expect.stringMatching(/^dtk: image bytes pulled per node \(day2\): node-0 12\.0 MB, node-1 3\.00 MB; /));
  });

  it('a cluster run says why registry storage is not measured', () => {
    const r = variantOf('complete', (events) => events.map((e) => (e.kind === 'run-start' ? { ...e, data: { ...e.data, target: 'cluster', targetLabel: 'cluster (test)' } } : e)));
    const day2 = r.report.results.find((x) => x.method === 'dtk' && x.scenario === 'day2')!;
    expect(day2.metrics['registryStorageBytes']).toEqual({ notMeasured: expect.stringMatching(/^kmodlab does not read a cluster registry’s storage/) });
    expect(r.report.summary.footnotes).toContainEqual(expect.stringMatching(/^dtk: registry storage used not measured: kmodlab does not read a cluster registry’s storage/));
  });
});

describe("a layered OS image's pull counts for layering; the release's own does not", () => {
  it('the daemon\'s OS-image pull is layering\'s bytes pulled per node', () => {
    const r = variantOf('complete', (events) => {
      const at = events.findIndex((e) => e.kind === 'apply' && e.method === 'layering' && e.scenario === 'day2');
      const e = events[at]!;
      const pull = (image: string, bytes: number, osImage: string) => ({ ...e, kind: 'image-pull', node: 'node-0', data: { image, bytes, imageBytes: 300_000_000, osImage } });
      return [...events.slice(0, at + 1), pull('reg/layered@sha256:1', 2_500_000, 'osImageURL'), pull('reg/node-os@sha256:2', 300_000_000, 'release'), ...events.slice(at + 1)];
    });
    const day2 = r.report.results.find((x) => x.method === 'layering' && x.scenario === 'day2')!;
    expect(day2.metrics['imagePulledBytesPerNode']).toMatchObject({ value: 2_500_000 });
    expect(r.report.summary.rows.find((x) => x.method === 'layering')!.cells[1]!.text).toMatch(/ · 2\.50 MB\/node$/);
  });
});

describe('every recorded run keeps its resources cells short', () => {
  it.each(['complete', 'interrupted', 'lab-recorded', 'lab-baseline', 'lab-default'] as const)('%s: every resources cell ≤ 48 characters, with footnotes', (name) => {
    const r = reportFixture(name);
    const at = r.report.summary.columnIds.indexOf('resources');
    expect(at).toBeGreaterThan(0);
    for (const row of r.report.summary.rows) {
      const c = row.cells[at]!;
      expect(c.text.length, `${row.method}: ${c.text}`).toBeLessThanOrEqual(48);
      expect(c.text).not.toMatch(/;/);
      expect(c.notes.length).toBeGreaterThan(0);
    }
  });
});

describe('manual steps of an install show in its cell', () => {
  it('day 2 with the README’s start-build: "…, 1 manual step" and the step as footnote', () => {
    const r = variantOf('complete', (events) => {
      const at = events.findIndex((e) => e.kind === 'apply' && e.method === 'dtk' && e.scenario === 'day2');
      const step = { ...events[at]!, kind: 'manual-step', data: { description: 'start the binary build x with the driver source', command: 'oc start-build x --from-dir=. --follow', performedBy: 'lab' } };
      return [...events.slice(0, at + 1), step, ...events.slice(at + 1)];
    });
    const c = r.report.summary.rows.find((x) => x.method === 'dtk')!.cells[r.report.summary.columnIds.indexOf('day2')]!;
    expect(c.text).toMatch(/^yes, [\d.]+ s, no reboot, 1 manual step$/);
    expect(c.notes.map((n) => r.report.summary.footnotes[n - 1])).toContain('dtk, day2: manual step: start the binary build x with the driver source');
  });
});

describe('repeated identical faults collapse into one line with a count', () => {
  it('20 identical faults are one line "(×20)"', () => {
    const r = variantOf('complete', (events) => {
      const at = events.findIndex((e) => e.kind === 'scenario-end' && e.method === 'dtk' && e.scenario === 'upgrade');
      const f = { t: events[at]!.t - 1, source: 'lab', kind: 'fault', method: 'dtk', scenario: 'upgrade', node: 'node-0', data: { fault: 'module-refused', message: 'simple_kmod: disagrees about version of symbol module_layout' } };
      return [...events.slice(0, at), ...Array.from({ length: 20 }, () => f), ...events.slice(at)];
    });
    const lines = r.texts.md.split('\n').filter((l) => l.includes('module-refused'));
    expect(lines).toEqual(['- dtk: fault `module-refused` on node-0: simple_kmod: disagrees about version of symbol module_layout (×20)']);
    expect(r.texts.html.match(/<li><strong>dtk<\/strong> — fault <code>module-refused/g)).toHaveLength(1);
    expect(r.texts.html).toContain('module_layout (×20)</li>');
  });
});

describe('summary of the interrupted run (killed during dtk upgrade)', () => {
  it('reports what was measured before the kill', () => {
    expect(interrupted.report.run.status).toBe('interrupted');
    expect(cells(interrupted, 'layering')).toEqual(cells(complete, 'layering'));
    expect(cell(interrupted, 'dtk', 'day2').text).toBe(cell(complete, 'dtk', 'day2').text);
  });

  it('marks the scenario it was killed in, with what was seen, in a footnote', () => {
    expect(cell(interrupted, 'dtk', 'upgrade').text).toBe('not measured');
    expect(notesOf(interrupted, 'dtk', 'upgrade')).toEqual(['dtk, upgrade: not measured: run interrupted during this scenario; seen before it: 1 reboot, 2 pod restarts']);
  });

  it('marks everything after the kill "not measured", the reason once per footnote', () => {
    const kmm = interrupted.report.summary.rows.find((x) => x.method === 'kmm')!.cells;
    for (const c of kmm.slice(2, -1)) expect(c.text).toBe('not measured');
    expect(notesOf(interrupted, 'kmm', 'day1')).toEqual(['kmm, day1: not measured: run interrupted before this scenario']);
    expect(kmm[1]!.text).toBe('build not measured');
    for (const r of interrupted.report.results.filter((x) => x.method === 'kmm')) {
      expect(r.status).toBe('not-run');
      for (const m of Object.values(r.metrics)) expect('notMeasured' in m).toBe(true);
    }
  });

  it('no cell is empty or #N/A there either', () => {
    for (const row of interrupted.report.summary.rows) for (const c of row.cells) expect(c.text).toMatch(/\S/), expect(c.text).not.toMatch(/#N\/A|undefined|NaN/);
  });

  it('the warnings name the cut-short line', () => {
    expect(interrupted.report.run.warnings).toEqual([expect.stringMatching(/^line \d+: last line is cut short/)]);
    expect(interrupted.texts.md).toContain('Run interrupted');
  });
});
