/**
 * Field ownership for server-side apply, after sigs.k8s.io/structured-merge-diff
 * (fieldpath.Set, merge.Updater) as kube-apiserver uses it:
 *   - a field set holds leaf paths: `f:<field>` into maps, `k:{<list keys>}` into
 *     associative lists (whose element nodes are owned too), `v:<value>` into sets; an
 *     atomic list or an empty map is one leaf;
 *   - `metadata.managedFields` stores one entry per (manager, operation) as FieldsV1;
 *   - an apply conflicts when it sets a field to a value different from the live one
 *     and another manager owns that field (→ 409 unless force, which takes ownership);
 *   - fields the applier owned before and no longer applies are removed, unless another
 *     manager also owns them;
 *   - other writes (create/update/patch) give their manager (operation Update) the
 *     fields they changed and take those fields from every other manager.
 * Tracked metadata: labels, annotations, finalizers, ownerReferences (as upstream).
 */
import { ApiError, type Obj } from './status.js';
import { isPlainObject, itemKey, listMerge, sameKey } from './list-keys.js';

export type FieldSet = Set<string>;
type Path = string[];

const enc = (p: Path) => JSON.stringify(p);
const dec = (s: string) => JSON.parse(s) as Path;

function sortedKeyJson(key: Record<string, unknown>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(key).sort(([a], [b]) => a.localeCompare(b))));
}

function collect(value: unknown, path: Path, names: string[], set: FieldSet, builtin: boolean): void {
  if (isPlainObject(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0 && path.length > 0) set.add(enc(path));
    for (const [k, v] of entries) collect(v, [...path, `f:${k}`], [...names, k], set, builtin);
  } else if (Array.isArray(value)) {
    const how = listMerge(names, value, builtin);
    if (how === 'atomic') set.add(enc(path));
    else if (how === 'set') for (const v of value) set.add(enc([...path, `v:${JSON.stringify(v)}`]));
    else
      for (const item of value) {
        const kp = [...path, `k:${sortedKeyJson(itemKey(item, how.keys))}`];
        set.add(enc(kp));
        if (isPlainObject(item)) for (const [k, v] of Object.entries(item)) collect(v, [...kp, `f:${k}`], [...names, k], set, builtin);
      }
  } else set.add(enc(path));
}

/** The fields an object sets (status only when `withStatus`). */
export function fieldsOf(obj: Obj | undefined, builtin: boolean, withStatus: boolean): FieldSet {
  const set: FieldSet = new Set();
  if (!obj) return set;
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'status' && !withStatus) continue;
    if (k === 'metadata') {
      for (const mk of ['labels', 'annotations', 'finalizers', 'ownerReferences']) {
        if (isPlainObject(v) && v[mk] !== undefined) collect(v[mk], ['f:metadata', `f:${mk}`], ['metadata', mk], set, builtin);
      }
      continue;
    }
    collect(v, [`f:${k}`], [k], set, builtin);
  }
  return set;
}

function keyMatches(item: unknown, keyJson: string): boolean {
  const key = JSON.parse(keyJson) as Record<string, unknown>;
  return sameKey(item, key, Object.keys(key));
}

/** The value at a path; `undefined` when absent. */
export function valueAt(obj: unknown, path: Path): unknown {
  let cur: unknown = obj;
  for (const el of path) {
    if (cur === undefined) return undefined;
    const body = el.slice(2);
    if (el.startsWith('f:')) cur = isPlainObject(cur) ? cur[body] : undefined;
    else if (el.startsWith('k:')) cur = Array.isArray(cur) ? cur.find((i) => keyMatches(i, body)) : undefined;
    else if (el.startsWith('v:')) cur = Array.isArray(cur) && cur.some((i) => JSON.stringify(i) === body) ? true : undefined;
  }
  return cur;
}

function removeAt(obj: unknown, path: Path): void {
  const parent = valueAt(obj, path.slice(0, -1));
  const el = path.at(-1)!;
  const body = el.slice(2);
  if (el.startsWith('f:') && isPlainObject(parent)) delete parent[body];
  else if (Array.isArray(parent)) {
    const i = el.startsWith('k:') ? parent.findIndex((x) => keyMatches(x, body)) : parent.findIndex((x) => JSON.stringify(x) === body);
    if (i >= 0) parent.splice(i, 1);
  }
}

