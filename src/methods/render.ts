/**
 * Rendering several methods at once, with the options checked once. Library users call
 * this; the CLI adds file writing and printing on top.
 */
import { ArtifactSetSchema, type ArtifactSet } from '../artifacts/artifact-set.js';
import type { DriverSpec } from '../driver/spec.js';
import { UserError } from '../errors.js';
import type { Release } from '../release/release.js';
import { fieldPath } from '../schema-errors.js';
import { allMethods, getMethod } from './index.js';
import { RenderOptionsSchema, type RenderOptionsInput } from './method.js';

/** Maps RenderOptions fields to the CLI flags users type. */
const OPTION_FLAGS: Record<string, string> = {
  day1: '--day1',
  pool: '--pool',
  registry: '--registry',
  namespace: '--namespace',
  variant: '--variant',
  kmmVersion: '--kmm-version',
  layeredImage: '--layered-image',
};

/** Methods whose objects live in a namespace of their own (default `kmodlab-<driver>[-<method>]`). */
const NAMESPACED_METHODS = new Set(['dtk', 'kmm']);

export function methodsFor(selection: string): ReturnType<typeof allMethods> {
  return selection === 'all' ? allMethods() : selection.split(',').map((id) => getMethod(id.trim()));
}

export function renderMethods(driver: DriverSpec, release: Release, selection: string, input: RenderOptionsInput = {}): ArtifactSet[] {
  const parsed = RenderOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0] ?? '');
    throw new UserError(`${OPTION_FLAGS[key] ?? fieldPath(issue.path)}: ${issue.message}`);
  }
  const methods = methodsFor(selection);
  if (parsed.data.variant !== undefined && methods.length !== 1) {
    throw new UserError(`--variant applies to one method: use it with --method ${methods.map((m) => m.id).join('|')}, not with --method ${selection}`);
  }
  const namespaced = methods.filter((m) => NAMESPACED_METHODS.has(m.id));
  if (parsed.data.namespace !== undefined && namespaced.length > 1) {
    throw new UserError(
      `--namespace applies to one method: ${namespaced.map((m) => m.id).join(' and ')} each get their own namespace, so that \`oc delete -f .\` in one method's directory never deletes the other's objects; render them one at a time with --method <method> --namespace <ns>`,
    );
  }
  return methods.map((m) => ArtifactSetSchema.parse(m.render(driver, release, parsed.data)));
}
