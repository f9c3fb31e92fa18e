/**
 * The lab release: per lab kernel, the images an OpenShift release carries for it,
 * built with buildah from Containerfiles written here and pushed to the lab registry.
 *
 *   runtime-base            FROM scratch: dash, coreutils, kmod, … from the host's dpkg
 *                           (the lab's counterpart of ubi-minimal)
 *   └ toolchain             + gcc, make, binutils, libc6-dev and their closure
 *     └ driver-toolkit      + the kernel's build tree (linux-headers-<kver> and its
 *                             closure), /etc/driver-toolkit-release.json, labels
 *   node-os-userland        FROM scratch: busybox, kmod, /init, the agent (what the
 *                           node's initramfs holds)
 *   └ node-os               + /usr/lib/modules/<kver>/vmlinuz and the full module tree
 *                           (the lab's counterpart of rhel-coreos)
 *
 * Content-addressed: each image's tag ends in a hash of everything that goes into it
 * (the Containerfile, package name=version lists or file fingerprints, its parent's
 * tag), and builds are reproducible (`--timestamp 0`). An image whose tag the registry
 * already holds is not built again, so an unchanged setup only asks the registry.
 */
import { cpSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LabKernel } from '../kernels/catalog.js';
import { kernelTag } from '../control-plane/image-registry.js';
import { labCacheDir, sha256, writeFileAtomic } from '../host/cache.js';
import { run } from '../host/run.js';
import { AGENT_SCRIPT } from '../node/agent.js';
import { INIT_SCRIPT, KMOD_PRELUDE } from '../os-image/init.js';
import { nodeUserlandTools, stageNodeUserland } from '../os-image/initramfs.js';
import type { CommandUsage } from '../driver-builds/measured-command.js';
import { Buildah } from './buildah.js';
import {
  dpkgStatus,
  installedPackages,
  packageClosure,
  packageFiles,
  packageManifest,
  type InstalledPackage,
} from './debian-packages.js';
import { inspectManifest, type ManifestInfo } from './registry-client.js';
import { blobSnapshot, newBlobBytes, pushCompression, type LabRegistry } from './registry.js';

/** Bump when what goes into an image changes in a way the inputs below do not show. */
const FORMAT = 'kmodlab-lab-release-v2';

/** The counterpart of ubi-minimal: a shell, coreutils and kmod (what a driver container runs). */
export const RUNTIME_BASE_PACKAGES = ['base-files', 'dash', 'bash', 'coreutils', 'sed', 'grep', 'mawk', 'findutils', 'kmod', 'libc-bin', 'debianutils'];
/** What building a module needs besides the kernel's build tree. */
export const TOOLCHAIN_PACKAGES = ['gcc', 'make', 'binutils', 'libc6-dev', 'diffutils', 'tar', 'gzip', 'xz-utils'];

export const IMAGE_ROLES = ['runtime-base', 'toolchain', 'driver-toolkit', 'node-os-userland', 'node-os'] as const;
export type ImageRole = (typeof IMAGE_ROLES)[number];

/** Release tag names, as `oc adm release info` lists them. */
export const RELEASE_TAG: Partial<Record<ImageRole, string>> = {
  'node-os': 'rhel-coreos',
  'driver-toolkit': 'driver-toolkit',
  'runtime-base': 'runtime-base',
};

export interface ImageBuildFigures {
  usage: CommandUsage;
  pushWallMs: number;
  /** New blobs the push stored (managed registry only: its storage is counted). */
  bytesPushed?: number;
  logFile: string;
  builtAt: string;
}

export interface ReleaseImage {
  role: ImageRole;
  kver?: string;
  /** `<prefix>/<role>` */
  repository: string;
  tag: string;
  /** `<repository>:<tag>` */
  ref: string;
  /** Manifest digest in the registry; undefined when not built. */
  digest?: string;
  /** `<repository>@<digest>` */
  digestRef?: string;
  /** Compressed size as stored (config + layers). */
  sizeBytes?: number;
  layers?: number;
  /** Figures of the build that made it (kept from when it was built), if known. */
  build?: ImageBuildFigures;
  /** True when this run built it; false when the registry already had it. */
  builtNow: boolean;
}

