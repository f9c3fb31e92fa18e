/**
 * Secure Boot with layering and dtk: a driver with `signing` gets its modules signed in
 * the builder stage, with the key and certificate as build-time secrets that never reach
 * an image layer (podman `RUN --mount=type=secret`, BuildConfig build volumes). The
 * rendered signing step is run for real: the kernel tree's sign-file, openssl, modinfo.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { allObjects, ArtifactSetSchema, artifactText, findFile, type ArtifactSet } from '../../src/artifacts/artifact-set.js';
import { loadDriver, parseDriverSpec } from '../../src/driver/load.js';
import type { DriverSpec } from '../../src/driver/spec.js';
import { BUILD_OUT } from '../../src/methods/driver-build.js';
import { dtkMethod } from '../../src/methods/dtk/index.js';
import { layeringMethod } from '../../src/methods/layering/index.js';
import { RenderOptionsSchema, type RenderOptionsInput } from '../../src/methods/method.js';
import { ReleaseSchema } from '../../src/release/release.js';
import { assertValidK8sObject } from '../support/upstream-schemas.js';
import { testRelease } from '../support/releases.js';

const RELEASE = testRelease();

let unsigned: DriverSpec;
let signed: DriverSpec;
beforeAll(async () => {
  unsigned = (await loadDriver('drivers/simple-kmod/driver.yaml')).spec;
  signed = parseDriverSpec({ ...structuredClone(unsigned), signing: { keySecret: 'acme-signing-key', certSecret: 'acme-signing-cert' } }, 'signed test driver');
});

function render(method: typeof dtkMethod, driver: DriverSpec, options: RenderOptionsInput = {}): ArtifactSet {
  return ArtifactSetSchema.parse(method.render(driver, RELEASE, RenderOptionsSchema.parse(options)));
}
const text = (set: ArtifactSet, p: string) => artifactText(findFile(set, p)!);

/** Containerfile instructions (continuation lines joined), split into stages. */
function stages(cf: string): string[][] {
  const out: string[][] = [];
  for (const i of cf.replace(/\\\n/g, '').split('\n').filter((l) => l.trim() && !l.startsWith('#'))) {
    if (i.startsWith('FROM ')) out.push([i]);
    else out.at(-1)?.push(i);
  }
  return out;
}
const signingRun = (stage: string[]) => stage.find((l) => l.includes('sign-file'));

