/**
 * Label and field selectors as the API parses them (k8s.io/apimachinery
 * pkg/labels/selector.go, pkg/fields/selector.go). Field selectors are evaluated on any
 * dotted path of the object (kube-apiserver allows only a per-kind list — e.g.
 * metadata.name, metadata.namespace, spec.nodeName, status.phase for pods — and
 * answers 400 for the others; the lab is more lenient there).
 */
import { badRequest, type Obj } from './status.js';

export type Matcher = (obj: Obj) => boolean;

/** Splits on commas outside parentheses. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter(Boolean);
}

export function parseLabelSelector(sel: string | undefined): Matcher {
  if (!sel) return () => true;
  const tests: ((labels: Record<string, string>) => boolean)[] = [];
  for (const term of splitTerms(sel)) {
    let m: RegExpMatchArray | null;
    if ((m = term.match(/^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/))) {
      const [, key, op, list] = m as unknown as [string, string, string, string];
      const values = list.split(',').map((v) => v.trim());
      tests.push(op === 'in' ? (l) => key in l && values.includes(l[key]!) : (l) => !(key in l) || !values.includes(l[key]!));
    } else if ((m = term.match(/^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/))) {
      const [, key, op, value] = m as unknown as [string, string, string, string];
      tests.push(op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value);
    } else if ((m = term.match(/^!([\w./-]+)$/))) {
      const key = m[1]!;
      tests.push((l) => !(key in l));
    } else if ((m = term.match(/^([\w./-]+)$/))) {
      const key = m[1]!;
      tests.push((l) => key in l);
    } else {
      throw badRequest(`unable to parse requirement: invalid label selector "${sel}"`);
    }
  }
  return (obj) => {
    const labels = (obj.metadata?.labels ?? {}) as Record<string, string>;
    return tests.every((t) => t(labels));
  };
}

function fieldValue(obj: Obj, path: string): string {
  let cur: unknown = obj;
  for (const p of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Obj)[p];
  }
  return cur === undefined || cur === null ? '' : String(cur);
}

export function parseFieldSelector(sel: string | undefined): Matcher {
  if (!sel) return () => true;
  const tests: Matcher[] = [];
  for (const term of splitTerms(sel)) {
    const m = term.match(/^([\w.]+)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw badRequest(`invalid field selector: "${term}": expected field=value or field!=value`);
    const [, path, op, value] = m as unknown as [string, string, string, string];
    tests.push(op === '!=' ? (o) => fieldValue(o, path) !== value : (o) => fieldValue(o, path) === value);
  }
  return (obj) => tests.every((t) => t(obj));
}
