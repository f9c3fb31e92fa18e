/**
 * The Node calls the lab's node agents and node lifecycle controller make, through
 * @kubernetes/client-node against the lab API (as kubelet and kube-controller-manager use
 * client-go). Behind this small interface so both are unit-tested without a server.
 * Status updates are strategic merge patches on nodes/<n>/status, as kubelet sends
 * (k8s.io/component-helpers node/util PatchNodeStatus).
 */
import { ApiException, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Node } from '@kubernetes/client-node';
import { eventSinkOf, type EventSink } from './event-recorder.js';

export interface NodeApi extends EventSink {
  /** 'exists' when a Node of that name is already registered (409 AlreadyExists). */
  createNode(node: object): Promise<'created' | 'exists'>;
  getNode(name: string): Promise<V1Node | undefined>;
  listNodes(): Promise<V1Node[]>;
  patchNode(name: string, patch: object): Promise<void>;
  patchNodeStatus(name: string, patch: object): Promise<void>;
}

export function nodeApiFromKubeconfig(kubeconfigFile: string): NodeApi {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigFile);
  const core = kc.makeApiClient(CoreV1Api);
  const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
  return {
    async createNode(node) {
      try {
        await core.createNode({ body: node as V1Node });
        return 'created';
      } catch (e) {
        if (e instanceof ApiException && e.code === 409) return 'exists';
        throw e;
      }
    },
    async getNode(name) {
      try {
        return await core.readNode({ name });
      } catch (e) {
        if (e instanceof ApiException && e.code === 404) return undefined;
        throw e;
      }
    },
    async listNodes() {
      return (await core.listNode()).items;
    },
    async patchNode(name, patch) {
      await core.patchNode({ name, body: patch }, smp);
    },
    async patchNodeStatus(name, patch) {
      await core.patchNodeStatus({ name, body: patch }, smp);
    },
    ...eventSinkOf(core),
  };
}
