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
 *   - the MachineOSBuild is owned by its MachineOSConfig (controller reference) and the
 *     MachineOSConfig's annotation machineconfiguration.openshift.io/current-machine-os-build
 *     names it as soon as it starts (reconciler.go startBuild → updateMachineOSConfigStatus);
 *   - the build runs with buildah (as the upstream build Job's buildah container) and pushes to
 *     spec.renderedImagePushSpec; the MachineOSBuild's status has the five conditions with
 *     pkg/apihelpers/machineosbuild.go's fixed reasons and messages, one True at a time:
 *     Prepared → Building (buildStart) → Succeeded (reason Ready; buildEnd,
 *     status.digestedImagePushSpec = the push spec's repository @ the pushed digest) or
 *     Failed (buildEnd); buildEnd is after buildStart (CRD rule, whole seconds).
 *     status.builder names the upstream build Job (`build-<mosb>` in
 *     openshift-machine-config-operator), where a cluster keeps the build's log; the lab runs
 *     no Job, so a Failed condition's message is upstream's "Build Failed" followed by the
 *     tail of the build log (a lab addition: upstream's message is only "Build Failed");
 *   - the MachineOSConfig's status gets currentImagePullSpec and machineOSBuild only on
 *     success, so a failed build leaves the pool on what it runs. A failed build is never
 *     retried (its conditions are immutable): a new one comes from a new Containerfile or base;
 *   - the MCO then rolls the pool to currentImagePullSpec (machineconfig.ts: the pool's OS
 *     image is the MachineOSConfig's current image). Upstream the pool's nodes take a new
 *     release only once its image is built on it: until then a layered pool is not at the
 *     new release and the upgrade does not complete (the CVO waits on machine-config). The
 *     lab records the release each build was made on (annotations below) and renders the pool
 *     at the release of the image it runs (layeredImageOf), so a failed rebuild on an upgrade
 *     holds the ClusterVersion at Progressing, as on a cluster.
 * References to the integrated registry (image-registry.openshift-image-registry.svc:5000)
 * in the push spec are the lab registry's `<prefix>/<ns>/<name>` (builds.ts's mapping); in
 * the Containerfile they are pulled through their ImageStream tags (builds.ts pullThrough).
 * The build's log is kept in the lab's build-log directory (upstream: the build Job's pod).
 * The build host's figures (images/build-host-figures.ts) are written on the MachineOSBuild
 * as the BUILD_HOST_FIGURES annotation before it turns Succeeded (or Failed: its figures up
 * to the failure); upstream's carry none.
 */
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type KubernetesObject, type V1ConfigMap } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { labStateDir } from '../../api-server/tls.js';
import { Buildah } from '../../images/buildah.js';
import { BUILD_HOST_FIGURES, failedBuildAnnotations, pushMeasured } from '../../images/build-host-figures.js';
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
/** Upstream (pkg/controller/build/constants): the MachineOSConfig's current build. */
export const CURRENT_BUILD_ANNOTATION = `${GROUP}/current-machine-os-build`;
/**
 * The lab's record, on each MachineOSBuild, of the release it builds on (the ConfigMap's
 * releaseVersion; upstream this is in the rendered MachineConfig the build is for).
 */
const LAB_BUILT_ON_RELEASE = 'kmodlab.io/lab-built-on-release';

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

/**
 * The image a pool's nodes run when a MachineOSConfig manages it — its last successful
 * build (undefined until then) — and the release that image was built on (undefined for a
 * build that did not record it).
 */
export function layeredImageOf(informers: SharedInformers, pool: string): { image: string; releaseVersion?: string } | undefined {
  const mosc = informers.list<Obj>(MACHINEOSCONFIGS).find((m) => m.spec?.machineConfigPool?.name === pool && !m.metadata?.deletionTimestamp);
  const image = mosc?.status?.currentImagePullSpec as string | undefined;
  if (!image) return undefined;
  const build = informers.list<Obj>(MACHINEOSBUILDS).find((b) => b.metadata?.name === mosc?.status?.machineOSBuild?.name);
  const releaseVersion = build?.metadata?.annotations?.[LAB_BUILT_ON_RELEASE] as string | undefined;
  return { image, ...(releaseVersion !== undefined ? { releaseVersion } : {}) };
}

/**
 * Why a pool that a MachineOSConfig manages is still updating while its image is built, in
 * upstream's words (release-4.19 pkg/controller/node/status.go calculateStatus): no build of
 * the MachineOSConfig yet → "waiting for a new OS image build to start"; its current build
 * Prepared or Building → "waiting for OS image build to complete". Undefined otherwise
 * (no MachineOSConfig, or its current build has ended: the nodes decide).
 */
export function layeredBuildWait(informers: SharedInformers, pool: string): string | undefined {
  const mosc = informers.list<Obj>(MACHINEOSCONFIGS).find((m) => m.spec?.machineConfigPool?.name === pool && !m.metadata?.deletionTimestamp);
  if (!mosc) return undefined;
  const current = mosc.metadata?.annotations?.[CURRENT_BUILD_ANNOTATION] as string | undefined;
  const build = current ? informers.list<Obj>(MACHINEOSBUILDS).find((b) => b.metadata?.name === current) : undefined;
  if (!build) return `Pool is waiting for a new OS image build to start (mosc: ${mosc.metadata!.name})`;
  const on = (type: string) => ((build.status?.conditions ?? []) as Obj[]).some((c) => c.type === type && c.status === 'True');
  // A build with no conditions yet was just created: upstream's state for it is Prepared.
  if (on('Building') || on('Prepared') || !(build.status?.conditions ?? []).length) return `Pool is waiting for OS image build to complete (mosb: ${current})`;
  return undefined;
}

type BuildState = 'Prepared' | 'Building' | 'Succeeded' | 'Failed';

/**
 * The five conditions upstream writes on every MachineOSBuild status, with their fixed
 * reasons and messages (release-4.19 pkg/apihelpers/machineosbuild.go
 * MachineOSBuild{Pending,Running,Succeeded,Failed}Conditions): `state`'s True, the rest False.
 * Each keeps its lastTransitionTime while its status does not change (SetMachineOSBuildCondition).
 */
const CONDITION_TEXT: Record<string, { reason: string; message: string }> = {
  Prepared: { reason: 'Prepared', message: 'Build Prepared and Pending' },
  Building: { reason: 'Building', message: 'Image Build In Progress' },
  Failed: { reason: 'Failed', message: 'Build Failed' },
  Interrupted: { reason: 'Interrupted', message: 'Build Interrupted' },
  Succeeded: { reason: 'Ready', message: 'Build Ready' },
};
function conditions(state: BuildState, previous: Obj[] = [], detail?: string): Obj[] {
  const now = rfc3339();
  return Object.entries(CONDITION_TEXT).map(([type, text]) => {
    const status = type === state ? 'True' : 'False';
    const before = previous.find((c) => c.type === type);
    return {
      type,
      status,
      reason: text.reason,
      message: type === state && detail ? `${text.message}\n${detail}` : text.message,
      lastTransitionTime: before && before.status === status ? before.lastTransitionTime : now,
    };
  });
}

/** Resolves when the wall clock is in a later whole second than `stamp` (metav1.Time precision; buildEnd must be after buildStart). */
async function afterSecond(stamp: string): Promise<void> {
  const next = Date.parse(stamp) + 1000;
  const wait = next - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
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

  private osImageUrl(): { base?: string; releaseVersion: string } {
    const cm = this.o.informers.list<V1ConfigMap>(PATHS.configmaps).find((c) => c.metadata?.namespace === MCO_NAMESPACE && c.metadata?.name === OSIMAGEURL_CONFIGMAP);
    return { base: cm?.data?.baseOSContainerImage, releaseVersion: cm?.data?.releaseVersion ?? '' };
  }

  private reconcile(): void {
    if (this.stopped) return;
    const { base, releaseVersion } = this.osImageUrl();
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
      // Per MachineOSConfig uid: one deleted and applied again (its builds gone with it) builds again.
      const started = `${mosc.metadata!.uid ?? ''}/${name}`;
      if (this.started.has(started) || builds.some((b) => b.metadata?.name === name)) continue;
      this.started.add(started);
      this.queue = this.queue.then(() => this.build(mosc, name, pool, pushSpec, base, releaseVersion, content)).catch((e: Error) => this.o.log?.(`machineosbuild ${name}: ${e.message.split('\n')[0]}`));
    }
  }

  /** The last conditions written per build (each keeps its lastTransitionTime while its status holds). */
  private readonly lastConditions = new Map<string, Obj[]>();

  private async setBuildStatus(name: string, state: BuildState, status: Obj, detail?: string): Promise<void> {
    const c = conditions(state, this.lastConditions.get(name), detail);
    this.lastConditions.set(name, c);
    await this.custom.patchClusterCustomObjectStatus({ ...G, plural: 'machineosbuilds', name, body: { status: { ...status, conditions: c } } }, this.merge);
  }

  private async build(mosc: Obj, name: string, pool: string, pushSpec: string, base: string, releaseVersion: string, content: string): Promise<void> {
    const config = mosc.metadata!.name!;
    await this.custom.createClusterCustomObject({
      ...G,
      plural: 'machineosbuilds',
      body: {
        apiVersion: `${GROUP}/v1`,
        kind: 'MachineOSBuild',
        metadata: {
          name,
          labels: { [LABEL_CONFIG]: config, [LABEL_POOL]: pool },
          annotations: { [LAB_BUILT_ON_RELEASE]: releaseVersion },
          ...(mosc.metadata?.uid ? { ownerReferences: [{ apiVersion: `${GROUP}/v1`, kind: 'MachineOSConfig', name: config, uid: mosc.metadata.uid, controller: true, blockOwnerDeletion: true }] } : {}),
        },
        spec: { machineConfig: { name: `rendered-${pool}` }, machineOSConfig: { name: config }, renderedImagePushSpec: pushSpec },
      },
    });
    const builder = { imageBuilderType: 'Job', job: { group: 'batch', resource: 'jobs', namespace: MCO_NAMESPACE, name: `build-${name}` } };
    await this.setBuildStatus(name, 'Prepared', { builder });
    // The MachineOSConfig's current build, from its start on (upstream: an annotation, set by a metadata update).
    await this.custom.patchClusterCustomObject({ ...G, plural: 'machineosconfigs', name: config, body: { metadata: { annotations: { [CURRENT_BUILD_ANNOTATION]: name } } } }, this.merge).catch((e: Error) => this.o.log?.(`machineosbuild ${name}: could not annotate MachineOSConfig ${config}: ${e.message.split('\n')[0]}`));
    const buildStart = rfc3339();
    await this.setBuildStatus(name, 'Building', { buildStart, builder });
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
      await afterSecond(buildStart);
      await this.setBuildStatus(name, 'Succeeded', { buildStart, buildEnd: rfc3339(), builder, digestedImagePushSpec: digested });
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
      // Its figures up to the failure, before it turns Failed (as for a Build, builds.ts).
      const annotations = failedBuildAnnotations(e);
      if (annotations) {
        await this.custom.patchClusterCustomObject({ ...G, plural: 'machineosbuilds', name, body: { metadata: { annotations } } }, this.merge).catch(() => undefined);
      }
      await afterSecond(buildStart);
      await this.setBuildStatus(name, 'Failed', { buildStart, buildEnd: rfc3339(), builder }, `${(e as Error).message.split('\n')[0]}\n${tail}`).catch(() => undefined);
      this.o.log?.(`machineosbuild ${name}: Failed: ${(e as Error).message.split('\n')[0]}; log ${logFile}`);
    } finally {
      this.lastConditions.delete(name);
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
