/**
 * Refuses to apply an artifact set that still holds a placeholder (`FILL_ME…`) in a
 * Day-2 object. What applying one does on a real cluster:
 *   - layering: a MachineConfig whose `osImageURL` is a placeholder — the MCO renders it,
 *     cordons and drains the node, then cannot pull the image: the node stays cordoned
 *     and the pool Degraded until someone removes the MachineConfig
 *     (machine-config-operator release-4.14, pkg/daemon: the update is applied after the
 *     drain; an image pull failure marks the node Degraded);
 *   - dtk: a BuildConfig whose Dockerfile starts `FROM <placeholder driver-toolkit>` — the
 *     build fails pulling it and the DaemonSet's image never exists.
 * So kmodlab stops before the first write, naming the file, object, field and the flag
 * that supplies the real value (exit 2).
 */
import { type ArtifactSet, type K8sObject } from '../../artifacts/artifact-set.js';
import { UserError } from '../../errors.js';
import { PLACEHOLDERS, type Placeholder } from '../../release/placeholders.js';

export interface PlaceholderHit {
  file: string;
  object: string;
  /** Field path, e.g. `spec.osImageURL`. */
  field: string;
  token: string;
  placeholder?: Placeholder;
}

const TOKEN = /FILL_ME[A-Z0-9_]*/;

function* strings(v: unknown, path: string): Generator<[string, string]> {
  if (typeof v === 'string') yield [path, v];
  else if (Array.isArray(v)) for (const [i, x] of v.entries()) yield* strings(x, `${path}[${i}]`);
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) yield* strings(x, path ? `${path}.${k}` : k);
}

/** Every placeholder left in the Day-2 objects of `set`. */
export function placeholdersIn(set: ArtifactSet): PlaceholderHit[] {
  const known: Placeholder[] = [...set.placeholders, ...Object.values(PLACEHOLDERS)];
  const hits: PlaceholderHit[] = [];
  for (const file of set.files) {
    if (file.phase !== 'day2') continue;
    for (const o of file.objects ?? []) {
      for (const [field, value] of strings(o as K8sObject, '')) {
        const m = TOKEN.exec(value);
        if (!m) continue;
        // The most specific placeholder whose token is in the value (FILL_ME alone is part of several).
        const placeholder = known.filter((p) => value.includes(p.token)).sort((a, b) => b.token.length - a.token.length)[0];
        hits.push({ file: file.path, object: `${o.kind}/${o.metadata.name}`, field, token: m[0], placeholder });
      }
    }
  }
  return hits;
}

/** Throws a UserError naming the first placeholder (and how many there are) when the set has any. */
export function refusePlaceholders(set: ArtifactSet): void {
  const hits = placeholdersIn(set);
  if (hits.length === 0) return;
  const h = hits[0]!;
  const what = h.placeholder ? `${h.placeholder.meaning}` : 'a value kmodlab did not know';
  const more = hits.length > 1 ? ` (and ${hits.length - 1} more: ${[...new Set(hits.slice(1).map((x) => `${x.object} ${x.field}`))].join(', ')})` : '';
  throw new UserError(
    `${set.method}: ${h.file}: ${h.object} field ${h.field} is the placeholder ${h.token} (${what}), so kmodlab does not apply it to the cluster${more}`,
    h.placeholder ? `pass ${h.placeholder.flag}: ${h.placeholder.howToFill}` : 'fill it in (grep -rn FILL_ME) and re-render',
  );
}


