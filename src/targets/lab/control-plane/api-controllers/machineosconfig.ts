/**
 * On-cluster image layering in the lab, reconciled from the lab API, with the semantics of
 * openshift/machine-config-operator release-4.19 (machineconfiguration.openshift.io/v1, GA):
 *   - pkg/controller/build/reconciler.go / buildrequest/machineosbuild.go: a MachineOSConfig
 *     for a pool gets a MachineOSBuild named `<config>-<hash>`, the hash of what the image is
 *     built from (here the Containerfile and the base OS image; upstream also the rendered
 *     config), labelled with the config and the pool; a new base OS image (an upgrade: the
 *     ConfigMap machine-config-osimageurl changes) or a new Containerfile makes a new
 *     MachineOSBuild, the old one stays;
 *   - buildrequest/assets/Containerfile: the user's Containerfile is appended to the MCO's
 *     `FROM <baseOSContainerImage> AS configs` stage (the lab's rendered configs carry no
 *     files to lay into the image, so `configs` is the base image itself);
 *   - the build runs with buildah (as the upstream build Job's buildah container) and pushes to
 *     spec.renderedImagePushSpec; the MachineOSBuild's conditions go Prepared → Building →
 *     Succeeded (status.digestedImagePushSpec = the push spec's repository @ the pushed
 *     digest) or Failed; the MachineOSConfig's status gets currentImagePullSpec and
 *     machineOSBuild only on success, so a failed build leaves the pool on what it runs;
 *   - the MCO then rolls the pool to currentImagePullSpec (machineconfig.ts: the pool's OS
 *     image is the MachineOSConfig's current image).
 * References to the integrated registry (image-registry.openshift-image-registry.svc:5000)
 * in the push spec are the lab registry's `<prefix>/<ns>/<name>` (builds.ts's mapping); in
 * the Containerfile they are pulled through their ImageStream tags (builds.ts pullThrough).
 * The build's log is kept in the lab's build-log directory (upstream: the build Job's pod).
 * The build host's figures (images/build-host-figures.ts) are written on the MachineOSBuild
 * as the BUILD_HOST_FIGURES annotation before it turns Succeeded; upstream's carry none.
 */
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type KubernetesObject, type V1ConfigMap } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { labStateDir } from '../../api-server/tls.js';
import { Buildah } from '../../images/buildah.js';
import { BUILD_HOST_FIGURES, pushMeasured } from '../../images/build-host-figures.js';
import type { LabRegistry } from '../../images/registry.js';
import { PATHS, type SharedInformers } from '../informers.js';
import type { BuildController } from './builds.js';
import { rfc3339 } from '../kube-time.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = KubernetesObject & Record<string, any>;

const GROUP = 'machineconfiguration.openshift.io';
const G = { group: GROUP, version: 'v1' };
export const MACHINEOSCONFIGS = '/apis/machineconfiguration.openshift.io/v1/machineosconfigs';
export const MACHINEOSBUILDS = '/apis/machineconfiguration.openshift.io/v1/machineosbuilds';
const LABEL_CONFIG = `${GROUP}/machine-os-config`;
const LABEL_POOL = `${GROUP}/target-machine-config-pool`;
const INTERNAL_REGISTRY = 'image-registry.openshift-image-registry.svc:5000/';
const MCO_NAMESPACE = 'openshift-machine-config-operator';
const OSIMAGEURL_CONFIGMAP = 'machine-config-osimageurl';

/** A push/pull spec as the lab registry serves it: the integrated registry's name → `<prefix>/<ns>/<name>`. */
export function labImageRef(ref: string, registryPrefix: string): string {
  return ref.startsWith(INTERNAL_REGISTRY) ? `${registryPrefix}/${ref.slice(INTERNAL_REGISTRY.length)}` : ref;
}

/** `host/repo:tag` or `host/repo@sha256:…` → `host/repo`. */
function repositoryOf(ref: string): string {
  const at = ref.indexOf('@');
  if (at >= 0) return ref.slice(0, at);
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? ref.slice(0, colon) : ref;
}

