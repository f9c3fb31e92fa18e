/**
 * Secure Boot in the lab: with a driver that asks for signing, the module each method
 * delivers (dtk driver container, layering OS image, KMM worker image) is signed —
 * `modinfo -F signer` on the shipped .ko names the signing certificate.
 *
 * On the default microvm node (no UEFI, so no MOK) a node booted with
 * `module.sig_enforce=1` refuses an unsigned module ("Loading of unsigned module is
 * rejected") and the signed one too, with the kernel's "unavailable key" message.
 *
 * On a UEFI node (OVMF with Secure Boot, `firmware: 'uefi'`) the lab enrolls the signing
 * certificate as a Machine Owner Key, standing in for shim (src/targets/lab/node/uefi.ts):
 * there each method's signed module LOADS (no 'E' unsigned-module taint), while an
 * unsigned module and one signed by a key that is not enrolled are still refused.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { allObjects } from '../../src/artifacts/artifact-set.js';
import { loadDriver } from '../../src/driver/load.js';
import '../../src/methods/all.js';
import { renderMethods } from '../../src/methods/render.js';
import { LabCluster } from '../../src/targets/lab/control-plane/lab-cluster.js';
import { labSigningKey } from '../../src/targets/lab/driver-builds/module-signing.js';
import { labRelease } from '../../src/targets/lab/release.js';
import { labAvailability, primaryKernel, REPO, skipReason } from './helpers.js';

const availability = labAvailability();
const store = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-signing-store-'));

interface Ev {
  kind: string;
  node?: string;
  data: Record<string, unknown>;
}
let cluster: LabCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});

/** The reference driver, copied, with a signing section naming `secret` Secrets when asked. */
function driverFile(signed: boolean, secret = 'simple-kmod-signing'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-signed-driver-'));
  cpSync(path.join(REPO, 'drivers', 'simple-kmod'), dir, { recursive: true });
  const file = path.join(dir, 'driver.yaml');
  if (signed) writeFileSync(file, `${readFileSync(file, 'utf8')}signing:\n  keySecret: ${secret}-key\n  certSecret: ${secret}-cert\n`);
  return file;
}

const kernelUnderTest = () => primaryKernel(availability.kernels.filter((k) => !k.flavour.startsWith('rt')));

async function start(signed: boolean, opts: { firmware?: 'uefi'; mokCerts?: string[]; secret?: string } = {}) {
  const kernel = kernelUnderTest();
  const driver = await loadDriver(driverFile(signed, opts.secret));
  const events: Ev[] = [];
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-signing-'));
  cluster = await LabCluster.create({
    runDir,
    release: { kernel },
    driver,
    cmdline: 'module.sig_enforce=1',
    buildStore: store,
    firmware: opts.firmware,
    mokCerts: opts.mokCerts,
    emit: (kind, data, node) => void events.push({ kind, node, data }),
  });
  const render = (method: string) => allObjects(renderMethods(driver.spec, labRelease(kernel), method, { pool: 'master', registry: 'quay.io/acme' })[0]!, 'day2');
  return { cluster, events, render, runDir };
}

/** Every .ko under a directory (the images the lab built and pushed in this run). */
function modulesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) out.push(...modulesUnder(p));
    else if (e.endsWith('.ko')) out.push(p);
  }
  return out;
}
const signer = (ko: string) => execFileSync('modinfo', ['-F', 'signer', ko], { encoding: 'utf8' }).trim();

describe.skipIf(!availability.ok)(`lab: signed modules under module.sig_enforce=1 on a microvm node (nothing enrolled)${skipReason(availability)}`, () => {
  for (const method of ['dtk', 'layering']) {
    it(`${method}: the delivered module is signed; the node refuses it only for the key it cannot trust`, async () => {
      const { cluster, events, render, runDir } = await start(true);
      await cluster.apply(render(method));
      const shipped = modulesUnder(path.join(runDir, 'signed'));
      expect(shipped.length).toBeGreaterThan(0);
      for (const ko of shipped) expect(signer(ko), ko).toBe('simple-kmod module signing key');
      const dmesg = await cluster.nodes[0]!.lab.dmesg();
      // Signed but with a key the kernel does not trust (a microvm node has no firmware to enroll one in): refused for that reason, not as unsigned.
      expect(dmesg).toMatch(/Loading of module with unavailable key is rejected/);
      expect(dmesg).not.toMatch(/Loading of unsigned module is rejected/);
      expect((await cluster.nodes[0]!.lab.exec('[ -d /sys/module/simple_kmod ]')).code).not.toBe(0);
      if (method === 'dtk') expect(events.find((e) => e.kind === 'fault' && e.data.fault === 'post-start-failed')?.data.message).toMatch(/Key was rejected by service/);
    }, 600_000); // the first test also builds the driver (cold build store): minutes on a loaded 2-core host
  }

  it('layering: an unsigned module is refused as unsigned', async () => {
    const { cluster, render } = await start(false);
    await cluster.apply(render('layering'));
    expect(await cluster.nodes[0]!.lab.dmesg()).toMatch(/Loading of unsigned module is rejected/);
    expect((await cluster.nodes[0]!.lab.exec('[ -d /sys/module/simple_kmod ]')).code).not.toBe(0);
  }, 600_000);
});

