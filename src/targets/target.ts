/**
 * The Target interface: where rendered artifacts are realized and observed. Two
 * implementations: `lab` (QEMU nodes + emulated control plane, the default) and
 * `cluster` (a real OpenShift/Kubernetes cluster). Scenarios in evaluation/ talk to a
 * target only through this interface; a target never knows which method rendered the
 * artifacts it is given. Everything a target sees is reported through the Recorder
 * hook it was created with (events.jsonl), never returned as a figure.
 */
import type { ArtifactSet } from '../artifacts/artifact-set.js';
import type { EventKind, RowId, ScenarioId } from '../evaluation/events.js';
import type { Release } from '../release/release.js';

/** How a target reports what it does and sees; the evaluation adds method/scenario. */
export type TargetEmit = (kind: EventKind, data: Record<string, unknown>, node?: string) => void;

/**
 * A release change the method's own artifacts hold up: e.g. an on-cluster layering pool
 * whose image build on the new release failed keeps its nodes where they are, and the
 * upgrade waits for a person (a failed MachineOSBuild is never retried). The target has
 * recorded the manual step that unblocks it; the scenario records the outcome (the
 * driver not restored) instead of failing, as a method that does not follow upgrades is
 * a result of the evaluation, not an error in it.
 */
export class ReleaseChangeHeld extends Error {
  override readonly name = 'ReleaseChangeHeld';
}

export interface TargetReleases {
  /** The release scenarios start from. */
  from: Release;
  /** A later release with a new kernel (z-stream upgrade), if the target can do one. */
  upgradeTo?: Release;
  /** The same release's realtime kernel (kernel switch), if available. */
  realtime?: Release;
}

export interface WaitResult {
  /** True when the condition held on every node before the timeout. */
  ok: boolean;
  /** Nodes where it did not hold. */
  pending: string[];
  /**
   * Not ok, and ended before the timeout because the target knows nothing more can
   * happen without an outside action: why, and after how long.
   */
  settled?: { reason: string; afterMs: number };
  /**
   * Not ok: what the target saw holding the driver up when the wait ended (cluster: pods
   * failing to pull their image, degraded MachineConfigPools), each with its evidence.
   */
  blockedBy?: string[];
}

export interface Target {
  readonly kind: 'lab' | 'cluster';
  /** Shown next to every duration, e.g. `lab (QEMU TCG)` or `cluster (my-context)`. */
  readonly label: string;
  /**
   * The OpenShift version whose semantics the target's control plane follows, for
   * variants that need one when its releases name none (the lab's kernels are no
   * OpenShift release); a real cluster's releases name their own.
   */
  readonly openshiftVersion?: string;
  /** Node names, as the target knows them. */
  nodes(): string[];
  releases(): TargetReleases;
  /**
   * Start from a clean state on `release` (lab: fresh nodes; cluster: verifies nothing
   * of the driver is left). Day-1 artifacts, if given, are present from the first boot.
   */
  /**
   * `row`: the row the scenario evaluates; a target that keeps a row's artifacts applied
   * between its scenarios must not start another row's scenario with them still there.
   */
  reset(opts: { release: Release; day1?: ArtifactSet; row?: RowId }): Promise<void>;
  /** `oc apply` the Day-2 objects (and run the README's build steps the target can run). */
  apply(set: ArtifactSet): Promise<void>;
  /** `oc delete` the objects, waiting for finalization. */
  remove(set: ArtifactSet): Promise<void>;
  /** Move the cluster to another release (upgrade or kernel switch). */
  changeRelease(to: Release, why: 'upgrade' | 'kernel-switch'): Promise<void>;
  /** Wait until every module is loaded (or unloaded) on every node. */
  waitForModules(modules: string[], want: { loaded: boolean; timeoutMs: number }): Promise<WaitResult>;
  /**
   * Take samples now (module state, resident memory/CPU, node memory, canary).
   * `modules: false` skips the module-state probe (a probe pod per node on a cluster,
   * seconds each): for samples taken while module state is already known.
   * `closing`: the scenario's last observation; resource samples are taken over whatever
   * is left of the window, after waiting for the target's minimum window where the target
   * allows that wait (the lab: a few seconds).
   */
  observe(opts?: { modules?: boolean; closing?: boolean }): Promise<void>;
  /**
   * The shortest window a resource sample spans (Prometheus: enough scrapes to hold the
   * window's own points); a shorter one waits for the next observation. Steady-state
   * sampling takes no more rounds than fit whole windows in it (sampleSteadyState).
   */
  readonly resourceWindowMs?: number;
  close(): Promise<void>;

  // Optional capabilities (a real cluster can be read-only or dry-run):
  /** Scenarios the target cannot run, with why (default: it runs them all). */
  scenarioSupport?(): Partial<Record<ScenarioId, { supported: boolean; reason?: string }>>;
  /** False when module presence on the nodes cannot be observed (dry-run, observe-only). */
  readonly observesModules?: boolean;
  /** Observe-only: nothing is applied; scenarios `follow` what someone else applies. */
  readonly observeOnly?: boolean;
  /**
   * The kernel each node the method targets reports now (a Node's status.nodeInfo.kernelVersion):
   * after a release change, a node still on its old kernel although the driver is loaded
   * (an OS image that pins its own kernel) needs a person to rebuild and roll out again.
   */
  nodeKernels?(): Map<string, string>;
  /** What is left on the nodes of the driver and its delivery (after a removal); undefined: it cannot tell. */
  leftovers?(): Promise<string[] | undefined>;
  /** Watch the objects of a set that someone else applies or removes. */
  follow?(set: ArtifactSet): Promise<void>;
  /**
   * Read, at the end of each scenario, what only the end of it can say (lab: the registry
   * storage the row's images use so far), recorded through the target's emit.
   */
  afterScenario?(): Promise<void>;
}