/** The image a pool's nodes run when a MachineOSConfig manages it: its last successful build (undefined until then). */
export function layeredImageOf(informers: SharedInformers, pool: string): string | undefined {
  const mosc = informers.list<Obj>(MACHINEOSCONFIGS).find((m) => m.spec?.machineConfigPool?.name === pool && !m.metadata?.deletionTimestamp);
  return mosc?.status?.currentImagePullSpec || undefined;
}

/** The five condition types upstream sets on every MachineOSBuild status (apis machineconfiguration/v1 types_machineosbuild.go). */
function conditions(state: 'Prepared' | 'Building' | 'Succeeded' | 'Failed', message: string): Obj[] {
  const now = rfc3339();
  return ['Prepared', 'Building', 'Succeeded', 'Interrupted', 'Failed'].map((type) => ({
    type,
    status: type === state ? 'True' : 'False',
    reason: type === state ? state : 'NotSet',
    message: type === state ? message : '',
    lastTransitionTime: now,
  }));
}

export interface MachineOSConfigControllerOptions {
  kc: KubeConfig;
  informers: SharedInformers;
  registry: LabRegistry;
  /** For pullthrough of integrated-registry references in the Containerfile. */
  builds?: BuildController;
  buildah?: Buildah;
  log?: (line: string) => void;
}

