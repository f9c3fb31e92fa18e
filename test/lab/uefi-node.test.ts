/**
 * A UEFI lab node (OVMF with Secure Boot on q35) and the lab's stand-in for shim's MOK
 * enrollment: the EFI_SIGNATURE_LIST it writes is laid out as the UEFI spec says, the
 * QEMU command line switches machine, firmware and bus only for such a node, and on a
 * real node the kernel takes the enrolled certificate into a keyring — once by enrolling
 * (write MokListRT, reboot), then from the cached variable store.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LabNode } from '../../src/targets/lab/node/node.js';
import { qemuArgs, type QemuConfig } from '../../src/targets/lab/node/qemu.js';
import { checkEnrollment, efivarfsContent, EFI_CERT_X509_GUID, guidBytes, MOKLIST_RT_FILE, SHIM_LOCK_GUID, x509SignatureLists } from '../../src/targets/lab/node/uefi.js';
import { labAvailability, primaryKernel, removeTempDirs, skipReason, tempDir } from './helpers.js';

const lab = labAvailability();
const ovmf = existsSync('/usr/share/OVMF/OVMF_CODE_4M.secboot.fd') && existsSync('/usr/share/OVMF/OVMF_VARS_4M.ms.fd');

/** A throwaway key pair made the way the rendered x509.conf makes one; returns the DER cert path. */
function makeCert(dir: string, cn: string): string {
  const conf = join(dir, 'x509.conf');
  writeFileSync(conf, `[ req ]\ndefault_bits = 2048\ndistinguished_name = dn\nprompt = no\nx509_extensions = ext\n[ dn ]\nCN = ${cn}\n[ ext ]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n`);
  const cert = join(dir, 'cert.der');
  execFileSync('openssl', ['req', '-new', '-nodes', '-utf8', '-sha256', '-days', '30', '-batch', '-x509', '-config', conf, '-outform', 'DER', '-out', cert, '-keyout', join(dir, 'key.priv')], { stdio: 'ignore' });
  return cert;
}
const skidOf = (cert: string) =>
  /Identifier:\s*\n\s*([0-9A-F:]+)/i.exec(execFileSync('openssl', ['x509', '-inform', 'DER', '-in', cert, '-noout', '-ext', 'subjectKeyIdentifier'], { encoding: 'utf8' }))![1]!.replace(/:/g, '').toLowerCase();

afterAll(() => removeTempDirs());

describe('UEFI node: signature list, efivarfs content, QEMU command line', () => {
  it('encodes GUIDs as EFI_GUID (first three fields little-endian)', () => {
    expect(guidBytes(EFI_CERT_X509_GUID).toString('hex')).toBe('a159c0a5e494a74a87b5ab155c2bf072');
    expect(guidBytes(SHIM_LOCK_GUID).toString('hex')).toBe('50ab5d6046e00043abb63dd810dd8b23');
    expect(() => guidBytes('not-a-guid')).toThrow(/not a GUID/);
  });

  it('writes one EFI_SIGNATURE_LIST per certificate, owner = shim, sizes consistent', () => {
    const a = Buffer.from('first-cert-bytes');
    const b = Buffer.from('second, longer certificate bytes');
    const esl = x509SignatureLists([a, b]);
    let off = 0;
    for (const der of [a, b]) {
      expect(esl.subarray(off, off + 16)).toEqual(guidBytes(EFI_CERT_X509_GUID));
      const listSize = esl.readUInt32LE(off + 16);
      expect(esl.readUInt32LE(off + 20)).toBe(0); // SignatureHeaderSize
      const sigSize = esl.readUInt32LE(off + 24);
      expect(sigSize).toBe(16 + der.length);
      expect(listSize).toBe(28 + sigSize);
      expect(esl.subarray(off + 28, off + 44)).toEqual(guidBytes(SHIM_LOCK_GUID));
      expect(esl.subarray(off + 44, off + listSize)).toEqual(der);
      off += listSize;
    }
    expect(off).toBe(esl.length);
    const file = efivarfsContent(7, esl);
    expect(file.readUInt32LE(0)).toBe(7);
    expect(file.subarray(4)).toEqual(esl);
  });

  it('keeps microvm + virtio-mmio by default and uses q35, SMM, OVMF pflash and virtio-pci for a UEFI node', () => {
    const base: QemuConfig = { name: 'n', vmlinux: '/k', initramfs: '/i', memoryMB: 256, agentSocket: '/s', consoleLog: '/c', shareDir: '/share', disk: '/d', tscKhz: 1000 };
    const plain = qemuArgs(base).join(' ');
    expect(plain).toMatch(/-M microvm/);
    expect(plain).toMatch(/virtio-serial-device .*virtio-9p-device,.*virtio-blk-device,/);
    expect(plain).not.toMatch(/pflash|q35|-pci/);
    const uefi = qemuArgs({ ...base, uefi: { code: '/fw/CODE.fd', vars: '/run/n.VARS.fd' } }).join(' ');
    expect(uefi).toMatch(/-M q35,smm=on/);
    expect(uefi).toMatch(/if=pflash,format=raw,unit=0,file=\/fw\/CODE\.fd,readonly=on/);
    expect(uefi).toMatch(/if=pflash,format=raw,unit=1,file=\/run\/n\.VARS\.fd(?!,readonly)/);
    expect(uefi).toMatch(/driver=cfi\.pflash01,property=secure,value=on/);
    expect(uefi).toMatch(/virtio-serial-pci .*virtio-9p-pci,.*virtio-blk-pci,/);
    expect(uefi).not.toMatch(/microvm|virtio-\w+-device/);
  });

  it('reads the kernel\'s Secure Boot line and the keyrings from /proc/keys', () => {
    const keys = [
      '12310307 I------     2 perm 1f0b0000     0     0 keyring   .machine: 1',
      '3132fc80 I------     1 perm 1f0b0000     0     0 keyring   .platform: 2',
      '2b4e5678 I------     1 perm 1f010000     0     0 asymmetri lab key: 00961812751e67810e71ca0779021666dfa4a40e: X509.rsa dfa4a40e []',
    ].join('\n');
    expect(checkEnrollment('[0.0] secureboot: Secure boot enabled', keys, '00961812751e67810e71ca0779021666dfa4a40e')).toEqual({ secureBoot: true, found: true, machineKeys: 1, platformKeys: 2 });
    const none = checkEnrollment('[0.0] secureboot: Secure boot disabled', keys.replace('.machine: 1', '.machine: empty'), 'ffff');
    expect(none).toEqual({ secureBoot: false, found: false, machineKeys: 0, platformKeys: 2 });
  });
});

