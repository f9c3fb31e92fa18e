/**
 * A real node: QEMU boots the installed kernel, the agent answers, the reference
 * driver built on the host is delivered over 9p and loaded/unloaded, a module
 * built for another kernel is refused, a reboot changes the boot id, a panic is
 * detected as a crash.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabKernel } from '../../src/targets/lab/kernels/catalog.js';
import { LabNode, LabNodeError } from '../../src/targets/lab/node/node.js';
import { buildReferenceDriver, labAvailability, primaryKernel, removeTempDirs, skipReason, tempDir } from './helpers.js';

const lab = labAvailability();
const other = lab.ok ? lab.kernels.find((k) => k.kver !== primaryKernel(lab.kernels).kver) : undefined;

describe.skipIf(!lab.ok)(`lab node${skipReason(lab)}`, () => {
  let kernel: LabKernel;
  let node: LabNode;
  let share: string;
  let runDir: string;
  let drivers: Promise<Record<string, string>>;

  beforeAll(async () => {
    kernel = primaryKernel(lab.kernels);
    share = tempDir('share');
    runDir = tempDir('run');
    // Build the driver while the node boots (both are CPU-bound; still overlaps I/O).
    drivers = buildReferenceDriver(kernel);
    drivers.catch(() => undefined);
    node = await LabNode.start(kernel, undefined, { name: 'lab-t1', runDir, shareDir: share });
  });

  afterAll(async () => {
    await node?.stop();
    removeTempDirs();
  });

  it('boots and the agent answers with the node kernel', async () => {
    expect(node.state).toBe('ready');
    const r = await node.exec('uname -r');
    expect(r).toEqual({ code: 0, stdout: `${kernel.kver}\n`, stderr: '' });
    expect(await node.exec('echo oops >&2; exit 3')).toEqual({ code: 3, stdout: '', stderr: 'oops\n' });
    expect(await node.readFile('/proc/meminfo')).toMatch(/^MemTotal:/);
    // the module tools are kmod's, as on a real node
    expect((await node.exec('modprobe --version')).stdout).toMatch(/^kmod version/);
    expect((await node.exec('lsmod')).stdout).toMatch(/^Module\s+Size\s+Used by\n/);
    expect(await node.bootId()).toBe(node.currentBootId);
    expect(node.hostRssKB()).toBeGreaterThan(10_000);
    // The kernel booted with the initcalls the lab skips (qemu.ts SKIPPED_INITCALLS) on its command line.
    const cmdline = await node.readFile('/proc/cmdline');
    expect(cmdline).toMatch(/ initcall_blacklist=crypto_kdf108_init,init_encrypted,init_kprobe_trace /);
    // IPv6 is off (the node's network is IPv4 user networking): no inet6 address family.
    expect(cmdline).toMatch(/ ipv6\.disable=1 /);
    expect((await node.exec('test -e /proc/net/if_inet6 && echo on || echo off')).stdout).toBe('off\n');
    await expect(node.readFile('/nonexistent')).rejects.toThrow(/cannot read/);
  });

  it('loads the reference driver delivered over 9p, shows it, unloads it', async () => {
    const kos = await drivers;
    copyFileSync(kos['simple-kmod.ko']!, join(share, 'simple-kmod.ko'));
    copyFileSync(kos['simple-procfs-kmod.ko']!, join(share, 'simple-procfs-kmod.ko'));

    const load = await node.exec('insmod /mnt/share/simple-kmod.ko greeting=lab && insmod /mnt/share/simple-procfs-kmod.ko');
    expect(load.stderr).toBe('');
    expect(load.code).toBe(0);
    const modules = await node.readFile('/proc/modules');
    expect(modules).toMatch(/^simple_kmod \d+ 0 - Live 0x[0-9a-f]+ \(OE\)$/m);
    expect(modules).toMatch(/^simple_procfs_kmod /m);
    expect((await node.readFile('/sys/module/simple_kmod/initstate')).trim()).toBe('live');
    expect(Number(await node.readFile('/sys/module/simple_kmod/coresize'))).toBeGreaterThan(0);
    expect((await node.readFile('/sys/module/simple_kmod/taint')).trim()).toBe('OE');
    expect(await node.readFile('/proc/simple-procfs-kmod')).toMatch(/^simple-procfs-kmod reads=1$/m);
    expect(await node.dmesg()).toContain('simple_kmod: loaded (lab)');

    const unload = await node.exec('rmmod simple_procfs_kmod && rmmod simple_kmod');
    expect(unload.code).toBe(0);
    expect(await node.readFile('/proc/modules')).not.toMatch(/simple/);
    expect((await node.exec('test -e /sys/module/simple_kmod')).code).toBe(1);
  });

  it.skipIf(!other)(`refuses a module built for another kernel${other ? '' : ' [SKIPPED: only one lab kernel installed]'}`, async () => {
    const foreign = await buildReferenceDriver(other!);
    copyFileSync(foreign['simple-kmod.ko']!, join(share, 'foreign.ko'));
    const r = await node.exec('insmod /mnt/share/foreign.ko');
    expect(r.code).not.toBe(0);
    // kmod's insmod (not busybox's): the message a real node prints
    expect(r.stderr).toMatch(/insmod: ERROR: could not insert module \/mnt\/share\/foreign.ko: Invalid module format/);
    const log = await node.dmesg();
    expect(log).toMatch(/simple_kmod: (disagrees about version of symbol module_layout|.gnu.linkonce.this_module section size must match)/);
    expect(await node.readFile('/proc/modules')).not.toMatch(/simple_kmod/);
  });

  it('reports an agent timeout, then resynchronises: the late answer is discarded', async () => {
    const err = await node.exec('sleep 3; echo late', { timeoutMs: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabNodeError);
    expect((err as LabNodeError).failure).toBe('agent-timeout');
    // queued behind the sleep; must get its own answer, not "late"
    expect(await node.exec('echo next', { timeoutMs: 20_000 })).toMatchObject({ code: 0, stdout: 'next\n' });
  });

  it('reboots: the boot id changes, the console log accumulates', async () => {
    const before = await node.bootId();
    const rec = await node.reboot();
    expect(node.state).toBe('ready');
    expect(rec.bootId).not.toBe(before);
    expect(await node.bootId()).toBe(rec.bootId);
    expect(node.boots).toHaveLength(2);
    // One boot banner per boot (init's other lines — boot hooks, modules — vary with the image).
    expect(readFileSync(node.consoleLog, 'utf8').match(/kmodlab-init: \S+ up [\d.]+s/g)).toHaveLength(2);
  });

  it.skipIf(!other)(`reboots into another kernel${other ? '' : ' [SKIPPED: only one lab kernel installed]'}`, async () => {
    const rec = await node.reboot({ kernel: other! });
    expect(rec.kver).toBe(other!.kver);
    expect((await node.exec('uname -r')).stdout.trim()).toBe(other!.kver);
    expect(node.kernel.kver).toBe(other!.kver);
  });
});

describe.skipIf(!lab.ok)(`lab node crash detection${skipReason(lab)}`, () => {
  it('reports a kernel panic as a crash with the panic text', async () => {
    const runDir = tempDir('run');
    const node = await LabNode.start(primaryKernel(lab.kernels), undefined, { name: 'lab-panic', runDir, memoryMB: 128 });
    try {
      const err = await node.exec('echo c > /proc/sysrq-trigger', { timeoutMs: 30_000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LabNodeError);
      expect((err as LabNodeError).failure).toBe('panic');
      expect((err as LabNodeError).message).toMatch(/Kernel panic - not syncing/);
      expect(node.state).toBe('crashed');
      expect(node.pid === undefined || node.hostRssKB() === undefined).toBe(true);
      await expect(node.exec('true')).rejects.toThrow(/kernel panic/);
    } finally {
      await node.stop();
      removeTempDirs();
    }
  });
});
