/**
 * KMM's sign step on `kmodlab lab up`, with kubectl as on a cluster (bin/kmodlab.js; needs
 * `npm run build`): a driver whose spec asks for signing is rendered for the lab release;
 * the README's key pair is made with openssl and its `oc create secret` commands are run
 * with kubectl. With the key Secret still missing, KMM builds the kmod image but does not
 * sign it and the Module says why (a Warning event naming the Secret), nothing loads;
 * once the Secret exists the sign Build overwrites containerImage with the signed image,
 * the worker loads it, and the .ko files inside the pushed image carry the certificate's
 * CN as signer, while the image the build pushed first (the unsigned one) does not. The
 * private key is in no layer of the image, no log and no event.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { Buildah } from '../../src/targets/lab/images/buildah.js';
import { kubectlBinary } from './api-server-helpers.js';
import { labAvailability, primaryKernel, REPO, skipReason } from './helpers.js';
import { LabUpHarness, runtimeBaseOf } from './lab-up-harness.js';

const lab = labAvailability();
const missing = ['buildah', 'skopeo', 'docker-registry', 'openssl', 'modinfo'].filter((t) => !findTool(t));
const ok = lab.ok && missing.length === 0 && !!kubectlBinary();
const why = !lab.ok ? skipReason(lab) : ` [SKIPPED: ${missing.length ? `not installed: ${missing.join(', ')}` : 'no kubectl'}]`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const NS = 'kmodlab-simple-kmod';
const KEY_SECRET = 'simple-kmod-signing-key';
const CERT_SECRET = 'simple-kmod-signing-cert';
const CN = 'simple-kmod module signing key';

/** Every file under `dir` whose name ends with `suffix`. */
function filesUnder(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    const st = lstatSync(p, { throwIfNoEntry: false }); // not through the kmod image's absolute `host` symlink
    if (st?.isDirectory()) out.push(...filesUnder(p, suffix));
    else if (st?.isFile() && e.endsWith(suffix)) out.push(p);
  }
  return out;
}

