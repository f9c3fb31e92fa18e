/**
 * The lab through its Kubernetes API: `kmodlab lab up` (QEMU nodes, the lab's API server
 * and controllers) with the cluster target pointed at it — the same code a user's
 * OpenShift cluster gets. This file adds only what a cluster cannot do for itself:
 *
 * - bring the lab up on the kernel a scenario starts from, and bring it up again when a
 *   scenario left it on another one (a real cluster is never downgraded after an
 *   upgrade; the lab simply starts fresh nodes);
 * - name the lab release (`kmodlab lab release-info`) the artifacts are rendered for;
 * - point probe pods and canaries at the lab release's runtime base image (the lab's
 *   nodes pull from the lab registry; ubi-minimal is not there);
 * - perform the README's off-cluster steps (layering's build.sh, KMM's source image) with
 *   buildah into the lab registry, where a person would run podman against theirs; the
 *   cluster target still records them as manual steps (performed by kmodlab);
 * - install: Day 1 brings up a fresh lab with the set's installer manifests
 *   (`kmodlab lab up --manifests <dir>`), created through the API before the nodes join,
 *   after the README's off-cluster builds (the images the manifests pull must exist first);
 * - offer the upgrade the lab's ClusterVersion lists (the next kernel's lab release), as
 *   `--upgrade-to <version> --yes-upgrade-my-cluster` does on a cluster.
 *
 * A lab someone else started (`kmodlab lab up` by hand) is used as it is and never
 * stopped or restarted; one this target started is stopped by close().
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { allObjects, artifactText, type ArtifactSet } from '../../artifacts/artifact-set.js';
import { manualStepsOf } from '../../artifacts/manual-steps.js';
import type { LoadedDriver } from '../../driver/load.js';
import type { RenderOptionsInput } from '../../methods/method.js';
import { UserError } from '../../errors.js';
import { BASELINE, type RowId, type ScenarioId } from '../../evaluation/events.js';
import type { Release } from '../../release/release.js';
import { resolveRelease } from '../../release/resolve.js';
import { ClusterTarget, type ScenarioSupport } from '../cluster/cluster-target.js';
import { refusePlaceholders } from '../cluster/placeholder-guard.js';
import { CRASH_LOOP_RESTARTS } from '../cluster/settled.js';
import type { Target, TargetEmit, TargetReleases, WaitResult } from '../target.js';
import { labReleaseInfoFor } from './images/lab-release.js';
import { labOffClusterBuild } from './images/off-cluster-hook.js';
import { openRegistry, type LabRegistry } from './images/registry.js';
import { registryManifests, registryStorageOf } from './images/registry-storage.js';
import { labImageRef } from './control-plane/api-controllers/machineosconfig.js';
import { labReleaseVersion } from './images/release-info.js';
import type { LabKernel } from './kernels/catalog.js';
import { LAB_POD_TIMING } from './kubelet/pod-manager.js';
import { LAB_SCRAPE_INTERVAL_S } from './metrics/prometheus-server.js';
import { nodeNames } from './node/provider.js';
import { runningPid, startLab, stopLab, stopOnExit } from './up/background.js';
import { readState } from './up/state.js';

export const LAB_API_LABEL = 'lab (QEMU TCG)';


export interface LabApiTargetOptions {
  runDir: string;
  driver: LoadedDriver;
  emit: TargetEmit;
  nodes?: number;
  memoryMB?: number;
  kernels: { from: LabKernel; upgradeTo?: LabKernel; realtime?: LabKernel };
  /** Where `lab up` writes the kubeconfig (default: in the run directory). */
  kubeconfig?: string;
  /**
   * Between two reads of an object's state (a build, a pool, a deletion, a probe pod's phase):
   * default 500 ms. The lab API is on this host, so a read costs it little; at 2 s a wait saw
   * its object done a second late on average, and a scenario waits a few dozen times.
   */
  pollMs?: number;
  /** Between two rounds of probe pods (default 2 s): each is a pod start on a TCG node. */
  probeIntervalMs?: number;
  /** Longest wait for the lab to be up (default 5 min per round of node boots). */
  upTimeoutMs?: number;
}

