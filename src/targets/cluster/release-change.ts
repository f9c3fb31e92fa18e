/**
 * Moving a real cluster to another release — only ever on explicit request:
 *   - kernel switch: a MachineConfig `kernelType: realtime` for the pool (removing it
 *     switches back); the MCO renders a new config and rolls it out node by node
 *     (drain, reboot). Done when the pool's rendered config changed and every machine
 *     runs it. A cheap stand-in for an upgrade: same drain/reboot path, new kernel.
 *     A paused pool (spec.paused) gets its rendered config but no node is updated
 *     (machine-config-operator release-4.14, node controller: "pool is paused; will
 *     not update"): refused up front, and a pool paused mid-rollout ends the wait.
 *   - upgrade: a JSON merge patch of `ClusterVersion.spec.desiredUpdate`, as
 *     `oc adm upgrade --to` sends (openshift/oc pkg/cli/admin/upgrade/upgrade.go: it
 *     takes the update from status.availableUpdates and patches its version AND image —
 *     with a version only, a stale desiredUpdate.image from an earlier --to-image would
 *     win, the API documents that the version is then "silently ignored"). A version not
 *     among availableUpdates is refused, as oc does. The CVO reports a payload it cannot
 *     use as ReleaseAccepted=False: that ends the wait. Done when the history's newest
 *     entry is that version, Completed.
 * A pool under on-cluster layering rolls a new config only once its MachineOSBuild for it
 * succeeded; a failed one is never retried (its conditions are immutable), so `blocked`
 * (the cluster target: a failed MachineOSBuild of the pool created since the change began)
 * ends either wait instead of letting it run into its timeout.
 * Both poll through API outages (a single-node cluster's API is down while it reboots).
 * With --dry-run=server the request is made with dryRun=All and nothing is waited for.
 */
import type { K8sObject } from '../../artifacts/artifact-set.js';
import { UserError } from '../../errors.js';
import { LABEL_MANAGED_BY } from '../../labels.js';
import type { TargetEmit } from '../target.js';
import { sleep, type KubeClient, type ResourceRef } from './client.js';
import { poolUpdated } from './observers.js';

interface Common {
  client: KubeClient;
  emit: TargetEmit;
  /** Target label, for messages. */
  label: string;
  pollMs?: number;
  /**
   * What makes the wait pointless (e.g. the pool's MachineOSBuild failed: the MCO rolls no
   * node until a new build succeeds, and a failed one is never retried): non-empty ends the
   * wait with an error quoting it.
   */
  blocked?: () => string[];
}

function endIfBlocked(c: Common, what: string): void {
  const why = c.blocked?.() ?? [];
  if (why.length) throw new Error(`${what} cannot complete: ${why.join('; ')}`);
}

type Pool = K8sObject & { spec?: { paused?: boolean; configuration?: { name?: string } }; status?: { configuration?: { name?: string } } };

function pausedError(pool: string, label: string): UserError {
  return new UserError(
    `MachineConfigPool ${pool} on ${label} is paused (spec.paused: true): the Machine Config Operator renders the new config but updates no node while it is paused`,
    `unpause it (oc patch mcp/${pool} --type merge -p '{"spec":{"paused":false}}') or run the kernel switch when maintenance allows`,
  );
}

export function realtimeMachineConfig(pool: string): K8sObject & Record<string, unknown> {
  return {
    apiVersion: 'machineconfiguration.openshift.io/v1',
    kind: 'MachineConfig',
    metadata: { name: `99-kmodlab-${pool}-kernel-realtime`, labels: { 'machineconfiguration.openshift.io/role': pool, [LABEL_MANAGED_BY]: 'kmodlab' } },
    spec: { kernelType: 'realtime' },
  };
}

async function pools(c: Common): Promise<{ ref: ResourceRef; find: (name: string) => Promise<Pool | undefined> }> {
  const ref = await c.client.mapping('machineconfiguration.openshift.io/v1', 'MachineConfigPool').catch(() => undefined);
  if (!ref) throw new UserError(`${c.label} has no MachineConfigPools (not OpenShift?): the kernel switch needs the Machine Config Operator`);
  return { ref, find: async (name) => (await c.client.list('watch-machineconfigpools', ref)).items.find((x) => x.metadata.name === name) as Pool | undefined };
}

/**
 * `cleanup`: the revert of a realtime kernel an earlier scenario left (clean-state.ts), not
 * the scenario's own action: its delete event says so, so that it is never taken as an
 * uninstall's removal (metrics/segments.ts findTrigger) and its reboot is not the method's.
 */
