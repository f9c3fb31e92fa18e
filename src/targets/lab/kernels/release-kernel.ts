/**
 * `kmodlab lab add-release`: the exact kernel of an OpenShift release as a lab kernel.
 * The release's rhel-coreos image carries the kernel and its module tree; its
 * driver-toolkit image carries the matching kernel-devel build tree. Both are pulled
 * with skopeo (into OCI layouts), only the paths below are unpacked, and the result is
 * remembered through the user-kernel mechanism (user-kernels.ts), named after the release.
 *
 * Layout facts relied on (and where they come from):
 * - rhel-coreos is an ostree-native container whose kernel lives at
 *   /usr/lib/modules/<kver>/vmlinuz next to that kernel's modules (modules.dep included),
 *   with nothing under /boot: rpm-ostree's `boot-location: modules` layout, which
 *   coreos-assembler uses for RHCOS/FCOS (coreos/rpm-ostree tests/compose, "use the kver
 *   to find the kernel in /usr/lib/modules"). The module tree's `build` link points at
 *   /usr/src/kernels/<kver>, which the OS image does not ship.
 * - driver-toolkit installs kernel-devel (openshift/driver-toolkit Dockerfile), whose RPM
 *   puts the kbuild tree at /usr/src/kernels/<kver>, and writes
 *   /etc/driver-toolkit-release.json with KERNEL_VERSION (and RT_KERNEL_VERSION,
 *   RHEL_VERSION) — the same file KMM reads to map a DTK to a kernel.
 * - Since 4.14 the DTK no longer installs kernel-core (no vmlinuz there), hence the
 *   kernel comes from rhel-coreos.
 * Layers are applied in order; OCI whiteouts (`.wh.<name>`) delete what an earlier layer
 * put there (opaque-directory markers are not needed for these paths and are ignored).
 * The pull secret is passed to skopeo as a file path only: its contents are never read,
 * logged or copied.
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UserError } from '../../../errors.js';
import { parseReleaseInfo } from '../../../release/release-info.js';
import { labCacheDir } from '../host/cache.js';
import { run } from '../host/run.js';
import { requireTool } from '../host/tools.js';
import type { LabKernel } from './catalog.js';
import { addUserKernel } from './user-kernels.js';

export interface AddReleaseOptions {
  /** Saved `oc adm release info` output (text with --pullspecs, or -o json). */
  releaseInfo: string;
  /** Pull secret (auth.json / ~/.docker/config.json format). */
  authfile?: string;
  /** Where release kernels are kept; default `<lab cache>/releases`. */
  storeDir?: string;
  progress?: (line: string) => void;
}

export interface ReleaseKernel {
  kernel: LabKernel;
  version?: string;
  rhcosImage: string;
  driverToolkitImage: string;
}

const DTK_RELEASE_FILE = 'etc/driver-toolkit-release.json';

/** A file system path we can put into a lab kernel name: OpenShift versions are already safe. */
function releaseDirName(version: string | undefined, kver: string): string {
  return (version ?? kver).replace(/[^A-Za-z0-9._+-]/g, '_');
}

async function skopeoCopy(pullSpec: string, dest: string, authfile: string | undefined, what: string): Promise<void> {
  // containers-registries.conf(5) names mirrors and insecure (plain HTTP) registries. Newer
  // skopeo reads $CONTAINERS_REGISTRIES_CONF itself; Debian 12's 1.9 only takes the flag.
  const conf = process.env.CONTAINERS_REGISTRIES_CONF;
  const args = [...(conf ? ['--registries-conf', conf] : []), 'copy', '--quiet', ...(authfile ? ['--authfile', authfile] : []), `docker://${pullSpec}`, `oci:${dest}:image`];
  const r = await run(requireTool('skopeo'), args, { allowFailure: true, timeoutMs: 3_600_000 });
  if (r.code !== 0) {
    const why = r.stderr.trim().split('\n').slice(-3).join('\n');
    throw new UserError(`pulling the ${what} image ${pullSpec} failed: ${why}`, authfile ? 'check that --authfile holds a pull secret for that registry' : 'pass --authfile <pull secret> for registries that need one');
  }
}

interface OciDescriptor {
  mediaType?: string;
  digest: string;
}

