/**
 * Turns schema-check failures into one clear sentence per problem:
 * `<file>: <field path>: <what was expected>`.
 */
import type { z } from 'zod';

export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(top level)' : out;
}

export function describeIssues(where: string, error: z.ZodError): string {
  const lines = error.issues.map((issue) => `${where}: ${fieldPath(issue.path)}: ${issue.message}`);
  return lines.join('\n');
}
