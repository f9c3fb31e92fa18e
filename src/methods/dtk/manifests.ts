/**
 * The objects of the dtk method: Namespace, ImageStream(s), BuildConfig(s), the
 * ServiceAccount allowed to use the `privileged` SCC, and the DaemonSet whose privileged
 * pod loads the modules in its postStart hook and unloads them in its preStop hook
 * (the OpenShift Driver Toolkit example's pattern).
 */
import type { K8sObject } from '../../artifacts/artifact-set.js';
import type { DriverSpec } from '../../driver/spec.js';
import { ANNOTATION_INSTALL_PHASE, LABEL_COMPONENT, LABEL_METHOD, LABEL_NAME, standardLabels } from '../../labels.js';
import { LABEL_VALUE, labelValue } from '../../names.js';
import { modprobeLoad, modprobeUnload } from '../driver-build.js';
import type { RenderOptions } from '../method.js';
import { signingBuildVolumes } from '../module-signing.js';
import { HOST_MODULES_MOUNT } from './containerfile.js';
import { CLUSTER_DTK_IMAGESTREAM, CLUSTER_DTK_NAMESPACE, CLUSTER_DTK_TAG, type DtkNames } from './names.js';

export type DtkVariant = 'pinned' | 'tracking';

/** Node Feature Discovery's label with the node's `uname -r`. */
export const NFD_KERNEL_LABEL = 'feature.node.kubernetes.io/kernel-version.full';
/** OpenShift's annotation that keeps a pod template's image on an ImageStreamTag. */
export const IMAGE_TRIGGER_ANNOTATION = 'image.openshift.io/triggers';
/** Where the pod sees the host's firmware directory (firmware_class.path points there). */
export const HOST_FIRMWARE_DIR = '/var/lib/firmware';
/** The node's module tree (RHCOS: /lib is a link to /usr/lib); KMM mounts the same directory. */
export const HOST_MODULES_DIR = '/usr/lib/modules';
const HOST_FIRMWARE_MOUNT = '/host/var/lib/firmware';

/** What every object builder needs. */
export interface DtkContext {
  driver: DriverSpec;
  options: RenderOptions;
  variant: DtkVariant;
  names: DtkNames;
}

function metadata(ctx: DtkContext, name: string, component: string, namespaced = true): K8sObject['metadata'] {
  const meta: K8sObject['metadata'] = {
    name,
    ...(namespaced ? { namespace: ctx.names.namespace } : {}),
    labels: standardLabels(ctx.driver.name, 'dtk', component, labelValue(ctx.driver.version)),
  };
  if (ctx.options.day1) meta.annotations = { [ANNOTATION_INSTALL_PHASE]: 'day1' };
  return meta;
}

export function namespace(ctx: DtkContext): K8sObject {
  const meta = metadata(ctx, ctx.names.namespace, 'namespace', false);
  // The driver pod is privileged: the namespace must admit the `privileged` Pod
  // Security Standard (OpenShift's label syncer would set warn/audit the same way from
  // the ServiceAccount's SCC; enforce is set here so a stricter global default cannot
  // reject the pod).
  meta.labels = {
    ...meta.labels,
    'pod-security.kubernetes.io/enforce': 'privileged',
    'pod-security.kubernetes.io/audit': 'privileged',
    'pod-security.kubernetes.io/warn': 'privileged',
  };
  return { apiVersion: 'v1', kind: 'Namespace', metadata: meta };
}

/** The driver image's ImageStream; with an external registry its tag imports the pushed image. */
export function driverImageStream(ctx: DtkContext, tag: string, externalRepository?: string): K8sObject {
  const spec: Record<string, unknown> = {};
  if (externalRepository) {
    spec.tags = [
      {
        name: tag,
        from: { kind: 'DockerImage', name: `${externalRepository}:${tag}` },
        // Re-import periodically, so a pushed rebuild moves the tag (and the DaemonSet).
        importPolicy: { scheduled: true },
        referencePolicy: { type: 'Source' },
      },
    ];
  }
  return { apiVersion: 'image.openshift.io/v1', kind: 'ImageStream', metadata: metadata(ctx, ctx.names.imageStream, 'image'), spec };
}