function blobPath(layout: string, digest: string): string {
  const [alg, hex] = digest.split(':');
  return join(layout, 'blobs', alg ?? 'sha256', hex ?? '');
}

/** The layers of the single image in an OCI layout, base first. */
function ociLayers(layout: string): OciDescriptor[] {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests?: OciDescriptor[] };
  const top = index.manifests?.[0];
  if (!top) throw new Error(`${layout}: OCI index without manifests`);
  let manifest = JSON.parse(readFileSync(blobPath(layout, top.digest), 'utf8')) as { layers?: OciDescriptor[]; manifests?: OciDescriptor[] };
  // An image index (multi-arch) as the top entry: skopeo copies the host's platform only.
  if (manifest.manifests?.[0]) manifest = JSON.parse(readFileSync(blobPath(layout, manifest.manifests[0].digest), 'utf8'));
  return manifest.layers ?? [];
}

function tarDecompressFlag(mediaType = ''): string[] {
  if (mediaType.endsWith('+zstd') || mediaType.endsWith('.zstd')) return ['--zstd'];
  if (mediaType.endsWith('+gzip') || mediaType.endsWith('.gzip') || mediaType.endsWith('tar.gzip')) return ['-z'];
  if (mediaType.includes('docker.image.rootfs.diff.tar.gzip')) return ['-z'];
  return [];
}

/** Applies OCI whiteouts found under `dir` (after a layer was unpacked on top). */
function applyWhiteouts(dir: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.name.startsWith('.wh.')) {
      const target = e.name.slice(4);
      if (target !== '.wh..opq') rmSync(join(dir, target), { recursive: true, force: true });
      rmSync(p, { force: true });
    } else if (e.isDirectory() && !e.isSymbolicLink()) {
      applyWhiteouts(p);
    }
  }
}

/** Unpacks the members under `paths` (e.g. `usr/lib/modules`) of every layer, in order. */
async function unpack(layout: string, root: string, paths: string[]): Promise<void> {
  mkdirSync(root, { recursive: true });
  const tar = requireTool('tar');
  for (const layer of ociLayers(layout)) {
    // Absent members are normal (a layer holds some paths only): GNU tar then says
    // "Not found in archive" and exits 2; anything else is a real failure.
    // Whiteouts of what is under a wanted directory come with it (`usr/lib/modules/*`).
    const patterns = paths.flatMap((p) => [p, `./${p}`]);
    const r = await run(tar, ['-x', ...tarDecompressFlag(layer.mediaType), '-f', blobPath(layout, layer.digest), '-C', root, '--no-same-owner', '--wildcards', ...patterns], { allowFailure: true });
    const real = r.stderr.split('\n').filter((l) => l.trim() && !/Not found in archive|Exiting with failure status due to previous errors/.test(l));
    if (r.code !== 0 && real.length) throw new Error(`unpacking ${layer.digest} of ${layout}: ${real.slice(0, 5).join('\n')}`);
    for (const p of paths) applyWhiteouts(join(root, p.replace(/\/\*$/, '')));
  }
}

function readDtkKernel(root: string): string | undefined {
  const file = join(root, DTK_RELEASE_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const v = (JSON.parse(readFileSync(file, 'utf8')) as { KERNEL_VERSION?: unknown }).KERNEL_VERSION;
    return typeof v === 'string' && v ? v : undefined;
  } catch {
    return undefined;
  }
}

