/**
 * /init of the lab node's initramfs (busybox sh, PID 1). Kept minimal because
 * every line costs boot time under TCG: mount the pseudo filesystems, load the
 * kernel's own virtio/9p modules (on 6.1 they are modules, not built in), mount
 * the host share, then keep the agent running. PID 1 must never exit (the kernel
 * would panic), so the agent is restarted if it dies.
 */

/** Where the init script finds the node's own modules to load: files relative to /lib/modules/<kver>, in dependency order. */
export const NODE_MODULES_LIST = '/etc/kmodlab/modules';
/** The same for what only a UEFI node loads (kernel-modules.ts NODE_EFI_MODULES). */
export const NODE_EFI_MODULES_LIST = '/etc/kmodlab/modules.efi';
/**
 * Boot hook of the initramfs (not of /init itself, which the release's OS images carry
 * too): on a node booted by UEFI firmware (q35 + OVMF, node/uefi.ts) load the PCI virtio
 * transport and efivarfs, and mount efivarfs, where the lab writes MokListRT. Named to
 * run before 00-os-image.sh, whose disk is on PCI there. A microvm node skips it at once.
 */
export const EFI_BOOT_HOOK_PATH = '/etc/kmodlab/boot.d/00-efi.sh';
export const EFI_BOOT_HOOK = `[ -d /sys/firmware/efi ] || exit 0
for f in $(cat ${NODE_EFI_MODULES_LIST}); do
  /bin/busybox insmod "/lib/modules/$(uname -r)/$f" || echo "kmodlab-init: insmod $f failed"
done
mount -t efivarfs efivarfs /sys/firmware/efi/efivars
`;
export const AGENT_PATH = '/etc/kmodlab/agent.sh';
/** Mount point of the 9p share (mount tag `share`) inside the node. */
export const SHARE_MOUNT = '/mnt/share';
export const SHARE_TAG = 'share';
/**
 * The node's address on QEMU's user network (slirp's first DHCP address, which
 * `hostfwd` forwards to by default) and the port the canary workload listens on.
 */
export const NODE_NET_ADDRESS = '10.0.2.15/24';
export const CANARY_GUEST_PORT = 8080;
/** Sourced by /init and before every agent command, see KMOD_PRELUDE. */
export const PRELUDE_PATH = '/etc/kmodlab/prelude.sh';

/**
 * Debian's busybox-static prefers its own applets over PATH (FEATURE_PREFER_APPLETS),
 * so a bare `insmod` would run busybox's, not kmod's. Shell functions win over
 * applets: route the module tools to the real kmod (messages, `modprobe -d`, as on a
 * real node).
 */
export const KMOD_PRELUDE = ['modprobe', 'insmod', 'rmmod', 'lsmod', 'depmod', 'modinfo']
  .map((t) => `${t}() { /sbin/${t} "$@"; }`)
  .join('\n') + '\n';

export const INIT_SCRIPT = `#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec 0</dev/console 1>/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
. ${PRELUDE_PATH}
echo "kmodlab-init: $(uname -r) up $(cut -d' ' -f1 /proc/uptime)s"
for f in $(cat ${NODE_MODULES_LIST}); do
  /bin/busybox insmod "/lib/modules/$(uname -r)/$f" || echo "kmodlab-init: insmod $f failed"
done
# A layered OS image adds out-of-tree modules under /lib/modules/<kver>/extra and
# names them in /etc/modules-load.d, as systemd-modules-load would load them at boot.
if [ -d /lib/modules/$(uname -r)/extra ]; then depmod -a; fi
for f in /etc/modules-load.d/*.conf; do
  [ -r "$f" ] || continue
  for m in $(grep -v '^[#;]' "$f"); do
    modprobe "$m" && echo "kmodlab-init: modules-load.d: loaded $m" || echo "kmodlab-init: modules-load.d: modprobe $m failed"
  done
done
# Node-local boot hooks (the lab's stand-in for early systemd units, e.g. a Day-1
# driver loader that runs before the network).
for f in /etc/kmodlab/boot.d/*.sh; do
  [ -r "$f" ] || continue
  sh "$f" && echo "kmodlab-init: boot hook $f done" || echo "kmodlab-init: boot hook $f failed ($?)"
done
# The node's network (QEMU user networking): only the host's forwarded canary port
# reaches it; the agent does not use it (virtio-serial), so an agent hang is not a
# canary failure and a network failure is not an agent failure.
if ip link show eth0 >/dev/null 2>&1; then
  ip link set lo up; ip addr add ${NODE_NET_ADDRESS} dev eth0 && ip link set eth0 up || echo "kmodlab-init: eth0 setup failed"
fi
# RHCOS keeps the module tree at /usr/lib/modules (/lib links there): manifests mount it
# by that path (e.g. a DaemonSet's hostPath /usr/lib/modules, type Directory).
[ -e /usr/lib/modules ] || { mkdir -p /usr/lib && ln -s /lib/modules /usr/lib/modules; }
mkdir -p ${SHARE_MOUNT}
# Mount the share only if QEMU gave us a 9p device with our tag (mount_tag is NUL-terminated).
if grep -qs '^${SHARE_TAG}' /sys/bus/virtio/drivers/9pnet_virtio/*/mount_tag; then
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 ${SHARE_TAG} ${SHARE_MOUNT} || echo "kmodlab-init: 9p mount failed"
fi
hostname "$(sed -n 's/.*kmodlab.node=\\([^ ]*\\).*/\\1/p' /proc/cmdline)" 2>/dev/null
while :; do
  sh ${AGENT_PATH}
  echo "kmodlab-init: agent exited ($?), restarting"
  sleep 1
done
`;
