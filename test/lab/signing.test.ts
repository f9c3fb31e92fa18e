/**
 * Secure Boot and module signing on `kmodlab lab up`, driven as on a cluster (bin/kmodlab.js
 * and kubectl; needs `npm run build`). One lab for the file:
 *   kmodlab lab up --secure-boot --mok-cert signing_key.der --kernel-arg module.sig_enforce=1
 * — a node booted through UEFI firmware with Secure Boot on, the certificate of one key pair
 * enrolled as a Machine Owner Key (what `mokutil --import` does once per machine; the lab
 * stands in for shim, src/targets/lab/node/uefi.ts), and the kernel told to refuse every
 * module it cannot verify.
 *
 * On it, the DTK method (rendered for the lab release, `kubectl apply`, the README's Secrets
 * and build step) delivers the reference driver three times, each as its own driver (its
 * own namespace): unsigned — the DaemonSet's postStart modprobe fails with "Key was rejected
 * by service" and the kernel says "Loading of unsigned module is rejected"; signed with a key
 * pair made by the README's openssl command (not enrolled) — the built image's modules
 * name that key as signer, and the kernel refuses them as "module with unavailable key";
 * signed with the enrolled key — the module loads, with no 'E' (unsigned module) taint.
 * Then the layering method: the rendered Containerfile built with the enrolled key as its
 * build secrets, as build.sh does, rolled out by the Machine Config Operator — the node
 * reboots into the layered image on the same firmware with the key still enrolled, and the
 * module baked in loads at boot, untainted. The kernel's messages are read as `oc debug node`
 * would, from a pod that sees the node's /dev/kmsg.
 *
 * KMM's sign step on the API path (the pushed image's modules carry the signer, the private
 * key is in no layer, log or event) is in lab-up-kmm-sign.test.ts, on a node without Secure
 * Boot: KMM's signed module loading on a --secure-boot node is not asserted here yet.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { buildAsBuildSh } from './layering-build-sh.js';
import { kubectlBinary } from './api-server-helpers.js';
import { labAvailability, pollUntil, primaryKernel, REPO, skipReason } from './helpers.js';
import { BIN, LabUpHarness, runtimeBaseOf } from './lab-up-harness.js';

const lab = labAvailability();
const ovmf = existsSync('/usr/share/OVMF/OVMF_CODE_4M.secboot.fd') && existsSync('/usr/share/OVMF/OVMF_VARS_4M.ms.fd');
const missing = ['buildah', 'skopeo', 'docker-registry', 'openssl', 'modinfo', 'mkfs.erofs'].filter((t) => !findTool(t));
const ok = lab.ok && ovmf && missing.length === 0 && !!kubectlBinary();
const why = !lab.ok ? skipReason(lab) : ` [SKIPPED: ${!ovmf ? 'ovmf not installed' : missing.length ? `not installed: ${missing.join(', ')}` : 'no kubectl'}]`;

/** TAINT_UNSIGNED_MODULE (include/linux/panic.h: bit 13, letter 'E'). */
const TAINT_UNSIGNED = 1 << 13;
const REJECTED = /Key was rejected by service/;

/** The reference driver copied under `dir` as driver `name`, with a signing section when `signed`. */
function driverCopy(dir: string, name: string, signed: boolean): string {
  const at = path.join(dir, 'drivers', name);
  cpSync(path.join(REPO, 'drivers', 'simple-kmod'), at, { recursive: true });
  const file = path.join(at, 'driver.yaml');
  const spec = readFileSync(file, 'utf8').replace(/^name: simple-kmod$/m, `name: ${name}`);
  writeFileSync(file, signed ? `${spec}signing:\n  keySecret: ${name}-signing-key\n  certSecret: ${name}-signing-cert\n` : spec);
  return file;
}

/** Every file under `dir` ending in `suffix` (not through symlinks). */
function filesUnder(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (st?.isDirectory()) out.push(...filesUnder(p, suffix));
    else if (st?.isFile() && e.endsWith(suffix)) out.push(p);
  }
  return out;
}
const signer = (ko: string) => execFileSync('modinfo', ['-F', 'signer', ko], { encoding: 'utf8' }).trim();