export function sourceImageStream(ctx: DtkContext): K8sObject {
  return { apiVersion: 'image.openshift.io/v1', kind: 'ImageStream', metadata: metadata(ctx, ctx.names.sourceImageStream, 'source-image'), spec: {} };
}

export interface BuildOutputInput {
  tag: string;
  /** `<registry>/<image>` when pushing to an external registry (`--registry`). */
  externalRepository?: string;
}

function buildOutput(ctx: DtkContext, out: BuildOutputInput): Record<string, unknown> {
  if (out.externalRepository) {
    return {
      to: { kind: 'DockerImage', name: `${out.externalRepository}:${out.tag}` },
      pushSecret: { name: ctx.names.registrySecret },
    };
  }
  return { to: { kind: 'ImageStreamTag', name: `${ctx.names.imageStream}:${out.tag}` } };
}

/** Build volumes with the signing key and certificate (transient, never in the image); none when unsigned. */
function signingVolumes(ctx: DtkContext): { volumes?: Record<string, unknown>[] } {
  const volumes = signingBuildVolumes(ctx.driver);
  return volumes.length > 0 ? { volumes } : {};
}

/**
 * pinned: docker strategy with build args DTK and KVER. A git driver is cloned by the
 * Containerfile itself (so the in-cluster and off-cluster builds are the same file) and
 * built once on creation (ConfigChange); a path driver is a binary build that
 * `oc start-build --from-dir` feeds — binary builds cannot be triggered automatically.
 */
export function pinnedBuildConfig(ctx: DtkContext, dockerfile: string, args: { dtkImage: string; kver: string }, out: BuildOutputInput): K8sObject {
  const binary = 'path' in ctx.driver.source;
  return {
    apiVersion: 'build.openshift.io/v1',
    kind: 'BuildConfig',
    metadata: metadata(ctx, ctx.names.buildConfig, 'build'),
    spec: {
      runPolicy: 'Serial',
      source: binary ? { type: 'Binary', binary: {}, dockerfile } : { type: 'Dockerfile', dockerfile },
      strategy: {
        type: 'Docker',
        dockerStrategy: {
          buildArgs: [
            { name: 'DTK', value: args.dtkImage },
            { name: 'KVER', value: args.kver },
          ],
          ...signingVolumes(ctx),
        },
      },
      output: buildOutput(ctx, out),
      triggers: binary ? [] : [{ type: 'ConfigChange' }],
    },
  };
}

/**
 * tracking: rebuilt whenever the cluster's `openshift/driver-toolkit:latest` moves (a
 * cluster upgrade) and, for path drivers, whenever a new source image is pushed.
 * The DTK is not `dockerStrategy.from`: that would replace the *last* FROM of the
 * multi-stage Containerfile (the small final stage), not the builder.
 */
export function trackingBuildConfig(ctx: DtkContext, dockerfile: string, out: BuildOutputInput): K8sObject {
  const pathDriver = 'path' in ctx.driver.source;
  const triggers: Record<string, unknown>[] = [
    ...(pathDriver ? [] : [{ type: 'ConfigChange' }]),
    {
      type: 'ImageChange',
      imageChange: { from: { kind: 'ImageStreamTag', namespace: CLUSTER_DTK_NAMESPACE, name: `${CLUSTER_DTK_IMAGESTREAM}:${CLUSTER_DTK_TAG}` } },
    },
  ];
  if (pathDriver) {
    triggers.push({ type: 'ImageChange', imageChange: { from: { kind: 'ImageStreamTag', name: `${ctx.names.sourceImageStream}:latest` } } });
  }
  return {
    apiVersion: 'build.openshift.io/v1',
    kind: 'BuildConfig',
    metadata: metadata(ctx, ctx.names.buildConfig, 'build'),
    spec: {
      runPolicy: 'Serial',
      source: { type: 'Dockerfile', dockerfile },
      strategy: { type: 'Docker', dockerStrategy: { ...signingVolumes(ctx) } },
      output: buildOutput(ctx, out),
      triggers,
    },
  };
}

