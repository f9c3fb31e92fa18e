#!/bin/sh
# Install what the kmodlab lab needs on a Debian 12 host (CI calls this on a fresh machine).
# Idempotent: installs only missing packages; safe to re-run.
#
#   LAB_KERNELS="6.1.0-56-amd64 6.1.0-54-amd64" scripts/lab-packages.sh
#   scripts/lab-packages.sh --plan   # print what it would change ("install <pkg>",
#                                    # "divert <hook>") and change nothing
#
# What and why:
#   qemu-system-x86 (no recommends)  the node VMs (TCG; -M microvm)
#   busybox-static, kmod             the node's userland (kmod for modprobe -d / depmod -b)
#   cpio, xz-utils, zstd, gzip       build the initramfs; extract vmlinux from vmlinuz
#   linux-image-<kver>               kernels the nodes boot
#   linux-headers-<kver>             the kbuild tree drivers are built against
#   build-essential                  make/gcc for kbuild
#   time                             GNU time: CPU and peak RSS of driver and image builds
#   buildah, skopeo                  build the lab release images (--isolation chroot) and
#                                    read/resolve image references in the registry
#   erofs-utils                      turn an OS image into the erofs disk a node boots with
#   docker-registry                  the lab's own registry (kmodlab runs it on 127.0.0.1
#                                    with its own config; the package's service is not used)
#   openssl                          the lab's module signing key (drivers with `signing`)
#   ovmf                             UEFI firmware (Secure Boot) for nodes that trust an
#                                    enrolled MOK (signed modules under module.sig_enforce=1)
#   prometheus                       scrapes the lab's metrics endpoint; the cluster target's
#                                    PromQL runs against it (kmodlab runs it on 127.0.0.1 with
#                                    its own config; the package's service is not used)
# Debian's own initramfs is NOT needed (the lab builds its own, tiny one), and
# update-initramfs dominates kernel install time (~1.5 min per kernel on 2 cores).
# The kernel packages export INITRD=Yes themselves (kernel-img.conf cannot turn it
# off), so we divert initramfs-tools' kernel hook to a name run-parts ignores.
# Do NOT run this on a machine that must boot these kernels from /boot.
# `kmodlab lab setup` says so and asks first; `kmodlab lab teardown` removes the divert.
set -eu
hook=/etc/kernel/postinst.d/initramfs-tools

KERNELS="${LAB_KERNELS:-6.1.0-56-amd64 6.1.0-54-amd64 6.1.0-54-rt-amd64 6.12.117+deb12-amd64}"
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

pkgs="qemu-system-x86 busybox-static kmod cpio xz-utils zstd gzip build-essential time initramfs-tools buildah skopeo docker-registry erofs-utils openssl ovmf prometheus"
for k in $KERNELS; do
  pkgs="$pkgs linux-image-$k linux-headers-$k"
done

missing=""
for p in $pkgs; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing="$missing $p"
  fi
done

if [ "${1:-}" = "--plan" ]; then
  for p in $missing; do echo "install $p"; done
  [ -z "$missing" ] || dpkg-divert --list "$hook" | grep -q kmodlab || echo "divert $hook"
  exit 0
fi

if [ -z "$missing" ]; then
  echo "lab-packages: everything installed"
  exit 0
fi
echo "lab-packages: installing:$missing"

$SUDO apt-get update -q

# initramfs-tools first (it satisfies the kernels' linux-initramfs-tool dependency),
# then divert its kernel hook so installing kernels does not run update-initramfs.
case "$missing" in *initramfs-tools*)
  $SUDO apt-get install -y -q --no-install-recommends initramfs-tools ;;
esac
if ! dpkg-divert --list "$hook" | grep -q kmodlab; then
  $SUDO dpkg-divert --local --rename --divert "$hook.kmodlab-disabled" --add "$hook"
fi

# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing

# The docker-registry package starts its own service on :5000 (all interfaces, htpasswd
# auth). kmodlab runs the registry itself on 127.0.0.1 only; do not leave the package's
# service listening on the network.
case "$missing" in *docker-registry*)
  if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled docker-registry >/dev/null 2>&1; then
    $SUDO systemctl disable --now docker-registry || true
  fi ;;
esac
# Same for prometheus (:9090 on all interfaces) and the node exporter it may pull in.
case "$missing" in *prometheus*)
  for s in prometheus prometheus-node-exporter; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled "$s" >/dev/null 2>&1; then
      $SUDO systemctl disable --now "$s" || true
    fi
  done ;;
esac
echo "lab-packages: done"
