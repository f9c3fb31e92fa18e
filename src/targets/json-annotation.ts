/**
 * Records the lab writes on API objects as JSON annotations (a build's module dependencies,
 * its build host's figures) and clients read back. One reader: an absent annotation, or one
 * that is not JSON of the expected shape (a cluster's objects, another writer's), reads as
 * nothing rather than failing the watch that saw it.
 */
import type { z } from 'zod';

export function readJsonAnnotation<S extends z.ZodType>(annotations: Record<string, string> | undefined, key: string, schema: S): z.infer<S> | undefined {
  const text = annotations?.[key];
  if (text === undefined) return undefined;
  try {
    const r = schema.safeParse(JSON.parse(text));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}