export async function addReleaseKernel(opts: AddReleaseOptions): Promise<ReleaseKernel> {
  const progress = opts.progress ?? (() => undefined);
  const infoFile = resolve(opts.releaseInfo);
  let text: string;
  try {
    text = readFileSync(infoFile, 'utf8');
  } catch (e) {
    throw new UserError(`--release-info ${opts.releaseInfo}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const release = parseReleaseInfo(text, opts.releaseInfo);
  const missing = [!release.rhcosImage && 'rhel-coreos', !release.driverToolkitImage && 'driver-toolkit'].filter(Boolean);
  if (missing.length) {
    throw new UserError(
      `--release-info ${opts.releaseInfo}: no pull spec for the ${missing.join(' and ')} image`,
      'save the release info with `oc adm release info --pullspecs <release>` or `-o json`',
    );
  }
  if (opts.authfile !== undefined && !(existsSync(opts.authfile) && statSync(opts.authfile).isFile())) {
    throw new UserError(`--authfile ${opts.authfile}: no such file`, 'pass the pull secret downloaded from console.redhat.com, or an auth.json from `podman login`');
  }
  const rhcosImage = release.rhcosImage!;
  const dtkImage = release.driverToolkitImage!;
  const store = opts.storeDir ?? labCacheDir('releases');
  mkdirSync(store, { recursive: true });
  const scratch = mkdtempSync(join(tmpdir(), 'kmodlab-release-'));
  try {
    progress(`pulling rhel-coreos ${rhcosImage}`);
    await skopeoCopy(rhcosImage, join(scratch, 'rhcos.oci'), opts.authfile, 'rhel-coreos');
    progress(`pulling driver-toolkit ${dtkImage}`);
    await skopeoCopy(dtkImage, join(scratch, 'dtk.oci'), opts.authfile, 'driver-toolkit');

    progress('unpacking the kernel, its modules and the kernel-devel tree');
    const osRoot = join(scratch, 'os');
    const dtkRoot = join(scratch, 'dtk');
    await unpack(join(scratch, 'rhcos.oci'), osRoot, ['usr/lib/modules/*']);
    await unpack(join(scratch, 'dtk.oci'), dtkRoot, ['usr/src/kernels/*', DTK_RELEASE_FILE]);

    const modulesRoot = join(osRoot, 'usr', 'lib', 'modules');
    const withKernel = existsSync(modulesRoot) ? readdirSync(modulesRoot).filter((k) => existsSync(join(modulesRoot, k, 'vmlinuz'))) : [];
    const dtkKver = readDtkKernel(dtkRoot);
    const wanted = release.kernelVersion ?? dtkKver;
    const kver = wanted ? withKernel.find((k) => k === wanted) : withKernel.length === 1 ? withKernel[0] : undefined;
    if (!kver) {
      throw new UserError(
        `the rhel-coreos image ${rhcosImage} has ${withKernel.length ? `kernels ${withKernel.join(', ')}` : 'no kernel'} under /usr/lib/modules/<kver>/vmlinuz` +
          (wanted ? `, not ${wanted} (the release's kernel)` : ''),
      );
    }
    const develDir = join(dtkRoot, 'usr', 'src', 'kernels', kver);
    if (!existsSync(join(develDir, 'Makefile'))) {
      const have = existsSync(join(dtkRoot, 'usr', 'src', 'kernels')) ? readdirSync(join(dtkRoot, 'usr', 'src', 'kernels')) : [];
      throw new UserError(`the driver-toolkit image ${dtkImage} has no kernel-devel tree for ${kver} at /usr/src/kernels/${kver} (it has: ${have.join(', ') || 'none'})`);
    }
    if (dtkKver && dtkKver !== kver) {
      throw new UserError(`the driver-toolkit image ${dtkImage} is for kernel ${dtkKver} (${DTK_RELEASE_FILE}), the rhel-coreos image's kernel is ${kver}: they are not from one release`);
    }

    // <store>/<release>/{vmlinuz, modules/<kver>, build}; replaced whole, never half-written.
    const dir = join(store, releaseDirName(release.version, kver));
    const staging = `${dir}.partial-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(join(staging, 'modules'), { recursive: true });
    renameSync(join(modulesRoot, kver), join(staging, 'modules', kver));
    renameSync(develDir, join(staging, 'build'));
    const modulesDir = join(staging, 'modules', kver);
    renameSync(join(modulesDir, 'vmlinuz'), join(staging, 'vmlinuz'));
    // The OS image's build/source links point at /usr/src/kernels/<kver> of a RHEL host: point them at the DTK's tree.
    for (const link of ['build', 'source']) {
      const p = join(modulesDir, link);
      if (existsSync(p) || isLink(p)) unlinkSync(p);
    }
    symlinkSync('../../build', join(modulesDir, 'build'));
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    const name = release.version ? `OpenShift ${release.version}` : `release kernel ${kver}`;
    const kernel = addUserKernel({ image: join(dir, 'vmlinuz'), buildDir: join(dir, 'build'), modulesDir: join(dir, 'modules', kver), kver, name });
    return { kernel, version: release.version, rhcosImage, driverToolkitImage: dtkImage };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
