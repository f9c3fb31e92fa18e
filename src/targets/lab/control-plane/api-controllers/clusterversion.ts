/**
 * The lab's cluster-version operator, reconciling ClusterVersion `version`
 * (config.openshift.io/v1) from the lab API as openshift/cluster-version-operator does on
 * OpenShift 4.14 (pkg/cvo: cvo.go, status.go, sync_worker.go, availableupdates.go), with
 * the lab's releases (one per installed lab kernel whose images are in the lab registry,
 * images/lab-release.ts labReleaseOffers) in place of the payloads and the update service:
 *   - created at `lab up` if absent (cvo.go getOrCreateClusterVersion: spec.clusterID, a
 *     channel), with status.desired {version, image}, history [Completed], observedGeneration,
 *     availableUpdates = the other lab releases, and the conditions Available, Failing,
 *     Progressing, RetrievedUpdates, ReleaseAccepted;
 *   - spec.desiredUpdate is resolved as cvo.go findUpdateFromConfig does: an image is used
 *     as given (a version next to it is ignored, as the API documents); a version alone
 *     must be one of availableUpdates (or the history), else the update is refused with
 *     Invalid=True reason InvalidClusterVersion and the cluster stays where it is (what
 *     status.go writes for "when image is empty the update must be an available update").
 *     An image that is not a lab release cannot be loaded: ReleaseAccepted=False reason
 *     RetrievePayload, nothing changes;
 *   - an accepted release (ReleaseAccepted=True PayloadLoaded) becomes status.desired and a
 *     new Partial history entry; the "payload" is applied as the CVO's manifests would: the
 *     ConfigMap openshift-machine-config-operator/machine-config-osimageurl gets the new
 *     baseOSContainerImage and releaseVersion (the Machine Config Operator rolls the
 *     nodes from it), and ImageStream openshift/driver-toolkit tag latest moves to the new
 *     release's driver-toolkit (spec and status: the lab has no image import);
 *   - Progressing=True "Working towards <v>" until every MachineConfigPool is updated to
 *     the release — Updated=True, all machines updated, and its rendered config
 *     (status.configuration.name) annotated machineconfiguration.openshift.io/release-image-version
 *     = <v>, the MCO's record of the release it rendered for (how openshift/console's
 *     cluster-settings counts a pool as updated) — then the history entry is Completed.
 *     With no pools at all the update completes at once.
 * At `lab up` it also creates, when absent, the ConfigMap and the ImageStream with the
 * current release (on a cluster the CVO applies both from the payload).
 */
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type KubernetesObject, type V1ConfigMap } from '@kubernetes/client-node';
import { randomUUID } from 'node:crypto';
import type { LabReleaseOffer } from '../../images/lab-release.js';
import type { SharedInformers } from '../informers.js';
import { rfc3339 } from '../kube-time.js';
import { ReconcileLoop } from './reconcile-loop.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = KubernetesObject & Record<string, any>;

export const CLUSTERVERSIONS = '/apis/config.openshift.io/v1/clusterversions';
export const MACHINECONFIGPOOLS = '/apis/machineconfiguration.openshift.io/v1/machineconfigpools';
export const OSIMAGEURL = { namespace: 'openshift-machine-config-operator', name: 'machine-config-osimageurl' } as const;
export const DTK_STREAM = { namespace: 'openshift', name: 'driver-toolkit', tag: 'latest' } as const;
export const RELEASE_IMAGE_VERSION = 'machineconfiguration.openshift.io/release-image-version';

const CV = { group: 'config.openshift.io', version: 'v1', plural: 'clusterversions' };
const IMG = { group: 'image.openshift.io', version: 'v1', plural: 'imagestreams' };
const MC = { group: 'machineconfiguration.openshift.io', version: 'v1', plural: 'machineconfigs' };

const digestOf = (ref: string | undefined) => /@(sha256:[a-f0-9]{64})$/.exec(ref ?? '')?.[1];
/** cvo.go equalDigest: two pull specs of one image compare by digest. */
const sameImage = (a: string | undefined, b: string | undefined) => !!a && !!b && (a === b || (!!digestOf(a) && digestOf(a) === digestOf(b)));

interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

function setCondition(conds: Condition[], c: Condition): void {
  const i = conds.findIndex((x) => x.type === c.type);
  const prev = i >= 0 ? conds[i] : undefined;
  const next = { ...c, lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : rfc3339() };
  if (i >= 0) conds[i] = next;
  else conds.push(next);
}

/** What spec.desiredUpdate asks for: a release, an error, or nothing. */
export function resolveDesired(
  du: { version?: string; image?: string } | undefined | null,
  offers: readonly LabReleaseOffer[],
  available: readonly { version: string; image: string }[],
  history: readonly { version?: string; image?: string }[],
): { release: LabReleaseOffer } | { invalid: string } | { rejected: string } | undefined {
  if (!du || (!du.image && !du.version)) return undefined;
  if (du.image) {
    const release = offers.find((o) => sameImage(o.image, du.image));
    if (release) return { release };
    return { rejected: `Retrieving payload failed version="${du.version ?? ''}" image="${du.image}" failure=The update cannot be verified: the image is not the release image of a lab release (kmodlab lab release-info lists them)` };
  }
  const known = available.find((u) => u.version === du.version && u.image) ?? history.find((h) => h.version === du.version && h.image);
  const release = known && offers.find((o) => sameImage(o.image, known.image));
  if (release) return { release };
  return { invalid: `The cluster version is invalid: spec.desiredUpdate.version: Invalid value: "${du.version}": when image is empty the update must be an available update` };
}

export interface ClusterVersionControllerOptions {
  kc: KubeConfig;
  informers: SharedInformers;
  /** The lab releases the cluster can run (available updates are the others). */
  offers: readonly LabReleaseOffer[];
  /** The release the lab came up with. */
  current: LabReleaseOffer;
  log?: (line: string) => void;
}

export class ClusterVersionController {
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  private readonly loop: ReconcileLoop;

  constructor(private readonly o: ClusterVersionControllerOptions) {
    this.core = o.kc.makeApiClient(CoreV1Api);
    this.custom = o.kc.makeApiClient(CustomObjectsApi);
    this.loop = new ReconcileLoop({ informers: o.informers, paths: [CLUSTERVERSIONS, MACHINECONFIGPOOLS], debounceMs: 30, pass: () => this.reconcile().catch((e: Error) => this.o.log?.(`clusterversion: ${e.message.split('\n')[0]}`)) });
  }

