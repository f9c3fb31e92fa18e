/**
 * How a list is merged, for strategic merge patch and for server-side apply field
 * ownership: the `patchStrategy`/`patchMergeKey` (and `listType=map`/`listMapKeys`)
 * tags of the k8s.io/api Go types for the fields the lab's kinds use. Lists not named
 * here are atomic (replaced whole). Custom resources have no such tags: their lists are
 * atomic unless their schema says `x-kubernetes-list-type` (metadata lists excepted).
 */
export type ListMerge = { keys: string[] } | 'set' | 'atomic';

const BY_FIELD: Record<string, string[]> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  env: ['name'],
  volumes: ['name'],
  volumeMounts: ['mountPath'],
  volumeDevices: ['devicePath'],
  imagePullSecrets: ['name'],
  hostAliases: ['ip'],
  conditions: ['type'],
  ownerReferences: ['uid'],
  secrets: ['name'],
};

/** `path` is the field path to the list, e.g. ['spec','template','spec','containers']. */
export function listMerge(path: readonly string[], items: readonly unknown[], builtin: boolean): ListMerge {
  const field = path.at(-1) ?? '';
  const inMetadata = path.length === 2 && path[0] === 'metadata';
  if (inMetadata && field === 'finalizers') return 'set';
  if (inMetadata && field === 'ownerReferences') return { keys: ['uid'] };
  if (!builtin) return 'atomic';
  if (field === 'ports') {
    // Container ports are keyed by containerPort (+protocol), Service ports by port (+protocol).
    const first = items.find((i) => i && typeof i === 'object') as Record<string, unknown> | undefined;
    return first && 'containerPort' in first ? { keys: ['containerPort', 'protocol'] } : { keys: ['port', 'protocol'] };
  }
  const keys = BY_FIELD[field];
  return keys ? { keys } : 'atomic';
}

export const isPlainObject = (v: unknown): v is Record<string, any> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The key of a list item: the merge-key values present (protocol defaults to TCP, as the API defaults it). */
export function itemKey(item: unknown, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!isPlainObject(item)) return out;
  for (const k of keys) {
    if (item[k] !== undefined) out[k] = item[k];
    else if (k === 'protocol') out[k] = 'TCP';
  }
  return out;
}

export function sameKey(a: unknown, b: unknown, keys: string[]): boolean {
  const ka = itemKey(a, keys);
  const kb = itemKey(b, keys);
  return keys.every((k) => ka[k] === kb[k]);
}
