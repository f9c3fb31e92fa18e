/**
 * The emulated API server's storage: applied objects by kind/namespace/name, with
 * the few queries controllers need. Objects are plain rendered manifests — the lab
 * realizes exactly what a cluster would be given.
 */
import type { K8sObject } from '../../../artifacts/artifact-set.js';

export function objectKey(o: Pick<K8sObject, 'kind' | 'metadata'>): string {
  return `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

/** `Kind/name` as events and messages show it. */
export function objectRef(o: Pick<K8sObject, 'kind' | 'metadata'>): string {
  return `${o.kind}/${o.metadata.name}`;
}

export class ObjectStore {
  private readonly objects = new Map<string, K8sObject>();

  put(o: K8sObject): void {
    this.objects.set(objectKey(o), structuredClone(o));
  }
  remove(o: Pick<K8sObject, 'kind' | 'metadata'>): boolean {
    return this.objects.delete(objectKey(o));
  }
  get(kind: string, name: string, namespace?: string): K8sObject | undefined {
    return this.objects.get(`${kind}/${namespace ?? ''}/${name}`);
  }
  list(kind: string): K8sObject[] {
    return [...this.objects.values()].filter((o) => o.kind === kind);
  }
}

/** Does a node with these labels satisfy a nodeSelector map? */
export function matchesSelector(labels: Record<string, string>, selector: Record<string, string> | undefined): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

interface MatchExpression {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';
  values?: string[];
}

/** requiredDuringScheduling node affinity: terms are ORed, expressions within a term ANDed. */
export function matchesNodeAffinity(labels: Record<string, string>, affinity: unknown): boolean {
  const terms = (affinity as { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: { matchExpressions?: MatchExpression[] }[] } } })
    ?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms || terms.length === 0) return true;
  return terms.some((term) =>
    (term.matchExpressions ?? []).every((e) => {
      const v = labels[e.key];
      switch (e.operator) {
        case 'In':
          return v !== undefined && (e.values ?? []).includes(v);
        case 'NotIn':
          return v === undefined || !(e.values ?? []).includes(v);
        case 'Exists':
          return v !== undefined;
        case 'DoesNotExist':
          return v === undefined;
        case 'Gt':
          return v !== undefined && Number(v) > Number(e.values?.[0]);
        case 'Lt':
          return v !== undefined && Number(v) < Number(e.values?.[0]);
      }
    }),
  );
}

/** Does one of the tolerations tolerate the taint? (k8s.io/api core/v1 toleration.go ToleratesTaint) */
export function tolerates(tolerations: { key?: string; operator?: string; value?: string; effect?: string }[], taint: { key: string; value?: string; effect: string }): boolean {
  return tolerations.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (!t.key) return t.operator === 'Exists';
    if (t.key !== taint.key) return false;
    return t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '');
  });
}