/** tracking, path drivers: a binary build packing the driver directory into a source image. */
export function sourceBuildConfig(ctx: DtkContext, dockerfile: string): K8sObject {
  return {
    apiVersion: 'build.openshift.io/v1',
    kind: 'BuildConfig',
    metadata: metadata(ctx, ctx.names.sourceBuildConfig, 'source-build'),
    spec: {
      runPolicy: 'Serial',
      source: { type: 'Binary', binary: {}, dockerfile },
      strategy: { type: 'Docker', dockerStrategy: {} },
      output: { to: { kind: 'ImageStreamTag', name: `${ctx.names.sourceImageStream}:latest` } },
      triggers: [],
    },
  };
}

export function serviceAccount(ctx: DtkContext): K8sObject {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: metadata(ctx, ctx.names.serviceAccount, 'rbac') };
}

export function role(ctx: DtkContext): K8sObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: metadata(ctx, ctx.names.role, 'rbac'),
    rules: [
      {
        apiGroups: ['security.openshift.io'],
        resources: ['securitycontextconstraints'],
        resourceNames: ['privileged'],
        verbs: ['use'],
      },
    ],
  };
}

export function roleBinding(ctx: DtkContext): K8sObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: metadata(ctx, ctx.names.roleBinding, 'rbac'),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: ctx.names.role },
    subjects: [{ kind: 'ServiceAccount', name: ctx.names.serviceAccount, namespace: ctx.names.namespace }],
  };
}

/** The postStart command: load the modules (after firmware setup and in-tree removal when needed). */
export function loadCommand(driver: DriverSpec): string[] {
  const load = modprobeLoad(driver);
  const steps: string[] = [];
  for (const m of driver.inTreeModulesToRemove) {
    const name = m.replace(/-/g, '_');
    // Only if loaded as a module (built-in code cannot be removed; /proc/modules lists modules only).
    steps.push(`{ ! grep -q '^${name} ' /proc/modules || rmmod ${name}; }`);
  }
  if (driver.firmware.length > 0) {
    // The kernel reads firmware from the host's file system, not the container's: copy it
    // to a writable host directory and point the firmware loader at it.
    for (const fw of driver.firmware) {
      steps.push(`install -D -m 0644 /lib/firmware/${fw.target} ${HOST_FIRMWARE_MOUNT}/${fw.target}`);
    }
    steps.push(`printf %s ${HOST_FIRMWARE_DIR} > /sys/module/firmware_class/parameters/path`);
  }
  if (steps.length === 0) return load.split(' ');
  return ['/bin/sh', '-c', [...steps, load].join(' && ')];
}

export function unloadCommand(driver: DriverSpec): string[] {
  return modprobeUnload(driver).split(' ');
}

export interface DaemonSetInput {
  /** Image reference initially in the pod template. */
  image: string;
  /** ImageStreamTag (`name:tag`, DaemonSet's namespace) that keeps the image current; none on Day 1. */
  triggerTag?: string;
  /** pinned: the kernel the image was built for (node affinity on NFD's kernel label). */
  kver?: string;
  imagePullSecret?: string;
}

/** Labels that select the DaemonSet's pods (never the version: selectors are immutable). */
export function podSelector(ctx: DtkContext): Record<string, string> {
  return { [LABEL_NAME]: ctx.driver.name, [LABEL_METHOD]: 'dtk', [LABEL_COMPONENT]: 'driver-container' };
}

