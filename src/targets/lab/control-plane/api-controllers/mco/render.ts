/**
 * The render controller's part of the lab's Machine Config Operator, following
 * openshift/machine-config-operator release-4.14:
 *   - pkg/controller/render/render_controller.go: the MachineConfigs a pool's
 *     machineConfigSelector selects, merged into one generated MachineConfig named
 *     `rendered-<pool>-<hash of its spec>` (getMachineConfigHashedName), owned by the pool;
 *     the pool's spec.configuration names it and lists its sources;
 *   - pkg/controller/common/helpers.go MergeMachineConfigs: configs in name order; the
 *     last non-empty osImageURL wins, else the base OS image (ControllerConfig
 *     baseOSContainerImage, from the machine-config-osimageurl ConfigMap); kernelType
 *     realtime in any config wins; kernel arguments appended, extensions unioned, Ignition
 *     files/units of later configs replace earlier ones with the same path/name;
 *   - pkg/controller/common/helpers.go ValidateMachineConfig: an unknown kernelType is a
 *     render error (the pool's RenderDegraded condition).
 * Pure functions: the controller (../machineconfig.ts) reads and writes the API.
 */
import { createHash } from 'node:crypto';
import type { V1OwnerReference } from '@kubernetes/client-node';

export const MC_ROLE_LABEL = 'machineconfiguration.openshift.io/role';
export const MC_API_VERSION = 'machineconfiguration.openshift.io/v1';
/** Annotations the render controller puts on a rendered config (render_controller.go). */
export const GENERATED_BY = 'machineconfiguration.openshift.io/generated-by-controller-version';
export const RELEASE_IMAGE_VERSION = 'machineconfiguration.openshift.io/release-image-version';

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface MachineConfigSpec {
  osImageURL?: string;
  kernelType?: string;
  kernelArguments?: string[];
  extensions?: string[];
  fips?: boolean;
  config?: { ignition?: { version?: string }; storage?: { files?: { path: string }[] }; systemd?: { units?: { name: string }[] } } & Record<string, unknown>;
}

export interface MachineConfig {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: V1OwnerReference[]; deletionTimestamp?: Date };
  spec?: MachineConfigSpec;
}

export interface PoolCondition {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastTransitionTime: string;
}

export interface MachineConfigPool {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; uid?: string; generation?: number; labels?: Record<string, string>; deletionTimestamp?: Date };
  spec?: {
    machineConfigSelector?: LabelSelector;
    nodeSelector?: LabelSelector;
    paused?: boolean;
    maxUnavailable?: number | string;
    configuration?: { name?: string; source?: { apiVersion: string; kind: string; name: string }[] };
  };
  status?: {
    observedGeneration?: number;
    configuration?: { name?: string; source?: { apiVersion: string; kind: string; name: string }[] };
    machineCount?: number;
    updatedMachineCount?: number;
    readyMachineCount?: number;
    unavailableMachineCount?: number;
    degradedMachineCount?: number;
    conditions?: PoolCondition[];
  };
}

/** metav1.LabelSelectorAsSelector: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist). */
export function selects(sel: LabelSelector | undefined, labels: Record<string, string> = {}): boolean {
  // An absent selector selects nothing (render_controller.go getMachineConfigsForPool: nil selector → no configs).
  if (!sel) return false;
  if (!Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v)) return false;
  return (sel.matchExpressions ?? []).every((e) => {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    switch (e.operator) {
      case 'In':
        return has && (e.values ?? []).includes(labels[e.key]!);
      case 'NotIn':
        return !has || !(e.values ?? []).includes(labels[e.key]!);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      default:
        return false;
    }
  });
}

/** The default pools of an OpenShift install (the installer's manifests for master and worker). */
export function defaultPool(role: 'master' | 'worker'): MachineConfigPool {
  return {
    apiVersion: MC_API_VERSION,
    kind: 'MachineConfigPool',
    metadata: { name: role, labels: { [`pools.operator.machineconfiguration.openshift.io/${role}`]: '' } },
    spec: {
      machineConfigSelector: { matchLabels: { [MC_ROLE_LABEL]: role } },
      nodeSelector: { matchLabels: { [`node-role.kubernetes.io/${role}`]: '' } },
      paused: false,
    },
  };
}