export class MachineOSConfigController {
  private readonly custom: CustomObjectsApi;
  private readonly merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  /** MachineOSBuilds this process has started (one build at a time, as the MCO's build controller queue). */
  private readonly started = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: MachineOSConfigControllerOptions) {
    this.custom = o.kc.makeApiClient(CustomObjectsApi);
  }

  async start(): Promise<void> {
    const kick = () => this.reconcile();
    for (const p of [MACHINEOSCONFIGS, MACHINEOSBUILDS, PATHS.configmaps]) await this.o.informers.subscribe(p, kick);
    const tick = () => {
      if (this.stopped) return;
      this.reconcile();
      this.timer = setTimeout(tick, 5_000);
    };
    this.timer = setTimeout(tick, 5_000);
    this.reconcile();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.queue;
  }

  private baseImage(): string | undefined {
    const cm = this.o.informers.list<V1ConfigMap>(PATHS.configmaps).find((c) => c.metadata?.namespace === MCO_NAMESPACE && c.metadata?.name === OSIMAGEURL_CONFIGMAP);
    return cm?.data?.baseOSContainerImage;
  }

  private reconcile(): void {
    if (this.stopped) return;
    const base = this.baseImage();
    if (!base) return;
    const builds = this.o.informers.list<Obj>(MACHINEOSBUILDS);
    for (const mosc of this.o.informers.list<Obj>(MACHINEOSCONFIGS)) {
      if (mosc.metadata?.deletionTimestamp) continue;
      const pool = mosc.spec?.machineConfigPool?.name as string | undefined;
      const pushSpec = mosc.spec?.renderedImagePushSpec as string | undefined;
      if (!pool || !pushSpec) continue;
      const content = containerfileOf(mosc);
      const hash = createHash('sha256').update(content).update('\0').update(base).update('\0').update(pushSpec).digest('hex');
      const name = `${mosc.metadata!.name}-${hash.slice(0, 32)}`;
      if (this.started.has(name) || builds.some((b) => b.metadata?.name === name)) continue;
      this.started.add(name);
      this.queue = this.queue.then(() => this.build(mosc, name, pool, pushSpec, base, content)).catch((e: Error) => this.o.log?.(`machineosbuild ${name}: ${e.message.split('\n')[0]}`));
    }
  }

  private async setBuildStatus(name: string, status: Obj): Promise<void> {
    await this.custom.patchClusterCustomObjectStatus({ ...G, plural: 'machineosbuilds', name, body: { status } }, this.merge);
  }

  private async build(mosc: Obj, name: string, pool: string, pushSpec: string, base: string, content: string): Promise<void> {
    const config = mosc.metadata!.name!;
    await this.custom.createClusterCustomObject({
      ...G,
      plural: 'machineosbuilds',
      body: {
        apiVersion: `${GROUP}/v1`,
        kind: 'MachineOSBuild',
        metadata: { name, labels: { [LABEL_CONFIG]: config, [LABEL_POOL]: pool } },
        spec: { machineConfig: { name: `rendered-${pool}` }, machineOSConfig: { name: config }, renderedImagePushSpec: pushSpec },
      },
    });
    const buildStart = rfc3339();
    await this.setBuildStatus(name, { buildStart, conditions: conditions('Building', 'Image build in progress') });
    this.o.log?.(`machineosbuild ${name}: Building pool ${pool}'s image on ${base}`);
    const logDir = path.join(labStateDir(), 'build-logs', MCO_NAMESPACE);
    mkdirSync(logDir, { recursive: true });
    const logFile = path.join(logDir, `${name}.log`);
    writeFileSync(logFile, '');
    const ctx = mkdtempSync(path.join(tmpdir(), 'kmodlab-mosb-'));
    const buildah = this.o.buildah ?? new Buildah();
    const local = `localhost/kmodlab-mosb/${name}`;
    const t0 = performance.now();
    try {
      const containerfile = path.join(ctx, 'Containerfile');
      writeFileSync(containerfile, `FROM ${base} AS configs\n${content}\n`);
      await this.o.builds?.pullThrough(buildah, [content], logFile);
      const built = await buildah.bud({ containerfile, context: ctx, tag: local, insecure: this.o.registry.insecure, logFile, timeoutMs: 1_800_000 });
      const dest = labImageRef(pushSpec, this.o.registry.prefix);
      const { digest, figures } = await pushMeasured(buildah, local, dest, this.o.registry, built.usage, logFile);
      await buildah.run(['rmi', local], { allowFailure: true });
      const digested = `${repositoryOf(pushSpec)}@${digest}`;
      // Before the build turns Succeeded, so a watcher that sees it done sees its figures.
      if (figures) await this.custom.patchClusterCustomObject({ ...G, plural: 'machineosbuilds', name, body: { metadata: { annotations: { [BUILD_HOST_FIGURES]: JSON.stringify(figures) } } } }, this.merge);
      await this.setBuildStatus(name, { buildStart, buildEnd: rfc3339(), digestedImagePushSpec: digested, conditions: conditions('Succeeded', 'Build Ready') });
      await this.custom.patchClusterCustomObjectStatus(
        { ...G, plural: 'machineosconfigs', name: config, body: { status: { observedGeneration: mosc.metadata?.generation ?? 1, currentImagePullSpec: digested, machineOSBuild: { group: GROUP, resource: 'machineosbuilds', name } } } },
        this.merge,
      );
      this.o.log?.(`machineosbuild ${name}: Succeeded in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${digested}`);
    } catch (e) {
      // The Containerfile's own diagnostics (lines it prints before failing) say more than buildah's last words.
      const lines = readFileSync(logFile, 'utf8').trim().split('\n');
      const own = lines.filter((l) => /^kmodlab: /.test(l.trim()));
      const tail = (own.length ? own : lines).slice(-5).join('\n');
      await this.setBuildStatus(name, { buildStart, buildEnd: rfc3339(), conditions: conditions('Failed', `${(e as Error).message.split('\n')[0]}\n${tail}`) }).catch(() => undefined);
      this.o.log?.(`machineosbuild ${name}: Failed: ${(e as Error).message.split('\n')[0]}; log ${logFile}`);
    } finally {
      rmSync(ctx, { recursive: true, force: true });
    }
  }
}

/** The Containerfile the MachineOSConfig gives for this (lab: any) architecture. */
function containerfileOf(mosc: Obj): string {
  const files = (mosc.spec?.containerFile ?? []) as { containerfileArch?: string; content?: string }[];
  const f = files.find((x) => x.containerfileArch === 'AMD64') ?? files.find((x) => !x.containerfileArch || x.containerfileArch === 'NoArch');
  return f?.content ?? '';
}
