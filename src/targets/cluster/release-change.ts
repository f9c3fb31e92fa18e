/**
 * Moving a real cluster to another release — only ever on explicit request:
 *   - kernel switch: a MachineConfig `kernelType: realtime` for the pool (removing it
 *     switches back); the MCO renders a new config and rolls it out node by node
 *     (drain, reboot). Done when the pool's rendered config changed and every machine
 *     runs it. A cheap stand-in for an upgrade: same drain/reboot path, new kernel.
 *   - upgrade: a JSON merge patch of `ClusterVersion.spec.desiredUpdate`, as
 *     `oc adm upgrade --to` sends; done when the history's newest entry is that
 *     version, Completed.
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
}

type Pool = K8sObject & { spec?: { configuration?: { name?: string } }; status?: { configuration?: { name?: string } } };

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

export async function switchKernel(c: Common & { pool: string; realtime: boolean; timeoutMs?: number }): Promise<void> {
  const mc = realtimeMachineConfig(c.pool);
  const { find } = await pools(c);
  const before = await find(c.pool);
  if (!before) throw new UserError(`no MachineConfigPool ${c.pool} on ${c.label} (use the pool option: master on single-node OpenShift)`);
  const dry = c.client.dryRun ? { dryRun: 'server' } : {};
  if (c.realtime) {
    await c.client.apply('kernel-switch', mc);
    c.emit('apply', { objects: [`MachineConfig/${mc.metadata.name}`], kernelType: 'realtime', ...dry });
  } else {
    await c.client.delete('kernel-switch', mc, { waitMs: 60_000, pollMs: c.pollMs });
    c.emit('delete', { objects: [`MachineConfig/${mc.metadata.name}`], ...dry });
  }
  if (c.client.dryRun) return;
  const timeoutMs = c.timeoutMs ?? 2 * 3600_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = await find(c.pool).catch(() => undefined);
    const spec = p?.spec?.configuration?.name;
    if (p && spec !== before.spec?.configuration?.name && p.status?.configuration?.name === spec && poolUpdated(p as never)) return;
    if (Date.now() >= deadline) throw new Error(`MachineConfigPool ${c.pool} did not finish updating within ${Math.round(timeoutMs / 60_000)} min`);
    await sleep(c.pollMs ?? 10_000);
  }
}

export async function upgradeCluster(c: Common & { version: string; timeoutMs?: number }): Promise<void> {
  const cvRef = await c.client.mapping('config.openshift.io/v1', 'ClusterVersion');
  await c.client.request('upgrade', {
    method: 'PATCH',
    ref: cvRef,
    name: 'version',
    body: { spec: { desiredUpdate: { version: c.version } } },
    contentType: 'application/merge-patch+json',
  });
  c.emit('progress', { step: `ClusterVersion desiredUpdate set to ${c.version}${c.client.dryRun ? ' (dry run)' : ''}` });
  if (c.client.dryRun) return;
  const timeoutMs = c.timeoutMs ?? 4 * 3600_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const cv = (await c.client.get('read-clusterversion', cvRef, 'version').catch(() => undefined)) as { status?: { history?: { version?: string; state?: string }[] } } | undefined;
    const h = cv?.status?.history?.[0];
    if (h?.version === c.version && h.state === 'Completed') return;
    if (Date.now() >= deadline) throw new Error(`the upgrade to ${c.version} did not complete within ${Math.round(timeoutMs / 60_000)} min`);
    await sleep(c.pollMs ?? 15_000);
  }
}
