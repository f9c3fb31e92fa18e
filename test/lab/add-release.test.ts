/**
 * `kmodlab lab add-release` against release images built here that follow the real
 * images' layout (see src/targets/lab/kernels/release-kernel.ts for the facts and their
 * sources), served by a real registry (Debian's docker-registry on 127.0.0.1):
 * - rhel-coreos: the kernel at /usr/lib/modules/<kver>/vmlinuz beside its module tree
 *   (modules.dep, a `build` link to /usr/src/kernels/<kver>), nothing in /boot; two
 *   layers, the second deleting a file of the first with an OCI whiteout.
 * - driver-toolkit: the kernel-devel tree at /usr/src/kernels/<kver> and
 *   /etc/driver-toolkit-release.json.
 * The kernel is one of this machine's Debian kernels (a subset of its modules: what the
 * node needs plus crc7); its build tree is Debian's headers tree with symlinks
 * resolved, whose Makefile includes the installed -common tree — so building against
 * the extracted tree works on this machine only, unlike a real kernel-devel tree.
 * Then the added kernel is used: the reference driver is built against the extracted
 * tree and loaded on a node booting the extracted kernel with the extracted modules.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkKernel } from '../../src/check/kernel-check.js';
import { loadDriver } from '../../src/driver/load.js';
import { REFERENCE_DRIVER_FILE } from '../../src/driver/reference.js';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { listUserKernels } from '../../src/targets/lab/kernels/user-kernels.js';
import { NODE_BASE_MODULES, readModuleTree, resolveModules } from '../../src/targets/lab/os-image/kernel-modules.js';
import { cli } from '../check/support.js';
import { labAvailability, primaryKernel, removeTempDirs, tempDir } from './helpers.js';

const lab = labAvailability();
const tools = ['skopeo', 'docker-registry', 'tar', 'depmod'].filter((t) => !findTool(t));
const skip = !lab.ok || tools.length > 0;
const why = !lab.ok ? lab.reason : tools.length ? `not installed: ${tools.join(', ')}` : '';
/** A pull secret's `auth` value (base64 of user:token), as console.redhat.com hands them out. */
const SECRET = Buffer.from('kmodlab-test:not-a-real-token-7f3a9c').toString('base64');

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** An OCI image layout (one image, tag `latest`) from root filesystem directories, one gzip layer each. */
function ociLayout(dir: string, layerRoots: string[], labels: Record<string, string>): void {
  mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (b: Buffer) => {
    const d = sha(b);
    writeFileSync(path.join(dir, 'blobs', 'sha256', d), b);
    return { digest: `sha256:${d}`, size: b.length };
  };
  const layers = layerRoots.map((root) => {
    const tar = execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-C', root, '-cf', '-', '.'], { maxBuffer: 1 << 30 });
    const gz = execFileSync('gzip', ['-1n'], { input: tar, maxBuffer: 1 << 30 });
    return { diffId: `sha256:${sha(tar)}`, blob: put(gz) };
  });
  const config = put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: labels }, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) } })));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l.blob })),
    }),
  );
  const m = put(manifest);
  writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }] }));
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe.skipIf(skip)(`kmodlab lab add-release${skip ? ` [SKIPPED: ${why}]` : ''}`, () => {
  const kernel = lab.ok ? primaryKernel(lab.kernels.filter((k) => k.source === 'system')) : undefined!;
  const saved = { config: process.env.KMODLAB_CONFIG, cache: process.env.KMODLAB_CACHE, regs: process.env.CONTAINERS_REGISTRIES_CONF };
  let registry: ChildProcess | undefined;
  let releaseInfo = '';
  let authfile = '';
  let port = 0;
  let rhcosRoot = '';

  beforeAll(async () => {
    const work = tempDir('release');
    process.env.KMODLAB_CONFIG = path.join(work, 'config');
    // Release kernels go to the lab cache: a temporary one, not the user's.
    process.env.KMODLAB_CACHE = path.join(work, 'cache');

    // --- rhel-coreos: kernel + module subset, modules.dep by depmod, a whiteout in layer 2 ---
    const kver = kernel.kver;
    rhcosRoot = path.join(work, 'rhcos-1');
    const mods = path.join(rhcosRoot, 'usr', 'lib', 'modules', kver);
    mkdirSync(mods, { recursive: true });
    copyFileSync(kernel.vmlinuz, path.join(mods, 'vmlinuz'));
    const tree = readModuleTree(kernel.modulesDir);
    for (const m of resolveModules(tree, [...NODE_BASE_MODULES, 'crc7'], kver).load) {
      mkdirSync(path.dirname(path.join(mods, m.file)), { recursive: true });
      copyFileSync(path.join(kernel.modulesDir, m.file), path.join(mods, m.file));
    }
    for (const f of ['modules.builtin', 'modules.builtin.modinfo', 'modules.order']) {
      if (existsSync(path.join(kernel.modulesDir, f))) copyFileSync(path.join(kernel.modulesDir, f), path.join(mods, f));
    }
    execFileSync('depmod', ['-b', path.join(rhcosRoot, 'usr'), kver]);
    symlinkSync(`/usr/src/kernels/${kver}`, path.join(mods, 'build'));
    writeFileSync(path.join(mods, 'stale-from-layer-1'), 'deleted by layer 2\n');
    const layer2 = path.join(work, 'rhcos-2');
    mkdirSync(path.join(layer2, 'usr', 'lib', 'modules', kver), { recursive: true });
    writeFileSync(path.join(layer2, 'usr', 'lib', 'modules', kver, '.wh.stale-from-layer-1'), '');
    mkdirSync(path.join(rhcosRoot, 'boot'));
    ociLayout(path.join(work, 'rhcos.oci'), [rhcosRoot, layer2], { 'ostree.linux': kver });

    // --- driver-toolkit: kernel-devel tree + driver-toolkit-release.json ---
    const dtkRoot = path.join(work, 'dtk');
    cpSync(kernel.buildDir, path.join(dtkRoot, 'usr', 'src', 'kernels', kver), { recursive: true, dereference: true });
    mkdirSync(path.join(dtkRoot, 'etc'));
    writeFileSync(path.join(dtkRoot, 'etc', 'driver-toolkit-release.json'), JSON.stringify({ KERNEL_VERSION: kver, RT_KERNEL_VERSION: `${kver}+rt`, RHEL_VERSION: '9.4' }));
    ociLayout(path.join(work, 'dtk.oci'), [dtkRoot], { 'kernel-version': kver });

    // --- a registry on 127.0.0.1 (plain HTTP, declared insecure as a mirror would be) ---
    port = await freePort();
    const regConf = path.join(work, 'registry.yml');
    writeFileSync(regConf, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(work, 'registry')}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
    registry = spawn(findTool('docker-registry')!, ['serve', regConf], { stdio: 'ignore' });
    const registriesConf = path.join(work, 'registries.conf');
    writeFileSync(registriesConf, `[[registry]]\nlocation = "127.0.0.1:${port}"\ninsecure = true\n`);
    process.env.CONTAINERS_REGISTRIES_CONF = registriesConf;
    const repo = `127.0.0.1:${port}/openshift-release-dev/ocp-v4.0-art-dev`;
    const push = async (layout: string, tag: string) => {
      for (let i = 0; ; i++) {
        try {
          execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:latest`, `docker://${repo}:${tag}`], { stdio: 'pipe' });
          break;
        } catch (e) {
          if (i > 20) throw e;
          await new Promise((r) => setTimeout(r, 500)); // registry still starting
        }
      }
      return execFileSync('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${repo}:${tag}`], { encoding: 'utf8' }).trim();
    };
    const rhcosDigest = await push(path.join(work, 'rhcos.oci'), 'rhcos');
    const dtkDigest = await push(path.join(work, 'dtk.oci'), 'dtk');
    releaseInfo = path.join(work, 'release.json');
    writeFileSync(
      releaseInfo,
      JSON.stringify({
        kind: 'ReleaseImage',
        metadata: { version: '4.16.99' },
        references: {
          kind: 'ImageStream',
          apiVersion: 'image.openshift.io/v1',
          metadata: { name: '4.16.99' },
          spec: {
            tags: [
              { name: 'rhel-coreos', from: { kind: 'DockerImage', name: `${repo}@${rhcosDigest}` } },
              { name: 'driver-toolkit', from: { kind: 'DockerImage', name: `${repo}@${dtkDigest}` } },
            ],
          },
        },
      }),
    );
    authfile = path.join(work, 'pull-secret.json');
    writeFileSync(authfile, JSON.stringify({ auths: { [`127.0.0.1:${port}`]: { auth: SECRET } } }));
  }, 300_000);

  afterAll(() => {
    registry?.kill('SIGKILL');
    for (const [k, v] of [['KMODLAB_CONFIG', saved.config], ['KMODLAB_CACHE', saved.cache], ['CONTAINERS_REGISTRIES_CONF', saved.regs]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    removeTempDirs();
  });

  it('pulls both images, extracts kernel, modules and kernel-devel tree, and adds them as a named lab kernel; the pull secret is never printed', async () => {
    const r = await cli('lab', 'add-release', '--release-info', releaseInfo, '--authfile', authfile);
    expect(r.err).not.toContain('internal error');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`added kernel ${kernel.kver} (OpenShift 4.16.99)`);
    expect(r.err).toContain('pulling rhel-coreos 127.0.0.1:');
    expect(r.out + r.err).not.toContain(SECRET);

    const [added] = listUserKernels();
    expect(added).toMatchObject({ kver: kernel.kver, source: 'user', name: 'OpenShift 4.16.99', series: kernel.series, flavour: kernel.flavour });
    expect(readFileSync(added!.vmlinuz).equals(readFileSync(kernel.vmlinuz))).toBe(true);
    expect(existsSync(path.join(added!.modulesDir, 'modules.dep'))).toBe(true);
    expect(existsSync(path.join(added!.modulesDir, 'stale-from-layer-1'))).toBe(false); // whiteout applied
    expect(readFileSync(path.join(added!.buildDir, 'Module.symvers')).equals(readFileSync(path.join(kernel.buildDir, 'Module.symvers')))).toBe(true);
    expect(readFileSync(path.join(added!.modulesDir, 'build', 'Makefile'), 'utf8')).toBe(readFileSync(path.join(added!.buildDir, 'Makefile'), 'utf8'));
    // nothing kmodlab stored holds the secret
    const store = path.dirname(added!.vmlinuz);
    const grep = spawnSync('grep', ['-rl', SECRET, store, process.env.KMODLAB_CONFIG!], { encoding: 'utf8' });
    expect([grep.status, grep.stdout]).toEqual([1, '']); // grep: 1 = no file matched
  }, 600_000);

  it('says which flag and what is missing on bad input (exit 2), without printing the secret', async () => {
    const missing = await cli('lab', 'add-release', '--release-info', '/nonexistent/release.json');
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/--release-info \/nonexistent\/release\.json: cannot read it/);
    const noAuth = await cli('lab', 'add-release', '--release-info', releaseInfo, '--authfile', '/nonexistent/auth.json');
    expect(noAuth.code).toBe(2);
    expect(noAuth.err).toMatch(/--authfile \/nonexistent\/auth\.json: no such file/);
    const unknownImage = path.join(path.dirname(releaseInfo), 'unknown.json');
    writeFileSync(unknownImage, readFileSync(releaseInfo, 'utf8').replace(/ocp-v4\.0-art-dev@sha256:[0-9a-f]+/, `ocp-v4.0-art-dev@sha256:${'0'.repeat(64)}`));
    const pullFails = await cli('lab', 'add-release', '--release-info', unknownImage, '--authfile', authfile);
    expect(pullFails.code).toBe(2);
    expect(pullFails.err).toMatch(/pulling the rhel-coreos image 127\.0\.0\.1:\d+\/openshift-release-dev\/ocp-v4\.0-art-dev@sha256:0{64} failed/);
    expect(pullFails.out + pullFails.err).not.toContain(SECRET);
  }, 120_000);

  it('the added kernel is usable: the reference driver builds against the extracted tree and loads on the extracted kernel', async () => {
    const added = listUserKernels().find((k) => k.name === 'OpenShift 4.16.99');
    expect(added).toBeDefined();
    const row = await checkKernel({ driver: await loadDriver(REFERENCE_DRIVER_FILE), kernel: added!, workDir: tempDir('release-check'), buildStore: tempDir('release-store') });
    expect(row.build).toMatchObject({ status: 'ok', cached: false });
    expect(row.build.modules[0]!.vermagic.split(' ')[0]).toBe(kernel.kver);
    expect(row.load.status).toBe('ok');
    expect(row.unload.status).toBe('ok');
  }, 600_000);
});
