/**
 * UEFI firmware for a lab node that must trust a Machine Owner Key (MOK): OVMF (Debian
 * package `ovmf`) with Secure Boot enabled, on `-M q35` (OVMF's Secure Boot build needs
 * SMM, which microvm lacks). The default node stays on the fast microvm path; this one
 * is only for nodes that ask for it.
 *
 * Why Secure Boot must be ON: upstream security/integrity/platform_certs/load_uefi.c,
 * load_uefi_certs(), reads `db` and `dbx` always but returns before MokListXRT/MokListRT
 * when `!arch_ima_get_secureboot()` ("the MOK/MOKx can not be trusted when secure boot
 * is disabled"; same in 6.1 and 6.12). OVMF_VARS_4M.ms.fd (Debian's `ovmf`) has Secure
 * Boot enabled with Microsoft's keys in db. The Debian kernel is signed for shim's Debian
 * CA, not for db, yet OVMF still starts it as `-kernel`: its QEMU kernel loader falls
 * back to the legacy bzImage loader when LoadImage refuses an image "for compatibility
 * reasons" (edk2 OvmfPkg/Library/X86QemuLoadImageLib, EFI_SECURITY_VIOLATION /
 * EFI_ACCESS_DENIED → QemuLoadLegacyImage). The kernel then boots with "secureboot:
 * Secure boot enabled" and locks itself down (CONFIG_LOCK_DOWN_IN_EFI_SECURE_BOOT).
 *
 * Enrollment — the lab stands in for shim: after `mokutil --import`, shim's MokManager
 * stores the key in MokList and, on every boot, shim hands it to the OS as the runtime
 * variable MokListRT (an EFI_SIGNATURE_LIST of X.509 certs, vendor GUID
 * 605dab50-e046-4300-abb6-3dd810dd8b23 = SHIM_LOCK_GUID; rhboot/shim mok.c,
 * mok_state_variables: MokList, NV|BS and never RT, is mirrored into MokListRT at each
 * boot). There is no shim here (the kernel is started by OVMF directly), so the lab
 * writes MokListRT itself through efivarfs — NV|BS|RT where shim's mirror is volatile,
 * because nothing would recreate it at the next boot — reboots the
 * node, and checks that the kernel loaded the cert: load_moklist_certs() falls back to
 * the MokListRT variable when there is no shim MOK config table, and adds X.509 entries
 * to the `.machine` keyring (linked into the secondary trusted keyring that module
 * signature checks use) when trust_moklist(), else to `.platform`. Upstream
 * uefi_check_trust_mok_keys() looks for MokListTrustedRT only in shim's config table,
 * which the lab cannot provide; Debian's 6.1 and 6.12 kernels put the cert into `.machine`
 * without it (seen in this lab: `.machine: 1` with MokListRT alone; with the same
 * MokListRT and Secure Boot off, "secureboot: Secure boot disabled" and `.machine`
 * stays empty, as load_uefi_certs() says), and Debian's kernels
 * also verify modules against `.platform` (patch "KEYS: Make use of platform keyring for
 * module signature verify", Debian bugs #935945, #1030200). The lab records which
 * keyring the cert landed in rather than assuming one.
 *
 * The enrolled variable store is cached per (certificate, OVMF vars template) and copied
 * for each node: a node's firmware writes to its own copy. Only certificates (public)
 * go into a vars file, never a private key.
 */