/** Merges an applied configuration into an object (maps by key, lists by their merge type). */
export function applyMerge(live: unknown, applied: unknown, names: string[], builtin: boolean): unknown {
  if (isPlainObject(applied)) {
    const out: Obj = isPlainObject(live) ? { ...live } : {};
    for (const [k, v] of Object.entries(applied)) out[k] = applyMerge(out[k], v, [...names, k], builtin);
    return out;
  }
  if (Array.isArray(applied)) {
    const how = listMerge(names, applied, builtin);
    if (how === 'atomic' || !Array.isArray(live)) return structuredClone(applied);
    if (how === 'set') return [...live, ...applied.filter((v) => !live.includes(v))];
    const out = live.map((i) => structuredClone(i));
    for (const item of applied) {
      const at = out.findIndex((o) => sameKey(o, item, how.keys));
      if (at >= 0) out[at] = applyMerge(out[at], item, names, builtin);
      else out.push(structuredClone(item));
    }
    return out;
  }
  return structuredClone(applied);
}

// ---- FieldsV1 encoding ----

export function toFieldsV1(set: FieldSet): Obj {
  const root: Obj = {};
  const paths = [...set].map(dec);
  for (const p of paths) {
    let node = root;
    for (const el of p) node = node[el] ??= {};
  }
  // A path that is owned and also has owned children carries ".".
  for (const p of paths) {
    const node = p.reduce((n: Obj, el) => n[el], root);
    if (Object.keys(node).some((k) => k !== '.')) node['.'] = {};
  }
  return root;
}

export function fromFieldsV1(tree: Obj | undefined): FieldSet {
  const set: FieldSet = new Set();
  const walk = (node: Obj, path: Path) => {
    for (const [k, child] of Object.entries(node)) {
      if (k === '.') {
        set.add(enc(path));
        continue;
      }
      const p = [...path, k];
      if (!isPlainObject(child) || Object.keys(child).length === 0) set.add(enc(p));
      else walk(child, p);
    }
  };
  if (tree) walk(tree, []);
  return set;
}

