/**
 * `kmodlab lab setup` and `lab teardown`: the package index is refreshed before kernels
 * are chosen (real apt on a local repository whose offer changes after the first
 * update), host changes are listed and need consent, a set-up lab is left alone, and
 * teardown undoes the initramfs hook divert (real dpkg-divert on a scratch root via
 * DPKG_ROOT/DPKG_ADMINDIR, so the host's own diversions are never touched).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { describePlan, INITRAMFS_HOOK, INITRAMFS_HOOK_DIVERTED, setupPlan } from '../../src/targets/lab/host/host-changes.js';
import { listKernels, type LabKernel } from '../../src/targets/lab/kernels/catalog.js';
import { completeLab } from '../../src/targets/lab/kernels/lab-releases.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { removeTempDirs, tempDir } from './helpers.js';

async function cli(...args: string[]) {
  let out = '';
  let err = '';
  const code = await main(['node', 'kmodlab', ...args], { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

const saved = { ...process.env };
afterEach(() => {
  for (const k of ['APT_CONFIG', 'DPKG_ROOT', 'DPKG_ADMINDIR', 'KMODLAB_CACHE']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});
afterAll(removeTempDirs);

const root = process.getuid?.() === 0;
const hasApt = Boolean(findTool('apt-get') && findTool('apt-cache'));
const hasDpkg = Boolean(findTool('dpkg-divert') && findTool('dpkg-query'));

/** A flat apt repository offering linux-image packages by name, and an apt config that uses only it. */
function localRepo() {
  const d = tempDir('apt');
  for (const sub of ['repo', 'state/lists/partial', 'cache/archives/partial', 'parts', 'prefs']) mkdirSync(join(d, sub), { recursive: true });
  writeFileSync(join(d, 'status'), '');
  writeFileSync(join(d, 'sources.list'), `deb [trusted=yes] file:${join(d, 'repo')} ./\n`);
  const conf = join(d, 'apt.conf');
  writeFileSync(
    conf,
    [
      `Dir::Etc::SourceList "${join(d, 'sources.list')}";`,
      `Dir::Etc::SourceParts "${join(d, 'parts')}";`,
      `Dir::Etc::PreferencesParts "${join(d, 'prefs')}";`,
      `Dir::State "${join(d, 'state')}";`,
      `Dir::State::status "${join(d, 'status')}";`,
      `Dir::Cache "${join(d, 'cache')}";`,
      'APT::Architecture "amd64";',
      'APT::Sandbox::User "root";',
    ].join('\n') + '\n',
  );
  const offer = (kvers: string[]) =>
    writeFileSync(join(d, 'repo', 'Packages'), kvers.map((k) => `Package: linux-image-${k}\nVersion: 1\nArchitecture: amd64\nFilename: x.deb\nSize: 1\nDescription: Linux\n`).join('\n'));
  return { conf, offer };
}

/** A scratch dpkg database and root with initramfs-tools' hook in place. */
function scratchDpkg() {
  const d = tempDir('dpkg');
  mkdirSync(join(d, 'root', 'etc/kernel/postinst.d'), { recursive: true });
  for (const sub of ['info', 'updates']) mkdirSync(join(d, 'admin', sub), { recursive: true });
  writeFileSync(join(d, 'admin', 'status'), '');
  writeFileSync(join(d, 'root', INITRAMFS_HOOK), '#!/bin/sh\n');
  const env = { ...process.env, DPKG_ROOT: join(d, 'root'), DPKG_ADMINDIR: join(d, 'admin') };
  return { dir: d, env, hook: join(d, 'root', INITRAMFS_HOOK), diverted: join(d, 'root', INITRAMFS_HOOK_DIVERTED) };
}

