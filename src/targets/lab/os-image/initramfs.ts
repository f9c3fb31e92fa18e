/**
 * Build the lab node's OS image: a small initramfs per kernel (newc cpio made by
 * the `cpio` tool). Contents: busybox-static with applet links, the real kmod
 * (modprobe -d/depmod -b/modinfo behave as on a real node; busybox's modprobe does
 * not), the kernel's own virtio/9p modules with a modules.dep made by depmod,
 * /init and the agent. Uncompressed by default: the kernel unpacks it faster
 * under TCG than it would gunzip it (the image is ~10 MB either way in RAM).
 * Images are cached by a hash of everything that goes in.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { LabKernel } from '../kernels/catalog.js';
import { labCacheDir, sha256, writeFileAtomic } from '../host/cache.js';
import { run } from '../host/run.js';
import { requireTool } from '../host/tools.js';
import { AGENT_SCRIPT } from '../node/agent.js';
import { AGENT_PATH, EFI_BOOT_HOOK, EFI_BOOT_HOOK_PATH, INIT_SCRIPT, KMOD_PRELUDE, NODE_EFI_MODULES_LIST, NODE_MODULES_LIST, PRELUDE_PATH } from './init.js';
import { installBinary } from './binaries.js';
import { NODE_BASE_MODULES, NODE_EFI_MODULES, readModuleTree, resolveModules } from './kernel-modules.js';

/** Bump when the image layout changes, to invalidate cached images. */
const IMAGE_FORMAT = 'kmodlab-initramfs-v5';

/** Tools kmod provides (preferred over busybox's applets of the same name). */
const KMOD_TOOLS = ['modprobe', 'insmod', 'rmmod', 'lsmod', 'depmod', 'modinfo'] as const;

export interface InitramfsOptions {
  kernel: LabKernel;
  /** More of the kernel's own modules to include (and load at boot). */
  extraModules?: readonly string[];
  compress?: 'none' | 'gzip';
  cacheDir?: string;
}

export interface Initramfs {
  path: string;
  kver: string;
  /** Modules loaded at boot, in order. */
  modules: string[];
  /** Wanted modules found built into the kernel. */
  builtin: string[];
  bytes: number;
  /** True if it came from the cache. */
  cached: boolean;
}

function fileFingerprint(p: string): string {
  const st = statSync(p);
  return `${p}:${st.size}:${st.mtimeMs}`;
}

/** kmod's modinfo, for module trees without modules.dep. */
export function modinfoDepends(file: string): string[] {
  try {
    const out = execFileSync(requireTool('modinfo'), ['-F', 'depends', file], { encoding: 'utf8' }).trim();
    return out ? out.split(',') : [];
  } catch {
    return [];
  }
}

/** Decompress .ko.xz/.ko.zst/.ko.gz so the node's kmod need not support the format. */
export async function moduleContent(src: string): Promise<Buffer> {
  if (src.endsWith('.ko')) return readFileSync(src);
  const tool = src.endsWith('.xz') ? 'xz' : src.endsWith('.zst') ? 'zstd' : 'gzip';
  return (await run(requireTool(tool), ['-dc', src])).stdout;
}

/** Host tools copied into the node's userland (their files are part of the image's identity). */
export function nodeUserlandTools(): string[] {
  return [requireTool('busybox'), requireTool('kmod'), requireTool('sleep')];
}

/**
 * The node's userland, shared by the initramfs and the lab's OS image: busybox with
 * applet links, the real kmod (and its libraries), coreutils' sleep, /init and the agent.
 */
export async function stageNodeUserland(root: string): Promise<void> {
  const [busybox, kmod, sleep] = nodeUserlandTools() as [string, string, string];
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'dev', 'proc', 'sys', 'tmp', 'run', 'mnt', 'root', 'etc/kmodlab']) {
    mkdirSync(join(root, d), { recursive: true });
  }
  // busybox + one symlink per applet (kmod's tools take precedence below).
  await installBinary(root, busybox, 'bin/busybox');
  const applets = (await run(busybox, ['--list'])).stdout.toString('utf8').split('\n').filter(Boolean);
  for (const a of applets) {
    if (a === 'busybox' || (KMOD_TOOLS as readonly string[]).includes(a)) continue;
    if (!/^[A-Za-z0-9._[\]-]+$/.test(a)) continue;
    symlinkSync('busybox', join(root, 'bin', a));
  }
  await installBinary(root, kmod, 'bin/kmod');
  // coreutils' sleep (glibc, as in a UBI-based driver container) for pods' main
  // processes: busybox's static sleep would understate a pod's memory.
  await installBinary(root, sleep, 'usr/bin/sleep');
  for (const t of KMOD_TOOLS) {
    symlinkSync('../bin/kmod', join(root, 'sbin', t));
    symlinkSync('kmod', join(root, 'bin', t));
  }
  symlinkSync('/proc/mounts', join(root, 'etc/mtab'));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\n');
  writeFileSync(join(root, AGENT_PATH), AGENT_SCRIPT, { mode: 0o755 });
  writeFileSync(join(root, PRELUDE_PATH), KMOD_PRELUDE);
  writeFileSync(join(root, 'init'), INIT_SCRIPT, { mode: 0o755 });
}

