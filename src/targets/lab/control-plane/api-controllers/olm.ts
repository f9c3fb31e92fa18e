/**
 * OLM in the lab, reconciled from the API, for the one package its catalog holds
 * (kmm-bundle.ts). Semantics of operator-framework/operator-lifecycle-manager
 * (docs: "Operator Lifecycle Manager workflow", "Operator groups", "Subscription";
 * https://olm.operatorframework.io/docs/concepts/crds/):
 *   - catalog operator: a Subscription to a package in the catalog gets an InstallPlan
 *     (`install-xxxxx`, spec.clusterServiceVersionNames, approval from
 *     spec.installPlanApproval; Automatic plans are approved at once, Manual ones wait in
 *     RequiresApproval for spec.approved), and status currentCSV/installPlanRef/state
 *     (UpgradePending → AtLatestKnown once the CSV succeeded, with installedCSV). An approved
 *     plan goes Installing → Complete and creates the CSV;
 *   - olm operator: the CSV's namespace must hold exactly one OperatorGroup, else the CSV
 *     is Failed with reason TooManyOperatorGroups (NoOperatorGroup for none) and goes back
 *     to Pending when the count is one again (OLM PR #669; OpenShift docs "Troubleshooting
 *     Operator groups", membership). Then Pending (RequirementsUnknown) → InstallReady
 *     (AllRequirementsMet) → Installing (InstallWaiting; the CSV's owned CRDs are created
 *     here) → Succeeded (InstallSucceeded) once they are Established. Each step is one
 *     transition with its entry in status.conditions, so a client sees each phase;
 *   - OperatorGroup status.namespaces: [""] (all namespaces) unless it selects some.
 * Deleting the CSV uninstalls the operator (the lab stops its KMM controller); as on OLM,
 * the CRDs and their objects stay ("Uninstall": OLM does not remove CRDs).
 *
 * Unlike upstream, the CRDs are created when the CSV installs, not as InstallPlan steps
 * before the CSV: a namespace with two OperatorGroups then gets no CRD, and the kinds
 * appear only once the operator is being installed, which is what clients must wait for.
 * The operator's Deployments are not created: the lab runs the KMM controller in its
 * own process (kmm-module.ts) while the CSV is Succeeded.
 */