describe('rendered signing stage', () => {
  it('layering off-cluster: signs in the builder stage with podman build secrets; the final stage never sees them', () => {
    const set = render(layeringMethod, signed, { registry: 'quay.io/acme' });
    const [, builder, final] = stages(text(set, 'Containerfile'));
    const run = signingRun(builder!)!;
    expect(run).toMatch(/^RUN --mount=type=secret,id=key,required=true --mount=type=secret,id=cert,required=true /);
    expect(final!.join('\n')).not.toMatch(/secret|sign-file|signing/);
    expect(final!.some((l) => l.startsWith(`COPY --from=builder ${BUILD_OUT}/lib/modules/`))).toBe(true);
    expect(findFile(set, 'x509.conf')).toBeDefined();
    const md = text(set, 'README.md');
    expect(md).toContain('SIGNING_KEY=signing_key.priv SIGNING_CERT=signing_key.der AUTHFILE=pull-secret.json ./build.sh');
    expect(md).toContain('--secret id=key,src=signing_key.priv --secret id=cert,src=signing_key.der');
    expect(md).toContain('modinfo -F signer simple_kmod');
    expect(md).not.toContain('does not sign');
  });

  it('layering build.sh hands the key to podman as a --secret and refuses to build without it', () => {
    const set = render(layeringMethod, signed, { registry: 'quay.io/acme', sourceDir: '/nonexistent' });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-sign-'));
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(path.join(bin, 'podman'), `#!/bin/sh\necho "podman $*" >> "${dir}/calls"\nfor a; do case "$a" in --digestfile) d=1;; *) [ -n "$d" ] && { printf sha256:%064d 0 > "$a"; d=; };; esac; done\nexit 0\n`);
    chmodSync(path.join(bin, 'podman'), 0o755);
    for (const f of set.files) if (f.content !== undefined || f.objects) writeFileSync(path.join(dir, path.basename(f.path)), artifactText(f));
    chmodSync(path.join(dir, 'build.sh'), 0o755);
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    const without = spawnSync(path.join(dir, 'build.sh'), [dir], { env, encoding: 'utf8' });
    expect(without.status).toBe(2);
    expect(without.stderr).toMatch(/SIGNING_KEY must name the module signing KEY file/);
    writeFileSync(path.join(dir, 'k.priv'), 'secret');
    writeFileSync(path.join(dir, 'c.der'), 'cert');
    const withKey = spawnSync(path.join(dir, 'build.sh'), [dir], { env: { ...env, SIGNING_KEY: path.join(dir, 'k.priv'), SIGNING_CERT: path.join(dir, 'c.der') }, encoding: 'utf8' });
    expect(withKey.status, withKey.stderr + withKey.stdout).toBe(0);
    expect(execFileSync('cat', [path.join(dir, 'calls')], { encoding: 'utf8' })).toContain(`--secret id=key,src=${dir}/k.priv --secret id=cert,src=${dir}/c.der`);
  });

  it('layering on-cluster: no signing (no build secrets), and the README says so', () => {
    const r = ReleaseSchema.parse({ ...RELEASE, version: '4.19.3' });
    const set = ArtifactSetSchema.parse(layeringMethod.render(signed, r, RenderOptionsSchema.parse({ registry: 'quay.io/acme', variant: 'on-cluster' })));
    expect(JSON.stringify(allObjects(set))).not.toContain('sign-file');
    expect(text(set, 'README.md')).toContain('the on-cluster build cannot sign');
  });

  it('dtk pinned: the BuildConfig mounts the Secrets as build volumes (schema-valid); the Containerfile file uses podman secrets', () => {
    const set = render(dtkMethod, signed);
    const bc = allObjects(set).find((o) => o.kind === 'BuildConfig')! as any;
    assertValidK8sObject(bc);
    expect(bc.spec.strategy.dockerStrategy.volumes).toEqual([
      { name: 'signing-key', source: { type: 'Secret', secret: { secretName: 'acme-signing-key' } }, mounts: [{ destinationPath: '/run/kmodlab-signing/key' }] },
      { name: 'signing-cert', source: { type: 'Secret', secret: { secretName: 'acme-signing-cert' } }, mounts: [{ destinationPath: '/run/kmodlab-signing/cert' }] },
    ]);
    expect(bc.spec.source.secrets).toBeUndefined();
    const inCluster = stages(bc.spec.source.dockerfile);
    expect(signingRun(inCluster[0]!)).toMatch(/^RUN set -eu; .*\/run\/kmodlab-signing\/key\/key \/run\/kmodlab-signing\/cert\/cert/);
    expect(inCluster[1]!.join('\n')).not.toMatch(/sign|secret/);
    expect(signingRun(stages(text(set, 'Containerfile'))[0]!)).toMatch(/^RUN --mount=type=secret,id=key,required=true/);
    const md = text(set, 'README.md');
    expect(md).toContain('oc create secret generic acme-signing-key -n kmodlab-simple-kmod-dtk --from-file=key=signing_key.priv');
    expect(md).toContain('oc exec -n kmodlab-simple-kmod-dtk daemonset/simple-kmod-driver-container -- modinfo -F signer simple_kmod');
  });

  it('dtk tracking: build volumes too', () => {
    const set = render(dtkMethod, signed, { variant: 'tracking' });
    const bc = allObjects(set).find((o) => o.kind === 'BuildConfig' && (o as any).spec.strategy.dockerStrategy.volumes)! as any;
    assertValidK8sObject(bc);
    expect(bc.spec.source.dockerfile).toContain('KVER="$(cat /etc/kmodlab-kver)"; ');
  });

  it('an unsigned driver renders no signing anywhere', () => {
    for (const set of [render(layeringMethod, unsigned, { registry: 'quay.io/acme' }), render(dtkMethod, unsigned)]) {
      expect(set.files.map((f) => artifactText(f)).join('\n')).not.toMatch(/sign-file|--secret|type=secret/);
      expect(findFile(set, 'x509.conf')).toBeUndefined();
    }
  });
});