describe('lab setup', () => {
  it.skipIf(!root || !hasApt || !hasDpkg)(`refreshes the package index before choosing kernels${root ? '' : ' (skipped: apt-get update needs root)'}`, async () => {
    const repo = localRepo();
    const { env } = scratchDpkg(); // nothing installed there: the plan lists every package
    Object.assign(process.env, { APT_CONFIG: repo.conf, DPKG_ROOT: env.DPKG_ROOT, DPKG_ADMINDIR: env.DPKG_ADMINDIR });
    // What a machine saw at its last apt-get update: one series, old z-streams.
    repo.offer(['6.1.0-47-amd64', '6.1.0-47-rt-amd64', '6.1.0-50-amd64']);
    expect(spawnSync('apt-get', ['update', '-q'], { env: process.env }).status).toBe(0);
    // What the mirror offers today: newer z-streams and another series.
    repo.offer(['6.1.0-47-amd64', '6.1.0-50-amd64', '6.1.0-56-amd64', '6.1.0-56-rt-amd64', '6.1.0-57-amd64', '6.1.0-57-rt-amd64', '6.12.107+deb12-amd64', '6.12.117+deb12-amd64', '6.12.117+deb12-rt-amd64']);
    const r = await cli('lab', 'setup', '--upgrade', '--dry-run');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/refreshing the package index/);
    expect(r.err).toContain('start 6.1.0-56-amd64, upgrade 6.1.0-57-amd64, other series 6.12.117+deb12-amd64, realtime 6.1.0-56-rt-amd64');
    expect(r.out).toContain('LAB_KERNELS="6.1.0-56-amd64 6.1.0-57-amd64 6.12.117+deb12-amd64 6.1.0-56-rt-amd64"');
  });

  it.skipIf(!hasDpkg)('lists the host changes, the initramfs hook divert included', () => {
    const { env } = scratchDpkg();
    const plan = setupPlan(['6.1.0-57-amd64'], env);
    expect(plan.packages).toEqual(expect.arrayContaining(['qemu-system-x86', 'linux-image-6.1.0-57-amd64', 'linux-headers-6.1.0-57-amd64']));
    expect(plan.divert).toBe(true);
    const text = describePlan(plan).join('\n');
    expect(text).toContain(`dpkg-divert ${INITRAMFS_HOOK}`);
    expect(text).toMatch(/NO initramfs .*host's own kernel updates/);
    expect(text).toContain('kmodlab lab teardown');
  });

  it.skipIf(!hasDpkg || Boolean(process.stdin.isTTY))('refuses to change the host without --yes when stdin is not a terminal (exit 2)', async () => {
    const { env } = scratchDpkg();
    Object.assign(process.env, { DPKG_ROOT: env.DPKG_ROOT, DPKG_ADMINDIR: env.DPKG_ADMINDIR });
    const r = await cli('lab', 'setup', '--kernels', '6.1.0-57-amd64');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/will change this host/);
    expect(r.err).toMatch(/stdin is not a terminal.*pass --yes/);
  });

  it('rejects --kernels that are not kernel versions and --kernels with --upgrade (exit 2)', async () => {
    expect((await cli('lab', 'setup', '--kernels', 'linux-image-6.1.0-57-amd64')).err).toMatch(/--kernels: "linux-image-6.1.0-57-amd64" is not a kernel version/);
    const r = await cli('lab', 'setup', '--kernels', '6.1.0-57-amd64', '--upgrade');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/conflict/);
  });

  it('a lab is complete with a start kernel, its z-stream and a realtime kernel', () => {
    const k = (kver: string, flavour: string): LabKernel => ({ kver, vmlinuz: '', buildDir: '', modulesDir: '', flavour, series: kver.slice(0, 3), source: 'system' });
    expect(completeLab([k('6.1.0-56-amd64', 'amd64'), k('6.1.0-57-amd64', 'amd64'), k('6.1.0-56-rt-amd64', 'rt-amd64')])?.upgradeTo.kver).toBe('6.1.0-57-amd64');
    expect(completeLab([k('6.1.0-56-amd64', 'amd64'), k('6.1.0-56-rt-amd64', 'rt-amd64')])).toBeUndefined();
    expect(completeLab([k('6.1.0-56-amd64', 'amd64'), k('6.1.0-57-amd64', 'amd64')])).toBeUndefined();
    expect(completeLab([])).toBeUndefined();
  });

  const installed = completeLab(listKernels());
  it.skipIf(!installed)(`on a set-up lab says so and changes nothing${installed ? '' : ' (skipped: no complete lab installed here)'}`, async () => {
    const r = await cli('lab', 'setup');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^lab already set up \(kernels: .*\)/);
    for (const k of listKernels()) expect(r.out).toContain(k.kver);
    expect(r.err).toMatch(/--kernels .*--upgrade/);
    expect(r.err).not.toMatch(/refreshing/);
  });
});

describe.skipIf(!hasDpkg)('lab teardown', () => {
  it('undoes the divert of the initramfs hook and lists what stays', async () => {
    const s = scratchDpkg();
    expect(spawnSync('dpkg-divert', ['--local', '--rename', '--divert', INITRAMFS_HOOK_DIVERTED, '--add', INITRAMFS_HOOK], { env: s.env }).status).toBe(0);
    expect(existsSync(s.diverted)).toBe(true);
    Object.assign(process.env, { DPKG_ROOT: s.env.DPKG_ROOT, DPKG_ADMINDIR: s.env.DPKG_ADMINDIR, KMODLAB_CACHE: join(s.dir, 'cache') });
    mkdirSync(join(s.dir, 'cache', 'vmlinux'), { recursive: true });
    writeFileSync(join(s.dir, 'cache', 'vmlinux', 'x'), Buffer.alloc(3 * 2 ** 20));
    const r = await cli('lab', 'teardown');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/restored initramfs-tools' kernel hook/);
    expect(existsSync(s.hook)).toBe(true);
    expect(existsSync(s.diverted)).toBe(false);
    expect(spawnSync('dpkg-divert', ['--list', INITRAMFS_HOOK], { env: s.env, encoding: 'utf8' }).stdout).toBe('');
    expect(r.out).toContain(`caches: ${join(s.dir, 'cache')} (3.0 MiB`);
    expect(r.out).toMatch(/lab's tools/);
    // A second teardown has nothing to undo.
    expect((await cli('lab', 'teardown')).out).toMatch(/not diverted by kmodlab: nothing to undo/);
  });
});