export async function switchKernel(c: Common & { pool: string; realtime: boolean; timeoutMs?: number; cleanup?: boolean }): Promise<void> {
  const mc = realtimeMachineConfig(c.pool);
  const { find } = await pools(c);
  const before = await find(c.pool);
  if (!before) throw new UserError(`no MachineConfigPool ${c.pool} on ${c.label} (use the pool option: master on single-node OpenShift)`);
  if (before.spec?.paused === true) throw pausedError(c.pool, c.label);
  const dry = c.client.dryRun ? { dryRun: 'server' } : {};
  if (c.realtime) {
    await c.client.apply('kernel-switch', mc);
    c.emit('apply', { objects: [`MachineConfig/${mc.metadata.name}`], kernelType: 'realtime', ...dry });
  } else {
    await c.client.delete('kernel-switch', mc, { waitMs: 60_000, pollMs: c.pollMs });
    c.emit('delete', { objects: [`MachineConfig/${mc.metadata.name}`], ...(c.cleanup ? { cleanup: true } : {}), ...dry });
  }
  if (c.client.dryRun) return;
  const timeoutMs = c.timeoutMs ?? 2 * 3600_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = await find(c.pool).catch(() => undefined);
    const spec = p?.spec?.configuration?.name;
    if (p && spec !== before.spec?.configuration?.name && p.status?.configuration?.name === spec && poolUpdated(p as never)) return;
    if (p?.spec?.paused === true) throw pausedError(c.pool, c.label);
    endIfBlocked(c, `the rollout of MachineConfigPool ${c.pool}`);
    if (Date.now() >= deadline) throw new Error(`MachineConfigPool ${c.pool} did not finish updating within ${Math.round(timeoutMs / 60_000)} min`);
    await sleep(c.pollMs ?? 10_000);
  }
}

type Condition = { type?: string; status?: string; reason?: string; message?: string };
type ClusterVersion = K8sObject & {
  status?: {
    history?: { version?: string; state?: string }[];
    availableUpdates?: { version?: string; image?: string }[] | null;
    conditionalUpdates?: { release?: { version?: string } }[];
    conditions?: Condition[];
  };
};

export async function upgradeCluster(c: Common & { version: string; timeoutMs?: number }): Promise<void> {
  const cvRef = await c.client.mapping('config.openshift.io/v1', 'ClusterVersion');
  const cv = (await c.client.get('read-clusterversion', cvRef, 'version')) as ClusterVersion | undefined;
  if (!cv) throw new UserError(`${c.label} has no ClusterVersion "version" (not OpenShift?): cannot upgrade`);
  const available = cv.status?.availableUpdates ?? [];
  const update = available.find((u) => u.version === c.version);
  if (!update?.image) {
    const conditional = (cv.status?.conditionalUpdates ?? []).some((u) => u.release?.version === c.version);
    const offered = available.map((u) => u.version).filter(Boolean);
    throw new UserError(
      `--upgrade-to ${c.version}: not an available update of ${c.label}${conditional ? ' (it is a conditional update: the update service lists known risks for it)' : ''}; available: ${offered.length > 0 ? offered.join(', ') : 'none'}`,
      'pick one of the available updates (oc adm upgrade lists them), or change the channel',
    );
  }
  const acceptedBefore = JSON.stringify(releaseAccepted(cv) ?? null);
  await c.client.request('upgrade', {
    method: 'PATCH',
    ref: cvRef,
    name: 'version',
    body: { spec: { desiredUpdate: { version: update.version, image: update.image, force: false } } },
    contentType: 'application/merge-patch+json',
  });
  c.emit('progress', { step: `ClusterVersion desiredUpdate set to ${c.version}${c.client.dryRun ? ' (dry run)' : ''}` });
  if (c.client.dryRun) return;
  const timeoutMs = c.timeoutMs ?? 4 * 3600_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = (await c.client.get('read-clusterversion', cvRef, 'version').catch(() => undefined)) as ClusterVersion | undefined;
    const h = now?.status?.history?.[0];
    if (h?.version === c.version && h.state === 'Completed') return;
    const acc = now ? releaseAccepted(now) : undefined;
    if (acc?.status === 'False' && JSON.stringify(acc) !== acceptedBefore) {
      throw new Error(`the cluster did not accept the release ${c.version}: ReleaseAccepted=False${acc.reason ? ` (${acc.reason})` : ''}: ${acc.message ?? ''}`);
    }
    endIfBlocked(c, `the upgrade to ${c.version}`);
    if (Date.now() >= deadline) throw new Error(`the upgrade to ${c.version} did not complete within ${Math.round(timeoutMs / 60_000)} min`);
    await sleep(c.pollMs ?? 15_000);
  }
}

function releaseAccepted(cv: ClusterVersion): Condition | undefined {
  return cv.status?.conditions?.find((x) => x.type === 'ReleaseAccepted');
}
