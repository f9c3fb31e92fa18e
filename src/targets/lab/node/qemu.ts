/**
 * QEMU command line for a lab node. Choices are the measured fast path under TCG
 * (lab-notes): `-M microvm` booting the uncompressed vmlinux via PVH, one vCPU,
 * no default devices, `tsc_early_khz` so the guest does not hang calibrating the
 * TSC, `-no-reboot` so a guest reboot ends the process and the host relaunches it
 * (possibly with another kernel). The agent channel is a virtio-serial port backed
 * by a unix socket the host listens on; files come in through a 9p share.
 *
 * A node that asks for UEFI firmware (to trust an enrolled MOK, see uefi.ts) runs on
 * `-M q35,smm=on` instead: OVMF's Secure Boot build needs SMM, and q35 has PCI, so the
 * same virtio devices are the `-pci` variants. The kernel is the compressed vmlinuz:
 * OVMF starts it through its EFI stub (fw_cfg direct boot), not through PVH.
 */
import { findTool, requireTool } from '../host/tools.js';
import { AGENT_PORT_NAME } from './agent.js';
import { CANARY_GUEST_PORT, SHARE_TAG } from '../os-image/init.js';
import type { UefiFirmware } from './uefi.js';

export interface QemuConfig {
  name: string;
  /** The kernel QEMU loads: vmlinux (microvm, PVH) or vmlinuz (UEFI). */
  vmlinux: string;
  initramfs: string;
  memoryMB: number;
  /** Host unix socket QEMU connects to for the agent port. */
  agentSocket: string;
  consoleLog: string;
  shareDir?: string;
  shareReadOnly?: boolean;
  /** A read-only disk image (e.g. an OS image as erofs), the guest's /dev/vda. */
  disk?: string;
  tscKhz: number;
  extraCmdline?: string;
  /** Boot through OVMF with Secure Boot on q35 instead of microvm. */
  uefi?: UefiFirmware;
  /**
   * Host port (on 127.0.0.1) forwarded to the guest's canary port through QEMU user
   * networking (`restrict=on`: the guest reaches nothing outside; forwards still work).
   */
  canaryPort?: number;
}

/**
 * Built-in initcalls a lab node skips: the slowest of a boot under TCG (`initcall_debug`,
 * 6.1: 232, 175 and 64 ms of ~1.05 s of initcalls) and nothing a node or a driver uses —
 * the SP800-108 KDF's self-test (cryptomgr.notests does not cover it; the KDF itself is
 * a library and stays), the `encrypted` key type (its init instantiates hmac(sha256) and
 * AES; no lab component or driver asks for encrypted keys) and kprobe-based trace events.
 * A name the kernel does not have is ignored.
 */
export const SKIPPED_INITCALLS = ['crypto_kdf108_init', 'init_encrypted', 'init_kprobe_trace'] as const;

export function kernelCmdline(c: Pick<QemuConfig, 'name' | 'tscKhz' | 'extraCmdline'>): string {
  return [
    'console=ttyS0',
    // quiet console: every serial byte is an emulated I/O exit; dmesg still has everything
    'loglevel=4',
    `tsc_early_khz=${c.tscKhz}`,
    'tsc=reliable',
    // the crypto self-tests take ~0.35 s of a 2.3 s boot under TCG; the algorithms
    // (module signature checks included) work the same without them
    'cryptomgr.notests',
    `initcall_blacklist=${SKIPPED_INITCALLS.join(',')}`,
    // the node's only network is QEMU user networking on IPv4 (the canary's forwarded port);
    // IPv6's init took 95–200 ms of a boot. Its code stays built in: modules that use its
    // symbols still load. busybox httpd falls back to an IPv4 socket.
    'ipv6.disable=1',
    // a panic resets at once; with -no-reboot QEMU then exits and the host sees the crash
    'panic=-1',
    // triple-fault reset: the quickest way out on microvm (no keyboard controller)
    'reboot=t',
    `kmodlab.node=${c.name}`,
    c.extraCmdline ?? '',
  ]
    .filter(Boolean)
    .join(' ');
}

/** Machine, firmware and how devices attach: microvm (virtio-mmio) or q35 + OVMF (virtio-pci). */
function machineArgs(c: QemuConfig): { args: string[]; bus: 'device' | 'pci' } {
  if (!c.uefi) return { args: ['-M', 'microvm'], bus: 'device' };
  return {
    args: [
      '-M', 'q35,smm=on',
      // OVMF's Secure Boot build keeps its variable store behind SMM (edk2 OvmfPkg
      // README, "SMM support"): only code running in SMM may write the flash.
      '-global', 'driver=cfi.pflash01,property=secure,value=on',
      '-drive', `if=pflash,format=raw,unit=0,file=${c.uefi.code},readonly=on`,
      '-drive', `if=pflash,format=raw,unit=1,file=${c.uefi.vars}`,
    ],
    bus: 'pci',
  };
}

export function qemuArgs(c: QemuConfig): string[] {
  const machine = machineArgs(c);
  const dev = (name: string): string => `${name}-${machine.bus}`;
  const args = [
    ...machine.args,
    // A 24 MiB translation cache (default: 1/4 of guest RAM, capped high) keeps a node's
    // host memory under 250 MB at a small boot-time cost (measured: 16 MiB cost ~15 %).
    '-accel', 'tcg,tb-size=24',
    '-m', String(c.memoryMB),
    '-smp', '1',
    '-nodefaults', '-no-user-config',
    '-display', 'none',
    '-no-reboot',
    '-name', c.name,
    '-kernel', c.vmlinux,
    '-initrd', c.initramfs,
    '-append', kernelCmdline(c),
    // append: the log keeps every boot of the node (reboots are relaunches)
    '-chardev', `file,id=console,path=${c.consoleLog},append=on`,
    '-serial', 'chardev:console',
    '-device', dev('virtio-serial'),
    '-chardev', `socket,id=agent,path=${c.agentSocket}`,
    '-device', `virtserialport,chardev=agent,name=${AGENT_PORT_NAME}`,
  ];
  if (c.shareDir) {
    args.push(
      '-fsdev', `local,id=share,path=${c.shareDir},security_model=none${c.shareReadOnly ? ',readonly=on' : ''}`,
      '-device', `${dev('virtio-9p')},fsdev=share,mount_tag=${SHARE_TAG}`,
    );
  }
  if (c.canaryPort !== undefined) {
    args.push(
      '-netdev', `user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:${c.canaryPort}-:${CANARY_GUEST_PORT}`,
      '-device', `${dev('virtio-net')},netdev=net0`,
    );
  }
  if (c.disk) {
    args.push('-drive', `if=none,id=disk,file=${c.disk},format=raw,readonly=on`, '-device', `${dev('virtio-blk')},drive=disk`);
  }
  return args;
}

/**
 * argv[0] and the args to spawn; wraps QEMU in `setpriv --pdeathsig` (which then
 * execs QEMU: same pid) so it dies with us even on SIGKILL, where no handler runs.
 * KMODLAB_QEMU_PDEATHSIG=0 turns the wrapper off (tests use it to prove the
 * registry's exit/signal handlers on their own).
 */
export function qemuCommand(c: QemuConfig): { cmd: string; args: string[] } {
  const qemu = requireTool('qemu-system-x86_64');
  const setpriv = process.env.KMODLAB_QEMU_PDEATHSIG === '0' ? undefined : findTool('setpriv');
  if (setpriv) return { cmd: setpriv, args: ['--pdeathsig', 'SIGKILL', qemu, ...qemuArgs(c)] };
  return { cmd: qemu, args: qemuArgs(c) };
}