  async start(): Promise<void> {
    await this.bootstrap();
    await this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  kick(): void {
    this.loop.kick();
  }

  private async ensureNamespace(name: string): Promise<void> {
    await this.core.createNamespace({ body: { metadata: { name } } }).catch((e: { code?: number }) => {
      if (e.code !== 409) throw e;
    });
  }

  /** The objects the release's manifests put on a cluster, when absent; ClusterVersion `version`. */
  private async bootstrap(): Promise<void> {
    const cur = this.o.current;
    await this.ensureNamespace(OSIMAGEURL.namespace);
    await this.ensureNamespace(DTK_STREAM.namespace);
    await this.core.createNamespacedConfigMap({ namespace: OSIMAGEURL.namespace, body: { metadata: { name: OSIMAGEURL.name }, data: { baseOSContainerImage: cur.image, releaseVersion: cur.version } } }).catch((e: { code?: number }) => {
      if (e.code !== 409) throw e;
    });
    const is = await this.custom.getNamespacedCustomObject({ ...IMG, namespace: DTK_STREAM.namespace, name: DTK_STREAM.name }).catch(() => undefined);
    if (!is) {
      await this.custom.createNamespacedCustomObject({ ...IMG, namespace: DTK_STREAM.namespace, body: { apiVersion: 'image.openshift.io/v1', kind: 'ImageStream', metadata: { name: DTK_STREAM.name, namespace: DTK_STREAM.namespace } } }).catch((e: { code?: number }) => {
        if (e.code !== 409) throw e;
      });
      await this.moveDriverToolkit(cur);
    }
    const cv = await this.custom.getClusterCustomObject({ ...CV, name: 'version' }).catch(() => undefined);
    if (!cv) {
      await this.custom.createClusterCustomObject({ ...CV, body: { apiVersion: 'config.openshift.io/v1', kind: 'ClusterVersion', metadata: { name: 'version' }, spec: { clusterID: randomUUID(), channel: 'lab' } } }).catch((e: { code?: number }) => {
        if (e.code !== 409) throw e;
      });
    }
  }

  private available(currentImage: string): { version: string; image: string }[] {
    return this.o.offers.filter((o) => !sameImage(o.image, currentImage)).map((o) => ({ version: o.version, image: o.image }));
  }

  private async reconcile(): Promise<void> {
    const cv = this.o.informers.list<Obj>(CLUSTERVERSIONS).find((x) => x.metadata?.name === 'version');
    if (!cv) return;
    const st = structuredClone(cv.status ?? {}) as Obj;
    const before = JSON.stringify(st);
    const conds: Condition[] = (st.conditions ?? []) as Condition[];
    st.conditions = conds;
    const history = (st.history ?? []) as Obj[];
    st.history = history;
    if (!st.desired?.image) {
      // First sync: the release the lab came up with, reached already (the installer's job).
      const cur = this.o.current;
      st.desired = { version: cur.version, image: cur.image };
      history.unshift({ state: 'Completed', version: cur.version, image: cur.image, verified: false, startedTime: cv.metadata?.creationTimestamp ? rfc3339(new Date(cv.metadata.creationTimestamp as unknown as string)) : rfc3339(), completionTime: rfc3339() });
      setCondition(conds, { type: 'ReleaseAccepted', status: 'True', reason: 'PayloadLoaded', message: `Payload loaded version="${cur.version}" image="${cur.image}" architecture="amd64"` });
    }
    st.availableUpdates = this.available(st.desired.image);
    setCondition(conds, { type: 'RetrievedUpdates', status: 'True', reason: 'AsExpected', message: 'the lab offers the releases of its installed kernels whose images are in its registry (kmodlab lab release-info)' });

    const want = resolveDesired(cv.spec?.desiredUpdate, this.o.offers, st.availableUpdates, history as { version?: string; image?: string }[]);
    if (want && 'invalid' in want) {
      setCondition(conds, { type: 'Invalid', status: 'True', reason: 'InvalidClusterVersion', message: want.invalid });
    } else {
      st.conditions = conds.filter((c) => c.type !== 'Invalid');
    }
    const conditions = st.conditions as Condition[];
    if (want && 'rejected' in want) {
      setCondition(conditions, { type: 'ReleaseAccepted', status: 'False', reason: 'RetrievePayload', message: want.rejected });
    }
    if (want && 'release' in want && !sameImage(want.release.image, st.desired.image)) {
      const r = want.release;
      this.o.log?.(`clusterversion: accepted ${r.version} (${r.image}); updating the machine-config-osimageurl ConfigMap and openshift/driver-toolkit:latest`);
      await this.core.patchNamespacedConfigMap({ namespace: OSIMAGEURL.namespace, name: OSIMAGEURL.name, body: { data: { baseOSContainerImage: r.image, releaseVersion: r.version } } }, this.merge).catch(async (e: { code?: number }) => {
        if (e.code !== 404) throw e;
        await this.core.createNamespacedConfigMap({ namespace: OSIMAGEURL.namespace, body: { metadata: { name: OSIMAGEURL.name }, data: { baseOSContainerImage: r.image, releaseVersion: r.version } } as V1ConfigMap });
      });
      await this.moveDriverToolkit(r);
      st.desired = { version: r.version, image: r.image };
      // A new target supersedes an unfinished one (its entry stays Partial).
      history.unshift({ state: 'Partial', version: r.version, image: r.image, verified: false, startedTime: rfc3339(), completionTime: null });
      st.availableUpdates = this.available(r.image);
      setCondition(conditions, { type: 'ReleaseAccepted', status: 'True', reason: 'PayloadLoaded', message: `Payload loaded version="${r.version}" image="${r.image}" architecture="amd64"` });
    }
    const top = history[0];
    if (top?.state === 'Partial' && (await this.poolsAt(top.version))) {
      top.state = 'Completed';
      top.completionTime = rfc3339();
      this.o.log?.(`clusterversion: cluster version is ${top.version}`);
    }
    const v = st.desired.version;
    if (history[0]?.state === 'Completed') {
      setCondition(conditions, { type: 'Available', status: 'True', message: `Done applying ${v}` });
      setCondition(conditions, { type: 'Progressing', status: 'False', message: `Cluster version is ${v}` });
    } else {
      setCondition(conditions, { type: 'Available', status: 'True', message: `Done applying ${history.find((h) => h.state === 'Completed')?.version ?? v}` });
      setCondition(conditions, { type: 'Progressing', status: 'True', message: `Working towards ${v}: waiting on machine-config` });
    }
    setCondition(conditions, { type: 'Failing', status: 'False' });
    st.observedGeneration = cv.metadata?.generation ?? 1;
    if (JSON.stringify(st) === before) return;
    await this.custom.patchClusterCustomObjectStatus({ ...CV, name: 'version', body: { status: st } }, this.merge);
  }

  /** Every MachineConfigPool updated to `version` (none at all: nothing to wait for). */
  private async poolsAt(version: string): Promise<boolean> {
    const pools = this.o.informers.list<Obj>(MACHINECONFIGPOOLS);
    for (const p of pools) {
      const s = p.status ?? {};
      const updated = ((s.conditions ?? []) as Condition[]).some((c) => c.type === 'Updated' && c.status === 'True');
      if (!updated || s.updatedMachineCount !== s.machineCount || !s.configuration?.name) return false;
      const mc = (await this.custom.getClusterCustomObject({ ...MC, name: s.configuration.name }).catch(() => undefined)) as Obj | undefined;
      if (mc?.metadata?.annotations?.[RELEASE_IMAGE_VERSION] !== version) return false;
    }
    return true;
  }

  /** ImageStream openshift/driver-toolkit:latest → the release's driver-toolkit (spec tag, and the imported status item). */
  private async moveDriverToolkit(r: LabReleaseOffer): Promise<void> {
    const is = (await this.custom.getNamespacedCustomObject({ ...IMG, namespace: DTK_STREAM.namespace, name: DTK_STREAM.name })) as Obj;
    const specTags = ((is.spec?.tags ?? []) as Obj[]).filter((t) => t.name !== DTK_STREAM.tag);
    specTags.push({ name: DTK_STREAM.tag, from: { kind: 'DockerImage', name: r.driverToolkit }, importPolicy: {}, referencePolicy: { type: 'Source' }, annotations: { 'io.kmodlab.lab-release': r.version } });
    await this.custom.patchNamespacedCustomObject({ ...IMG, namespace: DTK_STREAM.namespace, name: DTK_STREAM.name, body: { spec: { tags: specTags } } }, this.merge);
    const fresh = (await this.custom.getNamespacedCustomObject({ ...IMG, namespace: DTK_STREAM.namespace, name: DTK_STREAM.name })) as Obj;
    const tags = ((fresh.status?.tags ?? []) as Obj[]).filter((t) => t.tag !== DTK_STREAM.tag);
    const old = ((fresh.status?.tags ?? []) as Obj[]).find((t) => t.tag === DTK_STREAM.tag)?.items ?? [];
    if (old[0]?.dockerImageReference === r.driverToolkit) return;
    tags.push({ tag: DTK_STREAM.tag, items: [{ created: rfc3339(), dockerImageReference: r.driverToolkit, image: digestOf(r.driverToolkit), generation: fresh.metadata?.generation ?? 1 }, ...old].slice(0, 5) });
    await this.custom.patchNamespacedCustomObjectStatus({ ...IMG, namespace: DTK_STREAM.namespace, name: DTK_STREAM.name, body: { status: { dockerImageRepository: r.driverToolkit.replace(/@.*$/, ''), tags } } }, this.merge);
  }
}
