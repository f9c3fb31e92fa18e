/**
 * What kmodlab created on the cluster, so that it can remove exactly that — and nothing
 * else:
 *   - a scenario that fails halfway (an exception between apply() and remove()) would
 *     otherwise leave its DaemonSets, BuildConfigs, Modules, MachineConfigs applied;
 *     ClusterTarget.close() removes whatever is still recorded here;
 *   - an object that existed before kmodlab applied it (an operator someone installed,
 *     a namespace in use) is "pre-existing": apply may reuse it, remove never deletes it.
 * An object carrying kmodlab's managed-by label counts as kmodlab's even when it was
 * there first (left by an earlier, interrupted run of kmodlab).
 */
import type { K8sObject } from '../../artifacts/artifact-set.js';
import { LABEL_MANAGED_BY } from '../../labels.js';
import { splitApiVersion } from './client.js';

export function objectKey(o: Pick<K8sObject, 'apiVersion' | 'kind' | 'metadata'>): string {
  return `${splitApiVersion(o.apiVersion).group}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

export function objectLabel(o: Pick<K8sObject, 'kind' | 'metadata'>): string {
  return `${o.kind}/${o.metadata.name}${o.metadata.namespace ? ` (namespace ${o.metadata.namespace})` : ''}`;
}

/** True when the live object says kmodlab made it (rendered objects carry the label). */
export function madeByKmodlab(live: K8sObject | undefined): boolean {
  return live?.metadata.labels?.[LABEL_MANAGED_BY] === 'kmodlab';
}

export class AppliedLedger {
  /** Objects kmodlab created, in creation order. */
  private readonly created = new Map<string, K8sObject>();
  private readonly preexisting = new Map<string, K8sObject>();

  /**
   * Called before applying `obj`, with what the API returned for it (undefined: absent).
   * Returns false when the object is someone else's (it must not be deleted later).
   */
  before(obj: K8sObject, live: K8sObject | undefined): boolean {
    const key = objectKey(obj);
    if (this.created.has(key)) return true;
    if (live === undefined || madeByKmodlab(live)) return true;
    this.preexisting.set(key, obj);
    return false;
  }

  /** Records that kmodlab's request created (or re-applied its own) `obj`. */
  record(obj: K8sObject): void {
    const key = objectKey(obj);
    if (this.preexisting.has(key)) return;
    this.created.delete(key); // re-applied: keep the latest position
    this.created.set(key, obj);
  }

  /** Someone else's object: never deleted by kmodlab. */
  isPreexisting(obj: K8sObject): boolean {
    return this.preexisting.has(objectKey(obj));
  }

  isCreated(obj: K8sObject): boolean {
    return this.created.has(objectKey(obj));
  }

  /** Marks an object someone else owns (found before apply, e.g. an OperatorGroup of another name). */
  foreign(obj: K8sObject): void {
    this.preexisting.set(objectKey(obj), obj);
  }

  forget(obj: K8sObject): void {
    this.created.delete(objectKey(obj));
  }

  /** What kmodlab created and has not removed, newest first (dependents before their namespace). */
  remaining(): K8sObject[] {
    return [...this.created.values()].reverse();
  }
}