interface LabReleases {
  from: Release;
  upgradeTo?: Release;
  realtime?: Release;
}

/** The lab release of `kernel` as `render --release-info <(kmodlab lab release-info <kernel>)` reads it. */
async function labReleaseOf(kernel: LabKernel, dir: string): Promise<Release> {
  const file = path.join(dir, `release-info-${kernel.kver}.json`);
  writeFileSync(file, `${JSON.stringify(await labReleaseInfoFor(kernel.kver), null, 2)}\n`);
  return resolveRelease({ releaseInfoFile: file });
}

/**
 * Whether a running lab stands where a scenario starts: its nodes on `kernel` and, when the
 * API says, its ClusterVersion at that kernel's lab release. Both are needed: an upgrade of
 * a pool whose MachineConfig pins its own OS image (off-cluster layering) completes with the
 * ClusterVersion at the new release while the nodes keep the pinned kernel, and a scenario
 * started there could not upgrade again (the release it would go to is the current one).
 */
export function labStandsAt(running: { kernel?: string; version?: string } | undefined, kernel: string): boolean {
  if (running?.kernel !== kernel) return false;
  return running.version === undefined || running.version === labReleaseVersion(kernel);
}

/**
 * Whether the next scenario may run on the running lab: it stands where the scenario starts
 * (labStandsAt) and holds no other row's artifacts — the cluster target keeps a row's
 * objects applied from one of its scenarios to the next (they re-apply the same set), so a
 * scenario of another row would otherwise be measured with them (e.g. the off-cluster
 * layered image still booted under on-cluster layering).
 */
export function labReusable(running: { kernel?: string; version?: string } | undefined, kernel: string, rows: { previous?: RowId; next?: RowId; applied: boolean }): boolean {
  if (!labStandsAt(running, kernel)) return false;
  return !(rows.applied && rows.previous !== undefined && rows.next !== undefined && rows.previous !== rows.next);
}

/** The lab's minimum Prometheus window: two of its 2 s scrapes. */
const LAB_PROMETHEUS_WINDOW_MS = 2 * LAB_SCRAPE_INTERVAL_S * 1000;

export class LabApiTarget implements Target {
  readonly kind = 'lab' as const;
  readonly label = LAB_API_LABEL;
  /**
   * The OpenShift version the lab's API answers for where a rendering depends on it: its
   * MachineOSConfig controller follows the MCO of OpenShift 4.19 (GA
   * machineconfiguration.openshift.io/v1, single-node supported;
   * control-plane/api-controllers/machineosconfig.ts).
   */
  readonly openshiftVersion = '4.19.0';
  private cluster: ClusterTarget | undefined;
  /** True when this target started the running lab (and may stop or restart it). */
  private startedLab = false;

  /** The images the current row's builds pushed (digest references in the lab registry). */
  private rowImages: string[] = [];
  /** opts.emit, noting the images builds report (for the registry storage they use). */
  private readonly emit: TargetEmit;

  private constructor(
    private readonly opts: LabApiTargetOptions,
    private readonly labReleases: LabReleases,
    private readonly registry: LabRegistry,
  ) {
    this.emit = (kind, data, node) => {
      if (kind === 'build' && data['ok'] === true && typeof data['image'] === 'string') this.rowImages.push(labImageRef(data['image'], registry.prefix));
      opts.emit(kind, data, node);
    };
  }

  /** Reads the lab releases of the chosen kernels (their images must be set up: `kmodlab lab setup`). */
  static async create(opts: LabApiTargetOptions): Promise<LabApiTarget> {
    const dir = path.join(opts.runDir, 'lab');
    mkdirSync(dir, { recursive: true });
    const { from, upgradeTo, realtime } = opts.kernels;
    const registry = await openRegistry();
    try {
      return new LabApiTarget(
        opts,
        {
          from: await labReleaseOf(from, dir),
          // The version the lab's ClusterVersion offers it as (availableUpdates).
          ...(upgradeTo ? { upgradeTo: { ...(await labReleaseOf(upgradeTo, dir)), version: labReleaseVersion(upgradeTo.kver) } } : {}),
          ...(realtime ? { realtime: await labReleaseOf(realtime, dir) } : {}),
        },
        registry,
      );
    } catch (e) {
      await registry.stop();
      throw e;
    }
  }

