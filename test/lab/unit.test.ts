/** Pure parts of the lab: no QEMU or kernel needed. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { findKernel, listKernels, parseKver, userKernel } from '../../src/targets/lab/kernels/catalog.js';
import { findPayloads, isElf } from '../../src/targets/lab/kernels/vmlinux.js';
import { encodeRequest, parseFrame } from '../../src/targets/lab/node/agent.js';
import { parseLdd } from '../../src/targets/lab/os-image/binaries.js';
import { moduleNameOf, resolveModules, type ModuleTree } from '../../src/targets/lab/os-image/kernel-modules.js';
import { parseTscKhzFromCpuinfo, parseTscKhzFromKernelLog } from '../../src/targets/lab/host/tsc.js';
import { kernelCmdline, qemuArgs } from '../../src/targets/lab/node/qemu.js';

describe('parseKver', () => {
  it.each([
    ['6.1.0-56-amd64', '6.1', 'amd64'],
    ['6.1.0-56-rt-amd64', '6.1', 'rt-amd64'],
    ['6.12.43+deb12-amd64', '6.12', 'amd64'],
    ['6.12.43+deb12-rt-amd64', '6.12', 'rt-amd64'],
    ['5.14.0-427.13.1.el9_4.x86_64', '5.14', 'x86_64'],
    ['5.14.0-427.13.1.el9_4.x86_64+rt', '5.14', 'rt-x86_64'],
  ])('%s', (kver, series, flavour) => {
    expect(parseKver(kver)).toEqual({ series, flavour });
  });
});

describe('kernel catalog on a fake tree', () => {
  const root = mkdtempSync(join(tmpdir(), 'kmodlab-cat-'));
  const boot = join(root, 'boot');
  const mods = join(root, 'modules');
  mkdirSync(boot);
  for (const [kver, headers] of [
    ['6.1.0-1-amd64', true],
    ['6.1.0-2-amd64', false],
  ] as const) {
    writeFileSync(join(boot, `vmlinuz-${kver}`), 'x');
    mkdirSync(join(mods, kver, 'kernel'), { recursive: true });
    if (headers) {
      mkdirSync(join(mods, kver, 'build'));
      writeFileSync(join(mods, kver, 'build', 'Makefile'), '');
    }
  }
  const roots = { bootDir: boot, modulesRoot: mods };
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('lists only kernels with image, headers and modules', () => {
    expect(listKernels(roots).map((k) => k.kver)).toEqual(['6.1.0-1-amd64']);
    expect(findKernel('6.1.0-1-amd64', roots)).toMatchObject({ series: '6.1', flavour: 'amd64', source: 'system' });
  });

  it('names available kernels and how to add one when a kernel is missing', () => {
    let err: unknown;
    try {
      findKernel('6.1.0-9-amd64', roots);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    const ue = err as UserError;
    expect(ue.message).toContain('available: 6.1.0-1-amd64');
    expect(ue.message).toContain('without headers or modules: 6.1.0-2-amd64');
    expect(ue.hint).toContain('linux-image-6.1.0-9-amd64 linux-headers-6.1.0-9-amd64');
    expect(ue.hint).toContain('kmodlab lab setup');
  });

  it('accepts a user-supplied kernel and takes kver from the /lib/modules/<kver>/build layout', () => {
    const k = userKernel({ image: join(boot, 'vmlinuz-6.1.0-1-amd64'), buildDir: join(mods, '6.1.0-1-amd64', 'build') });
    expect(k).toMatchObject({ kver: '6.1.0-1-amd64', source: 'user', modulesDir: join(mods, '6.1.0-1-amd64') });
    expect(() => userKernel({ image: join(root, 'nope'), buildDir: boot })).toThrow(UserError);
    expect(() => userKernel({ image: join(boot, 'vmlinuz-6.1.0-1-amd64'), buildDir: boot })).toThrow(/not a kbuild tree/);
  });
});

describe('vmlinux payload search', () => {
  it('finds compression magics and recognises ELF', () => {
    const img = Buffer.concat([Buffer.alloc(100), Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(10), Buffer.from([0x1f, 0x8b, 0x08])]);
    expect(findPayloads(img)).toEqual([
      { format: 'xz', offset: 100 },
      { format: 'gzip', offset: 116 },
    ]);
    expect(isElf(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2]))).toBe(true);
    expect(isElf(Buffer.from('MZ'))).toBe(false);
  });
});

describe('agent protocol', () => {
  it('round-trips requests and frames, ignoring noise', () => {
    expect(encodeRequest('1.ab', 'run', 'uname -r')).toBe(`1.ab run ${Buffer.from('uname -r').toString('base64')}`);
    expect(encodeRequest('2.cd', 'dmesg')).toBe('2.cd dmesg');
    expect(encodeRequest('3.ef', 'sync', 'f00d')).toBe('3.ef sync f00d');
    expect(parseFrame('@@KL H 1234-abcd 6.1.0-56-amd64')).toEqual({ kind: 'hello', bootId: '1234-abcd', kernelRelease: '6.1.0-56-amd64' });
    expect(parseFrame('@@KL S 3.ef f00d')).toEqual({ kind: 'sync', id: '3.ef', token: 'f00d' });
    const r = parseFrame(`@@KL R 1.ab 0 ${Buffer.from('hi\n').toString('base64')} `);
    expect(r).toMatchObject({ kind: 'result', id: '1.ab', code: 0 });
    expect(r?.kind === 'result' && r.stdout.toString()).toBe('hi\n');
    expect(r?.kind === 'result' && r.stderr.length).toBe(0);
    expect(parseFrame('[    1.0] random console noise')).toBeUndefined();
    expect(parseFrame('L R 1.ab 0 aGk= ')).toBeUndefined(); // partial stale line
  });
});

describe('initramfs helpers', () => {
  it('parses ldd output', () => {
    const out = `\tlinux-vdso.so.1 (0x00007ff)\n\tlibzstd.so.1 => /lib/x86_64-linux-gnu/libzstd.so.1 (0x1)\n\t/lib64/ld-linux-x86-64.so.2 (0x2)\n`;
    expect(parseLdd(out)).toEqual(['/lib/x86_64-linux-gnu/libzstd.so.1', '/lib64/ld-linux-x86-64.so.2']);
  });

  it('orders modules dependencies first and skips built-ins', () => {
    expect(moduleNameOf('kernel/net/9p/9pnet_virtio.ko.xz')).toBe('9pnet_virtio');
    expect(moduleNameOf('extra/simple-kmod.ko')).toBe('simple_kmod');
    const tree: ModuleTree = {
      files: new Map([
        ['virtio_mmio', 'kernel/virtio_mmio.ko'],
        ['virtio_ring', 'kernel/virtio_ring.ko'],
      ]),
      deps: new Map([
        ['virtio_mmio', ['virtio', 'virtio_ring']],
        ['virtio_ring', []],
      ]),
      builtin: new Set(['virtio']),
    };
    expect(resolveModules(tree, ['virtio_mmio'], 'k')).toEqual({
      load: [
        { name: 'virtio_ring', file: 'kernel/virtio_ring.ko' },
        { name: 'virtio_mmio', file: 'kernel/virtio_mmio.ko' },
      ],
      builtin: ['virtio'],
    });
    expect(() => resolveModules(tree, ['9p'], 'k')).toThrow(UserError);
  });
});

describe('host TSC rate', () => {
  it('prefers the refined calibration', () => {
    const log = '[0.0] tsc: Detected 2596.142 MHz processor\n[1.2] tsc: Refined TSC clocksource calibration: 2596.001 MHz\n';
    expect(parseTscKhzFromKernelLog(log)).toBe(2596001);
    expect(parseTscKhzFromKernelLog('[0.0] tsc: Detected 2596.142 MHz processor')).toBe(2596142);
    expect(parseTscKhzFromCpuinfo('model name\t: x\ncpu MHz\t\t: 2596.142\n')).toBe(2596142);
  });
});

describe('QEMU command line', () => {
  it('uses the measured fast path', () => {
    const args = qemuArgs({
      name: 'n1',
      vmlinux: '/c/vmlinux',
      initramfs: '/c/initrd',
      memoryMB: 256,
      agentSocket: '/tmp/a.sock',
      consoleLog: '/run/n1.console.log',
      shareDir: '/srv/share',
      tscKhz: 2596142,
    });
    expect(args.join(' ')).toContain('-M microvm -accel tcg,tb-size=24 -m 256 -smp 1 -nodefaults');
    expect(args).toContain('-no-reboot');
    expect(args).toContain('virtio-9p-device,fsdev=share,mount_tag=share');
    expect(args).toContain('virtserialport,chardev=agent,name=lab.agent');
    const cmdline = kernelCmdline({ name: 'n1', tscKhz: 2596142, extraCmdline: 'foo=1' });
    expect(cmdline).toContain('tsc_early_khz=2596142 tsc=reliable');
    expect(cmdline).toContain('panic=-1');
    expect(cmdline).toContain('initcall_blacklist=crypto_kdf108_init,init_encrypted,init_kprobe_trace');
    expect(cmdline).toContain('ipv6.disable=1');
    expect(cmdline.endsWith('foo=1')).toBe(true);
  });
});