/**
 * The template config of a role (the templates in the release render 00-<role>): it carries
 * nothing the lab applies, but makes every pool select at least one config, as on a cluster.
 */
export function templateConfig(role: string, controllerVersion: string): MachineConfig {
  return {
    apiVersion: MC_API_VERSION,
    kind: 'MachineConfig',
    metadata: { name: `00-${role}`, labels: { [MC_ROLE_LABEL]: role }, annotations: { [GENERATED_BY]: controllerVersion } },
    spec: { config: { ignition: { version: '3.4.0' } }, extensions: [], fips: false, kernelArguments: [], kernelType: '', osImageURL: '' },
  };
}

/** Kernel types the lab accepts: 64k-pages exists only for aarch64 (MCO: "not supported on x86_64"). */
const KERNEL_TYPES = new Set(['', 'default', 'realtime']);

export class RenderError extends Error {}

/** The configs a pool selects, in the order MergeMachineConfigs applies them (by name). */
export function configsForPool(pool: MachineConfigPool, all: MachineConfig[]): MachineConfig[] {
  return all
    .filter((mc) => !mc.metadata.deletionTimestamp && !mc.metadata.name.startsWith('rendered-'))
    .filter((mc) => selects(pool.spec?.machineConfigSelector, mc.metadata.labels))
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
}

export function mergeConfigs(configs: MachineConfig[], baseOSImage: string): MachineConfigSpec {
  let osImageURL = '';
  let kernelType = '';
  const kernelArguments: string[] = [];
  const extensions = new Set<string>();
  let fips = false;
  const files = new Map<string, { path: string }>();
  const units = new Map<string, { name: string }>();
  for (const mc of configs) {
    const s = mc.spec ?? {};
    const kt = s.kernelType ?? '';
    if (!KERNEL_TYPES.has(kt)) throw new RenderError(`MachineConfig ${mc.metadata.name}: kernelType=${kt} is invalid (expected "default" or "realtime")`);
    if (kt === 'realtime') kernelType = 'realtime';
    else if (kt === 'default' && kernelType !== 'realtime') kernelType = 'default';
    if (s.osImageURL) osImageURL = s.osImageURL;
    kernelArguments.push(...(s.kernelArguments ?? []));
    for (const e of s.extensions ?? []) extensions.add(e);
    fips ||= s.fips === true;
    for (const f of s.config?.storage?.files ?? []) files.set(f.path, f);
    for (const u of s.config?.systemd?.units ?? []) units.set(u.name, u);
  }
  return {
    config: { ignition: { version: '3.4.0' }, storage: { files: [...files.values()] }, systemd: { units: [...units.values()] } },
    extensions: [...extensions].sort(),
    fips,
    kernelArguments,
    kernelType: kernelType || 'default',
    osImageURL: osImageURL || baseOSImage,
  };
}

/** getMachineConfigHashedName: `rendered-<pool>-<md5 of the spec>`. */
export function renderedName(pool: string, spec: MachineConfigSpec): string {
  return `rendered-${pool}-${createHash('md5').update(JSON.stringify(spec)).digest('hex')}`;
}

export interface Rendered {
  config: MachineConfig;
  sources: { apiVersion: string; kind: string; name: string }[];
}

/** The rendered config of a pool; throws RenderError when a selected config is invalid. */
export function renderPool(pool: MachineConfigPool, all: MachineConfig[], base: { osImage: string; releaseVersion: string; controllerVersion: string }): Rendered {
  const configs = configsForPool(pool, all);
  if (configs.length === 0) throw new RenderError(`no MachineConfigs found matching selector ${JSON.stringify(pool.spec?.machineConfigSelector ?? null)}`);
  const spec = mergeConfigs(configs, base.osImage);
  const name = renderedName(pool.metadata.name, spec);
  return {
    config: {
      apiVersion: MC_API_VERSION,
      kind: 'MachineConfig',
      metadata: {
        name,
        annotations: { [GENERATED_BY]: base.controllerVersion, [RELEASE_IMAGE_VERSION]: base.releaseVersion },
        ownerReferences: [{ apiVersion: MC_API_VERSION, kind: 'MachineConfigPool', name: pool.metadata.name, uid: pool.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
      },
      spec,
    },
    sources: configs.map((c) => ({ apiVersion: MC_API_VERSION, kind: 'MachineConfig', name: c.metadata.name })),
  };
}