  nodes(): string[] {
    return nodeNames(this.opts.nodes ?? 1);
  }

  releases(): TargetReleases {
    return { ...this.labReleases };
  }

  /** The pool the nodes are in: single-node → master (SNO), as the cluster target would choose. */
  pool(): 'master' | 'worker' {
    return (this.opts.nodes ?? 1) === 1 ? 'master' : 'worker';
  }

  /** Repository prefix for the images the README asks a person to build and push (the lab registry). */
  imageRegistry(): string {
    return this.registry.prefix;
  }

  /**
   * What `evaluate` renders with for the lab: the pool the nodes are in, and the lab
   * registry both for the images a README asks a person to build (the target builds them
   * there) and for Day-1 manifests, which pull at install time from the registry the
   * lab's nodes and its KMM operator reach.
   */
  evaluationOptions(): { render: RenderOptionsInput; day1Registry: string } {
    return { render: { pool: this.pool(), registry: this.imageRegistry() }, day1Registry: this.imageRegistry() };
  }

  scenarioSupport(): Partial<Record<ScenarioId, ScenarioSupport>> {
    return {
      day1: { supported: true },
      ...(this.labReleases.upgradeTo ? {} : { upgrade: { supported: false, reason: 'no newer kernel of the same series in the lab' } }),
      ...(this.labReleases.realtime ? {} : { 'kernel-switch': { supported: false, reason: 'no realtime kernel in the lab' } }),
    };
  }

  private live(): ClusterTarget {
    if (!this.cluster) throw new Error('lab target: reset() first');
    return this.cluster;
  }

  private kubeconfig(): string {
    // A lab someone started by hand: the kubeconfig it wrote.
    if (!this.startedLab && runningPid() !== undefined) {
      const theirs = readState()?.kubeconfig;
      if (theirs) return theirs;
    }
    return this.opts.kubeconfig ?? path.join(this.opts.runDir, 'lab', 'kubeconfig');
  }

  /** The kernel the running lab's nodes booted (as `lab up` recorded it), if it runs. */
  private runningKernel(): string | undefined {
    if (runningPid() === undefined) return undefined;
    const kernels = [...new Set((readState()?.nodes ?? []).map((n) => n.kernel))];
    return kernels.length === 1 ? kernels[0] : undefined;
  }

  private async up(kernel: string, manifests?: string): Promise<void> {
    const nodes = this.opts.nodes ?? 1;
    const args = ['--port', '0', '--nodes', String(nodes), '--memory', String(this.opts.memoryMB ?? 256), '--kernel', kernel, ...(manifests ? ['--manifests', manifests] : [])];
    this.emit('progress', { step: `lab up: the API and ${nodes} node(s) booting ${kernel}${manifests ? `, installer manifests from ${manifests}` : ''}` });
    // An interrupted run (Ctrl-C) does not reach close(): the lab it starts goes with it,
    // from the moment it is spawned (a Ctrl-C while it boots included).
    await startLab(this.kubeconfig(), args, this.opts.upTimeoutMs ?? 60_000 + 240_000, (pid) => {
      this.cancelStopOnExit = stopOnExit(pid);
    });
    this.startedLab = true;
  }
  private cancelStopOnExit: (() => void) | undefined;

  private async down(): Promise<void> {
    // A lab this target started is stopped next: nothing applied to it needs deleting.
    await this.cluster?.close({ discarding: this.startedLab });
    this.cluster = undefined;
    this.notReusable = false;
    if (this.startedLab) await stopLab();
    this.cancelStopOnExit?.();
    this.cancelStopOnExit = undefined;
    this.startedLab = false;
  }

