/**
 * KMM mounts the node's /usr/lib/modules into its build pods (OpenShift docs, Kernel Module
 * Management Operator, "Symbolic links for in-tree dependencies"): a kmod image's
 * `RUN ln -s /lib/modules/<kernel> /opt/lib/modules/<kernel>/host` then `depmod -b /opt`
 * indexes the driver against the in-tree modules of the kernel it is built for, so the
 * worker's `modprobe -d /opt` loads them (through the same link, the node's tree mounted in
 * the worker pod). The lab builds with buildah on the host: the build kernel's module tree
 * is mounted read-only into every RUN of a KMM image build, not into the image.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { findKernel } from '../../kernels/catalog.js';

/** KMM's label on the Builds it creates, and its value for an image build (not a sign build). */
const RESOURCE_TYPE_LABEL = 'kmm.node.kubernetes.io/resource-type';
const BUILD_IMAGE = 'BuildImage';

type Build = KubernetesObject & { spec?: { strategy?: { dockerStrategy?: { buildArgs?: { name: string; value?: string }[] } } } };

/** `host-dir:container-dir` mounts for a KMM image build (the module tree of its KERNEL_FULL_VERSION); none for other builds. */
export function kmmBuildModuleMounts(b: Build): string[] {
  if (b.metadata?.labels?.[RESOURCE_TYPE_LABEL] !== BUILD_IMAGE) return [];
  const kver = b.spec?.strategy?.dockerStrategy?.buildArgs?.find((a) => a.name === 'KERNEL_FULL_VERSION')?.value;
  if (!kver) return [];
  return [`${findKernel(kver).modulesDir}:/usr/lib/modules/${kver}`];
}
