/**
 * Secure Boot in the lab: with a driver that asks for signing, the module each method
 * delivers (dtk driver container, layering OS image) is signed — `modinfo -F signer` on
 * the shipped .ko names the signing certificate — and a node booted with
 * `module.sig_enforce=1` refuses an unsigned module ("Loading of unsigned module is
 * rejected"). The signed module is refused there too, with the kernel's "unavailable
 * key" message: the lab cannot enroll the signing key (no UEFI/MOK). That is a limit of
 * the lab, not of the rendered files, and this test records the kernel's words for it.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { allObjects } from '../../src/artifacts/artifact-set.js';
import { loadDriver } from '../../src/driver/load.js';
import '../../src/methods/all.js';
import { renderMethods } from '../../src/methods/render.js';
import { LabCluster } from '../../src/targets/lab/control-plane/lab-cluster.js';
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

/** The reference driver, copied, with a signing section when asked. */
function driverFile(signed: boolean): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-signed-driver-'));
  cpSync(path.join(REPO, 'drivers', 'simple-kmod'), dir, { recursive: true });
  const file = path.join(dir, 'driver.yaml');
  if (signed) writeFileSync(file, `${readFileSync(file, 'utf8')}signing:\n  keySecret: simple-kmod-signing-key\n  certSecret: simple-kmod-signing-cert\n`);
  return file;
}

async function start(signed: boolean) {
  const kernel = primaryKernel(availability.kernels.filter((k) => !k.flavour.startsWith('rt')));
  const driver = await loadDriver(driverFile(signed));
  const events: Ev[] = [];
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-signing-'));
  cluster = await LabCluster.create({ runDir, release: { kernel }, driver, cmdline: 'module.sig_enforce=1', buildStore: store, emit: (kind, data, node) => void events.push({ kind, node, data }) });
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

describe.skipIf(!availability.ok)(`lab: signed modules under module.sig_enforce=1${skipReason(availability)}`, () => {
  for (const method of ['dtk', 'layering']) {
    it(`${method}: the delivered module is signed; the node refuses it only for the key it cannot trust`, async () => {
      const { cluster, events, render, runDir } = await start(true);
      await cluster.apply(render(method));
      const shipped = modulesUnder(path.join(runDir, 'signed'));
      expect(shipped.length).toBeGreaterThan(0);
      for (const ko of shipped) expect(signer(ko), ko).toBe('simple-kmod module signing key');
      const dmesg = await cluster.nodes[0]!.lab.dmesg();
      // Signed but with a key the kernel does not trust (the lab cannot enroll one): refused for that reason, not as unsigned.
      expect(dmesg).toMatch(/Loading of module with unavailable key is rejected/);
      expect(dmesg).not.toMatch(/Loading of unsigned module is rejected/);
      expect((await cluster.nodes[0]!.lab.exec('[ -d /sys/module/simple_kmod ]')).code).not.toBe(0);
      if (method === 'dtk') expect(events.find((e) => e.kind === 'fault' && e.data.fault === 'post-start-failed')?.data.message).toMatch(/Key was rejected by service/);
    });
  }

  it('layering: an unsigned module is refused as unsigned', async () => {
    const { cluster, render } = await start(false);
    await cluster.apply(render('layering'));
    expect(await cluster.nodes[0]!.lab.dmesg()).toMatch(/Loading of unsigned module is rejected/);
    expect((await cluster.nodes[0]!.lab.exec('[ -d /sys/module/simple_kmod ]')).code).not.toBe(0);
  });
});