  async reset(opts: { release: Release; day1?: ArtifactSet; row?: RowId }): Promise<void> {
    const want = opts.release.kernelVersion;
    if (!want) throw new Error('lab release without a kernel version');
    const previous = this.row;
    this.row = opts.row ?? this.row;
    if (this.row !== previous) this.rowImages = [];
    if (opts.day1) return this.install(want, opts.release, opts.day1);
    // What the nodes run now, as the API reports it (an upgrade or a kernel switch moved
    // them); a lab installed with Day-1 manifests is never reused (they are not kmodlab's to
    // remove), nor one whose release change did not complete (e.g. an upgrade held up by a
    // failed MachineOSBuild: its ClusterVersion is still working towards the new release).
    const current = this.cluster?.releases().from;
    const running = this.notReusable ? undefined : current ? { kernel: current.kernelVersion, version: current.version } : { kernel: this.runningKernel() };
    const rows = { previous, next: opts.row, applied: this.cluster?.holdsApplied() ?? false };
    // A lab someone started is never restarted for another row: it is used as it is.
    if (!labReusable(running, want, rows) && (this.startedLab || !labStandsAt(running, want))) {
      if (running?.kernel !== undefined && !this.startedLab) {
        throw new UserError(`a lab is already up on ${running.kernel}${running.version && running.version !== running.kernel ? ` (release ${running.version})` : ''}, but the scenario starts on ${want}`, 'run `kmodlab lab down` first, or pass --kernel ' + running.kernel);
      }
      await this.down();
      await this.up(want);
    }
    await this.connect();
    await this.cluster!.reset({ release: opts.release });
  }

  private installs = 0;
  /** The row of the last scenario reset for. */
  private row: RowId | undefined;

  /**
   * Day 1: a fresh lab whose API holds the set's installer manifests before the nodes join
   * (`lab up --manifests`, install-manifests.ts), as openshift-install does with the files a
   * person copies into `<install-dir>/openshift/`. The README's off-cluster builds come
   * first (the images the manifests pull must be in the registry at install time) and are
   * recorded as the manual steps they are, as the cluster target records Day-2 ones.
   */
  private async install(kernel: string, release: Release, rendered: ArtifactSet): Promise<void> {
    if (runningPid() !== undefined && !this.startedLab) {
      throw new UserError('day1 installs a fresh lab, but a lab someone started is already up', 'run `kmodlab lab down` first');
    }
    const src = this.opts.driver.sourceDir;
    const built = src ? await labOffClusterBuild(rendered, this.emit, { registry: this.registry, sourceDir: src }) : undefined;
    const set = built?.set ?? rendered;
    refusePlaceholders(set);
    for (const s of manualStepsOf(set, 'day1', src)) this.emit('manual-step', { ...s, performedBy: built?.performed.includes(s.command) ? 'kmodlab' : 'user' });
    // The installer's openshift/ directory: the Day-1 files, flat, by their own names.
    const dir = path.join(this.opts.runDir, 'lab', `install-${String(++this.installs).padStart(2, '0')}`, 'openshift');
    mkdirSync(dir, { recursive: true });
    for (const f of set.files.filter((x) => x.phase === 'day1' && x.objects?.length)) writeFileSync(path.join(dir, path.basename(f.path)), artifactText(f));
    this.emit('apply', { objects: allObjects(set, 'day1').map((o) => `${o.kind}/${o.metadata.name}`), phase: 'day1' });
    await this.down();
    await this.up(kernel, dir);
    this.notReusable = true;
    await this.connect();
    await this.cluster!.reset({ release });
    await this.cluster!.follow(set);
  }
  /** The running lab was installed with Day-1 manifests, or a release change on it did not complete: the next scenario gets a fresh one. */
  private notReusable = false;

