/**
 * Names and image references of the KMM method: where the operator goes, where the
 * driver's own objects go, which images KMM builds and pulls.
 *
 * Image tags: KMM replaces `${KERNEL_FULL_VERSION}` in `containerImage` with the node's
 * kernel version after mapping every character outside `[A-Za-z0-9._-]` to `_` (so a
 * 4.16+ realtime kernel `…x86_64+rt` becomes `…x86_64_rt`; KMM `internal/kernel`
 * NormalizeVersion). The tag also carries the driver version: KMM skips a build when
 * the target image already exists, so a new driver version needs a new tag.
 *
 * With `--day1` the images follow the scheme of KMM's Day-1 utility instead: the tag is
 * the node's kernel (`<repo>:<uname -r>`, rh-ecosystem-edge/kernel-module-management
 * docs day1_limited_option.md "Kernel Module Image"), so the Module builds for later
 * kernels exactly the images the Day-1 units pull. The driver version moves into the
 * repository name (`<driver>-kmm-<version>`), so a new version still gets new images.
 */
import type { DriverSpec } from '../../driver/spec.js';
import { UserError } from '../../errors.js';
import { dnsLabel } from '../../names.js';
import type { RenderOptions } from '../method.js';

export const OPERATOR_NAMESPACE = 'openshift-kmm';
/** OLM package, OperatorGroup and Subscription name (KMM install docs). */
export const OPERATOR_PACKAGE = 'kernel-module-management';
export const CATALOG_SOURCE = 'redhat-operators';
export const CATALOG_NAMESPACE = 'openshift-marketplace';
export const OPERATOR_CHANNEL = 'stable';

export const KMM_API = 'kmm.sigs.x-k8s.io/v1beta1';
export const MACHINE_CONFIG_API = 'machineconfiguration.openshift.io/v1';
export const INTERNAL_REGISTRY = 'image-registry.openshift-image-registry.svc:5000';
/** Default `modprobe.dirName`: images lay modules under `/opt/lib/modules/<kernel>/`. */
export const MODULES_DIR = '/opt';
/** Where the image keeps firmware (`modprobe.firmwarePath`); KMM copies it to the node's /var/lib/firmware. */
export const FIRMWARE_DIR = '/firmware';
/** KMM's default `worker.firmwareHostPath` (written to /sys/module/firmware_class/parameters/path). */
export const HOST_FIRMWARE_DIR = '/var/lib/firmware';
export const KERNEL_VAR = '${KERNEL_FULL_VERSION}';

/** The kernel version as KMM writes it into image tags. */
export function kmmTagKernel(kver: string): string {
  return kver.replace(/[^A-Za-z0-9._-]/g, '_');
}

export interface KmmNames {
  /** Namespace of the driver's objects (Module, ConfigMap, RBAC). */
  namespace: string;
  /** Module name; KMM's node labels use `<namespace>.<module>`. */
  moduleName: string;
  /** Registry prefix images are pushed to and pulled from. */
  registry: string;
  registryIsInternal: boolean;
  /** `<registry>/<driver>-kmm` (Day 1: `<registry>/<driver>-kmm-<version>`) */
  imageRepo: string;
  /** `<driver version>-${KERNEL_FULL_VERSION}` (Day 1: `${KERNEL_FULL_VERSION}`); KMM substitutes the variable. */
  imageTagTemplate: string;
  /** `<registry>/<driver>-source:<version>`: the source image of a `source.path` driver. */
  sourceImage: string;
  dockerfileConfigMap: string;
  serviceAccount: string;
  sccRole: string;
  sccRoleBinding: string;
  /** Day 1: MachineConfig and what it writes on the nodes. */
  machineConfig: string;
  day1Script: string;
  day1LoadUnit: string;
  day1PullUnit: string;
  /** Day 1: where the pull unit keeps the pulled image (`podman save` archives, one per kernel). */
  day1ImageStore: string;
}

export function kmmNames(driver: DriverSpec, options: RenderOptions): KmmNames {
  if (options.day1 && options.registry === undefined) {
    throw new UserError(
      '--day1 with kmm needs --registry <repo prefix>: the driver image must be pullable at first boot, before the cluster (and its internal registry) exists',
      'e.g. kmodlab render --method kmm --day1 --registry quay.io/acme; the nodes pull it with the global pull secret',
    );
  }
  const namespace = options.namespace ?? dnsLabel('kmodlab', driver.name);
  const registry = options.registry ?? `${INTERNAL_REGISTRY}/${namespace}`;
  return {
    namespace,
    moduleName: driver.name,
    registry,
    registryIsInternal: options.registry === undefined,
    imageRepo: options.day1 ? `${registry}/${driver.name}-kmm-${driver.version.toLowerCase()}` : `${registry}/${driver.name}-kmm`,
    imageTagTemplate: options.day1 ? KERNEL_VAR : `${driver.version}-${KERNEL_VAR}`,
    sourceImage: `${registry}/${driver.name}-source:${driver.version}`,
    dockerfileConfigMap: dnsLabel(driver.name, 'kmm-dockerfile'),
    serviceAccount: dnsLabel(driver.name, 'kmm-worker'),
    sccRole: dnsLabel(driver.name, 'kmm-worker-privileged-scc'),
    sccRoleBinding: dnsLabel(driver.name, 'kmm-worker-privileged-scc'),
    machineConfig: dnsLabel('99', options.pool, 'kmodlab', driver.name, 'kmm'),
    day1Script: `/usr/local/bin/${dnsLabel('kmodlab', driver.name, 'kmm')}.sh`,
    day1LoadUnit: `${dnsLabel('kmodlab', driver.name, 'kmm-load')}.service`,
    day1PullUnit: `${dnsLabel('kmodlab', driver.name, 'kmm-pull')}.service`,
    day1ImageStore: `/var/lib/kmodlab/${driver.name}`,
  };
}

/** `<repo>:<tag>` for a concrete kernel (README commands, Day-1 build). */
export function imageForKernel(names: KmmNames, kver: string): string {
  return `${names.imageRepo}:${names.imageTagTemplate.replace(KERNEL_VAR, kmmTagKernel(kver))}`;
}
