/**
 * The lab performing a rendered set's off-cluster steps for the user (the cluster target's
 * `offClusterBuild` option): the set is written out as `kmodlab render` writes it, the
 * README's steps run (off-cluster-build.ts: build.sh pins osImageURL in its MachineConfig
 * file), and the set comes back with the pinned file read back from disk — so a layering
 * set holding FILL_ME_LAYERED_IMAGE_DIGEST gets the digest the registry really has.
 * Each build is recorded as a `build` event with the image figures; a failing step is a
 * `build` event (ok: false) and a `build-failed` fault with the log tail, then throws.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeArtifactSet, type ArtifactSet } from '../../../artifacts/artifact-set.js';
import { manualStepsOf } from '../../../artifacts/manual-steps.js';
import { parseYamlStream } from '../../../yaml.js';
import type { K8sObject } from '../../../artifacts/artifact-set.js';
import type { TargetEmit } from '../../target.js';
import type { Buildah } from './buildah.js';
import { OffClusterBuildError, planOffClusterBuilds, runOffClusterBuild, type OffClusterImage } from './off-cluster-build.js';
import type { LabRegistry } from './registry.js';

export interface OffClusterBuildDone {
  set: ArtifactSet;
  /** The manual-step commands (manual-steps.ts) kmodlab performed. */
  performed: string[];
  images: OffClusterImage[];
}

/** The `build` event of one off-cluster image build (the figures of the build that made it; none when cached). */
export function offClusterBuildEvent(i: OffClusterImage): Record<string, unknown> {
  const u = i.usage;
  return {
    // A source image holds no kernel-specific content.
    kver: i.kver ?? 'any',
    ok: true,
    cached: i.cached,
    ...(i.cached ? {} : { wallMs: u.wallMs, userCpuMs: u.userCpuMs, systemCpuMs: u.systemCpuMs, peakRssBytes: u.peakRssBytes }),
    imageBytes: i.sizeBytes,
    layers: i.layers,
    ...(!i.cached && i.built.bytesPushed !== undefined ? { bytesPushed: i.built.bytesPushed } : {}),
    by: `off-cluster ${i.step}`,
    image: i.digestRef,
    logFile: i.logFile,
  };
}

export interface LabOffClusterBuildOptions {
  registry: LabRegistry;
  /** The driver source directory (the README's context). */
  sourceDir: string;
  buildah?: Buildah;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

/** `o` with every field whose whole value is a moved image's rendered name set to its pushed digest ref. */
function repointImages(o: K8sObject, moved: OffClusterImage[]): K8sObject {
  const to = new Map(moved.map((i) => [i.renderedImage, i.digestRef]));
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return to.get(v) ?? v;
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(o) as K8sObject;
}

/** Builds `set`'s off-cluster images; returns the set with build.sh's pin applied. */
export async function labOffClusterBuild(set: ArtifactSet, emit: TargetEmit, o: LabOffClusterBuildOptions): Promise<OffClusterBuildDone> {
  const root = mkdtempSync(join(tmpdir(), 'kmodlab-offcluster-'));
  try {
    await writeArtifactSet(set, root);
    const dir = join(root, set.method);
    const plans = planOffClusterBuilds(dir, o.registry, { sourceDir: o.sourceDir, env: o.env });
    // Only steps the set's README really asks of a person (an in-cluster build needs no build.sh run).
    // Matched by what the step is, not by its text (the source directory may be spelled differently).
    // A Day-1 set's steps are those of its installer manifests (they come before the install).
    const steps = manualStepsOf(set, set.day1 ? 'day1' : 'day2', o.sourceDir).map((s) => s.command);
    const prefix: Record<(typeof plans)[number]['step'], string> = { 'layered-os-image': './build.sh', 'driver-image': 'podman build -f Containerfile ', 'source-image': 'podman build -f Containerfile.source ' };
    const stepOf = (p: (typeof plans)[number]) => steps.find((c) => (p.step === 'layered-os-image' ? c === prefix[p.step] : c.startsWith(prefix[p.step])));
    const wanted = plans.filter((p) => stepOf(p) !== undefined);
    const images: OffClusterImage[] = [];
    for (const p of wanted) {
      emit('progress', { step: `off-cluster: ${p.manualStep} (as the README says; podman = buildah into ${o.registry.prefix})` });
      try {
        images.push(await runOffClusterBuild(p, { registry: o.registry, buildah: o.buildah, env: o.env, log: o.log }));
      } catch (e) {
        if (e instanceof OffClusterBuildError) {
          // The kernel, when the Containerfile's os-kernel stage got as far as naming it.
          const kver = /^kmodlab: base OS kernel (\S+)$/m.exec(readFileSync(e.logFile, 'utf8'))?.[1] ?? (p.step === 'source-image' ? 'any' : 'unknown');
          emit('build', { kver, ok: false, cached: false, wallMs: e.usage.wallMs, error: e.message, logFile: e.logFile, by: `off-cluster ${p.step}` });
          emit('fault', { fault: 'build-failed', message: e.message, logFile: e.logFile });
        }
        throw e;
      }
    }
    for (const i of images) emit('build', offClusterBuildEvent(i));
    const pinnedFiles = new Set(images.flatMap((i) => (i.pinned ? [i.pinned.file] : [])));
    const read = set.files.map((f) => (pinnedFiles.has(f.path) && f.objects ? { ...f, objects: parseYamlStream(readFileSync(join(dir, f.path), 'utf8')) as K8sObject[] } : f));
    // A driver image pushed where the manifests do not name it (the lab registry, not the
    // rendered one): the manifests pull it by the digest pushed, as a person pinning it would.
    const moved = images.filter((i) => i.step === 'driver-image' && i.renderedImage !== i.digestRef);
    const files = moved.length === 0 ? read : read.map((f) => (f.objects ? { ...f, objects: f.objects.map((o) => repointImages(o, moved)) } : f));
    return { set: { ...set, files }, performed: wanted.map((p) => stepOf(p)!), images };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