import { ApiextensionsV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { SharedInformers } from '../informers.js';
import { KMM_CHANNELS, KMM_CSV_NAME, KMM_OWNED, KMM_PACKAGE, crdName, kmmCrd, kmmCsv } from './kmm-bundle.js';
import { rfc3339 } from '../kube-time.js';
import { ReconcileLoop } from './reconcile-loop.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = KubernetesObject & Record<string, any>;

export const SUBSCRIPTIONS = '/apis/operators.coreos.com/v1alpha1/subscriptions';
export const INSTALLPLANS = '/apis/operators.coreos.com/v1alpha1/installplans';
export const CSVS = '/apis/operators.coreos.com/v1alpha1/clusterserviceversions';
export const OPERATORGROUPS = '/apis/operators.coreos.com/v1/operatorgroups';

const V1A1 = { group: 'operators.coreos.com', version: 'v1alpha1' };
const V1 = { group: 'operators.coreos.com', version: 'v1' };

const live = (o: Obj) => !o.metadata?.deletionTimestamp;
const inNs = (ns: string) => (o: Obj) => o.metadata?.namespace === ns;

export interface OlmControllerOptions {
  kc: KubeConfig;
  informers: SharedInformers;
  log?: (line: string) => void;
  /** The KMM CSV reached Succeeded (the operator runs) / is gone (the operator stops). */
  onOperator?: (running: boolean) => Promise<void> | void;
}

export class OlmController {
  private readonly custom: CustomObjectsApi;
  private readonly ext: ApiextensionsV1Api;
  private readonly merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  private readonly loop: ReconcileLoop;
  private operatorRunning = false;

  constructor(private readonly o: OlmControllerOptions) {
    this.custom = o.kc.makeApiClient(CustomObjectsApi);
    this.ext = o.kc.makeApiClient(ApiextensionsV1Api);
    this.loop = new ReconcileLoop({ informers: o.informers, paths: [SUBSCRIPTIONS, INSTALLPLANS, CSVS, OPERATORGROUPS], debounceMs: 50, pass: () => this.reconcile().catch((e: Error) => this.o.log?.(`olm: ${e.message.split('\n')[0]}`)) });
  }

  async start(): Promise<void> {
    await this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  kick(): void {
    this.loop.kick();
  }

  private list(path: string): Obj[] {
    return this.o.informers.list<Obj>(path).filter(live);
  }

  private async reconcile(): Promise<void> {
    for (const og of this.list(OPERATORGROUPS)) await this.operatorGroup(og);
    for (const sub of this.list(SUBSCRIPTIONS)) await this.subscription(sub);
    for (const ip of this.list(INSTALLPLANS)) await this.installPlan(ip);
    for (const csv of this.list(CSVS)) if (csv.metadata!.name === KMM_CSV_NAME) await this.csv(csv);
    const succeeded = this.list(CSVS).some((c) => c.metadata!.name === KMM_CSV_NAME && c.status?.phase === 'Succeeded');
    if (succeeded !== this.operatorRunning) {
      this.operatorRunning = succeeded;
      this.o.log?.(`olm: operator ${KMM_PACKAGE} ${succeeded ? 'running' : 'stopped'}`);
      await this.o.onOperator?.(succeeded);
    }
  }

  private async patch(plural: string, obj: Obj, status: Obj): Promise<void> {
    const g = plural === 'operatorgroups' ? V1 : V1A1;
    await this.custom.patchNamespacedCustomObjectStatus({ ...g, plural, namespace: obj.metadata!.namespace!, name: obj.metadata!.name!, body: { status } }, this.merge).catch((e: { code?: number }) => {
      if (e.code !== 404) throw e; // deleted meanwhile: nothing left to update
    });
  }

  private async operatorGroup(og: Obj): Promise<void> {
    const targets = og.spec?.targetNamespaces as string[] | undefined;
    const namespaces = targets?.length ? targets : og.spec?.selector ? [] : [''];
    if (JSON.stringify(og.status?.namespaces) === JSON.stringify(namespaces)) return;
    await this.patch('operatorgroups', og, { namespaces, lastUpdated: rfc3339() });
  }

  private async subscription(sub: Obj): Promise<void> {
    const ns = sub.metadata!.namespace!;
    const pkg = sub.spec?.name as string | undefined;
    if (pkg !== KMM_PACKAGE || (sub.spec?.channel && !KMM_CHANNELS.includes(sub.spec.channel))) {
      // catalog operator: ResolutionFailed when no catalog has the package/channel.
      const message = `constraints not satisfiable: no operators found ${sub.spec?.channel ? `in channel ${sub.spec.channel} ` : ''}of package ${pkg} in the catalog referenced by subscription ${sub.metadata!.name}`;
      if ((sub.status?.conditions ?? []).some((c: Obj) => c.type === 'ResolutionFailed' && c.message === message)) return;
      await this.patch('subscriptions', sub, { lastUpdated: rfc3339(), conditions: [{ type: 'ResolutionFailed', status: 'True', reason: 'ConstraintsNotSatisfiable', message, lastTransitionTime: rfc3339() }] });
      return;
    }
    const ipName = sub.status?.installPlanRef?.name as string | undefined;
    if (!ipName) {
      const automatic = (sub.spec?.installPlanApproval ?? 'Automatic') === 'Automatic';
      const ip = (await this.custom.createNamespacedCustomObject({
        ...V1A1,
        namespace: ns,
        plural: 'installplans',
        body: {
          apiVersion: 'operators.coreos.com/v1alpha1',
          kind: 'InstallPlan',
          metadata: { generateName: 'install-', namespace: ns, ownerReferences: [{ apiVersion: 'operators.coreos.com/v1alpha1', kind: 'Subscription', name: sub.metadata!.name!, uid: sub.metadata!.uid! }] },
          spec: { approval: automatic ? 'Automatic' : 'Manual', approved: automatic, clusterServiceVersionNames: [KMM_CSV_NAME], generation: 1 },
        },
      })) as Obj;
      const ref = { apiVersion: ip.apiVersion, kind: ip.kind, name: ip.metadata!.name, namespace: ns, uid: ip.metadata!.uid, resourceVersion: ip.metadata!.resourceVersion };
      await this.patch('subscriptions', sub, {
        state: 'UpgradePending',
        currentCSV: KMM_CSV_NAME,
        installPlanGeneration: 1,
        installPlanRef: ref,
        installplan: { apiVersion: ip.apiVersion, kind: ip.kind, name: ip.metadata!.name, uuid: ip.metadata!.uid },
        lastUpdated: rfc3339(),
        conditions: [],
      });
      this.o.log?.(`olm: subscription ${ns}/${sub.metadata!.name}: InstallPlan ${ip.metadata!.name} for ${KMM_CSV_NAME}`);
      return;
    }
    const csv = this.list(CSVS).find((c) => inNs(ns)(c) && c.metadata!.name === KMM_CSV_NAME);
    const installed = csv?.status?.phase === 'Succeeded';
    const state = installed ? 'AtLatestKnown' : 'UpgradePending';
    if (sub.status?.state !== state) await this.patch('subscriptions', sub, { state, ...(installed ? { installedCSV: KMM_CSV_NAME } : {}), lastUpdated: rfc3339() });
  }

  private async installPlan(ip: Obj): Promise<void> {
    const ns = ip.metadata!.namespace!;
    const phase = ip.status?.phase as string | undefined;
    if (phase === 'Complete' || phase === 'Failed') return;
    if (!ip.spec?.approved) {
      if (phase !== 'RequiresApproval') await this.patch('installplans', ip, { phase: 'RequiresApproval', catalogSources: [], bundleLookups: [] });
      return;
    }
    if (phase !== 'Installing') {
      await this.patch('installplans', ip, { phase: 'Installing', catalogSources: [] });
      return;
    }
    const names = (ip.spec?.clusterServiceVersionNames ?? []) as string[];
    if (names.includes(KMM_CSV_NAME) && !this.list(CSVS).some((c) => inNs(ns)(c) && c.metadata!.name === KMM_CSV_NAME)) {
      await this.custom
        .createNamespacedCustomObject({ ...V1A1, namespace: ns, plural: 'clusterserviceversions', body: kmmCsv(ns) })
        .catch((e: { code?: number }) => {
          if (e.code !== 409) throw e;
        });
    }
    const plan = [{ resolving: KMM_CSV_NAME, resource: { group: 'operators.coreos.com', version: 'v1alpha1', kind: 'ClusterServiceVersion', name: KMM_CSV_NAME }, status: 'Created' }];
    await this.patch('installplans', ip, { phase: 'Complete', plan, catalogSources: [] });
    this.o.log?.(`olm: installplan ${ns}/${ip.metadata!.name}: Complete`);
  }

  /** One phase transition of the CSV per call (olm operator's transitionCSVState). */
  private async csv(csv: Obj): Promise<void> {
    const ns = csv.metadata!.namespace!;
    const groups = this.list(OPERATORGROUPS).filter(inNs(ns)).length;
    const phase = (csv.status?.phase as string | undefined) ?? 'None';
    const go = async (next: string, reason: string, message: string) => {
      if (phase === next && csv.status?.reason === reason) return;
      const at = rfc3339();
      const conditions = [...((csv.status?.conditions ?? []) as Obj[]), { phase: next, reason, message, lastTransitionTime: at, lastUpdateTime: at }].slice(-20);
      await this.patch('clusterserviceversions', csv, { phase: next, reason, message, lastTransitionTime: at, lastUpdateTime: at, conditions });
      this.o.log?.(`olm: csv ${ns}/${csv.metadata!.name}: ${next} (${reason})`);
    };
    if (groups > 1) return go('Failed', 'TooManyOperatorGroups', `csv created in namespace with multiple operatorgroups, can't pick one automatically`);
    if (groups === 0) return go('Failed', 'NoOperatorGroup', 'csv in namespace with no operatorgroups');
    switch (phase) {
      case 'None':
      case 'Failed':
        return go('Pending', 'RequirementsUnknown', 'requirements not yet checked');
      case 'Pending':
        return go('InstallReady', 'AllRequirementsMet', 'all requirements found, attempting install');
      case 'InstallReady':
        for (const c of KMM_OWNED) {
          await this.ext.createCustomResourceDefinition({ body: kmmCrd(c) }).catch((e: { code?: number }) => {
            if (e.code !== 409) throw e;
          });
        }
        return go('Installing', 'InstallWaiting', 'installing: waiting for deployment kmm-operator-controller to become ready');
      case 'Installing': {
        for (const c of KMM_OWNED) {
          const crd = await this.ext.readCustomResourceDefinition({ name: crdName(c) }).catch(() => undefined);
          if (!(crd?.status?.conditions ?? []).some((x) => x.type === 'Established' && x.status === 'True')) return;
        }
        return go('Succeeded', 'InstallSucceeded', 'install strategy completed with no errors');
      }
      default:
    }
  }
}