/** A planned image: its identity and how to stage its build context. */
export interface ImagePlan {
  role: ImageRole;
  kver?: string;
  key: string;
  tag: string;
  parent?: ImagePlan;
  containerfile: (parentRef: string | undefined) => string;
  stage: (ctx: string) => Promise<void>;
}

export interface LabReleasePlan {
  kver: string;
  os: ImagePlan;
  driverToolkit: ImagePlan;
  runtimeBase: ImagePlan;
}

function fingerprint(path: string): string {
  const st = statSync(path);
  return `${path}:${st.size}:${Math.round(st.mtimeMs)}`;
}

/** Fingerprints of every file under `dir` (path, size, mtime): cheap enough for a module tree. */
function treeFingerprint(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(e.isSymbolicLink() ? `${p}@link` : fingerprint(p));
    }
  };
  walk(dir);
  return out.join('\n');
}

/** Tar of host files (absolute paths) at their own paths, for `ADD … /`. */
async function tarHostFiles(files: readonly string[], out: string): Promise<void> {
  const list = `${out}.list`;
  writeFileSync(list, files.map((f) => f.replace(/^\//, '')).join('\n') + '\n');
  await run('tar', ['-C', '/', '--no-recursion', '-cf', out, '-T', list], { timeoutMs: 600_000 });
  rmSync(list);
}

/** Hard-link a directory tree into a build context (same file system), else copy it. */
async function hardlinkTree(src: string, dest: string): Promise<void> {
  mkdirSync(dirname(dest), { recursive: true });
  const r = await run('cp', ['-al', src, dest], { allowFailure: true });
  if (r.code !== 0) {
    rmSync(dest, { recursive: true, force: true });
    await run('cp', ['-a', src, dest]);
  }
}

/**
 * The kernel's module tree (modules, modules.order, modules.builtin, the index) without
 * its build/source links: those point at the host's headers (the driver-toolkit has its
 * own from the headers package; a node has no build tree).
 */
async function stageModuleTree(kernel: LabKernel, dest: string): Promise<void> {
  await hardlinkTree(kernel.modulesDir, dest);
  for (const l of ['build', 'source']) rmSync(join(dest, l), { force: true, recursive: true });
}

/** merged-/usr top-level symlinks and the directories every image has. */
function stageSkeleton(root: string): void {
  for (const [link, target] of [['bin', 'usr/bin'], ['sbin', 'usr/sbin'], ['lib', 'usr/lib'], ['lib64', 'usr/lib64']] as const) {
    mkdirSync(join(root, target), { recursive: true });
    symlinkSync(target, join(root, link));
  }
  for (const d of ['etc', 'root', 'tmp', 'var/tmp', 'var/lib/dpkg', 'proc', 'sys', 'dev', 'run']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\n');
}

const LABEL = (k: string, v: string) => `LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}`;

/** size:mtime of a path, or '-' when it is missing: part of a plan's memo key. */
function statStamp(path: string): string {
  try {
    const st = statSync(path);
    return `${st.size}:${Math.round(st.mtimeMs)}`;
  } catch {
    return '-';
  }
}

/**
 * What a plan's inputs were the last time they were planned in this process, and the plan.
 * A lab process plans the same kernels several times while it comes up (the base OS it
 * boots, its ClusterVersion's offers, the machine-config controller's base release), and
 * each plan walks whole module trees (0.2–0.35 s on a 2-core host, on the path to the
 * node's boot). The key is cheap to take and changes whenever a package is installed or
 * removed (dpkg's status file) or a kernel's module tree is re-indexed (its directory,
 * modules.dep); a module replaced in place without depmod is seen by the next process.
 */
const planMemo = new Map<string, Promise<LabReleasePlan[]>>();

function planKey(kernels: readonly LabKernel[]): string {
  return [
    statStamp('/var/lib/dpkg/status'),
    ...kernels.map((k) => [k.kver, k.source, statStamp(k.vmlinuz), statStamp(k.modulesDir), statStamp(join(k.modulesDir, 'modules.dep')), statStamp(k.buildDir)].join('|')),
  ].join('\n');
}

/**
 * Plans the lab release of each kernel: image identities (tags) from their inputs,
 * without building anything. Kernel-independent images are planned once and shared.
 * Memoised per process on a cheap key of its inputs (planMemo).
 */
export function planLabReleases(kernels: readonly LabKernel[]): Promise<LabReleasePlan[]> {
  const key = planKey(kernels);
  let plan = planMemo.get(key);
  if (!plan) {
    plan = planLabReleasesNow(kernels);
    planMemo.set(key, plan);
    // A failed plan (dpkg-query failing, a tree vanishing) is not remembered.
    plan.catch(() => planMemo.delete(key));
  }
  return plan;
}

async function planLabReleasesNow(kernels: readonly LabKernel[]): Promise<LabReleasePlan[]> {
  const installed = await installedPackages();
  const basePkgs = packageClosure(RUNTIME_BASE_PACKAGES, installed);
  const toolPkgs = packageClosure([...RUNTIME_BASE_PACKAGES, ...TOOLCHAIN_PACKAGES], installed);
  const inBase = new Set(basePkgs.map((p) => p.name));
  const toolOnly = toolPkgs.filter((p) => !inBase.has(p.name));
  const debianVersion = existsSync('/etc/debian_version') ? readFileSync('/etc/debian_version', 'utf8').trim() : 'unknown';

  const runtimeBase: ImagePlan = {
    role: 'runtime-base',
    key: '',
    tag: '',
    containerfile: () =>
      [
        '# kmodlab lab release: minimal runtime base (the counterpart of ubi-minimal)',
        'FROM scratch',
        'COPY skeleton/ /',
        'ADD packages.tar /',
        'COPY dpkg/ /var/lib/dpkg/',
        LABEL('io.kmodlab.role', 'runtime-base'),
        LABEL('io.kmodlab.os', `debian ${debianVersion}`),
        'CMD ["/bin/bash"]',
        '',
      ].join('\n'),
    stage: async (ctx) => {
      stageSkeleton(join(ctx, 'skeleton'));
      await tarHostFiles(await packageFiles(basePkgs), join(ctx, 'packages.tar'));
      mkdirSync(join(ctx, 'dpkg'), { recursive: true });
      writeFileSync(join(ctx, 'dpkg', 'status'), await dpkgStatus(basePkgs));
    },
  };
  finish(runtimeBase, [packageManifest(basePkgs), debianVersion]);

  const toolchain: ImagePlan = {
    role: 'toolchain',
    key: '',
    tag: '',
    parent: runtimeBase,
    containerfile: (parent) =>
      ['# kmodlab lab release: build toolchain (gcc, make, binutils, libc6-dev)', `FROM ${parent}`, 'ADD packages.tar /', 'COPY dpkg/ /var/lib/dpkg/', LABEL('io.kmodlab.role', 'toolchain'), ''].join('\n'),
    stage: async (ctx) => {
      await tarHostFiles(await packageFiles(toolOnly), join(ctx, 'packages.tar'));
      mkdirSync(join(ctx, 'dpkg'), { recursive: true });
      writeFileSync(join(ctx, 'dpkg', 'status'), await dpkgStatus(toolPkgs));
    },
  };
  finish(toolchain, [packageManifest(toolPkgs)]);

  const userland: ImagePlan = {
    role: 'node-os-userland',
    key: '',
    tag: '',
    containerfile: () => ['# kmodlab lab release: node userland (busybox, kmod, /init, the agent)', 'FROM scratch', 'COPY rootfs/ /', LABEL('io.kmodlab.role', 'node-os-userland'), ''].join('\n'),
    stage: async (ctx) => {
      const root = join(ctx, 'rootfs');
      await stageNodeUserland(root);
      // The kernel layer puts modules under /usr/lib/modules (as ostree-based systems do).
      symlinkSync('../usr/lib/modules', join(root, 'lib', 'modules'));
    },
  };
  finish(userland, [...nodeUserlandTools().map(fingerprint), INIT_SCRIPT, AGENT_SCRIPT, KMOD_PRELUDE]);

  return kernels.map((kernel) => {
    const headersPkg = headersPackageOf(kernel, installed);
    // Both the driver-toolkit and the node OS image carry the module tree: walked once.
    const modulesFingerprint = treeFingerprint(kernel.modulesDir);
    // Some headers packages (6.12 backports) depend on their kernel image package: not
    // taken as a package (it would bring the kernel image and its postinst scripts); the
    // module tree it ships is added below as files, the same way for every lab kernel.
    const notKernelImage = (name: string) => /^linux-image-/.test(name);
    const dtkPkgs = headersPkg ? packageClosure([headersPkg], installed, notKernelImage).filter((p) => !toolPkgs.some((t) => t.name === p.name)) : [];
    // The real file also names the realtime kernel; this image holds one kernel's build
    // tree only (the realtime kernel is its own lab kernel), so RT_KERNEL_VERSION is empty.
    // DEBIAN_VERSION stands where RHEL_VERSION is on RHCOS.
    const releaseJson = `${JSON.stringify({ KERNEL_VERSION: kernel.kver, RT_KERNEL_VERSION: '', DEBIAN_VERSION: debianVersion }, null, 2)}\n`;
    const dtk: ImagePlan = {
      role: 'driver-toolkit',
      kver: kernel.kver,
      key: '',
      tag: '',
      parent: toolchain,
      containerfile: (parent) =>
        [
          `# kmodlab lab release: driver-toolkit for kernel ${kernel.kver}`,
          `FROM ${parent}`,
          'ADD kernel.tar /',
          'COPY dpkg/ /var/lib/dpkg/',
          // openshift/driver-toolkit writes this file in its last layer; consumers read KERNEL_VERSION from it.
          'COPY driver-toolkit-release.json /etc/driver-toolkit-release.json',
          // The real driver-toolkit installs kernel-modules and kernel-modules-extra: its
          // in-tree modules are what `depmod` indexes an out-of-tree module against, so
          // in-tree dependencies (crc7, drm_kms_helper …) are named in the driver image's index.
          `COPY modules/ /usr/lib/modules/${kernel.kver}/`,
          LABEL('io.kmodlab.role', 'driver-toolkit'),
          // driver-toolkit images label their kernel (release-4.23+); render --release-info reads it.
          LABEL('kernel-version', kernel.kver),
          '',
        ].join('\n'),
      stage: async (ctx) => {
        if (headersPkg) {
          await tarHostFiles(await packageFiles(dtkPkgs), join(ctx, 'kernel.tar'));
        } else {
          // A user-supplied kernel: its build tree as the user gave it, at /lib/modules/<kver>/build.
          const tree = join(ctx, 'tree');
          await hardlinkTree(kernel.buildDir, join(tree, 'usr/lib/modules', kernel.kver, 'build'));
          await run('tar', ['-C', tree, '-cf', join(ctx, 'kernel.tar'), '.']);
          rmSync(tree, { recursive: true, force: true });
        }
        mkdirSync(join(ctx, 'dpkg'), { recursive: true });
        writeFileSync(join(ctx, 'dpkg', 'status'), await dpkgStatus([...toolPkgs, ...dtkPkgs]));
        writeFileSync(join(ctx, 'driver-toolkit-release.json'), releaseJson);
        await stageModuleTree(kernel, join(ctx, 'modules'));
      },
    };
    finish(dtk, [kernel.kver, releaseJson, headersPkg ? packageManifest(dtkPkgs) : treeFingerprint(kernel.buildDir), modulesFingerprint]);

    const os: ImagePlan = {
      role: 'node-os',
      kver: kernel.kver,
      key: '',
      tag: '',
      parent: userland,
      containerfile: (parent) =>
        [
          `# kmodlab lab release: node OS image for kernel ${kernel.kver}`,
          `FROM ${parent}`,
          `COPY kernel/ /usr/lib/modules/${kernel.kver}/`,
          LABEL('io.kmodlab.role', 'node-os'),
          // rhel-coreos images name their kernel in this label; render --release-info reads it.
          LABEL('ostree.linux', kernel.kver),
          '',
        ].join('\n'),
      stage: async (ctx) => {
        await stageModuleTree(kernel, join(ctx, 'kernel'));
        // The kernel image beside its modules, where ostree-based systems keep it.
        const vmlinuz = join(ctx, 'kernel', 'vmlinuz');
        rmSync(vmlinuz, { force: true });
        try {
          linkSync(kernel.vmlinuz, vmlinuz);
        } catch {
          cpSync(kernel.vmlinuz, vmlinuz);
        }
      },
    };
    finish(os, [kernel.kver, fingerprint(kernel.vmlinuz), modulesFingerprint]);

    return { kver: kernel.kver, os, driverToolkit: dtk, runtimeBase };
  });

  function finish(p: ImagePlan, inputs: string[]): void {
    p.key = sha256(FORMAT, p.role, p.containerfile('PARENT'), p.parent?.tag ?? '', ...inputs).slice(0, 16);
    p.tag = p.kver ? `${kernelTag(p.kver)}-${p.key}` : p.key;
  }
}

/** The Debian package that installed this kernel's build tree, if any. */
function headersPackageOf(kernel: LabKernel, installed: Map<string, InstalledPackage>): string | undefined {
  const name = `linux-headers-${kernel.kver}`;
  return kernel.source === 'system' && installed.has(name) ? name : undefined;
}

// ---------------------------------------------------------------------------------------
// Building and looking up

function repositoryOf(registry: LabRegistry, role: ImageRole): string {
  return `${registry.prefix}/${role}`;
}

/** Where buildah keeps the image locally: independent of the registry's address. */
function localName(p: ImagePlan): string {
  return `localhost/kmodlab/${p.role}:${p.tag}`;
}

interface RecordFile {
  [refWithTag: string]: ImageBuildFigures;
}

function recordsFile(): string {
  return join(labCacheDir('images'), 'builds.json');
}

function readRecords(): RecordFile {
  try {
    return JSON.parse(readFileSync(recordsFile(), 'utf8')) as RecordFile;
  } catch {
    return {};
  }
}

function saveRecord(key: string, figures: ImageBuildFigures): void {
  const all = readRecords();
  all[key] = figures;
  writeFileAtomic(recordsFile(), `${JSON.stringify(all, null, 2)}\n`);
}

function describe(p: ImagePlan, registry: LabRegistry, m: ManifestInfo | undefined, builtNow: boolean): ReleaseImage {
  const repository = repositoryOf(registry, p.role);
  const ref = `${repository}:${p.tag}`;
  return {
    role: p.role,
    kver: p.kver,
    repository,
    tag: p.tag,
    ref,
    digest: m?.digest,
    digestRef: m ? `${repository}@${m.digest}` : undefined,
    sizeBytes: m?.sizeBytes,
    layers: m?.layers.length,
    // figures are kept per image identity, whichever registry it went to first
    build: readRecords()[`${p.role}:${p.tag}`],
    builtNow,
  };
}

/** All distinct images of the plans, parents first. */
function ordered(plans: readonly LabReleasePlan[]): ImagePlan[] {
  const out: ImagePlan[] = [];
  const add = (p: ImagePlan) => {
    if (p.parent) add(p.parent);
    if (!out.some((o) => o.role === p.role && o.tag === p.tag)) out.push(p);
  };
  for (const r of plans) for (const p of [r.runtimeBase, r.driverToolkit, r.os]) add(p);
  return out;
}

/** What the registry holds of the planned images now (nothing is built). */
export async function lookupImages(plans: readonly LabReleasePlan[], registry: LabRegistry): Promise<ReleaseImage[]> {
  return Promise.all(ordered(plans).map(async (p) => describe(p, registry, await inspectManifest(`${repositoryOf(registry, p.role)}:${p.tag}`, registry.insecure), false)));
}

export interface EnsureOptions {
  registry: LabRegistry;
  buildah?: Buildah;
  /** Progress lines (stderr). */
  log?: (line: string) => void;
}

/**
 * Builds and pushes every planned image the registry does not hold yet, parents first;
 * returns every image (built now or found). A failing build throws ImageBuildError with its log.
 */
export async function ensureImages(plans: readonly LabReleasePlan[], opts: EnsureOptions): Promise<ReleaseImage[]> {
  const { registry } = opts;
  const log = opts.log ?? (() => undefined);
  let buildah: Buildah | undefined = opts.buildah;
  const done = new Map<ImagePlan, ReleaseImage>();
  const results: ReleaseImage[] = [];
  for (const p of ordered(plans)) {
    const ref = `${repositoryOf(registry, p.role)}:${p.tag}`;
    const existing = await inspectManifest(ref, registry.insecure);
    if (existing) {
      const img = describe(p, registry, existing, false);
      done.set(p, img);
      results.push(img);
      continue;
    }
    buildah ??= new Buildah();
    const parentName = p.parent ? localName(p.parent) : undefined;
    if (p.parent && parentName && !(await buildah.imageId(parentName))) {
      // Built earlier into another store (or the store was wiped): take it from the registry.
      const parentRef = done.get(p.parent)?.digestRef ?? `${repositoryOf(registry, p.parent.role)}:${p.parent.tag}`;
      await buildah.pullAs(parentRef, parentName, registry.insecure);
    }
    const buildsDir = labCacheDir('images/logs');
    const logFile = join(buildsDir, `${p.role}-${p.tag}.log`);
    rmSync(logFile, { force: true });
    const ctx = join(labCacheDir('images/context'), `${p.role}-${p.tag}`);
    rmSync(ctx, { recursive: true, force: true });
    mkdirSync(ctx, { recursive: true });
    try {
      log(`images: building ${p.role}${p.kver ? ` for ${p.kver}` : ''} (${p.tag})`);
      await p.stage(ctx);
      const containerfile = join(ctx, 'Containerfile');
      writeFileSync(containerfile, p.containerfile(parentName));
      const built = await buildah.bud({ containerfile, context: ctx, tag: localName(p), logFile, reproducible: true });
      const before = blobSnapshot(registry);
      // zstd to kmodlab's own registry (pushCompression): pushing the 396 MB module-tree
      // layer took 14.7 s and stored 100 MB with zstd, 39.7 s and 119 MB with gzip (buildah
      // push, this machine, 2026-11-30, loaded). Every client the lab pulls with reads zstd.
      const pushed = await buildah.push(localName(p), ref, { insecure: registry.insecure, logFile, compression: pushCompression(registry) });
      const manifest = await inspectManifest(ref, registry.insecure);
      if (!manifest) throw new Error(`pushed ${ref} but the registry does not list it`);
      const blobs = [manifest.configDigest, ...manifest.layers.map((l) => l.digest)];
      const bytesPushed = before ? newBlobBytes(registry, before, blobs) : undefined;
      const figures: ImageBuildFigures = { usage: built.usage, pushWallMs: pushed.wallMs, bytesPushed, logFile, builtAt: new Date().toISOString() };
      saveRecord(`${p.role}:${p.tag}`, figures);
      const img = { ...describe(p, registry, manifest, true), build: figures };
      log(`images: ${p.role}${p.kver ? ` ${p.kver}` : ''}: ${(built.usage.wallMs / 1000).toFixed(1)} s build, ${(pushed.wallMs / 1000).toFixed(1)} s push, ${img.sizeBytes} bytes, ${img.layers} layers`);
      done.set(p, img);
      results.push(img);
    } finally {
      rmSync(ctx, { recursive: true, force: true });
    }
  }
  return results;
}

/** The three release images of one kernel among resolved images. */
export function releaseImagesOf(plan: LabReleasePlan, images: readonly ReleaseImage[]): { os?: ReleaseImage; driverToolkit?: ReleaseImage; runtimeBase?: ReleaseImage } {
  const find = (p: ImagePlan) => images.find((i) => i.role === p.role && i.tag === p.tag);
  return { os: find(plan.os), driverToolkit: find(plan.driverToolkit), runtimeBase: find(plan.runtimeBase) };
}
