/**
 * The Method interface: every delivery method (one folder under methods/) exports one.
 * A method renders artifacts for a driver and a release; it never knows which target
 * (lab or cluster) will realize them.
 */
import { z } from 'zod';
import type { ArtifactSet, MethodId } from '../artifacts/artifact-set.js';
import type { DriverSpec } from '../driver/spec.js';
import type { Release } from '../release/release.js';
import { POOL_NAME_EXPECTED, POOL_NAME_PATTERN } from './custom-pool.js';

export const RenderOptionsSchema = z.strictObject({
  /** Render the Day-1 (install-time) form instead of the Day-2 form. */
  day1: z.boolean().default(false),
  /**
   * MachineConfigPool (node role) the driver goes to: `worker`, `master` (single-node
   * OpenShift) or a custom pool such as `infra` or `gpu`, whose MachineConfigPool the
   * methods that need one render too (see custom-pool.ts).
   */
  pool: z
    .string()
    .regex(POOL_NAME_PATTERN, POOL_NAME_EXPECTED)
    .default('worker'),
  /**
   * Repository prefix for images kmodlab asks to build (e.g. `quay.io/acme`). Default:
   * the cluster's internal registry in the method's namespace.
   */
  registry: z.string().regex(/^[a-z0-9][a-z0-9.-]*(:[0-9]+)?(\/[a-z0-9._-]+)*$/, 'expected a registry/repository prefix such as quay.io/acme').optional(),
  /** Namespace for the method's namespaced objects (default per method). */
  namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'expected a namespace name (DNS-1123 label)').optional(),
  /**
   * Where the driver's `source.path` directory is on the machine that renders (absolute),
   * so README commands name it instead of a `<driver source dir>` placeholder.
   */
  sourceDir: z.string().min(1).optional(),
  /**
   * The layered OS image you built and pushed, by digest (`<repository>@sha256:<64 hex>`):
   * the off-cluster layering MachineConfig's osImageURL. Unset: a named placeholder.
   */
  layeredImage: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]*(:[0-9]+)?(\/[a-z0-9._-]+)+@sha256:[a-f0-9]{64}$/, 'expected an image pinned by digest, <repository>@sha256:<64 hex digits>')
    .optional(),
  /** Method-specific variant, e.g. dtk `pinned` | `tracking`, layering `off-cluster` | `on-cluster`. */
  variant: z.string().optional(),
  /**
   * KMM release the kmm method renders for (`2.4`, `2.4.1`); default: the newest KMM that
   * supports the release's OpenShift version. Checked by the kmm method.
   */
  kmmVersion: z.string().optional(),
});
export type RenderOptions = z.output<typeof RenderOptionsSchema>;
export type RenderOptionsInput = z.input<typeof RenderOptionsSchema>;

/** A fact about a method, with where it comes from (docs, upstream source). */
export interface FeatureFact {
  /** Stable key shared by all methods, e.g. `reboot-required`, `follows-kernel-upgrades`. */
  key: FeatureKey;
  /** Short answer shown in the feature table. */
  value: string;
  /**
   * The answer for one variant's row where the variants differ (the report's features
   * table has a column per evaluated variant, see rows.ts); `value` otherwise.
   */
  byVariant?: Readonly<Record<string, string>>;
  /** URL or document the fact comes from. */
  source: string;
  /**
   * The answer as a level, for the verdict (src/report/verdict.ts): does the method
   * have this property ('yes'), only with work or limits ('partly'), or not ('no').
   * Per variant where the variants differ.
   */
  level?: FeatureLevel | Readonly<Record<string, FeatureLevel>>;
}

export type FeatureLevel = 'yes' | 'partly' | 'no';

export const FEATURE_KEYS = {
  'reboot-required': 'Node reboot to load or update the driver',
  'follows-kernel-upgrades': 'Driver follows cluster (kernel) upgrades without manual action',
  'day1-support': 'Driver available at first boot (Day 1)',
  'in-cluster-build': 'Builds the driver in the cluster',
  'module-signing': 'Module signing for Secure Boot',
  'resident-components': 'Components resident on the cluster',
  'privileged-workload': 'Runs privileged workloads on nodes',
  'operator-required': 'Needs an operator installed',
  'single-node': 'Single-node OpenShift (SNO)',
  'unload-on-removal': 'Module unloaded when the artifacts are removed',
  disconnected: 'Disconnected (air-gapped) clusters',
} as const;
export type FeatureKey = keyof typeof FEATURE_KEYS;

export interface Method {
  id: MethodId;
  /** Human title, e.g. "RHCOS image layering". */
  title: string;
  /** Variants, first is the default. */
  variants: readonly string[];
  features: readonly FeatureFact[];
  render(driver: DriverSpec, release: Release, options: RenderOptions): ArtifactSet;
}

/** A method's documented fact for one of its variants: the value and level that variant's row shows. */
export function featureFor(m: Method, variant: string, key: FeatureKey): { value: string; source: string; level?: FeatureLevel } | undefined {
  const f = m.features.find((x) => x.key === key);
  if (!f) return undefined;
  const level = typeof f.level === 'string' ? f.level : f.level?.[variant];
  return { value: f.byVariant?.[variant] ?? f.value, source: f.source, ...(level ? { level } : {}) };
}
