/**
 * The three patch formats PATCH accepts besides apply:
 *   - JSON merge patch (RFC 7386) — `kubectl apply` for custom resources, `kubectl label`;
 *   - JSON patch (RFC 6902) — `kubectl patch --type json`;
 *   - strategic merge patch (k8s.io/apimachinery pkg/util/strategicpatch) — `kubectl
 *     apply` and `kubectl patch` for built-in kinds: lists with a merge key are merged
 *     by key; directives `$patch` (merge/replace/delete), `$retainKeys`,
 *     `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>` are honoured.
 */
import { badRequest, ApiError } from './status.js';
import { isPlainObject, listMerge, sameKey } from './list-keys.js';

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest('json patch: the body must be a list of operations');
  let doc = structuredClone(target);
  const parse = (p: unknown) => {
    if (typeof p !== 'string' || (p !== '' && !p.startsWith('/'))) throw badRequest(`json patch: invalid path ${JSON.stringify(p)}`);
    return p === '' ? [] : p.slice(1).split('/').map(unescapePointer);
  };
  const parentOf = (path: string[]) => {
    let cur: any = doc;
    for (const seg of path.slice(0, -1)) {
      cur = Array.isArray(cur) ? cur[Number(seg)] : cur?.[seg];
      if (cur === undefined || cur === null || typeof cur !== 'object') throw new ApiError(422, 'Invalid', `json patch: path /${path.join('/')} does not exist`);
    }
    return cur;
  };
  const get = (path: string[]) => path.reduce<any>((c, s) => (c === undefined ? undefined : Array.isArray(c) ? c[Number(s)] : c[s]), doc);
  const remove = (path: string[]) => {
    const parent = parentOf(path);
    const last = path.at(-1)!;
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else {
      if (!(last in parent)) throw new ApiError(422, 'Invalid', `json patch: cannot remove /${path.join('/')}: it does not exist`);
      delete parent[last];
    }
  };
  const add = (path: string[], value: unknown) => {
    if (path.length === 0) {
      doc = value;
      return;
    }
    const parent = parentOf(path);
    const last = path.at(-1)!;
    if (Array.isArray(parent)) parent.splice(last === '-' ? parent.length : Number(last), 0, value);
    else parent[last] = value;
  };
  for (const op of ops as Record<string, unknown>[]) {
    const path = parse(op.path);
    switch (op.op) {
      case 'add':
        add(path, structuredClone(op.value));
        break;
      case 'remove':
        remove(path);
        break;
      case 'replace':
        remove(path);
        add(path, structuredClone(op.value));
        break;
      case 'move': {
        const from = parse(op.from);
        const v = get(from);
        remove(from);
        add(path, v);
        break;
      }
      case 'copy':
        add(path, structuredClone(get(parse(op.from))));
        break;
      case 'test':
        if (JSON.stringify(get(path)) !== JSON.stringify(op.value)) throw new ApiError(422, 'Invalid', `json patch: test failed at /${path.join('/')}`);
        break;
      default:
        throw badRequest(`json patch: unknown operation ${JSON.stringify(op.op)}`);
    }
  }
  return doc;
}

const DELETE = Symbol('delete');

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((i) => !(isPlainObject(i) && i.$patch === 'delete')).map(stripDirectives);
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectives(x);
  return out;
}

function mergeList(path: string[], orig: unknown, patch: unknown[]): unknown[] {
  const how = listMerge(path, [...patch, ...(Array.isArray(orig) ? orig : [])], true);
  const base = Array.isArray(orig) ? orig : [];
  if (how === 'atomic') return stripDirectives(patch) as unknown[];
  if (how === 'set') {
    const out = [...base];
    for (const v of patch) if (!out.includes(v)) out.push(v);
    return out;
  }
  if (patch.some((i) => isPlainObject(i) && i.$patch === 'replace')) {
    return stripDirectives(patch.filter((i) => !(isPlainObject(i) && i.$patch === 'replace'))) as unknown[];
  }
  const out = base.map((i) => structuredClone(i));
  for (const item of patch) {
    const at = out.findIndex((o) => sameKey(o, item, how.keys));
    if (isPlainObject(item) && item.$patch === 'delete') {
      if (at >= 0) out.splice(at, 1);
      continue;
    }
    if (at >= 0) out[at] = smp(out[at], item, path);
    else out.push(stripDirectives(item));
  }
  return out;
}

function smp(orig: unknown, patch: unknown, path: string[]): any {
  if (!isPlainObject(patch)) return structuredClone(patch);
  if (patch.$patch === 'delete') return DELETE;
  if (patch.$patch === 'replace') return stripDirectives(patch);
  let out: Record<string, any> = isPlainObject(orig) ? { ...orig } : {};
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys as string[]);
    out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)));
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    if (v === null) delete out[k];
    else if (Array.isArray(v)) out[k] = mergeList([...path, k], out[k], v);
    else if (isPlainObject(v)) {
      const r = smp(out[k], v, [...path, k]);
      if (r === DELETE) delete out[k];
      else out[k] = r;
    } else out[k] = v;
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$deleteFromPrimitiveList/') && Array.isArray(v)) {
      const f = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[f])) out[f] = out[f].filter((x: unknown) => !v.includes(x));
    }
  }
  for (const [k, order] of Object.entries(patch)) {
    if (!k.startsWith('$setElementOrder/') || !Array.isArray(order)) continue;
    const f = k.slice('$setElementOrder/'.length);
    const list = out[f];
    if (!Array.isArray(list)) continue;
    const how = listMerge([...path, f], list, true);
    const matches = (a: unknown, b: unknown) => (typeof how === 'object' ? sameKey(a, b, how.keys) : a === b);
    const ordered: unknown[] = [];
    for (const o of order) {
      const i = list.findIndex((x) => matches(x, o));
      if (i >= 0 && !ordered.includes(list[i])) ordered.push(list[i]);
    }
    out[f] = [...ordered, ...list.filter((x) => !ordered.includes(x))];
  }
  return out;
}

export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) throw badRequest('strategic merge patch: the body must be an object');
  const r = smp(target, patch, []);
  return r === DELETE ? {} : r;
}