  /** Points the cluster target at the running lab (once per lab up). */
  private async connect(): Promise<void> {
    if (!this.cluster) {
      const image = this.labReleases.from.runtimeBaseImage;
      const src = this.opts.driver.sourceDir;
      this.cluster = await ClusterTarget.connect({
        kubeconfig: this.kubeconfig(),
        emit: this.emit,
        driverSourceDir: this.opts.driver.sourceDir,
        ...(src ? { offClusterBuild: (set: ArtifactSet, emit: TargetEmit) => labOffClusterBuild(set, emit, { registry: this.registry, sourceDir: src }) } : {}),
        ...(this.labReleases.upgradeTo?.version ? { upgradeTo: this.labReleases.upgradeTo.version, confirmUpgrade: true } : {}),
        ...(image ? { probeImage: image, canaryImage: image } : {}),
        probeIntervalMs: this.opts.probeIntervalMs ?? 2_000,
        pollMs: this.opts.pollMs ?? 500,
        // The grace before a wait ends as settled, at the lab kubelet's scale: a container
        // seen crash-looping (CRASH_LOOP_RESTARTS restarts) is next tried after
        // backoffMs·2^restarts (8 s; the back-off doubles from 1 s), so one more try falls
        // inside the window; the lab's controllers resync every 5 s.
        settleGraceMs: LAB_POD_TIMING.backoffMs * 2 ** CRASH_LOOP_RESTARTS,
        readyzIntervalMs: 1_000,
        // The lab's Prometheus scrapes every 2 s: two scrapes make a window, and a scenario's
        // closing observation may wait for all of it (so it stays short).
        ...(readState()?.prometheusUrl ? { prometheusUrl: readState()!.prometheusUrl, prometheusMinWindowMs: LAB_PROMETHEUS_WINDOW_MS, closingWaitMs: LAB_PROMETHEUS_WINDOW_MS, prometheusStepS: LAB_SCRAPE_INTERVAL_S } : {}),
      });
    }
  }

  apply(set: ArtifactSet): Promise<void> {
    return this.live().apply(set);
  }

  remove(set: ArtifactSet): Promise<void> {
    return this.live().remove(set);
  }

  async changeRelease(to: Release, why: 'upgrade' | 'kernel-switch'): Promise<void> {
    try {
      await this.changeReleaseOf(this.live(), to, why);
    } catch (e) {
      this.notReusable = true;
      throw e;
    }
  }

  private async changeReleaseOf(cluster: ClusterTarget, to: Release, why: 'upgrade' | 'kernel-switch'): Promise<void> {
    if (why === 'upgrade') {
      const upgrade = cluster.releases().upgradeTo;
      if (!upgrade || to.kernelVersion !== this.labReleases.upgradeTo?.kernelVersion) throw new UserError(`upgrade on ${this.label}: ${this.scenarioSupport().upgrade?.reason ?? `no lab release of ${to.kernelVersion ?? '?'}`}`);
      await cluster.changeRelease(upgrade, why);
      return;
    }
    // The cluster target switches kernels with a `kernelType: realtime` MachineConfig; its
    // realtime release is a marker for that, the lab's is the realtime kernel itself.
    const realtime = to.kernelVersion !== undefined && to.kernelVersion === this.labReleases.realtime?.kernelVersion;
    const target = realtime ? cluster.releases().realtime : cluster.releases().from;
    if (!target) throw new Error(`${this.label}: the cluster target offers no realtime kernel switch`);
    await cluster.changeRelease(target, why);
  }

  waitForModules(modules: string[], want: { loaded: boolean; timeoutMs: number }): Promise<WaitResult> {
    return this.live().waitForModules(modules, want);
  }

  get resourceWindowMs(): number {
    return LAB_PROMETHEUS_WINDOW_MS;
  }

  observe(opts?: { modules?: boolean; closing?: boolean }): Promise<void> {
    return this.live().observe(opts);
  }

  /**
   * The registry storage the row's images use beyond the lab release's images, read from
   * the registry after each scenario (images/registry-storage.ts). The baseline builds nothing.
   */
  async afterScenario(): Promise<void> {
    if (this.row === BASELINE) return;
    const release = [this.labReleases.from, this.labReleases.upgradeTo, this.labReleases.realtime].flatMap((r) => (r ? [r.rhcosImage, r.driverToolkitImage, r.runtimeBaseImage] : [])).filter((x): x is string => !!x);
    try {
      const s = await registryStorageOf(this.rowImages, release, registryManifests(() => this.registry.insecure));
      this.emit('registry-storage', { ...s });
    } catch (e) {
      this.emit('registry-storage', { bytes: 0, blobs: 0, images: [...new Set(this.rowImages)], error: (e as Error).message.split('\n')[0] });
    }
  }

  nodeKernels(): Map<string, string> {
    return this.live().nodeKernels();
  }

  leftovers(): Promise<string[] | undefined> {
    return this.live().leftovers();
  }

  async close(): Promise<void> {
    await this.down();
    await this.registry.stop();
  }
}