/** `.spec.containers[name="x"].image`, as conflict messages show paths. */
export function pathString(s: string): string {
  return dec(s)
    .map((el) => {
      const body = el.slice(2);
      if (el.startsWith('f:')) return `.${body}`;
      if (el.startsWith('k:')) return `[${Object.entries(JSON.parse(body) as Obj).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
      return `[=${body}]`;
    })
    .join('');
}

export interface ManagedEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fields: FieldSet;
  subresource?: string;
}

export function readManaged(obj: Obj | undefined): ManagedEntry[] {
  return ((obj?.metadata?.managedFields ?? []) as Obj[]).map((m) => ({
    manager: m.manager ?? '',
    operation: m.operation === 'Apply' ? 'Apply' : 'Update',
    apiVersion: m.apiVersion ?? '',
    time: m.time ?? '',
    fields: fromFieldsV1(m.fieldsV1),
    ...(m.subresource ? { subresource: m.subresource } : {}),
  }));
}

export function writeManaged(entries: ManagedEntry[]): Obj[] {
  return entries
    .filter((e) => e.fields.size > 0)
    .map((e) => ({
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      time: e.time,
      fieldsType: 'FieldsV1',
      fieldsV1: toFieldsV1(e.fields),
      ...(e.subresource ? { subresource: e.subresource } : {}),
    }));
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function entryFor(entries: ManagedEntry[], manager: string, operation: 'Apply' | 'Update', apiVersion: string, subresource?: string): ManagedEntry {
  let e = entries.find((x) => x.manager === manager && x.operation === operation && (x.subresource ?? '') === (subresource ?? ''));
  if (!e) {
    e = { manager, operation, apiVersion, time: now(), fields: new Set(), ...(subresource ? { subresource } : {}) };
    entries.push(e);
  }
  e.apiVersion = apiVersion;
  e.time = now();
  return e;
}

export interface OwnershipContext {
  manager: string;
  apiVersion: string;
  builtin: boolean;
  /** Status is tracked (the /status subresource, or a kind without one). */
  withStatus: boolean;
  subresource?: string;
}

/** A non-apply write: the writer owns what it changed; nobody owns what was removed. */
export function recordUpdate(old: Obj | undefined, next: Obj, ctx: OwnershipContext): Obj[] {
  const entries = readManaged(old);
  const before = fieldsOf(old, ctx.builtin, ctx.withStatus);
  const after = fieldsOf(next, ctx.builtin, ctx.withStatus);
  const changed = [...after].filter((p) => !before.has(p) || !same(valueAt(old, dec(p)), valueAt(next, dec(p))));
  const removed = [...before].filter((p) => !after.has(p));
  for (const e of entries) for (const p of [...changed, ...removed]) e.fields.delete(p);
  if (changed.length > 0) {
    const mine = entryFor(entries, ctx.manager, 'Update', ctx.apiVersion, ctx.subresource);
    for (const p of changed) mine.fields.add(p);
  }
  return writeManaged(entries);
}

/**
 * Server-side apply of `applied` onto `live`. Returns the merged object (without
 * metadata bookkeeping) and the new managedFields; throws 409 on conflicts unless `force`.
 */
export function serverSideApply(live: Obj | undefined, applied: Obj, ctx: OwnershipContext, force: boolean): { object: Obj; managedFields: Obj[] } {
  const entries = readManaged(live);
  const mine = (e: ManagedEntry) => e.manager === ctx.manager && e.operation === 'Apply' && (e.subresource ?? '') === (ctx.subresource ?? '');
  const wanted = fieldsOf(applied, ctx.builtin, ctx.withStatus);
  const conflicts: { manager: string; apiVersion: string; path: string }[] = [];
  for (const p of wanted) {
    const path = dec(p);
    if (path.at(-1)!.startsWith('k:')) continue; // element nodes: presence, not values
    const liveValue = valueAt(live, path);
    if (liveValue === undefined || same(liveValue, valueAt(applied, path))) continue;
    for (const e of entries) if (!mine(e) && e.fields.has(p)) conflicts.push({ manager: e.manager, apiVersion: e.apiVersion, path: p });
  }
  if (conflicts.length > 0 && !force) {
    const n = conflicts.length;
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) byManager.set(`"${c.manager}" using ${c.apiVersion}`, [...(byManager.get(`"${c.manager}" using ${c.apiVersion}`) ?? []), pathString(c.path)]);
    const parts = [...byManager].map(([m, ps]) => (ps.length === 1 ? `conflict with ${m}: ${ps[0]}` : `conflicts with ${m}:\n${ps.map((p) => `- ${p}`).join('\n')}`));
    throw new ApiError(409, 'Conflict', `Apply failed with ${n} conflict${n === 1 ? '' : 's'}: ${parts.join('\n')}`, {
      causes: conflicts.map((c) => ({ type: 'FieldManagerConflict', message: `conflict with "${c.manager}" using ${c.apiVersion}`, field: pathString(c.path) })),
    });
  }
  for (const c of conflicts) for (const e of entries) if (!mine(e)) e.fields.delete(c.path);
  const previous = entries.find(mine)?.fields ?? new Set<string>();
  const ownedByOthers = new Set(entries.filter((e) => !mine(e)).flatMap((e) => [...e.fields]));
  const object = structuredClone(live ?? {}) as Obj;
  const drop = [...previous].filter((p) => !wanted.has(p) && !ownedByOthers.has(p)).map(dec);
  drop.sort((a, b) => b.length - a.length);
  for (const p of drop) removeAt(object, p);
  const merged = applyMerge(object, applied, [], ctx.builtin) as Obj;
  const entry = entryFor(entries, ctx.manager, 'Apply', ctx.apiVersion, ctx.subresource);
  entry.fields = wanted;
  // Keep the applier's entry first-class: upstream lists entries in update order.
  return { object: merged, managedFields: writeManaged(entries) };
}
