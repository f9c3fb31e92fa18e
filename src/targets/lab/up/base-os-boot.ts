/**
 * What a lab node boots at `lab up`: the lab release's node-os image of its kernel — its
 * own kernel and the kernel's full module tree on a read-only disk (boot-os-image.ts) — as
 * an OpenShift node boots the release's rhel-coreos image. So a driver needing a module that
 * ships with the kernel (crc7, drm_kms_helper …) finds it on the node with every method, not
 * only after a Machine Config Operator update has booted an OS image.
 * Without a registry or that image the nodes boot the lab initramfs alone (the kernel's
 * virtio/9p modules), and the log says so.
 */
import type { LabKernel } from '../kernels/catalog.js';
import type { BootableOsImage } from '../images/boot-os-image.js';
import type { LabRegistry } from '../images/registry.js';
import { labBaseRelease } from '../control-plane/api-controllers/mco/base-release.js';
import { bootable, resolveImage } from '../control-plane/api-controllers/mco/os-target.js';

export async function baseOsBoot(kernel: LabKernel, registry: LabRegistry | undefined, insecure: (ref: string) => boolean, log: (line: string) => void): Promise<BootableOsImage | undefined> {
  const fallback = (why: string) => {
    log(`nodes boot the lab initramfs only (the kernel's virtio/9p modules; in-tree modules a driver needs are missing): ${why}`);
    return undefined;
  };
  if (!registry) return fallback('no image registry');
  try {
    const { baseOSContainerImage } = await labBaseRelease(kernel, registry);
    const os = await resolveImage(baseOSContainerImage, insecure, 'base image');
    const image = await bootable(os, insecure);
    log(`nodes boot the base OS image ${os.digestRef} (kernel ${os.kver}${image.cached ? ', cached' : ''})`);
    return image;
  } catch (e) {
    return fallback(`${(e as Error).message.split('\n')[0]} (kmodlab lab setup --kernels ${kernel.kver})`);
  }
}