describe.skipIf(!lab.ok || !ovmf)(`UEFI lab node with an enrolled MOK${skipReason(lab)}${ovmf ? '' : ' (skipped: ovmf not installed; run scripts/lab-packages.sh)'}`, () => {
  const kernel = lab.ok ? primaryKernel(lab.kernels.filter((k) => !k.flavour.startsWith('rt'))) : undefined;
  const varsCache = tempDir('uefi-vars');
  const cert = lab.ok ? makeCert(tempDir('mok'), 'kmodlab uefi test key') : '';
  const nodes: LabNode[] = [];
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it('enrolls the certificate (MokListRT, reboot) and the Secure Boot kernel takes it into .machine', async () => {
    const node = await LabNode.start(kernel!, undefined, { name: 'uefi-enroll', runDir: tempDir('uefi-run'), uefi: { mokCerts: [cert], varsCacheDir: varsCache } });
    nodes.push(node);
    expect(node.mok).toMatchObject({ cached: false });
    expect(node.boots).toHaveLength(2); // the enrollment reboot
    expect(await node.dmesg()).toMatch(/secureboot: Secure boot enabled/);
    expect((await node.exec(`[ -e /sys/firmware/efi/efivars/${MOKLIST_RT_FILE} ]`)).code).toBe(0);
    const keys = await node.readFile('/proc/keys');
    expect(keys).toContain(`: ${skidOf(cert)}: X509`);
    expect(node.mok!.machineKeys).toBeGreaterThan(0);
    expect(readdirSync(varsCache).filter((f) => f.endsWith('.fd'))).toHaveLength(1);
    process.stderr.write(`uefi node boot ms (first, after enrollment): ${node.boots.map((b) => b.bootMs).join(', ')}; enrollment ${node.mok!.enrollMs} ms\n`);
  }, 600_000);

  it('a second node starts from the cached enrolled variable store, in one boot', async () => {
    const node = await LabNode.start(kernel!, undefined, { name: 'uefi-cached', runDir: tempDir('uefi-run'), uefi: { mokCerts: [cert], varsCacheDir: varsCache } });
    nodes.push(node);
    expect(node.mok).toMatchObject({ cached: true });
    expect(node.boots).toHaveLength(1);
    expect(await node.readFile('/proc/keys')).toContain(`: ${skidOf(cert)}: X509`);
    process.stderr.write(`uefi node boot ms (cached vars): ${node.boots[0]!.bootMs}\n`);
  }, 600_000);

  it('a UEFI node without enrolled certificates has no such key', async () => {
    const node = await LabNode.start(kernel!, undefined, { name: 'uefi-plain', runDir: tempDir('uefi-run'), uefi: {} });
    nodes.push(node);
    expect(node.mok).toBeUndefined();
    expect(await node.dmesg()).toMatch(/secureboot: Secure boot enabled/);
    expect(await node.readFile('/proc/keys')).not.toContain(skidOf(cert));
  }, 600_000);
});
