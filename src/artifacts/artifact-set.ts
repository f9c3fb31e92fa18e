/**
 * ArtifactSet: what a method renders — ordered, named files (manifests, Containerfiles,
 * scripts, README). Manifest files keep their objects, so targets can realize them
 * and tests can validate them; text is produced by the one YAML writer.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { toYamlStream } from '../yaml.js';

export const METHOD_IDS = ['layering', 'dtk', 'kmm'] as const;
export type MethodId = (typeof METHOD_IDS)[number];

/** A Kubernetes object as rendered: plain JSON-compatible data. */
export const K8sObjectSchema = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: z.looseObject({
    name: z.string().min(1),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
});
export type K8sObject = z.infer<typeof K8sObjectSchema>;

/**
 * When a file is used:
 * - `day2`: apply to a running cluster (`oc apply -f`);
 * - `day1`: copy into the installer's `openshift/` manifests directory before
 *   `openshift-install create cluster`;
 * - `build`: input to an image build (Containerfile, build context);
 * - `doc`: for people (README).
 */
export const ArtifactPhaseSchema = z.enum(['day1', 'day2', 'build', 'doc']);
export type ArtifactPhase = z.infer<typeof ArtifactPhaseSchema>;

export const ArtifactSchema = z.strictObject({
  /** Path relative to the method's output directory, e.g. `00-namespace.yaml`. */
  path: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.\/-]*$/),
  phase: ArtifactPhaseSchema,
  /** One line saying what the file is for. */
  description: z.string(),
  /** Objects of a manifest file, in apply order. */
  objects: z.array(K8sObjectSchema).optional(),
  /** Text of a non-manifest file. */
  content: z.string().optional(),
  /** File mode for scripts. */
  executable: z.boolean().optional(),
});
export type Artifact = z.infer<typeof ArtifactSchema>;

export const ArtifactSetSchema = z.strictObject({
  method: z.enum(METHOD_IDS),
  /** Variant of the method (e.g. dtk `pinned` / `tracking`), when it has several. */
  variant: z.string().optional(),
  day1: z.boolean(),
  files: z.array(ArtifactSchema),
  placeholders: z.array(z.strictObject({ token: z.string(), meaning: z.string(), howToFill: z.string(), flag: z.string() })),
  /** What the rendered files cannot do that the driver spec asks for (shown on stderr and in the README). */
  warnings: z.array(z.string()).optional(),
});
export type ArtifactSet = z.infer<typeof ArtifactSetSchema>;

/** The text written for an artifact. */
export function artifactText(a: Artifact): string {
  if (a.objects) return toYamlStream(a.objects);
  return a.content ?? '';
}

/** Every Kubernetes object of the set, in file order (optionally one phase only). */
export function allObjects(set: ArtifactSet, phase?: ArtifactPhase): K8sObject[] {
  return set.files.filter((f) => f.objects && (!phase || f.phase === phase)).flatMap((f) => f.objects ?? []);
}

export function findFile(set: ArtifactSet, p: string): Artifact | undefined {
  return set.files.find((f) => f.path === p);
}

/** Writes the set under `dir/<method>/`; returns the absolute paths written. */
export async function writeArtifactSet(set: ArtifactSet, dir: string): Promise<string[]> {
  const root = path.resolve(dir, set.method);
  const written: string[] = [];
  for (const file of set.files) {
    const target = path.join(root, file.path);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, artifactText(file), { mode: file.executable ? 0o755 : 0o644 });
    written.push(target);
  }
  return written;
}