const ovmf = existsSync('/usr/share/OVMF/OVMF_CODE_4M.secboot.fd');
/** TAINT_UNSIGNED_MODULE (include/linux/panic.h: bit 13, letter 'E'). */
const TAINT_UNSIGNED = 1 << 13;

describe.skipIf(!availability.ok || !ovmf)(`lab: UEFI node with the signing key enrolled as a MOK, module.sig_enforce=1${skipReason(availability)}${ovmf ? '' : ' (skipped: ovmf not installed)'}`, () => {
  for (const method of ['layering', 'dtk', 'kmm']) {
    it(`${method}: the signed module loads (enrolled key, no unsigned-module taint)`, async () => {
      const { cluster, events, render, runDir } = await start(true, { firmware: 'uefi' });
      expect(events.some((e) => e.kind === 'progress' && /enrolled as a MOK/.test(String(e.data.step)))).toBe(true);
      await cluster.apply(render(method));
      const shipped = modulesUnder(path.join(runDir, 'signed'));
      expect(shipped.length).toBeGreaterThan(0);
      for (const ko of shipped) expect(signer(ko), ko).toBe('simple-kmod module signing key');
      const lab = cluster.nodes[0]!.lab;
      const dmesg = await lab.dmesg();
      expect(dmesg).toMatch(/secureboot: Secure boot enabled/);
      expect(await lab.readFile('/proc/cmdline')).toMatch(/module\.sig_enforce=1/);
      expect(dmesg).not.toMatch(/Loading of .* is rejected/);
      expect((await lab.exec('lsmod')).stdout).toMatch(/^simple_kmod\s/m);
      expect(Number((await lab.readFile('/proc/sys/kernel/tainted')).trim()) & TAINT_UNSIGNED).toBe(0);
      expect((await lab.readFile('/sys/module/simple_kmod/taint')).trim()).not.toContain('E');
    }, 900_000);
  }

  it('dtk: an unsigned module is refused as unsigned on the same kind of node', async () => {
    // The lab signing key (for the default Secrets) is enrolled; the driver asks for no signing.
    const enrolled = (await labSigningKey((await loadDriver(driverFile(true))).spec)).cert;
    const { cluster, render } = await start(false, { firmware: 'uefi', mokCerts: [enrolled] });
    await cluster.apply(render('dtk'));
    const lab = cluster.nodes[0]!.lab;
    expect(await lab.dmesg()).toMatch(/Loading of unsigned module is rejected/);
    expect((await lab.exec('[ -d /sys/module/simple_kmod ]')).code).not.toBe(0);
  }, 900_000);

  it('dtk: a module signed by a key that is not enrolled is refused (unavailable key)', async () => {
    const enrolled = (await labSigningKey((await loadDriver(driverFile(true))).spec)).cert;
    // Another pair of Secrets: the lab makes another key pair for them, never enrolled here.
    const { cluster, render, runDir } = await start(true, { firmware: 'uefi', mokCerts: [enrolled], secret: 'simple-kmod-other' });
    await cluster.apply(render('dtk'));
    const shipped = modulesUnder(path.join(runDir, 'signed'));
    expect(shipped.length).toBeGreaterThan(0);
    for (const ko of shipped) expect(signer(ko)).toBe('simple-kmod module signing key');
    const otherCert = (await labSigningKey(cluster.driver.spec)).cert;
    expect(readFileSync(otherCert)).not.toEqual(readFileSync(enrolled));
    const lab = cluster.nodes[0]!.lab;
    expect(await lab.dmesg()).toMatch(/Loading of module with unavailable key is rejected/);
    expect((await lab.exec('[ -d /sys/module/simple_kmod ]')).code).not.toBe(0);
  }, 900_000);
});
