/**
 * The pure parts of `kmodlab check`: error lines, kernel-log slicing, dependency
 * classification, the matrix, JUnit XML (parsed by xmllint), and bad input → exit 2.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyDependencies, parseDepends } from '../../src/targets/lab/driver-builds/module-dependencies.js';
import { firstBuildError, firstLoadError, newLogLines } from '../../src/check/first-error.js';
import { CheckReportSchema, formatMatrix, toJUnitXml, type CheckReport, type KernelCheck } from '../../src/index.js';
import { summarize } from '../../src/check/report.js';
import type { ModuleTree } from '../../src/targets/lab/os-image/kernel-modules.js';
import { cli, xmlWellFormed, xpath } from './support.js';

const row = (kver: string, over: Partial<KernelCheck> = {}): KernelCheck => ({
  kver,
  series: '6.1',
  flavour: 'amd64',
  source: 'system',
  build: { status: 'ok', cached: true, modules: [] },
  load: { status: 'ok', inTreeDependencies: [], modules: [], output: '', kernelLog: ['[ 1.0] m: loaded'] },
  unload: { status: 'ok', leftOver: [], output: '', kernelLog: [] },
  ...over,
});

function report(kernels: KernelCheck[]): CheckReport {
  return CheckReportSchema.parse({
    apiVersion: 'kmodlab.io/v1alpha1',
    kind: 'CheckReport',
    driver: { name: 'd', version: '1.0.0', file: '/x/driver.yaml' },
    startedAt: '2026-11-30T00:00:00.000Z',
    durationMs: 1234,
    kernels,
    summary: summarize(kernels),
  });
}

const failing = report([
  row('6.1.0-56-amd64'),
  row('6.12.117+deb12-amd64', {
    build: { status: 'failed', firstError: 'x.c:7:16: error: implicit declaration of function ‘f’ & <g>', modules: [] },
    load: { status: 'skipped', skippedBecause: 'build failed', inTreeDependencies: [], modules: [], output: '', kernelLog: [] },
    unload: { status: 'skipped', skippedBecause: 'build failed', leftOver: [], output: '', kernelLog: [] },
  }),
  row('6.1.0-57-amd64', {
    load: {
      status: 'failed',
      firstError: "modprobe: ERROR: could not insert 'm': No such device",
      inTreeDependencies: [],
      modules: [],
      output: "modprobe: ERROR: could not insert 'm': No such device\u001b[0m",
      kernelLog: ['m: no device'],
    },
    unload: { status: 'skipped', skippedBecause: 'no module was loaded', leftOver: [], output: '', kernelLog: [] },
  }),
]);

describe('first error lines', () => {
  it("takes gcc's error line and shows the source path relative to the driver", () => {
    const log = [
      '# kmodlab lab build of d 1.0.0 for 6.1.0-56-amd64',
      "make -C /lib/modules/6.1.0-56-amd64/build M=/root/.cache/kmodlab/builds/.build-abc123-XyZ/src modules",
      '  CC [M]  /root/.cache/kmodlab/builds/.build-abc123-XyZ/src/x.c',
      "/root/.cache/kmodlab/builds/.build-abc123-XyZ/src/x.c:7:16: error: implicit declaration of function 'f'",
      'make[2]: *** [scripts/Makefile.build:250: x.o] Error 1',
    ].join('\n');
    expect(firstBuildError(log)).toBe("x.c:7:16: error: implicit declaration of function 'f'");
    expect(firstBuildError('make: *** No rule to make target. Stop.')).toBe('make: *** No rule to make target. Stop.');
    expect(firstBuildError('all fine')).toBeUndefined();
  });
  it("prefers modprobe's message, else the kernel's", () => {
    expect(firstLoadError("insmod /x.ko\nmodprobe: ERROR: could not insert 'm': Invalid module format", ['m: disagrees about version of symbol module_layout'])).toBe(
      "modprobe: ERROR: could not insert 'm': Invalid module format",
    );
    expect(firstLoadError('', ['[1] other', '[2] m: Unknown symbol crc7_be (err -2)'])).toBe('[2] m: Unknown symbol crc7_be (err -2)');
  });
  it('slices the kernel log lines a step produced', () => {
    expect(newLogLines('[1] a\n[2] b\n', '[1] a\n[2] b\n[3] c\n[4] d\n')).toEqual(['[3] c', '[4] d']);
    expect(newLogLines('', '[1] a\n')).toEqual(['[1] a']);
    // the ring buffer dropped old lines: still only the new ones
    expect(newLogLines('[1] a\n[2] b\n', '[2] b\n[3] c\n')).toEqual(['[3] c']);
  });
});

describe('dependencies', () => {
  const tree: ModuleTree = { files: new Map([['crc7', 'kernel/lib/crc7.ko.xz']]), deps: new Map([['crc7', []]]), builtin: new Set(['crc32c_generic']) };
  it.each([
    ['crc7', 'in-tree', 'kernel/lib/crc7.ko.xz'],
    ['crc32c-generic', 'built-in', undefined],
    ['simple-kmod', 'driver', undefined],
    ['nonexistent', 'missing', undefined],
  ])('%s is %s', (name, kind, file) => {
    const [d] = classifyDependencies(parseDepends(name), ['simple-kmod'], tree);
    expect(d).toEqual({ name: name.replace(/-/g, '_'), kind, ...(file ? { file } : {}) });
  });
  it('reads modinfo -F depends output', () => {
    expect(parseDepends('crc7,mii\n')).toEqual(['crc7', 'mii']);
    expect(parseDepends('\n')).toEqual([]);
  });
});

describe('matrix and JUnit XML', () => {
  it('prints one row per kernel and the first error line of each failure', () => {
    const text = formatMatrix(failing);
    expect(text).toMatch(/^KERNEL\s+BUILD\s+LOAD\s+UNLOAD$/m);
    expect(text).toMatch(/^6\.1\.0-56-amd64\s+ok \(cached\)\s+ok\s+ok$/m);
    expect(text).toMatch(/^6\.12\.117\+deb12-amd64\s+FAILED\s+skipped\s+skipped$/m);
    expect(text).toContain("6.1.0-57-amd64 load: modprobe: ERROR: could not insert 'm': No such device");
    expect(text).toContain('4 ok, 2 failed, 3 skipped');
  });
  it('writes well-formed JUnit XML with one test case per kernel and step', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'kmodlab-junit-')), 'check.xml');
    writeFileSync(file, toJUnitXml(failing));
    xmlWellFormed(file);
    expect(xpath(file, 'count(//testcase)')).toBe('9');
    expect(xpath(file, 'count(//testcase[failure])')).toBe('2');
    expect(xpath(file, 'count(//testcase[skipped])')).toBe('3');
    expect(xpath(file, 'string(/testsuites/testsuite/@tests)')).toBe('9');
    expect(xpath(file, 'string(/testsuites/testsuite/@failures)')).toBe('2');
    expect(xpath(file, 'string(/testsuites/testsuite/@skipped)')).toBe('3');
    expect(xpath(file, 'string(//testcase[@classname="6.12.117+deb12-amd64"][@name="build"]/failure/@message)')).toBe(
      'x.c:7:16: error: implicit declaration of function ‘f’ & <g>',
    );
    expect(xpath(file, 'string(//testcase[@classname="6.1.0-57-amd64"][@name="load"]/failure)')).toContain('m: no device');
  });
});

describe('kmodlab check: bad input exits 2 naming the flag', () => {
  it.each([
    [['--kernels', '9.9.9-nonexistent'], /--kernels: kernel 9\.9\.9-nonexistent is not available/],
    [['-o', 'yaml'], /-o\/--output: unknown format "yaml"/],
    [['--jobs', '0'], /--jobs: "0" is not a positive whole number/],
    [['--driver', '/nonexistent/driver.yaml'], /\/nonexistent\/driver\.yaml: cannot read driver spec/],
  ])('%j', async (args, message) => {
    const r = await cli('check', ...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.out).toBe('');
  });
});
