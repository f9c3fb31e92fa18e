/**
 * Signing in the lab: the stand-in for the builder stage's signing step the layering and
 * dtk Containerfiles run (src/methods/module-signing.ts) and for KMM's in-cluster sign.
 * The lab has no Secrets, so the key pair named by `signing.keySecret`/`certSecret` is a
 * lab key made once with the rendered `x509.conf` and kept in the lab cache (mode 0600);
 * it is never logged, recorded in events or written into reports. Modules are signed as
 * copies, with the kernel build tree's own `scripts/sign-file`; the content-addressed
 * build store keeps the unsigned build.
 *
 * A default (microvm) node has no firmware to enroll this key in: booted with
 * `module.sig_enforce=1` it refuses the signed modules too, with the kernel's "unavailable
 * key" message instead of the "unsigned module" one. A UEFI node (LabCluster
 * `firmware: 'uefi'`) has the certificate enrolled as a MOK (node/uefi.ts) and loads them.
 */
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { DriverSpec } from '../../../driver/spec.js';
import { x509Config } from '../../../methods/module-signing.js';
import { labCacheDir } from '../host/cache.js';
import { run } from '../host/run.js';
import { requireTool } from '../host/tools.js';
import type { BuildRecord } from './driver-build.js';

export interface LabSigningKey {
  key: string;
  cert: string;
}

/** The lab's key pair for a driver's signing Secrets (made once, reused). */
export async function labSigningKey(driver: DriverSpec, cacheDir = labCacheDir('signing-keys')): Promise<LabSigningKey> {
  const s = driver.signing!;
  const dir = join(cacheDir, `${s.keySecret}--${s.certSecret}`);
  const key = join(dir, 'signing_key.priv');
  const cert = join(dir, 'signing_key.der');
  if (existsSync(key) && existsSync(cert)) return { key, cert };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const conf = join(dir, 'x509.conf');
  writeFileSync(conf, x509Config(driver));
  // The command the rendered READMEs give (4096-bit RSA, as x509.conf asks).
  await run(requireTool('openssl'), ['req', '-new', '-nodes', '-utf8', '-sha256', '-days', '36500', '-batch', '-x509', '-config', conf, '-outform', 'DER', '-out', cert, '-keyout', key]);
  chmodSync(key, 0o600);
  return { key, cert };
}

/** A copy of `build` whose modules are signed with `key` (under `destDir`), as the builder stage leaves them. */
export async function signBuild(build: BuildRecord, kbuildDir: string, key: LabSigningKey, destDir: string): Promise<BuildRecord> {
  const signFile = join(kbuildDir, 'scripts', 'sign-file');
  if (!existsSync(signFile)) throw new Error(`cannot sign for ${build.kver}: no ${signFile} in the kernel build tree`);
  mkdirSync(destDir, { recursive: true });
  const modules = [];
  for (const m of build.modules) {
    const out = join(destDir, basename(m.path));
    cpSync(m.path, out);
    await run(signFile, ['sha256', key.key, key.cert, out]);
    const bytes = readFileSync(out);
    modules.push({ ...m, path: out, bytes: statSync(out).size, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  return { ...build, dir: destDir, modules, outputBytes: modules.reduce((n, m) => n + m.bytes, 0) };
}
