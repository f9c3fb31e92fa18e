/**
 * `kubectl get` asks for `as=Table` (meta.k8s.io/v1 Table) and prints the server's
 * columns. The lab answers with the default columns kube-apiserver uses for kinds
 * without printer columns (Name, Age) plus a few that kubectl users look for on Pods
 * and Nodes (k8s.io/kubernetes pkg/printers/internalversion/printers.go).
 */
import type { ResourceType } from './resources.js';
import type { Obj } from './status.js';

export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').includes('as=Table');
}

function age(ts: string | undefined): string {
  if (!ts) return '<unknown>';
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(ts)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function nodeStatus(o: Obj): string {
  const ready = ((o.status?.conditions ?? []) as Obj[]).find((c) => c.type === 'Ready');
  const s = ready?.status === 'True' ? 'Ready' : 'NotReady';
  return o.spec?.unschedulable ? `${s},SchedulingDisabled` : s;
}

export function toTable(t: ResourceType, items: Obj[], resourceVersion: string, includeObject = 'Metadata'): Obj {
  const col = (name: string, type = 'string', description = '') => ({ name, type, format: name === 'Name' ? 'name' : '', description, priority: 0 });
  const columns = [col('Name')];
  let cells: (o: Obj) => unknown[] = (o) => [o.metadata.name];
  if (t.kind === 'Pod' && t.group === '') {
    columns.push(col('Status'), col('Node'));
    cells = (o) => [o.metadata.name, o.metadata.deletionTimestamp ? 'Terminating' : (o.status?.phase ?? ''), o.spec?.nodeName ?? '<none>'];
  } else if (t.kind === 'Node' && t.group === '') {
    columns.push(col('Status'), col('Kernel-Version'));
    cells = (o) => [o.metadata.name, nodeStatus(o), o.status?.nodeInfo?.kernelVersion ?? ''];
  } else if (t.kind === 'Namespace' && t.group === '') {
    columns.push(col('Status'));
    cells = (o) => [o.metadata.name, o.status?.phase ?? ''];
  }
  columns.push(col('Age'));
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: columns,
    rows: items.map((o) => ({
      cells: [...cells(o), age(o.metadata.creationTimestamp)],
      ...(includeObject === 'None' ? {} : { object: includeObject === 'Object' ? o : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata } }),
    })),
  };
}
