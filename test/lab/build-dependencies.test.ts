/**
 * Wherever the lab builds a driver it reads the modules' dependencies (`modinfo -F
 * depends`) and records them, classified as `kmodlab check` does: the lab's Build
 * controller reads them from the image it built and writes them on the Build, the cluster
 * target's `build` event carries them, the report shows them in its details. The DTK
 * method's own BuildConfig, rendered for the lab release, started as its README says
 * (instantiatebinary), built by the lab's Build controller with buildah against the lab
 * API — no node is booted (nothing here needs one).
 */
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeArtifactSet } from '../../src/artifacts/artifact-set.js';
import { loadDriver } from '../../src/driver/load.js';
import { REFERENCE_DRIVER_FILE } from '../../src/driver/reference.js';
import '../../src/methods/all.js';
import { renderMethods } from '../../src/methods/render.js';
import { resolveRelease } from '../../src/release/resolve.js';
import { writeReports } from '../../src/report/write.js';
import { buildEvents } from '../../src/targets/cluster/observers.js';
import { BuildController } from '../../src/targets/lab/control-plane/api-controllers/builds.js';
import { SharedInformers } from '../../src/targets/lab/control-plane/informers.js';
import { startBinaryBuild, waitForBuild } from '../../src/targets/lab/control-plane/start-build.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { labReleaseInfoFor, setupLabImages } from '../../src/targets/lab/images/lab-release.js';
import { openRegistry, type LabRegistry } from '../../src/targets/lab/images/registry.js';
import { listKernels } from '../../src/targets/lab/kernels/catalog.js';
import { FIXED_NOW, FIXTURES as RUN_FIXTURES } from '../report/support.js';
import { kubectlBinary, startTestApi, type TestApi } from './api-server-helpers.js';

const kernel = listKernels().find((k) => !k.flavour.includes('rt'));
const missing = ['buildah', 'docker-registry'].filter((t) => !findTool(t));
const ok = !!kernel && missing.length === 0 && !!kubectlBinary();
const why = !kernel ? ' (skipped: no kernel with headers installed)' : ` (skipped: ${missing.length ? `not installed: ${missing.join(', ')}` : 'no kubectl'})`;
const DRIVER_FIXTURES = path.resolve(import.meta.dirname, '../fixtures/drivers');

describe.skipIf(!ok)(`build events record the modules' dependencies${ok ? '' : why}`, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-deps-'));
  const labDir = process.env.KMODLAB_LAB_DIR;
  let api: TestApi;
  let registry: LabRegistry;
  let informers: SharedInformers;
  let builds: BuildController;
  let releaseFile: string;

  beforeAll(async () => {
    // The lab API's state (binary build archives, build logs) in this file's own dir.
    process.env.KMODLAB_LAB_DIR = path.join(dir, 'state');
    api = await startTestApi();
    registry = await openRegistry();
    await setupLabImages([kernel!]);
    releaseFile = path.join(dir, 'release.json');
    writeFileSync(releaseFile, JSON.stringify(await labReleaseInfoFor(kernel!.kver)));
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfig);
    informers = new SharedInformers(kc, () => undefined);
    builds = new BuildController({ kc, informers, registry });
    await builds.start();
  }, 900_000);

  afterAll(async () => {
    await builds?.stop();
    await informers?.stop();
    await api?.stop();
    await registry?.stop();
    if (labDir === undefined) delete process.env.KMODLAB_LAB_DIR;
    else process.env.KMODLAB_LAB_DIR = labDir;
    rmSync(dir, { recursive: true, force: true });
  });

  /** The DTK set rendered for the lab release, applied, its Binary build started from the driver source; the cluster target's event of it. */
  async function buildEvent(driverFile: string): Promise<Record<string, unknown>> {
    const driver = await loadDriver(driverFile);
    const [set] = renderMethods(driver.spec, await resolveRelease({ releaseInfoFile: releaseFile }), 'dtk', { pool: 'master' });
    const out = path.join(dir, 'out', driver.spec.name);
    await writeArtifactSet(set!, out);
    const a = await api.kubectl(['apply', '-f', path.join(out, 'dtk')]);
    expect(a.code, a.stderr).toBe(0);
    const bc = set!.files.flatMap((f) => f.objects ?? []).find((o) => o.kind === 'BuildConfig')!;
    const ns = bc.metadata.namespace!;
    const started = await startBinaryBuild({ kubeconfig: api.kubeconfig, namespace: ns, buildConfig: bc.metadata.name, fromDir: driver.sourceDir! });
    const build = await waitForBuild(api.kubeconfig, ns, started.metadata.name, 600_000);
    expect(build.status.phase, build.status.logSnippet).toBe('Complete');
    // The transition the cluster target's Build watch sees.
    const events = buildEvents('MODIFIED', build as never, { ...build, status: { phase: 'Running' } } as never);
    expect(events.map(([kind]) => kind)).toEqual(['build']);
    expect(events[0]![1]).toMatchObject({ kver: kernel!.kver, ok: true });
    return events[0]![1];
  }

  /** The complete fixture run with its first dtk day2 build carrying `data`'s dependencies, reported (report.md then report.html). */
  function reportWith(data: Record<string, unknown>): string {
    const run = path.join(mkdtempSync(path.join(dir, 'report-')), 'complete');
    cpSync(path.join(RUN_FIXTURES, 'complete'), run, { recursive: true });
    const file = path.join(run, 'events.jsonl');
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const i = lines.findIndex((l) => l.includes('"kind":"build"') && l.includes('"method":"dtk"') && l.includes('"scenario":"day2"'));
    expect(i).toBeGreaterThan(-1);
    const ev = JSON.parse(lines[i]!) as { data: Record<string, unknown> };
    lines[i] = JSON.stringify({ ...ev, data: { ...ev.data, dependencies: data['dependencies'] } });
    rmSync(file);
    appendFileSync(file, lines.join('\n') + '\n');
    writeReports(run, { now: FIXED_NOW });
    return readFileSync(path.join(run, 'report.md'), 'utf8') + readFileSync(path.join(run, 'report.html'), 'utf8');
  }

  it('the reference driver needs no in-tree module; the report says so on its build line', async () => {
    const data = await buildEvent(REFERENCE_DRIVER_FILE);
    const deps = data['dependencies'] as { kind: string }[];
    expect(Array.isArray(deps)).toBe(true);
    expect(deps.filter((d) => d.kind !== 'driver')).toEqual([]);
    const md = reportWith(data);
    expect(md).toMatch(deps.length === 0 ? /- dtk: build for \S+: ok, [^\n]*no module dependencies/ : /- dtk: build for \S+: ok, [^\n]*\(0 in-tree; table below\)/);
  }, 900_000);

  it('a module using crc7 records crc7 as in-tree, and the report lists it in the dependency table', async () => {
    const data = await buildEvent(path.join(DRIVER_FIXTURES, 'needs-crc7', 'driver.yaml'));
    expect(data['dependencies']).toEqual([{ module: 'needs_crc7', name: 'crc7', kind: 'in-tree', file: expect.stringMatching(/crc7\.ko/) }]);
    const md = reportWith(data);
    expect(md).toMatch(/- dtk: build for \S+: ok, [^\n]*1 module dependency \(1 in-tree; table below\)/);
    expect(md).toContain('| Method | Kernel | Module | Needs | Class |');
    expect(md).toMatch(/\| dtk \| \S+ \| needs_crc7 \| crc7 \| in-tree \|/);
    expect(md).toContain('<code>needs_crc7</code> needs <code>crc7</code> (in-tree)'); // report.html's notes
  }, 900_000);
});