import { X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../../errors.js';
import { labCacheDir, sha256 } from '../host/cache.js';
import { run } from '../host/run.js';
import { requireTool } from '../host/tools.js';

/** shim's vendor GUID for MokList*, MokListRT (rhboot/shim: SHIM_LOCK_GUID). */
export const SHIM_LOCK_GUID = '605dab50-e046-4300-abb6-3dd810dd8b23';
/** EFI_CERT_X509_GUID (UEFI spec, "EFI_SIGNATURE_LIST"). */
export const EFI_CERT_X509_GUID = 'a5c059a1-94e4-4aa7-87b5-ab155c2bf072';
/** EFI_VARIABLE_NON_VOLATILE | BOOTSERVICE_ACCESS | RUNTIME_ACCESS. */
export const EFI_ATTR_NV_BS_RT = 0x7;
/** The variable's file in efivarfs (Documentation/filesystems/efivarfs.rst: `<name>-<guid>`). */
export const MOKLIST_RT_FILE = `MokListRT-${SHIM_LOCK_GUID}`;

/** Debian `ovmf`: the Secure Boot firmware and its vars template with Secure Boot enabled. */
const OVMF_DIR = '/usr/share/OVMF';
const OVMF_CODE = 'OVMF_CODE_4M.secboot.fd';
const OVMF_VARS = 'OVMF_VARS_4M.ms.fd';

export interface UefiFirmware {
  /** Read-only firmware code (pflash unit 0). */
  code: string;
  /** This node's writable variable store (pflash unit 1). */
  vars: string;
}

/** The OVMF files, or a clear error naming the package. */
export function ovmfFiles(dir = OVMF_DIR): { code: string; varsTemplate: string } {
  const code = join(dir, OVMF_CODE);
  const varsTemplate = join(dir, OVMF_VARS);
  for (const f of [code, varsTemplate]) {
    if (!existsSync(f)) {
      throw new UserError(`a UEFI lab node needs ${f}, which is not installed`, 'install it with: apt-get install ovmf  (or run scripts/lab-packages.sh / kmodlab lab setup)');
    }
  }
  return { code, varsTemplate };
}

/**
 * An X.509 certificate file, DER or PEM (what `mokutil --import` takes is DER; PEM is what
 * most tools write), as the DER bytes a signature list holds. Throws a plain Error saying
 * why the file is not one; callers name the flag or field it came from.
 */
export function readCertificateDer(file: string): Buffer {
  const bytes = readFileSync(file);
  try {
    return Buffer.from(new X509Certificate(bytes).raw);
  } catch {
    throw new Error(`${file} is not an X.509 certificate (DER or PEM)`);
  }
}

/** GUID text → the 16 bytes of an EFI_GUID (first three fields little-endian). */
export function guidBytes(guid: string): Buffer {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i.exec(guid);
  if (!m) throw new Error(`not a GUID: ${guid}`);
  const b = Buffer.alloc(16);
  b.writeUInt32LE(parseInt(m[1]!, 16), 0);
  b.writeUInt16LE(parseInt(m[2]!, 16), 4);
  b.writeUInt16LE(parseInt(m[3]!, 16), 6);
  Buffer.from(m[4]! + m[5]!, 'hex').copy(b, 8);
  return b;
}

/**
 * One EFI_SIGNATURE_LIST per DER certificate (UEFI spec 2.x, "Signature Database"):
 * SignatureType, SignatureListSize, SignatureHeaderSize (0), SignatureSize, then one
 * EFI_SIGNATURE_DATA {SignatureOwner, the DER bytes}. Owner: shim's GUID, as MokManager
 * records keys it enrolls.
 */
export function x509SignatureLists(certsDer: readonly Buffer[]): Buffer {
  return Buffer.concat(
    certsDer.map((der) => {
      const data = Buffer.concat([guidBytes(SHIM_LOCK_GUID), der]);
      const header = Buffer.alloc(28);
      guidBytes(EFI_CERT_X509_GUID).copy(header, 0);
      header.writeUInt32LE(28 + data.length, 16);
      header.writeUInt32LE(0, 20);
      header.writeUInt32LE(data.length, 24);
      return Buffer.concat([header, data]);
    }),
  );
}

/** An efivarfs file's content: 4-byte attributes, then the value. */
export function efivarfsContent(attributes: number, value: Buffer): Buffer {
  const attr = Buffer.alloc(4);
  attr.writeUInt32LE(attributes);
  return Buffer.concat([attr, value]);
}

/**
 * The certificate's subject key identifier as lowercase hex: the kernel names an X.509
 * key in /proc/keys `<subject>: <SKID hex>` (crypto/asymmetric_keys/x509_public_key.c).
 */
export async function certSubjectKeyId(certDer: Buffer): Promise<string> {
  const out = (await run(requireTool('openssl'), ['x509', '-inform', 'DER', '-noout', '-ext', 'subjectKeyIdentifier'], { input: certDer })).stdout.toString('utf8');
  const m = /Subject Key Identifier:?\s*\n\s*([0-9A-Fa-f:]+)/.exec(out);
  if (!m) throw new Error('the signing certificate has no subjectKeyIdentifier (x509.conf asks for subjectKeyIdentifier=hash)');
  return m[1]!.replace(/:/g, '').toLowerCase();
}

/** Where the enrolled vars for these certs (on this OVMF) are cached. */
export function enrolledVarsCachePath(certs: readonly Buffer[], varsTemplate: string, cacheDir = labCacheDir('uefi-vars')): string {
  const key = sha256(readFileSync(varsTemplate), ...certs).slice(0, 16);
  return join(cacheDir, `OVMF_VARS-mok-${key}.fd`);
}

/**
 * Give a node its own writable vars file: the cached enrolled one when it exists (then
 * the node boots with the MOK already there), else a fresh copy of the template.
 * Returns whether the node still has to enroll.
 */
export function prepareNodeVars(dest: string, varsTemplate: string, enrolledCache: string | undefined): { needsEnroll: boolean } {
  if (enrolledCache && existsSync(enrolledCache)) {
    copyFileSync(enrolledCache, dest);
    return { needsEnroll: false };
  }
  copyFileSync(varsTemplate, dest);
  return { needsEnroll: enrolledCache !== undefined };
}

/** Whether the kernel took a certificate, from /proc/keys (keyring lines give only their key count). */
export interface KeyringCheck {
  secureBoot: boolean;
  /** An asymmetric key in /proc/keys carries the certificate's subject key id. */
  found: boolean;
  machineKeys: number;
  platformKeys: number;
}

/** Parse what the node says after boot: dmesg's Secure Boot line and /proc/keys. */
export function checkEnrollment(dmesg: string, procKeys: string, subjectKeyId: string): KeyringCheck {
  const count = (ring: string): number => {
    const m = new RegExp(`keyring\\s+\\${ring}: (\\d+|empty)`).exec(procKeys);
    return m && m[1] !== 'empty' ? Number(m[1]) : 0;
  };
  return {
    secureBoot: /secureboot: Secure boot enabled/.test(dmesg),
    found: procKeys.split('\n').some((l) => /\basymmetri/.test(l) && l.includes(`: ${subjectKeyId}:`)),
    machineKeys: count('.machine'),
    platformKeys: count('.platform'),
  };
}