/** A kernel whose kbuild tree has sign-file, and one of its modules, uncompressed. */
function hostKernelWithSignFile(): { kver: string; ko: string } | undefined {
  if (!existsSync('/lib/modules')) return undefined;
  for (const kver of readdirSync('/lib/modules')) {
    if (!existsSync(`/lib/modules/${kver}/build/scripts/sign-file`)) continue;
    const found = spawnSync('sh', ['-c', `find /lib/modules/${kver}/kernel -name '*.ko' | head -1`], { encoding: 'utf8' }).stdout.trim();
    if (found) return { kver, ko: found };
  }
  return undefined;
}
const host = hostKernelWithSignFile();
const haveTools = host !== undefined && spawnSync('openssl', ['version']).status === 0 && spawnSync('modinfo', ['--version']).status === 0;

describe.skipIf(!haveTools)(`the rendered signing step, run for real (kernel tree sign-file, openssl, modinfo)${haveTools ? '' : ': skipped, needs a kernel build tree with scripts/sign-file, openssl and kmod'}`, () => {
  it('signs every module with the given key; modinfo shows the certificate as signer; a missing key fails the step', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-signstep-'));
    const x509 = path.join(root, 'x509.conf');
    writeFileSync(x509, text(render(layeringMethod, signed, { registry: 'quay.io/acme' }), 'x509.conf'));
    // The README's key-generation command.
    execFileSync('openssl', ['req', '-new', '-nodes', '-utf8', '-sha256', '-days', '36500', '-batch', '-x509', '-config', x509, '-outform', 'DER', '-out', path.join(root, 'signing_key.der'), '-keyout', path.join(root, 'signing_key.priv')], { stdio: 'ignore' });
    for (const [method, opts] of [[layeringMethod, { registry: 'quay.io/acme' }], [dtkMethod, {}]] as const) {
      const set = render(method, signed, opts);
      const cf = method === dtkMethod ? ((allObjects(set).find((o) => o.kind === 'BuildConfig') as any).spec.source.dockerfile as string) : text(set, 'Containerfile');
      const builder = stages(cf).find((s) => s.some((l) => l.includes('sign-file')))!;
      const body = signingRun(builder)!.replace(/^RUN (--mount=\S+ )*/, '');
      const out = path.join(root, `${method.id}-out`);
      const extra = path.join(out, 'lib', 'modules', host!.kver, 'extra');
      mkdirSync(extra, { recursive: true });
      copyFileSync(host!.ko, path.join(extra, 'simple-kmod.ko'));
      copyFileSync(host!.ko, path.join(extra, 'simple-procfs-kmod.ko'));
      const keyDir = path.join(root, `${method.id}-keys`);
      mkdirSync(keyDir);
      const moved = body
        .replaceAll(BUILD_OUT, out)
        .replaceAll(/\/run\/secrets\/key|\/run\/kmodlab-signing\/key\/key/g, path.join(keyDir, 'key'))
        .replaceAll(/\/run\/secrets\/cert|\/run\/kmodlab-signing\/cert\/cert/g, path.join(keyDir, 'cert'))
        .replace('KVER="$(cat /etc/kmodlab-kver)"', `KVER=${host!.kver}`)
        .replace('KVER="$(cat /kernel-version)"', `KVER=${host!.kver}`);
      const env = { ...process.env, KVER: host!.kver };
      const missing = spawnSync('sh', ['-c', moved], { env, encoding: 'utf8' });
      expect(missing.status, `${method.id}: no key → fail`).not.toBe(0);
      expect(missing.stderr).toContain('kmodlab: signing:');
      copyFileSync(path.join(root, 'signing_key.priv'), path.join(keyDir, 'key'));
      copyFileSync(path.join(root, 'signing_key.der'), path.join(keyDir, 'cert'));
      const ok = spawnSync('sh', ['-c', moved], { env, encoding: 'utf8' });
      expect(ok.status, `${method.id}: ${ok.stderr}`).toBe(0);
      for (const ko of ['simple-kmod.ko', 'simple-procfs-kmod.ko']) {
        expect(execFileSync('modinfo', ['-F', 'signer', path.join(extra, ko)], { encoding: 'utf8' }).trim()).toBe('simple-kmod module signing key');
      }
    }
  });
});
