/**
 * The lab target: QEMU nodes booting real kernels (see docs: architecture.md "The lab").
 * Public surface re-exported for the rest of kmodlab.
 */
export { listKernels, findKernel, userKernel, parseKver, howToAddKernel } from './kernels/catalog.js';
export type { LabKernel, CatalogRoots, UserKernelInput } from './kernels/catalog.js';
export { extractVmlinux, decompressKernel, findPayloads, isElf } from './kernels/vmlinux.js';
export { buildInitramfs } from './os-image/initramfs.js';
export type { Initramfs, InitramfsOptions } from './os-image/initramfs.js';
export { NODE_BASE_MODULES } from './os-image/kernel-modules.js';
export { SHARE_MOUNT } from './os-image/init.js';
export { LabNode, LabNodeError } from './node/node.js';
export type { LabNodeOptions, NodeState, NodeFailure, ExecResult, BootRecord } from './node/node.js';
export { killAllNodes, trackedPids } from './node/registry.js';
export { labCacheDir } from './host/cache.js';
export { hostTscKhz } from './host/tsc.js';
export { runOffClusterBuilds, planOffClusterBuilds, runOffClusterBuild, OffClusterBuildError } from './images/off-cluster-build.js';
export type { OffClusterImage, OffClusterBuildPlan, OffClusterBuildOptions } from './images/off-cluster-build.js';
export { labOffClusterBuild, offClusterBuildEvent } from './images/off-cluster-hook.js';
export type { LabOffClusterBuildOptions, OffClusterBuildDone } from './images/off-cluster-hook.js';