export async function buildInitramfs(opts: InitramfsOptions): Promise<Initramfs> {
  const { kernel } = opts;
  const compress = opts.compress ?? 'none';
  const busybox = requireTool('busybox');
  const kmod = requireTool('kmod');
  const depmod = requireTool('depmod');
  const cpio = requireTool('cpio');

  const tree = readModuleTree(kernel.modulesDir, modinfoDepends);
  const wanted = [...NODE_BASE_MODULES, ...(opts.extraModules ?? [])];
  const { load, builtin } = resolveModules(tree, wanted, kernel.kver);
  // What a UEFI node loads on top (its own list: the microvm fast path never pays for it).
  // Only what the kernel has: a kernel (or an OS image's module subset) without them boots
  // on microvm as before (a UEFI node on it could not reach its PCI devices).
  const loaded = new Set(load.map((m) => m.name));
  const efiWanted = NODE_EFI_MODULES.filter((m) => tree.files.has(m) || tree.builtin.has(m));
  const efiLoad = resolveModules(tree, [...wanted, ...efiWanted], kernel.kver).load.filter((m) => !loaded.has(m.name));

  const key = sha256(
    IMAGE_FORMAT,
    kernel.kver,
    kernel.modulesDir,
    compress,
    JSON.stringify(load),
    JSON.stringify(efiLoad),
    fileFingerprint(busybox),
    fileFingerprint(kmod),
    ...[...load, ...efiLoad].map((m) => fileFingerprint(join(kernel.modulesDir, m.file))),
    INIT_SCRIPT,
    EFI_BOOT_HOOK,
    AGENT_SCRIPT,
    KMOD_PRELUDE,
  ).slice(0, 16);
  const dir = opts.cacheDir ?? labCacheDir('initramfs');
  const out = join(dir, `initramfs-${kernel.kver}-${key}.cpio${compress === 'gzip' ? '.gz' : ''}`);
  const result = { path: out, kver: kernel.kver, modules: load.map((m) => m.name), builtin };
  if (existsSync(out)) return { ...result, bytes: statSync(out).size, cached: true };

  const root = mkdtempSync(join(tmpdir(), 'kmodlab-initramfs-'));
  try {
    await stageNodeUserland(root);

    // The kernel's own modules (decompressed), then depmod for a consistent modules.dep.
    const modRoot = join(root, 'lib/modules', kernel.kver);
    mkdirSync(modRoot, { recursive: true });
    for (const m of [...load, ...efiLoad]) {
      const dest = join(modRoot, m.file.replace(/\.(xz|zst|gz)$/, ''));
      mkdirSync(dirname(dest), { recursive: true });
      writeFileSync(dest, await moduleContent(join(kernel.modulesDir, m.file)));
    }
    for (const f of ['modules.builtin', 'modules.builtin.modinfo', 'modules.order']) {
      const src = join(kernel.modulesDir, f);
      if (existsSync(src)) writeFileSync(join(modRoot, f), readFileSync(src));
    }
    await run(depmod, ['-b', root, kernel.kver]);

    // Files in dependency order: /init loads them with busybox's static insmod, which
    // starts far faster under TCG than kmod (dynamically linked against libcrypto).
    writeFileSync(join(root, NODE_MODULES_LIST), load.map((m) => m.file.replace(/\.(xz|zst|gz)$/, '')).join('\n') + '\n');
    mkdirSync(dirname(join(root, EFI_BOOT_HOOK_PATH)), { recursive: true });
    writeFileSync(join(root, EFI_BOOT_HOOK_PATH), EFI_BOOT_HOOK, { mode: 0o755 });
    writeFileSync(join(root, NODE_EFI_MODULES_LIST), efiLoad.map((m) => m.file.replace(/\.(xz|zst|gz)$/, '')).join('\n') + '\n');
    // /dev/console lets the kernel give init a console before devtmpfs is mounted; needs root.
    try {
      execFileSync('mknod', ['-m', '600', join(root, 'dev/console'), 'c', '5', '1'], { stdio: 'ignore' });
    } catch {
      // not root: /init reopens /dev/console after mounting devtmpfs
    }

    const archive = await run('sh', ['-c', `find . -print0 | LC_ALL=C sort -z | "${cpio}" --null -o -H newc -R 0:0 --quiet`], {
      cwd: root,
    });
    const data = compress === 'gzip' ? (await run(requireTool('gzip'), ['-9n'], { input: archive.stdout })).stdout : archive.stdout;
    writeFileAtomic(out, data);
    return { ...result, bytes: data.length, cached: false };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
