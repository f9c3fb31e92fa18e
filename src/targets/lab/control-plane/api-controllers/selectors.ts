/**
 * metav1.LabelSelector matching (k8s.io/apimachinery pkg/apis/meta/v1
 * helpers.go LabelSelectorAsSelector): matchLabels ANDed with matchExpressions
 * (In, NotIn, Exists, DoesNotExist). An empty selector matches everything.
 */
import type { V1LabelSelector } from '@kubernetes/client-node';

export function selectorMatches(sel: V1LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!sel) return false;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const v = labels[e.key];
    if (e.operator === 'In' && (v === undefined || !(e.values ?? []).includes(v))) return false;
    if (e.operator === 'NotIn' && v !== undefined && (e.values ?? []).includes(v)) return false;
    if (e.operator === 'Exists' && v === undefined) return false;
    if (e.operator === 'DoesNotExist' && v !== undefined) return false;
  }
  return true;
}