describe('lab up: Secure Boot flags, bad input', () => {
  const run = (...args: string[]) => {
    try {
      return { code: 0, stderr: execFileSync(process.execPath, [BIN, 'lab', 'up', ...args], { encoding: 'utf8', stdio: 'pipe', env: { ...process.env, KMODLAB_LAB_DIR: '/nonexistent/kmodlab-lab' } }) };
    } catch (e) {
      return { code: (e as { status: number }).status, stderr: String((e as { stderr: unknown }).stderr) };
    }
  };

  it('a --mok-cert that is missing, or not a certificate, is refused naming the flag and the file (exit 2); a --mok-cert needs --secure-boot', () => {
    const absent = run('--secure-boot', '--mok-cert', '/nonexistent/signing_key.der');
    expect(absent.code).toBe(2);
    expect(absent.stderr).toMatch(/--mok-cert \/nonexistent\/signing_key\.der: cannot read/);
    const notCert = run('--secure-boot', '--mok-cert', path.join(REPO, 'package.json'));
    expect(notCert.code).toBe(2);
    expect(notCert.stderr).toContain(`--mok-cert ${path.join(REPO, 'package.json')}: ${path.join(REPO, 'package.json')} is not an X.509 certificate (DER or PEM)`);
    const noUefi = run('--mok-cert', path.join(REPO, 'package.json'));
    expect(noUefi.code).toBe(2);
    expect(noUefi.stderr).toMatch(/--mok-cert: .*only on UEFI nodes/);
    const arg = run('--kernel-arg', 'a b');
    expect(arg.code).toBe(2);
    expect(arg.stderr).toContain('--kernel-arg: "a b"');
  });
});

