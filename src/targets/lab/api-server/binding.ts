/**
 * `POST pods/<name>/binding`: what kube-scheduler sends to place a pod (k8s.io/kubernetes
 * pkg/registry/core/pod/storage/storage.go BindingREST.Create → assignPod →
 * setPodHostAndAnnotations): the Binding names the pod and a target Node; the pod gets
 * spec.nodeName, the Binding's annotations, and the PodScheduled=True condition. A pod
 * already bound (to any node) or being deleted is a 409 Conflict; a target that is not a
 * Node is 400. The answer is a Success Status with 201, as kube-apiserver's.
 */
import type { ObjectService } from './objects.js';
import type { ResourceType } from './resources.js';
import { badRequest, conflict, type Obj } from './status.js';

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export function bindPod(objects: ObjectService, t: ResourceType, ns: string, name: string, binding: Obj, fieldManager: string): Obj {
  if (binding?.metadata?.name !== undefined && binding.metadata.name !== name) throw badRequest(`the name of the Binding (${binding.metadata.name}) does not match the pod on the URL (${name})`);
  const target = binding?.target as Obj | undefined;
  if (!target?.name) throw badRequest('Binding.target.name: Required value: the node to bind to');
  if (target.kind !== undefined && target.kind !== '' && target.kind !== 'Node') throw badRequest(`Binding.target.kind: Unsupported value: "${target.kind}": supported values: "Node"`);
  const pod = objects.get(t, ns, name);
  if (binding?.metadata?.uid && binding.metadata.uid !== pod.metadata.uid) throw conflict('pods', '', name, `Precondition failed: UID in precondition: ${binding.metadata.uid}, UID in object meta: ${pod.metadata.uid}`);
  if (pod.metadata.deletionTimestamp) throw conflict('pods', '', name, `pod ${name} is being deleted, cannot be assigned to a host`);
  if (pod.spec?.nodeName) throw conflict('pods', '', name, `pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
  const next = structuredClone(pod);
  next.spec.nodeName = target.name;
  if (binding.metadata?.annotations) next.metadata.annotations = { ...(next.metadata.annotations ?? {}), ...binding.metadata.annotations };
  next.metadata.resourceVersion = pod.metadata.resourceVersion;
  const opts = { dryRun: false, fieldValidation: 'Ignore' as const, fieldManager };
  const bound = objects.update(t, ns, name, next, opts, undefined, fieldManager).object;
  const conditions = ((bound.status?.conditions ?? []) as Obj[]).filter((c) => c.type !== 'PodScheduled');
  conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now() });
  objects.update(t, ns, name, { ...bound, status: { ...(bound.status ?? {}), conditions } }, { ...opts }, 'status', fieldManager);
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
}
