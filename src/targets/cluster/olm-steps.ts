/**
 * The OLM part of apply(), object by object (see olm-install.ts for the upstream behaviour):
 *   - OperatorGroup: when the namespace already has one (any name) that kmodlab did not
 *     create, it is reused — a second one would fail the CSV with TooManyOperatorGroups;
 *   - Subscription: one to the same package that kmodlab did not create is reused; either
 *     way it is the one whose CSV is waited for;
 *   - an object whose kind is not served yet, after a Subscription (in the set, or installed
 *     with the cluster's Day-1 manifests): wait for the CSV to
 *     succeed and for the kind to be served, then apply it ('not-served' in a dry run,
 *     where the operator is never installed).
 */
import type { K8sObject } from '../../artifacts/artifact-set.js';
import { UserError } from '../../errors.js';
import { madeByKmodlab, type AppliedLedger } from './applied-ledger.js';
import type { KubeClient } from './client.js';
import { existingOperatorGroup, existingSubscription, waitForCsv, waitForKind, type OperatorWait, type Subscription } from './olm-install.js';

export type OlmStep = 'apply' | 'reuse' | 'not-served';

export class OlmSteps {
  private subscription: { name: string; namespace: string } | undefined;
  private csvReady = false;

  /**
   * `installed`: a Subscription the cluster's installation created (the Day-1 manifests),
   * whose operator may still be installing when the rest of the set is applied: a kind it
   * serves is waited for as after a Subscription in this set.
   */
  constructor(
    private readonly client: KubeClient,
    private readonly ledger: AppliedLedger,
    private readonly wait: OperatorWait,
    installed?: { name: string; namespace: string },
  ) {
    this.subscription = installed;
  }

  private async served(obj: K8sObject): Promise<boolean> {
    try {
      await this.client.mapping(obj.apiVersion, obj.kind);
      return true;
    } catch (e) {
      if (e instanceof UserError) return false;
      throw e;
    }
  }

  async before(obj: K8sObject): Promise<OlmStep> {
    if (obj.kind === 'OperatorGroup' && obj.apiVersion.startsWith('operators.coreos.com/')) {
      const existing = await existingOperatorGroup(this.client, obj);
      if (existing && !madeByKmodlab(existing)) {
        this.ledger.foreign(obj);
        this.wait.say(`OperatorGroup ${existing.metadata.name} already in ${obj.metadata.namespace}: reused (OLM fails the CSV with TooManyOperatorGroups when a namespace has two)`);
        return 'reuse';
      }
      return 'apply';
    }
    if (obj.kind === 'Subscription' && obj.apiVersion.startsWith('operators.coreos.com/')) {
      const existing = await existingSubscription(this.client, obj as Subscription);
      const namespace = obj.metadata.namespace ?? this.client.defaultNamespace;
      if (existing && !madeByKmodlab(existing)) {
        this.ledger.foreign(obj);
        this.subscription = { name: existing.metadata.name, namespace };
        this.wait.say(`Subscription ${existing.metadata.name} to ${(obj as Subscription).spec?.name ?? 'the package'} already in ${namespace}: reused, not uninstalled by kmodlab`);
        return 'reuse';
      }
      this.subscription = { name: obj.metadata.name, namespace };
      return 'apply';
    }
    if (!this.subscription || (await this.served(obj))) return 'apply';
    if (this.client.dryRun) return 'not-served';
    if (!this.csvReady) {
      await waitForCsv(this.client, this.subscription, this.wait);
      this.csvReady = true;
    }
    await waitForKind(this.client, obj.apiVersion, obj.kind, this.wait);
    return 'apply';
  }
}