describe.skipIf(!ok)(`lab up --secure-boot, the signing key enrolled as a MOK, module.sig_enforce=1${ok ? '' : why}`, () => {
  const kernel = lab.ok ? primaryKernel(lab.kernels.filter((k) => !k.flavour.startsWith('rt'))) : undefined;
  const h = new LabUpHarness('labsecureboot', { timeoutMs: 1_200_000 });
  const { dir, kmodlab, kubectl, run, logTail } = h;
  let runtimeBase: string;
  /** The enrolled key pair (made like the README's, for driver simple-kmod). */
  const enrolled = { key: path.join(dir, 'enrolled', 'signing_key.priv'), cert: path.join(dir, 'enrolled', 'signing_key.der') };
  const json = async (...args: string[]) => JSON.parse((await kubectl(...args, '-o', 'json')).stdout);

  /** The kernel log, /proc/cmdline, the taint flags and /proc/modules of the node, as a debug pod sees them. */
  const nodeView = async () => {
    const out = await h.onNode(
      runtimeBase,
      [
        'echo "== cmdline"; cat /proc/cmdline',
        'echo "== tainted"; cat /proc/sys/kernel/tainted',
        'echo "== module taint"; cat /sys/module/simple_kmod/taint 2>/dev/null',
        'echo "== modules"; cut -d" " -f1 /proc/modules',
        // /dev/kmsg blocks at its end: read what is there.
        'echo "== kmsg"; timeout 3 cat /dev/kmsg',
      ].join('\n'),
      'node-view',
    );
    const part = (name: string) => (new RegExp(`== ${name}\\n([\\s\\S]*?)(?:\\n== |$)`).exec(out)?.[1] ?? '').trim();
    return { cmdline: part('cmdline'), tainted: Number(part('tainted')), moduleTaint: part('module taint'), modules: part('modules').split('\n'), kmsg: part('kmsg') };
  };

  /** Writes `text` into the node's kernel log (a pod's write to /dev/kmsg), to read what the kernel says after it. */
  const kmsgMark = async (text: string) => {
    expect(await h.onNode(runtimeBase, `echo "${text}" > /dev/kmsg && echo marked`, 'kmsg-mark')).toContain('marked');
  };
  const since = (kmsg: string, mark: string) => kmsg.slice(kmsg.lastIndexOf(mark));

  /**
   * Render `method` for the lab release for the driver in `driverFile`; returns the method's
   * output dir. Images go to a repository of this file's own: an image already in the registry
   * under the same name (another run's) would be used as is, as KMM does with an existing image.
   */
  const render = async (method: string, driverFile: string, name: string) => {
    const out = path.join(dir, 'out', name);
    const r = await kmodlab('render', '--method', method, '--driver', driverFile, '--release-info', path.join(dir, 'release.json'), '--output-dir', out, ...(method === 'dtk' ? [] : ['--pool', 'master', '--registry', `${h.registry.prefix}/${path.basename(dir).toLowerCase()}`]));
    expect(r.code, r.stderr).toBe(0);
    return path.join(out, method);
  };

  /** The README's `oc create secret` lines, with kubectl (the lab API takes JSON: made client-side, applied). */
  const createSecrets = async (out: string) => {
    const readme = readFileSync(path.join(out, 'README.md'), 'utf8');
    const lines = readme.split('\n').filter((l) => /^oc create secret generic \S+-signing-(key|cert) /.test(l));
    expect(lines, 'the README creates the key and certificate Secrets').toHaveLength(2);
    const k = kubectlBinary()!;
    for (const line of lines) {
      const c = await run('/bin/sh', ['-c', `${line.replace(/^oc /, `'${k}' `)} --dry-run=client -o yaml | '${k}' apply -f -`], { cwd: out });
      expect(c.code, c.stderr).toBe(0);
    }
  };

  /**
   * The DTK method for driver `name`: render, apply, the key pair (`key`: 'enrolled' copies the
   * enrolled one in; 'new' runs the README's openssl command), the Secrets, the README's build
   * step. Returns the namespace, the DaemonSet and the signers of the built image's modules.
   */
  const dtk = async (name: string, key: 'enrolled' | 'new' | undefined) => {
    const out = await render('dtk', driverCopy(dir, name, key !== undefined), name);
    const readme = readFileSync(path.join(out, 'README.md'), 'utf8');
    const a = await kubectl('apply', '-f', out);
    expect(a.code, `${a.stderr}\n${logTail()}`).toBe(0);
    if (key === 'enrolled') {
      copyFileSync(enrolled.key, path.join(out, 'signing_key.priv'));
      copyFileSync(enrolled.cert, path.join(out, 'signing_key.der'));
    } else if (key === 'new') {
      const openssl = /```sh\n(openssl req [^`]*?)\n```/.exec(readme);
      expect(openssl, 'the README gives the openssl command').not.toBeNull();
      const mk = await run('/bin/sh', ['-c', openssl![1]!], { cwd: out });
      expect(mk.code, mk.stderr).toBe(0);
    }
    if (key) await createSecrets(out);
    const step = /oc start-build (\S+) -n (\S+) --from-dir=(\S+)/.exec(readme);
    expect(step, 'the README names its start-build step').not.toBeNull();
    const [, bc, ns, fromDir] = step!;
    const b = await kmodlab('lab', 'start-build', bc!, '--namespace', ns!, '--from-dir', fromDir!, '--wait');
    expect(b.code, `${b.stderr}\n${logTail()}`).toBe(0);
    const build = await json('get', 'build', `${bc}-1`, '-n', ns!);
    const is = (await json('get', 'imagestream', '-n', ns!)).items[0];
    // The pushed image's modules, unpacked as the kubelet pulls it.
    const at = path.join(dir, 'images', name);
    mkdirSync(path.dirname(at), { recursive: true });
    execFileSync('skopeo', ['copy', '--src-tls-verify=false', `docker://${is.status.dockerImageRepository}@${build.status.output.to.imageDigest}`, `dir:${at}.oci`], { stdio: 'pipe' });
    mkdirSync(at, { recursive: true });
    for (const l of JSON.parse(readFileSync(path.join(`${at}.oci`, 'manifest.json'), 'utf8')).layers as { digest: string }[]) {
      execFileSync('tar', ['-xf', path.join(`${at}.oci`, l.digest.replace(/^sha256:/, '')), '-C', at, '--no-same-owner'], { stdio: 'pipe' });
    }
    const kos = filesUnder(at, '.ko');
    expect(kos.map((f) => path.basename(f)).sort()).toEqual(['simple-kmod.ko', 'simple-procfs-kmod.ko']);
    const ds = (await json('get', 'ds', '-n', ns!)).items[0].metadata.name as string;
    return { out, ns: ns!, ds, signers: kos.map(signer) };
  };

  /** Waits for the kubelet's FailedPostStartHook Warning event on the DaemonSet's pod (`kubectl describe pod`); returns its message. */
  const postStartFailure = async (ns: string): Promise<string> => {
    const message = async () => {
      const events = (await json('get', 'events', '-n', ns)).items as { type: string; reason: string; message: string; involvedObject: { kind: string } }[];
      return events.find((e) => e.type === 'Warning' && e.reason === 'FailedPostStartHook' && e.involvedObject.kind === 'Pod')?.message ?? '';
    };
    return pollUntil(message, (m) => m !== '', 600_000, 2_000);
  };

  beforeAll(async () => {
    mkdirSync(path.dirname(enrolled.key), { recursive: true });
    // The enrolled key pair, made with the x509.conf kmodlab renders for driver simple-kmod.
    const conf = path.join(path.dirname(enrolled.key), 'x509.conf');
    const { x509Config } = await import('../../src/methods/module-signing.js');
    writeFileSync(conf, x509Config({ name: 'simple-kmod' } as Parameters<typeof x509Config>[0]));
    execFileSync('openssl', ['req', '-new', '-nodes', '-utf8', '-sha256', '-days', '30', '-batch', '-x509', '-config', conf, '-outform', 'DER', '-out', enrolled.cert, '-keyout', enrolled.key], { stdio: 'pipe' });
    const { release, up } = await h.start({ kernel: kernel!, upArgs: ['--nodes', '1', '--kernel', kernel!.kver, '--secure-boot', '--mok-cert', enrolled.cert, '--kernel-arg', 'module.sig_enforce=1'] });
    expect(up.code, `${up.stderr}\n${logTail()}`).toBe(0);
    runtimeBase = runtimeBaseOf(release);
    const info = await kmodlab('lab', 'release-info', kernel!.kver);
    expect(info.code, info.stderr).toBe(0);
    writeFileSync(path.join(dir, 'release.json'), info.stdout);
  }, 1_200_000);
  afterAll(() => h.stop());

  it('the node booted through UEFI with Secure Boot, the certificate enrolled, module.sig_enforce=1 on its command line', async () => {
    expect(logTail(5, /MOK/)).toMatch(/node lab-node-0: UEFI Secure Boot, 1 MOK certificate\(s\) enrolled \((in \d+ ms|cached variable store); \.machine keyring: [1-9]/);
    const enroll = /enrolled \(in (\d+) ms/.exec(logTail(5, /MOK/));
    if (enroll) process.stderr.write(`lab secure boot: MOK enrollment (write MokListRT, reboot, check) ${(Number(enroll[1]) / 1000).toFixed(1)} s\n`);
    const v = await nodeView();
    expect(v.kmsg).toMatch(/secureboot: Secure boot enabled/);
    expect(v.cmdline).toMatch(/(^| )module\.sig_enforce=1( |$)/);
    expect(v.modules).not.toContain('simple_kmod');
  }, 600_000);

  it('dtk, unsigned: the postStart modprobe is refused ("Key was rejected by service"), the kernel says "Loading of unsigned module is rejected"; the pod crash-loops with the refusal recorded', async () => {
    const { ns, signers } = await dtk('simple-kmod-unsigned', undefined);
    const failure = await postStartFailure(ns);
    // The kubelet restarts the pod with back-off; its status carries the failed hook (modprobe exits 1).
    type Status = { restartCount: number; ready: boolean; state?: { waiting?: { reason?: string; message?: string } } };
    const status = async () => ((await json('get', 'pods', '-n', ns)).items as { status: { containerStatuses?: Status[] } }[]).map((p) => p.status.containerStatuses?.[0]).find(Boolean);
    const c = await pollUntil(status, (x) => !!x && x.restartCount > 0 && x.state?.waiting?.reason === 'CrashLoopBackOff', 300_000, 1_000);
    expect(c?.state?.waiting?.reason, JSON.stringify(c)).toBe('CrashLoopBackOff');
    expect(c!.state!.waiting!.message).toMatch(/^FailedPostStartHook: modprobe .* exited 1/);
    expect(c!.ready).toBe(false);
    const v = await nodeView();
    // Deleted first: its pod would retry the load with back-off for the rest of the file.
    expect((await kubectl('delete', 'namespace', ns, '--wait=false')).code).toBe(0);
    expect(signers).toEqual(['', '']);
    expect(failure).toMatch(/Exec lifecycle hook \(\[modprobe .*simple_kmod.*\]\) for Container .* failed/);
    expect(failure).toMatch(REJECTED);
    expect(v.kmsg).toMatch(/Loading of unsigned module is rejected/);
    expect(v.modules).not.toContain('simple_kmod');
  }, 1_200_000);

  it('dtk, signed by a key that is not enrolled: the modules name that key as signer, the kernel refuses them ("module with unavailable key")', async () => {
    const { ns, signers } = await dtk('simple-kmod-other', 'new');
    const failure = await postStartFailure(ns);
    const v = await nodeView();
    expect((await kubectl('delete', 'namespace', ns, '--wait=false')).code).toBe(0);
    expect(signers).toEqual(['simple-kmod-other module signing key', 'simple-kmod-other module signing key']);
    expect(failure).toMatch(REJECTED);
    // Only this driver's modules are signed: the kernel's reason is the key, not a missing signature.
    expect(v.kmsg).toMatch(/Loading of module with unavailable key is rejected/);
    expect(v.modules).not.toContain('simple_kmod');
  }, 1_200_000);

  it('dtk, signed by the enrolled key: the module loads, no unsigned-module taint; deleting the DaemonSet unloads it', async () => {
    const mark = 'kmodlab-test: dtk signed by the enrolled key';
    await kmsgMark(mark);
    const { out, ns, ds, signers } = await dtk('simple-kmod', 'enrolled');
    expect(signers).toEqual(['simple-kmod module signing key', 'simple-kmod module signing key']);
    const rollout = await kubectl('rollout', 'status', `ds/${ds}`, '-n', ns, '--timeout=600s');
    expect(rollout.code, `${rollout.stderr}\n${logTail()}`).toBe(0);
    const v = await nodeView();
    expect(v.modules).toContain('simple_kmod');
    expect(v.modules).toContain('simple_procfs_kmod');
    expect(v.kmsg).toContain(mark);
    expect(since(v.kmsg, mark)).not.toMatch(/Loading of .* is rejected/);
    expect(v.tainted & TAINT_UNSIGNED).toBe(0);
    expect(v.moduleTaint).not.toContain('E');
    // No key material in what the lab wrote (logs, state) or in the events.
    const keyBody = readFileSync(enrolled.key, 'utf8').split('\n').filter((l) => l && !l.startsWith('-----')).slice(1, 3).join('');
    expect((await run('grep', ['-rlF', keyBody, path.join(dir, 'state'), path.join(dir, 'cache', 'lab-api')])).stdout.trim()).toBe('');
    expect((await kubectl('get', 'events', '-A', '-o', 'json')).stdout).not.toContain(keyBody);
    // The Namespace is deleted first and takes the rest with it: the other files are then not found.
    const d = await kubectl('delete', '-f', out, '--wait=true', '--ignore-not-found');
    expect(d.code, d.stderr).toBe(0);
    const after = await pollUntil(() => h.loadedModules(runtimeBase), (m) => !m.includes('simple_kmod'), 120_000, 2_000);
    expect(after).not.toContain('simple_kmod');
  }, 1_200_000);

  it('layering, signed by the enrolled key: the node reboots into the layered image on the same firmware with the key still enrolled, and the module loads at boot', async () => {
    const out = await render('layering', driverCopy(dir, 'simple-kmod', true), 'layering');
    // build.sh's podman build with the key and certificate as build secrets (with buildah), push, digest pinned.
    const logFile = path.join(dir, 'layering-build.log');
    const { machineConfig } = await buildAsBuildSh(out, 'master', logFile, { key: enrolled.key, cert: enrolled.cert });
    expect(readFileSync(logFile, 'utf8')).toMatch(/kmodlab: signed .*simple-kmod\.ko \(signer: simple-kmod module signing key\)/);
    const before = (await json('get', 'nodes')).items[0].status.nodeInfo.bootID as string;
    const start = (await json('get', 'mcp', 'master')).spec.configuration.name as string;
    const a = await kubectl('apply', '-f', machineConfig);
    expect(a.code, a.stderr).toBe(0);
    const target = await pollUntil(async () => (await json('get', 'mcp', 'master')).spec.configuration.name as string, (t) => t !== start, 120_000, 1_000);
    const w = await kubectl('wait', 'mcp/master', `--for=jsonpath={.status.configuration.name}=${target}`, '--timeout=1200s');
    expect(w.code, `${w.stderr}\n${logTail(15, /machine-config/)}`).toBe(0);
    expect((await json('get', 'nodes')).items[0].status.nodeInfo.bootID).not.toBe(before);
    const v = await nodeView();
    expect(v.kmsg).toMatch(/secureboot: Secure boot enabled/);
    expect(v.cmdline).toMatch(/(^| )module\.sig_enforce=1( |$)/);
    expect(v.modules).toContain('simple_kmod');
    expect(v.modules).toContain('simple_procfs_kmod');
    expect(v.kmsg).not.toMatch(/Loading of .* is rejected/);
    expect(v.tainted & TAINT_UNSIGNED).toBe(0);
    expect(v.moduleTaint).not.toContain('E');
  }, 1_800_000);
});
