/**
 * `kmodlab check` on real kernels in QEMU: the reference driver over a z-stream pair,
 * another series and a realtime kernel (one of them a build-cache hit); a driver that
 * does not compile; one whose init fails (through the CLI, with JUnit XML); one that
 * needs an in-tree module. Nodes: 4 + 2; builds that fail never boot one.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDriver } from '../../src/driver/load.js';
import { REFERENCE_DRIVER_FILE } from '../../src/driver/reference.js';
import { runCheck } from '../../src/check/run-check.js';
import { CheckReportSchema, formatMatrix, type CheckReport, type KernelCheck } from '../../src/index.js';
import { buildDriver } from '../../src/targets/lab/driver-builds/driver-build.js';
import { chooseLabKernels } from '../../src/targets/lab/kernels/lab-releases.js';
import type { LabKernel } from '../../src/targets/lab/kernels/catalog.js';
import { labAvailability, REPO, removeTempDirs, skipReason, tempDir } from '../lab/helpers.js';
import { cli, xmlWellFormed, xpath } from './support.js';

const lab = labAvailability();
const FIXTURES = path.join(REPO, 'test', 'fixtures', 'drivers');

/** The matrix the issue asks for: a z-stream pair, another series, a realtime kernel. */
function matrixKernels(all: LabKernel[]): { start?: LabKernel; zstream?: LabKernel; otherSeries?: LabKernel; realtime?: LabKernel } {
  if (all.length === 0) return {};
  const roles = chooseLabKernels(all);
  const otherSeries = all.filter((k) => k.series !== roles.from.series && !/rt/.test(k.flavour)).at(-1);
  return { start: roles.from, zstream: roles.upgradeTo, otherSeries, realtime: roles.realtime };
}

const chosen = matrixKernels(lab.kernels);
const kernels = [chosen.start, chosen.zstream, chosen.otherSeries, chosen.realtime].filter((k): k is LabKernel => !!k);
const progress: string[] = [];

afterAll(removeTempDirs);

