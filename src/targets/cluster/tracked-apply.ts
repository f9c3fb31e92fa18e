/**
 * Apply and delete through the AppliedLedger: every object is read before it is applied,
 * so kmodlab knows whether it creates it (and must remove it, also when the scenario
 * fails) or finds someone else's (which it never deletes, and does not label as its own).
 */
import type { K8sObject } from '../../artifacts/artifact-set.js';
import { LABEL_MANAGED_BY } from '../../labels.js';
import type { ApiCallId } from './api-calls.js';
import type { KubeClient } from './client.js';
import { madeByKmodlab, objectLabel, type AppliedLedger } from './applied-ledger.js';

/** The object without kmodlab's managed-by label (applied onto someone else's object). */
function withoutOwnership(obj: K8sObject): K8sObject {
  const labels = { ...(obj.metadata.labels ?? {}) };
  delete labels[LABEL_MANAGED_BY];
  return { ...obj, metadata: { ...obj.metadata, labels } };
}

export async function readLive(client: KubeClient, call: ApiCallId, obj: K8sObject): Promise<K8sObject | undefined> {
  const ref = await client.mapping(obj.apiVersion, obj.kind);
  return client.get(call, ref, obj.metadata.name, ref.namespaced ? (obj.metadata.namespace ?? client.defaultNamespace) : undefined);
}

/** Server-side apply of `obj`, recorded in the ledger; returns whether kmodlab owns the object. */
export async function trackedApply(client: KubeClient, ledger: AppliedLedger, call: ApiCallId, obj: K8sObject): Promise<{ owned: boolean }> {
  const live = await readLive(client, call, obj);
  const owned = ledger.before(obj, live);
  await client.apply(call, owned ? obj : withoutOwnership(obj));
  // A dry run creates nothing: there is nothing to remove later.
  if (owned && !client.dryRun) ledger.record(obj);
  return { owned };
}

export interface RemoveResult {
  removed: string[];
  /** Objects kmodlab did not create: left in place. */
  kept: string[];
  /** Deleted but still present when the wait ended. */
  left: string[];
}

/**
 * Deletes, in the given order, the objects kmodlab created; an object it did not create
 * (pre-existing, or not labelled as kmodlab's when the ledger does not know it) is kept.
 */
export async function trackedRemove(client: KubeClient, ledger: AppliedLedger, call: ApiCallId, objects: K8sObject[], wait: { waitMs: number; pollMs?: number }): Promise<RemoveResult> {
  const out: RemoveResult = { removed: [], kept: [], left: [] };
  for (const obj of objects) {
    const name = `${obj.kind}/${obj.metadata.name}`;
    if (ledger.isPreexisting(obj)) {
      out.kept.push(objectLabel(obj));
      continue;
    }
    if (!ledger.isCreated(obj)) {
      const live = await readLive(client, call, obj);
      if (live !== undefined && !madeByKmodlab(live)) {
        out.kept.push(objectLabel(obj));
        continue;
      }
    }
    const r = await client.delete(call, obj, wait);
    out.removed.push(name);
    if (!client.dryRun && r.gone) ledger.forget(obj);
    if (!r.gone && !client.dryRun) out.left.push(name);
  }
  return out;
}
