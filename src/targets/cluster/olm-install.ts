/**
 * Installing an operator through OLM, as a cluster does it:
 *   - one OperatorGroup per namespace: with two, OLM fails every CSV there with reason
 *     TooManyOperatorGroups (OLM docs, "Operator groups — Troubleshooting — Membership").
 *     An OperatorGroup or Subscription someone already created is reused, never duplicated;
 *   - a Subscription only starts the install: OLM resolves it, creates the CSV
 *     (`status.installedCSV` / `currentCSV` on the Subscription), and creates the
 *     operator's CRDs as part of installing that CSV; the CSV reaches phase `Succeeded`
 *     when the operator's deployments are available (OLM docs, "Operator Lifecycle
 *     Manager workflow", ClusterServiceVersion phases). Until then the operator's kinds
 *     (KMM's Module) are not served, and applying them fails with 404.
 * So kmodlab applies the operator objects, waits for the CSV to succeed and for the
 * kinds the rest of the set needs to be served (a CRD's kind is in discovery once it is
 * Established), and only then applies those objects and starts watching them.
 */
import type { K8sObject } from '../../artifacts/artifact-set.js';
import { UserError } from '../../errors.js';
import { sleep, type KubeClient } from './client.js';

export type Subscription = K8sObject & { spec?: { name?: string }; status?: { installedCSV?: string; currentCSV?: string; state?: string; conditions?: { type: string; status: string; reason?: string; message?: string }[] } };
type Csv = K8sObject & { status?: { phase?: string; reason?: string; message?: string } };

const OLM = 'operators.coreos.com';

/** An existing OperatorGroup in the namespace of `og` (another name counts too), if any. */
export async function existingOperatorGroup(client: KubeClient, og: K8sObject): Promise<K8sObject | undefined> {
  const ref = await client.mapping(og.apiVersion, og.kind);
  const { items } = await client.list('olm-install', ref, { namespace: og.metadata.namespace });
  return items.find((x) => x.metadata.name === og.metadata.name) ?? items[0];
}

/** An existing Subscription to the same package in the namespace of `sub`, if any. */
export async function existingSubscription(client: KubeClient, sub: Subscription): Promise<Subscription | undefined> {
  const ref = await client.mapping(sub.apiVersion, sub.kind);
  const { items } = (await client.list('olm-install', ref, { namespace: sub.metadata.namespace })) as { items: Subscription[] };
  return items.find((x) => x.metadata.name === sub.metadata.name) ?? items.find((x) => x.spec?.name !== undefined && x.spec.name === sub.spec?.name);
}

export interface OperatorWait {
  timeoutMs: number;
  pollMs: number;
  /** Progress lines (CSV phase changes). */
  say: (step: string) => void;
}

/** Waits until the Subscription's CSV is Succeeded; throws (with OLM's reason) when it fails or the time is up. */
export async function waitForCsv(client: KubeClient, sub: { name: string; namespace: string }, w: OperatorWait): Promise<string> {
  const subRef = await client.mapping(`${OLM}/v1alpha1`, 'Subscription');
  const csvRef = await client.mapping(`${OLM}/v1alpha1`, 'ClusterServiceVersion');
  const deadline = Date.now() + w.timeoutMs;
  let last = '';
  for (;;) {
    const s = (await client.get('olm-install', subRef, sub.name, sub.namespace).catch(() => undefined)) as Subscription | undefined;
    const name = s?.status?.installedCSV ?? s?.status?.currentCSV;
    const csv = name ? ((await client.get('olm-install', csvRef, name, sub.namespace).catch(() => undefined)) as Csv | undefined) : undefined;
    const phase = csv?.status?.phase;
    const now = `${name ?? 'no CSV yet'}${phase ? ` ${phase}` : ''}${csv?.status?.reason ? ` (${csv.status.reason})` : ''}`;
    if (now !== last) w.say(`Subscription ${sub.namespace}/${sub.name}: ${now}`);
    last = now;
    if (name && phase === 'Succeeded') return name;
    if (phase === 'Failed' && csv?.status?.reason !== undefined && csv.status.reason !== 'ComponentUnhealthy') {
      throw new UserError(
        `the operator of Subscription ${sub.namespace}/${sub.name} failed to install: CSV ${name} ${csv.status.reason}${csv.status.message ? `: ${csv.status.message}` : ''}`,
        csv.status.reason === 'TooManyOperatorGroups' ? `namespace ${sub.namespace} must hold exactly one OperatorGroup (oc get operatorgroup -n ${sub.namespace})` : undefined,
      );
    }
    if (Date.now() >= deadline) throw new Error(`the operator of Subscription ${sub.namespace}/${sub.name} did not install within ${Math.round(w.timeoutMs / 60_000)} min (last seen: ${now})`);
    await sleep(Math.min(w.pollMs, Math.max(0, deadline - Date.now())));
  }
}

/** Waits until the API serves `apiVersion`/`kind` (the operator's CRD Established). */
export async function waitForKind(client: KubeClient, apiVersion: string, kind: string, w: OperatorWait): Promise<void> {
  const deadline = Date.now() + w.timeoutMs;
  for (;;) {
    client.forgetDiscovery(apiVersion);
    try {
      await client.mapping(apiVersion, kind);
      return;
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      if (Date.now() >= deadline) throw new Error(`${apiVersion} ${kind} was not served within ${Math.round(w.timeoutMs / 60_000)} min after its operator installed (its CRD is not Established)`);
    }
    await sleep(Math.min(w.pollMs, Math.max(0, deadline - Date.now())));
  }
}
