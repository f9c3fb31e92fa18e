/**
 * Driver-spec mistakes in the words a user needs to fix them, with the line in the file:
 * - an unknown key names the key and the closest known one
 *   (`modules[0]: unknown key "nmae" (did you mean "name"?)`), as kubectl's strict
 *   field validation names the unknown field;
 * - a number or boolean where a string is expected says to quote it, with the text as
 *   written (`version: 2.30` is read by YAML as the number 2.3, so the message quotes
 *   the source text, not the parsed value);
 * - a list entry that may be a string or an object reports the branch the entry's type
 *   chose, not zod's bare "Invalid input".
 */
import { LineCounter, parseDocument, isMap, isScalar, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { fieldPath } from '../schema-errors.js';

type Issue = z.core.$ZodIssue;
type Path = PropertyKey[];

interface ZodDefLike {
  type: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  element?: unknown;
  options?: unknown[];
  in?: unknown;
  valueType?: unknown;
}

function defOf(schema: unknown): ZodDefLike | undefined {
  return (schema as { _zod?: { def?: ZodDefLike } })?._zod?.def;
}

/** The keys an object at `path` of `schema` accepts (all branches of a union). */
export function knownKeysAt(schema: unknown, path: readonly PropertyKey[]): string[] {
  const keys = new Set<string>();
  const walk = (s: unknown, rest: readonly PropertyKey[]): void => {
    const def = defOf(s);
    if (!def) return;
    switch (def.type) {
      case 'object':
        if (rest.length === 0) for (const k of Object.keys(def.shape ?? {})) keys.add(k);
        else if (def.shape && typeof rest[0] === 'string' && rest[0] in def.shape) walk(def.shape[rest[0]], rest.slice(1));
        return;
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'catch':
      case 'readonly':
        return walk(def.innerType, rest);
      case 'pipe':
        return walk(def.in, rest);
      case 'union':
        for (const o of def.options ?? []) walk(o, rest);
        return;
      case 'array':
        if (typeof rest[0] === 'number') walk(def.element, rest.slice(1));
        return;
      case 'record':
        if (rest.length > 0) walk(def.valueType, rest.slice(1));
        return;
      default:
        return;
    }
  };
  walk(schema, path);
  return [...keys];
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      // A swap of two neighbours ("nmae") counts as one edit.
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The known key closest to `key`, if it is close enough to be a typo. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    const d = editDistance(key, k);
    if (!best || d < best.d) best = { k, d };
  }
  return best && best.d <= Math.max(1, Math.floor(best.k.length / 3)) ? best.k : undefined;
}

/** Replaces union failures by the issues of the branch the value's type chose. */
function flatten(issues: readonly Issue[], prefix: Path = []): { path: Path; issue: Issue }[] {
  const out: { path: Path; issue: Issue }[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // A branch that failed only on the value's own type is the wrong branch.
      const typed = issue.errors.filter((b) => !b.some((i) => i.code === 'invalid_type' && i.path.length === 0));
      if (typed.length > 0) {
        out.push(...flatten(typed[0]!, path));
        continue;
      }
      // Every branch refused the value's type: say which types would do.
      const expected = issue.errors.flatMap((b) => b.filter((i) => i.code === 'invalid_type').map((i) => String(i.expected)));
      out.push({ path, issue: { code: 'invalid_type', expected: expected.join(' or '), path: [], message: `expected ${expected.join(' or ')}`, input: undefined } as unknown as Issue });
      continue;
    }
    out.push({ path, issue });
  }
  return out;
}

/** Where things are in the YAML text, for `file:line:` prefixes. */
class SourceMap {
  private readonly lines = new LineCounter();
  private readonly doc;
  constructor(readonly text: string) {
    this.doc = parseDocument(text, { lineCounter: this.lines, keepSourceTokens: false });
  }
  private line(offset: number | undefined): number | undefined {
    return offset === undefined ? undefined : this.lines.linePos(offset).line;
  }
  node(path: Path): YamlNode | undefined {
    const n = this.doc.getIn(path as unknown[], true);
    return n && typeof n === 'object' && 'range' in n ? (n as YamlNode) : undefined;
  }
  /** Line of the value at `path` (of the key `key` inside it when given). */
  lineOf(path: Path, key?: string): number | undefined {
    const n = this.node(path);
    if (key !== undefined && isMap(n)) {
      const pair = n.items.find((p) => isScalar(p.key) && p.key.value === key);
      const k = pair?.key as YamlNode | undefined;
      if (k?.range) return this.line(k.range[0]);
    }
    return this.line(n?.range?.[0]);
  }
  /** The value at `path` exactly as written. */
  sourceOf(path: Path): string | undefined {
    const n = this.node(path);
    if (!isScalar(n) || !n.range) return undefined;
    return this.text.slice(n.range[0], n.range[1]);
  }
}

/**
 * One line per problem: `<file>[:<line>]: <field path>: <what to do>`. `text` is the
 * file's YAML (for lines and values as written); without it, the values as parsed.
 */
export function describeDriverIssues(where: string, error: z.ZodError, schema: unknown, value: unknown, text?: string): string {
  let source: SourceMap | undefined;
  try {
    source = text === undefined ? undefined : new SourceMap(text);
  } catch {
    source = undefined;
  }
  const lines: { line: number; text: string }[] = [];
  /** `lineOf`: where to point (a missing field's parent, an unknown key's own line). */
  const push = (path: Path, message: string, key?: string, lineOf: Path = path) => {
    const line = source?.lineOf(lineOf, key);
    lines.push({ line: line ?? 0, text: `${line === undefined ? where : `${where}:${line}`}: ${fieldPath(path)}: ${message}` });
  };
  const flat = flatten(error.issues);
  /** Required keys an unknown key was probably meant to be: their "missing" issue is noise. */
  const suggested = new Set<string>();
  for (const { path, issue } of flat) {
    if (issue.code !== 'unrecognized_keys') continue;
    const known = knownKeysAt(schema, path);
    for (const key of issue.keys) {
      const near = closestKey(key, known);
      if (near) suggested.add(fieldPath([...path, near]));
      const hint = near ? `did you mean "${near}"?` : `expected one of: ${known.join(', ')}`;
      push(path, `unknown key "${key}" (${hint})`, key);
    }
  }
  for (const { path, issue } of flat) {
    if (issue.code === 'unrecognized_keys') continue;
    const actual = valueAt(value, path);
    if (issue.code === 'invalid_type' && actual === undefined && suggested.has(fieldPath(path))) continue;
    if (issue.code === 'invalid_type' && String(issue.expected).split(' or ').includes('string') && (typeof actual === 'number' || typeof actual === 'boolean')) {
      const written = source?.sourceOf(path) ?? String(actual);
      push(path, `quote it ("${written}"): YAML reads an unquoted ${written} as a ${typeof actual}, this field is a string`);
      continue;
    }
    if (issue.code === 'invalid_type' && actual === undefined) {
      push(path, `required field is missing (expected ${issue.expected})`, undefined, path.slice(0, -1));
      continue;
    }
    push(path, issue.message);
  }
  // In file order, as a reader goes through the file.
  return lines
    .sort((a, b) => a.line - b.line)
    .map((l) => l.text)
    .join('\n');
}

function valueAt(value: unknown, path: Path): unknown {
  let cur = value;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}