describe.skipIf(!ok)(`KMM sign on kmodlab lab up, with kubectl${ok ? '' : why}`, () => {
  const kernel = lab.ok ? primaryKernel(lab.kernels.filter((k) => !k.flavour.startsWith('rt'))) : undefined;
  const h = new LabUpHarness('labkmmsign');
  const { dir, kmodlab, kubectl, run, logTail } = h;
  const out = path.join(dir, 'out', 'kmm');
  let runtimeBase: string;
  const json = async (...args: string[]) => JSON.parse((await kubectl(...args, '-o', 'json')).stdout);
  const until = async (probe: () => Promise<boolean>, ms: number) => {
    const end = Date.now() + ms;
    let v = await probe();
    while (!v && Date.now() < end) {
      await sleep(2_000);
      v = await probe();
    }
    return v;
  };
  const loaded = () => h.loadedModules(runtimeBase);
  /** The image's layers unpacked into a fresh directory (skopeo, as the kubelet pulls). */
  const unpack = (ref: string, name: string): string => {
    const at = path.join(dir, name);
    const oci = `${at}.dir`;
    execFileSync('skopeo', ['copy', '--src-tls-verify=false', `docker://${ref}`, `dir:${oci}`], { stdio: 'pipe' });
    mkdirSync(at);
    const manifest = JSON.parse(readFileSync(path.join(oci, 'manifest.json'), 'utf8')) as { layers: { digest: string }[] };
    for (const l of manifest.layers) execFileSync('tar', ['-xf', path.join(oci, l.digest.replace(/^sha256:/, '')), '-C', at, '--no-same-owner'], { stdio: 'pipe' });
    return at;
  };
  const READY = `kmm.node.kubernetes.io/${NS}.simple-kmod.ready`;
  const CSV = 'kernel-module-management.v2.7.0';
  const repo = () => `${h.registry.host}/${path.basename(dir).toLowerCase()}`;

  beforeAll(async () => {
    const { release, up } = await h.start({ kernel: kernel! });
    runtimeBase = runtimeBaseOf(release);
    expect(up.code, up.stderr).toBe(0);
    // The reference driver with a signing section, as a user's driver.yaml asks for it.
    const driverDir = path.join(dir, 'driver');
    cpSync(path.join(REPO, 'drivers', 'simple-kmod'), driverDir, { recursive: true });
    const driverFile = path.join(driverDir, 'driver.yaml');
    writeFileSync(driverFile, `${readFileSync(driverFile, 'utf8')}signing:\n  keySecret: ${KEY_SECRET}\n  certSecret: ${CERT_SECRET}\n`);
    const info = await kmodlab('lab', 'release-info', kernel!.kver);
    expect(info.code, info.stderr).toBe(0);
    writeFileSync(path.join(dir, 'release.json'), info.stdout);
    const r = await kmodlab('render', '--method', 'kmm', '--driver', driverFile, '--release-info', path.join(dir, 'release.json'), '--output-dir', path.join(dir, 'out'), '--registry', repo(), '--pool', 'master');
    expect(r.code, r.stderr).toBe(0);
  }, 900_000);
  afterAll(() => h.stop());

  it('key Secret missing: the kmod image is built but not signed, nothing loads, and the Module says which Secret is missing; with it, the signed image loads', async () => {
    const readme = readFileSync(path.join(out, 'README.md'), 'utf8');
    // The operator (README step 1), then the Module kind.
    expect((await kubectl('apply', '-f', path.join(out, '00-operator-namespace.yaml'), '-f', path.join(out, '01-operatorgroup.yaml'), '-f', path.join(out, '02-subscription.yaml'))).code).toBe(0);
    expect(await until(async () => (await kubectl('get', 'csv', '-n', 'openshift-kmm', '-o', 'name')).stdout.includes(CSV), 120_000), logTail()).toBe(true);
    const w = await kubectl('wait', '-n', 'openshift-kmm', `csv/${CSV}`, '--for=jsonpath={.status.phase}=Succeeded', '--timeout=180s');
    expect(w.code, `${w.stderr}\n${logTail()}`).toBe(0);
    expect((await kubectl('wait', 'crd/modules.kmm.sigs.x-k8s.io', '--for=condition=Established', '--timeout=60s')).code).toBe(0);

    // The source image the in-cluster build copies from (README step 3).
    const step = /podman build -f Containerfile\.source -t (\S+) (\S+)/.exec(readme);
    expect(step, 'the README names its source-image build').not.toBeNull();
    const buildah = new Buildah();
    const log = path.join(dir, 'source-build.log');
    await buildah.bud({ containerfile: path.join(out, 'Containerfile.source'), context: step![2]!, tag: 'localhost/kmodlab-test/simple-kmod-source-signed', logFile: log, insecure: true });
    await buildah.push('localhost/kmodlab-test/simple-kmod-source-signed', step![1]!, { insecure: true, logFile: log });

    // The README's key pair, made exactly as it says (in the rendered directory, where x509.conf is).
    const openssl = /```sh\n(openssl req [^`]*?)\n```/.exec(readme);
    expect(openssl, 'the README gives the openssl command').not.toBeNull();
    const mk = await run('/bin/sh', ['-c', openssl![1]!], { cwd: out });
    expect(mk.code, mk.stderr).toBe(0);
    const keyPem = readFileSync(path.join(out, 'signing_key.priv'), 'utf8');
    const keyBody = keyPem.split('\n').filter((l) => l && !l.startsWith('-----')).slice(1, 3).join('');
    expect(keyBody.length).toBeGreaterThan(100);
    const createSecret = (secret: string) => {
      const line = readme.split('\n').find((l) => l.startsWith(`oc create secret generic ${secret} `));
      expect(line, `the README creates Secret ${secret}`).toBeDefined();
      // The README's own arguments, with kubectl. The lab API reads JSON bodies only and
      // `kubectl create secret` sends protobuf, so the object is made client-side and applied.
      const kubectlBin = kubectlBinary()!;
      return run('/bin/sh', ['-c', `${line!.replace(/^oc /, `'${kubectlBin}' `)} --dry-run=client -o yaml | '${kubectlBin}' apply -f -`], { cwd: out });
    };

    // Only the certificate's Secret at first (in the driver's namespace, which the README's files create).
    expect((await kubectl('apply', '-f', path.join(out, '10-namespace.yaml'))).code).toBe(0);
    const c = await createSecret(CERT_SECRET);
    expect(c.code, c.stderr).toBe(0);
    const a = await kubectl('apply', '-f', out);
    expect(a.code, `${a.stderr}\n${logTail()}`).toBe(0);
    const t0 = Date.now();
    const warned = async () => {
      const evs = (await json('get', 'events', '-n', NS, '--field-selector', 'involvedObject.kind=Module')).items as { type: string; reason: string; message: string }[];
      return evs.find((e) => e.type === 'Warning' && e.message.includes(KEY_SECRET));
    };
    expect(await until(async () => !!(await warned()), 900_000), logTail()).toBe(true);
    const ev = (await warned())!;
    expect(ev.message).toMatch(new RegExp(`private secret ${KEY_SECRET} for signing: .*secrets "${KEY_SECRET}" not found`));
    process.stderr.write(`lab kmm sign: Module applied to missing-Secret event in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    let builds = (await json('get', 'builds', '-n', NS)).items as { metadata: { labels: Record<string, string> }; spec: Record<string, any>; status: Record<string, any> }[]; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(builds.map((b) => [b.metadata.labels['kmm.node.kubernetes.io/resource-type'], b.status.phase])).toEqual([['BuildImage', 'Complete']]);
    await sleep(8_000); // more than a resync: still nothing signed, nothing loaded
    expect((await json('get', 'builds', '-n', NS)).items).toHaveLength(1);
    expect((await kubectl('get', 'nodes', '-l', READY, '-o', 'name')).stdout.trim()).toBe('');
    expect((await json('get', 'module', 'simple-kmod', '-n', NS)).status?.moduleLoader?.availableNumber ?? 0).toBe(0);

    // The key's Secret, as the README says: KMM signs, then loads.
    const k = await createSecret(KEY_SECRET);
    expect(k.code, k.stderr).toBe(0);
    const t1 = Date.now();
    const node = (await kubectl('get', 'nodes', '-o', 'jsonpath={.items[0].metadata.name}')).stdout;
    expect(await until(async () => (await kubectl('get', 'nodes', '-l', READY, '-o', 'name')).stdout.includes(node), 900_000), logTail()).toBe(true);
    process.stderr.write(`lab kmm sign: key Secret created to node labelled ready in ${((Date.now() - t1) / 1000).toFixed(1)} s\n`);

    builds = (await json('get', 'builds', '-n', NS)).items;
    const built = builds.find((b) => b.metadata.labels['kmm.node.kubernetes.io/resource-type'] === 'BuildImage')!;
    const signed = builds.find((b) => b.metadata.labels['kmm.node.kubernetes.io/resource-type'] === 'SignImage')!;
    expect(signed.status.phase).toBe('Complete');
    const image = `${repo()}/simple-kmod-kmm:1.0.0-${kernel!.kver}`;
    // KMM 2.7: both write containerImage; the sign Build starts from what the build pushed.
    expect(built.spec.output.to.name).toBe(image);
    expect(signed.spec.output.to.name).toBe(image);
    expect(signed.spec.source.dockerfile).toContain(`FROM ${repo()}/simple-kmod-kmm@${built.status.output.to.imageDigest} AS source`);
    expect(signed.spec.strategy.dockerStrategy.volumes.map((v: { source: { secret: { secretName: string } } }) => v.source.secret.secretName)).toEqual([KEY_SECRET, CERT_SECRET]);
    expect(JSON.stringify(signed.spec)).not.toContain(keyBody);
    expect(signed.status.output.to.imageDigest).not.toBe(built.status.output.to.imageDigest);

    // The pushed containerImage: its modules carry the certificate's CN; the unsigned image's do not.
    const signedDir = unpack(image, 'signed');
    const kos = filesUnder(path.join(signedDir, 'opt'), '.ko');
    expect(kos.map((f) => path.basename(f)).sort()).toEqual(['simple-kmod.ko', 'simple-procfs-kmod.ko']);
    for (const ko of kos) expect(execFileSync('modinfo', ['-F', 'signer', ko], { encoding: 'utf8' }).trim(), ko).toBe(CN);
    const unsignedDir = unpack(`${repo()}/simple-kmod-kmm@${built.status.output.to.imageDigest}`, 'unsigned');
    for (const ko of filesUnder(path.join(unsignedDir, 'opt'), '.ko')) expect(execFileSync('modinfo', ['-F', 'signer', ko], { encoding: 'utf8' }).trim(), ko).toBe('');
    // No key material in the image, the build logs, the controllers' log or the events.
    const leaks = (await run('grep', ['-rlF', keyBody, signedDir, path.join(dir, 'state'), path.join(dir, 'cache', 'lab-api')])).stdout.trim();
    expect(leaks).toBe('');
    expect((await kubectl('get', 'events', '-A', '-o', 'json')).stdout).not.toContain(keyBody);

    const mods = await loaded();
    expect(mods).toContain('simple_kmod');
    expect(mods).toContain('simple_procfs_kmod');
    expect((await json('get', 'module', 'simple-kmod', '-n', NS)).status.moduleLoader).toEqual({ nodesMatchingSelectorNumber: 1, desiredNumber: 1, availableNumber: 1 });
  }, 2_400_000);
});
