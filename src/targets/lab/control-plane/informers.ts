/**
 * Shared informers for the lab's controllers and kubelets, as client-go's
 * SharedInformerFactory gives kube-controller-manager: ONE list+watch per resource type
 * for the whole process, whatever the number of controllers and nodes that read it
 * (k8s.io/client-go tools/cache shared_informer.go). Built on client-node's informer
 * (list, then watch from the list's resourceVersion, relist on 410); a watch that fails is
 * restarted after a short back-off, as the reflector does.
 */
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, makeInformer, type Informer, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';

export type Handler = (type: 'add' | 'update' | 'delete', obj: KubernetesObject) => void;

interface Entry {
  informer: Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
  handlers: Set<Handler>;
  started: Promise<void>;
}

/** Collection paths of the kinds the lab's controllers follow. */
export const PATHS = {
  pods: '/api/v1/pods',
  nodes: '/api/v1/nodes',
  daemonsets: '/apis/apps/v1/daemonsets',
  configmaps: '/api/v1/configmaps',
  machineconfigs: '/apis/machineconfiguration.openshift.io/v1/machineconfigs',
  machineconfigpools: '/apis/machineconfiguration.openshift.io/v1/machineconfigpools',
  deployments: '/apis/apps/v1/deployments',
  replicasets: '/apis/apps/v1/replicasets',
} as const;

export class SharedInformers {
  private readonly entries = new Map<string, Entry>();
  private stopped = false;
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly custom: CustomObjectsApi;

  constructor(
    readonly kc: KubeConfig,
    private readonly log?: (line: string) => void,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }

  /** How many list+watch streams this process runs (one per resource type). */
  get watchCount(): number {
    return this.entries.size;
  }

  /**
   * The informer of one collection path (`/api/v1/pods`, `/apis/g/v/plural`); `list` lists
   * it (the typed client for built-in kinds, a raw GET otherwise).
   */
  private entry(path: string): Entry {
    let e = this.entries.get(path);
    if (e) return e;
    const list = this.lister(path);
    const informer = makeInformer(this.kc, path, list as never) as Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
    const handlers = new Set<Handler>();
    const fan = (type: 'add' | 'update' | 'delete') => (obj: KubernetesObject) => {
      for (const h of handlers) h(type, obj);
    };
    informer.on('add', fan('add'));
    informer.on('update', fan('update'));
    informer.on('delete', fan('delete'));
    informer.on('error', (err) => {
      if (this.stopped) return;
      this.log?.(`informer ${path}: ${(err as Error)?.message ?? String(err)}; restarting`);
      setTimeout(() => {
        if (!this.stopped) void informer.start().catch(() => undefined);
      }, 1_000).unref();
    });
    e = { informer, handlers, started: informer.start() };
    this.entries.set(path, e);
    return e;
  }

  private lister(path: string): () => Promise<unknown> {
    if (path === PATHS.pods) return () => this.core.listPodForAllNamespaces();
    if (path === PATHS.nodes) return () => this.core.listNode();
    if (path === PATHS.daemonsets) return () => this.apps.listDaemonSetForAllNamespaces();
    if (path === PATHS.configmaps) return () => this.core.listConfigMapForAllNamespaces();
    if (path === PATHS.deployments) return () => this.apps.listDeploymentForAllNamespaces();
    if (path === PATHS.replicasets) return () => this.apps.listReplicaSetForAllNamespaces();
    // Any other collection (OpenShift kinds are CRDs in the lab): /apis/<group>/<version>/<plural>.
    const m = /^\/apis\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(path);
    if (!m) throw new Error(`not a collection path: ${path}`);
    return () => this.custom.listClusterCustomObject({ group: m[1]!, version: m[2]!, plural: m[3]! });
  }

  /** Calls `h` for every event on the collection; resolves when its first list is in. */
  async subscribe(path: string, h: Handler): Promise<void> {
    const e = this.entry(path);
    e.handlers.add(h);
    await e.started;
  }

  /** The informer's cache of a collection (empty until its first list). */
  list<T extends KubernetesObject>(path: string): T[] {
    return (this.entries.get(path)?.informer.list() ?? []) as T[];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.entries.values()].map((e) => e.informer.stop().catch(() => undefined)));
  }
}
