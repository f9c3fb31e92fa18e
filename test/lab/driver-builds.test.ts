/**
 * Lab builds: the reference driver really compiled against installed kbuild trees,
 * measured, stored content-addressed (second build = cache hit), failures keep logs,
 * and the stored output laid out as each method's image lays it out.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDriver } from '../../src/driver/load.js';
import { REFERENCE_DRIVER_DIR } from '../../src/driver/reference.js';
import { buildDriver, DriverBuildError } from '../../src/targets/lab/driver-builds/driver-build.js';

const kernels = existsSync('/lib/modules')
  ? readdirSync('/lib/modules')
      .filter((k) => existsSync(path.join('/lib/modules', k, 'build', 'Makefile')))
      .map((kver) => ({ kver, buildDir: path.join('/lib/modules', kver, 'build') }))
  : [];

function tmp(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `kmodlab-${prefix}-`));
}

/** A private copy of the reference driver, so tests may edit its source. */
async function referenceCopy() {
  const dir = tmp('driver');
  cpSync(REFERENCE_DRIVER_DIR, dir, { recursive: true });
  return loadDriver(path.join(dir, 'driver.yaml'));
}

describe('lab driver build', () => {
  it('needs at least one kernel build tree', () => expect(kernels.length).toBeGreaterThan(0));

  it('builds, measures, stores; the same build again is a cache hit', async () => {
    const driver = await referenceCopy();
    const store = tmp('store');
    const kernel = kernels[0]!;
    const first = await buildDriver(driver, kernel, { storeDir: store });
    expect(first.cached).toBe(false);
    const r = first.record;
    expect(r.kver).toBe(kernel.kver);
    expect(r.modules.map((m) => m.name)).toEqual(['simple_kmod', 'simple_procfs_kmod']);
    expect(r.wallMs).toBeGreaterThan(0);
    expect(r.userCpuMs + r.systemCpuMs).toBeGreaterThan(0);
    expect(r.peakRssBytes).toBeGreaterThan(1024 * 1024);
    expect(r.outputBytes).toBe(r.modules.reduce((s, m) => s + m.bytes, 0));
    for (const m of r.modules) {
      expect(execFileSync('modinfo', ['-F', 'vermagic', m.path], { encoding: 'utf8' }).split(' ')[0]).toBe(kernel.kver);
    }
    expect(readFileSync(r.logFile, 'utf8')).toMatch(/CC \[M\]/);

    const second = await buildDriver(driver, kernel, { storeDir: store });
    expect(second.cached).toBe(true);
    expect(second.record).toEqual(r);

    // Touching only a build output leaves the key alone; editing the source changes it.
    writeFileSync(path.join(driver.sourceDir!, 'simple-kmod.o'), 'stale');
    expect((await buildDriver(driver, kernel, { storeDir: store })).cached).toBe(true);
    appendFileSync(path.join(driver.sourceDir!, 'simple-kmod.c'), '\n/* edited */\n');
    const edited = await buildDriver(driver, kernel, { storeDir: store });
    expect(edited.cached).toBe(false);
    expect(edited.record.key).not.toBe(r.key);
  });

  it.runIf(kernels.length >= 2)('a different kernel is a different build', async () => {
    const driver = await referenceCopy();
    const store = tmp('store');
    const a = await buildDriver(driver, kernels[0]!, { storeDir: store });
    const b = await buildDriver(driver, kernels[1]!, { storeDir: store });
    expect(b.cached).toBe(false);
    expect(b.record.key).not.toBe(a.record.key);
    expect(b.record.modules[0]!.sha256).not.toBe(a.record.modules[0]!.sha256);
  });

  it('a failing build keeps its log and says where it is', async () => {
    const driver = await referenceCopy();
    appendFileSync(path.join(driver.sourceDir!, 'simple-kmod.c'), '\nthis is not C;\n');
    const store = tmp('store');
    const err = await buildDriver(driver, kernels[0]!, { storeDir: store }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverBuildError);
    const e = err as DriverBuildError;
    expect(e.exitCode).not.toBe(0);
    expect(existsSync(e.logFile)).toBe(true);
    expect(readFileSync(e.logFile, 'utf8')).toMatch(/error/);
    expect(e.logTail).toMatch(/simple-kmod\.c/);
    expect(e.message).toContain(e.logFile);
    // A failed build cost time too: the lab records how long it ran before failing.
    expect(e.wallMs).toBeGreaterThan(0);
    // Nothing half-built is stored under a key.
    expect(readdirSync(store).filter((f) => /^[0-9a-f]{64}$/.test(f))).toEqual([]);
  });
});