describe.skipIf(!lab.ok)(`kmodlab check in the lab${skipReason(lab)}`, () => {
  const store = tempDir('check-store');

  it('the lab offers the kernels the matrix needs: two z-streams of one series, another series, a realtime one', () => {
    expect(chosen.zstream?.series).toBe(chosen.start?.series);
    expect(chosen.otherSeries, 'a kernel of a second series').toBeDefined();
    expect(chosen.realtime?.flavour).toMatch(/rt/);
  });

  let report: CheckReport;
  it(
    'builds, loads (with parameters) and unloads the reference driver on each kernel; an unchanged build is a cache hit',
    async () => {
      const driver = await loadDriver(REFERENCE_DRIVER_FILE);
      // Warm the store for one kernel only: that row must say "cached", the others must not.
      await buildDriver(driver, kernels[0]!, { storeDir: store });
      report = CheckReportSchema.parse(await runCheck({ driver, kernels, buildStore: store, progress: (l) => progress.push(l) }));
      expect(report.kernels.map((k) => k.kver)).toEqual(kernels.map((k) => k.kver));
      expect(report.summary, formatMatrix(report)).toEqual({ ok: kernels.length * 3, failed: 0, skipped: 0 });
      expect(report.kernels.map((k) => k.build.cached)).toEqual(kernels.map((_, i) => i === 0));
      for (const row of report.kernels) {
        for (const m of row.build.modules) {
          expect(m.vermagic.split(' ')[0]).toBe(row.kver);
          expect(m.vermagic).toBe(row.build.kernelVermagic);
          expect(m.dependencies).toEqual([]);
        }
        const byName = Object.fromEntries(row.load.modules.map((m) => [m.name, m]));
        expect(byName.simple_kmod).toMatchObject({ loaded: true, initstate: 'live', parameters: { greeting: 'kmodlab' } });
        expect(byName.simple_procfs_kmod).toMatchObject({ loaded: true, initstate: 'live' });
        // out-of-tree (O) and unsigned (E), as the kernel reports them
        expect(byName.simple_kmod!.taint).toMatch(/O/);
        expect(row.load.kernelTaintAfter! & 4096).toBe(4096); // TAINT_OOT_MODULE (bit 12)
        expect(row.load.kernelLog.join('\n')).toContain('simple_kmod: loaded (kmodlab)');
        expect(row.unload.kernelLog.join('\n')).toContain('simple_kmod: unloaded');
        expect(row.unload.leftOver).toEqual([]);
      }
      // progress went to the callback (stderr in the CLI), one line per step and kernel
      for (const k of kernels) expect(progress.some((l) => l.includes(`${k.kver}: build ok`))).toBe(true);
    },
    900_000,
  );

  it(
    "reports a driver that does not compile with gcc's own error line, and does not boot a node for it",
    async () => {
      const driver = await loadDriver(path.join(FIXTURES, 'build-fails', 'driver.yaml'));
      const two = [chosen.start!, chosen.otherSeries ?? chosen.start!].filter((k, i, a) => a.indexOf(k) === i);
      const r = await runCheck({ driver, kernels: two, buildStore: store });
      for (const row of r.kernels) {
        expect(row.build.status).toBe('failed');
        expect(row.build.firstError).toMatch(/^build-fails\.c:\d+:\d+: error: implicit declaration of function .kmodlab_no_such_function./);
        expect(readFileSync(row.build.logFile!, 'utf8')).toContain(row.build.firstError!.split(': error: ')[1]!);
        expect(row.load).toMatchObject({ status: 'skipped', skippedBecause: `build failed on ${row.kver}` });
        expect(row.load.bootMs).toBeUndefined();
        expect(row.unload.status).toBe('skipped');
      }
    },
    300_000,
  );

  it(
    "reports a module whose init fails with modprobe's and the kernel's messages (CLI: exit 1, JUnit XML), and loads an in-tree dependency from the kernel's tree",
    async () => {
      const junit = path.join(mkdtempSync(path.join(os.tmpdir(), 'kmodlab-check-junit-')), 'check.xml');
      const initKernel = chosen.zstream ?? chosen.start!;
      // 6.12 ships its modules xz-compressed: the in-tree dependency is taken from there.
      const depKernel = chosen.otherSeries ?? chosen.start!;
      const [initFails, needsCrc7] = await Promise.all([
        cli('check', '--driver', path.join(FIXTURES, 'init-fails', 'driver.yaml'), '--kernels', initKernel.kver, '--junit', junit, '--build-cache', store),
        loadDriver(path.join(FIXTURES, 'needs-crc7', 'driver.yaml')).then((driver) => runCheck({ driver, kernels: [depKernel], buildStore: store })),
      ]);

      expect(initFails.code).toBe(1);
      expect(initFails.out).toMatch(new RegExp(`^${initKernel.kver.replace(/[.+]/g, '\\$&')}\\s+ok\\s+FAILED\\s+skipped$`, 'm'));
      expect(initFails.out).toContain(`${initKernel.kver} load: modprobe: ERROR: could not insert 'init_fails': No such device`);
      expect(initFails.err).toContain(`${initKernel.kver}: build ok, load failed, unload skipped`);
      xmlWellFormed(junit);
      expect(xpath(junit, 'string(/testsuites/testsuite/@tests)')).toBe('3');
      expect(xpath(junit, 'string(/testsuites/testsuite/@failures)')).toBe('1');
      expect(xpath(junit, 'string(/testsuites/testsuite/@skipped)')).toBe('1');
      expect(xpath(junit, 'string(//testcase[@name="load"]/failure/@message)')).toBe("modprobe: ERROR: could not insert 'init_fails': No such device");
      // the module's own kernel log line, from the node's kernel log
      expect(xpath(junit, 'string(//testcase[@name="load"]/failure)')).toContain('init_fails: no supported device found');

      const row: KernelCheck = needsCrc7.kernels[0]!;
      expect(row.build.modules[0]!.dependencies).toEqual([{ name: 'crc7', kind: 'in-tree', file: expect.stringMatching(/^kernel\/lib\/crc7\.ko/) }]);
      expect(row.load.inTreeDependencies).toEqual(['crc7']);
      expect(row.load.status).toBe('ok');
      expect(row.load.kernelLog.join('\n')).toMatch(/needs_crc7: crc7 = [0-9a-f]{2}/);
      expect(row.unload.status).toBe('ok');
    },
    600_000,
  );
});