/** Value of the `image.openshift.io/triggers` annotation (`paused` only when pausing it by hand). */
export function imageTriggers(names: DtkNames, triggerTag: string, paused = false): string {
  return JSON.stringify([
    {
      from: { kind: 'ImageStreamTag', name: triggerTag },
      fieldPath: `spec.template.spec.containers[?(@.name=="${names.container}")].image`,
      ...(paused ? { paused: true } : {}),
    },
  ]);
}

export function daemonSet(ctx: DtkContext, input: DaemonSetInput): K8sObject {
  const meta = metadata(ctx, ctx.names.daemonSet, 'driver-container');
  if (input.triggerTag) meta.annotations = { ...meta.annotations, [IMAGE_TRIGGER_ANNOTATION]: imageTriggers(ctx.names, input.triggerTag) };
  const firmware = ctx.driver.firmware.length > 0;
  const container: Record<string, unknown> = {
    name: ctx.names.container,
    image: input.image,
    // A trigger-managed image is a digest (cached copies are exact, and a rebooted node
    // starts the pod without the registry); a tag-only image (Day 1) is re-pulled.
    imagePullPolicy: input.triggerTag ? 'IfNotPresent' : 'Always',
    command: ['sleep', 'infinity'],
    lifecycle: {
      postStart: { exec: { command: loadCommand(ctx.driver) } },
      preStop: { exec: { command: unloadCommand(ctx.driver) } },
    },
    securityContext: { privileged: true },
    resources: { requests: { cpu: '10m', memory: '16Mi' } },
  };
  // The node's module tree, read-only: the image links /lib/modules/<kernel>/kernel into it,
  // so modprobe loads in-tree dependencies from the node (harmless for drivers without any).
  container.volumeMounts = [
    { name: 'host-modules', mountPath: HOST_MODULES_MOUNT, readOnly: true },
    ...(firmware ? [{ name: 'host-firmware', mountPath: HOST_FIRMWARE_MOUNT }] : []),
  ];

  const podSpec: Record<string, unknown> = {
    serviceAccountName: ctx.names.serviceAccount,
    nodeSelector: { [`node-role.kubernetes.io/${ctx.options.pool}`]: '' },
  };
  const affinity = kernelAffinity(input.kver);
  if (affinity) podSpec.affinity = affinity;
  if (ctx.options.pool === 'master') {
    podSpec.tolerations = [
      { key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' },
      { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
    ];
  }
  if (input.imagePullSecret) podSpec.imagePullSecrets = [{ name: input.imagePullSecret }];
  podSpec.containers = [container];
  podSpec.volumes = [
    { name: 'host-modules', hostPath: { path: HOST_MODULES_DIR, type: 'Directory' } },
    ...(firmware ? [{ name: 'host-firmware', hostPath: { path: HOST_FIRMWARE_DIR, type: 'DirectoryOrCreate' } }] : []),
  ];

  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: meta,
    spec: {
      selector: { matchLabels: podSelector(ctx) },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels: standardLabels(ctx.driver.name, 'dtk', 'driver-container', labelValue(ctx.driver.version)) },
        spec: podSpec,
      },
    },
  };
}

/**
 * pinned: keep the pod off nodes that Node Feature Discovery reports with another kernel
 * (there it could only fail), but still run it where the label is absent (NFD not
 * installed), so NFD stays optional. Not rendered when the kernel is not a valid label
 * value (NFD could not have labelled it either).
 */
export function kernelAffinity(kver: string | undefined): Record<string, unknown> | undefined {
  if (!kver || kver.length > 63 || !LABEL_VALUE.test(kver)) return undefined;
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [
          { matchExpressions: [{ key: NFD_KERNEL_LABEL, operator: 'In', values: [kver] }] },
          { matchExpressions: [{ key: NFD_KERNEL_LABEL, operator: 'DoesNotExist' }] },
        ],
      },
    },
  };
}
