/**
 * Build cost: every driver build the method caused (in-cluster BuildConfig, KMM build,
 * layered-image build — off-cluster or a MachineOSBuild). Cached builds did no work
 * (an image-registry hit) and are counted apart. CPU, peak RSS, image size and bytes
 * pushed come from the build host (the lab's annotation on the build object, or its
 * off-cluster steps); a cluster's builds record their wall time only.
 */
import { z } from 'zod';
import { ModuleDependencySchema, type ModuleDependency } from '../../targets/lab/driver-builds/module-dependencies.js';
import { unavailable, type ScenarioContext } from './context.js';
import { measured, notMeasured, type Measured } from './measured.js';
import { eventsOf } from './segments.js';

export interface BuildItem {
  line: number;
  t: number;
  node?: string;
  kver: string;
  ok: boolean;
  cached: boolean;
  wallMs?: number;
  cpuMs?: number;
  peakRssBytes?: number;
  outputBytes?: number;
  /** Image builds (the off-cluster steps the lab performs): size as stored, layers, new blobs pushed. */
  imageBytes?: number;
  layers?: number;
  bytesPushed?: number;
  error?: string;
  /** Lab builds: each module's dependencies, classified (in-tree, built-in, driver, missing). */
  dependencies?: ModuleDependency[];
  /** Who ran it, for builds the lab performed off-cluster (`off-cluster <step>`). */
  by?: string;
}

/** The off-cluster step that packs the driver's source for an in-cluster build: an image no node runs. */
const SOURCE_IMAGE_STEP = 'off-cluster source-image';

export function buildItems(ctx: ScenarioContext): BuildItem[] {
  return eventsOf(ctx.seg, 'build').map((e) => {
    const d = e.data as Record<string, unknown>;
    const num = (k: string) => (typeof d[k] === 'number' ? (d[k] as number) : undefined);
    const user = num('userCpuMs');
    const sys = num('systemCpuMs');
    const item: BuildItem = { line: e.line, t: e.t, kver: String(d['kver']), ok: d['ok'] === true, cached: d['cached'] === true };
    if (e.node) item.node = e.node;
    const wall = num('wallMs');
    if (wall !== undefined) item.wallMs = wall;
    if (user !== undefined && sys !== undefined) item.cpuMs = user + sys;
    const rss = num('peakRssBytes');
    if (rss !== undefined) item.peakRssBytes = rss;
    const out = num('outputBytes');
    if (out !== undefined) item.outputBytes = out;
    for (const k of ['imageBytes', 'layers', 'bytesPushed'] as const) {
      const v = num(k);
      if (v !== undefined) item[k] = v;
    }
    if (typeof d['error'] === 'string') item.error = d['error'];
    if (typeof d['by'] === 'string') item.by = d['by'];
    const deps = z.array(ModuleDependencySchema).safeParse(d['dependencies']);
    if (deps.success) item.dependencies = deps.data;
    return item;
  });
}

function partialNote(ctx: ScenarioContext): string | undefined {
  return ctx.seg.status === 'interrupted' ? `${ctx.seg.reason}: builds recorded until then` : undefined;
}

export function buildCount(ctx: ScenarioContext, which: 'all' | 'cached' = 'all'): Measured<number> {
  const reason = unavailable(ctx);
  if (reason) return notMeasured(reason);
  const items = buildItems(ctx).filter((b) => which === 'all' || b.cached);
  return measured(items.length, items.map((b) => b.line), partialNote(ctx) ?? (items.length === 0 ? (which === 'all' ? 'no build recorded' : 'no cache hit') : undefined));
}

/** Sum (or max, for peak RSS) of one figure over the builds that did work. */
export function buildFigure(ctx: ScenarioContext, key: 'wallMs' | 'cpuMs' | 'peakRssBytes' | 'outputBytes' | 'bytesPushed'): Measured<number> {
  const reason = unavailable(ctx);
  if (reason) return notMeasured(reason);
  const all = buildItems(ctx);
  if (all.length === 0) return notMeasured(ctx.seg.status === 'interrupted' ? `${ctx.seg.reason} (before any build)` : 'no build in this scenario');
  const worked = all.filter((b) => !b.cached);
  if (worked.length === 0) return notMeasured(`all ${all.length} build(s) were cache hits`);
  const lacking = worked.find((b) => b[key] === undefined);
  if (lacking && !lacking.ok) {
    return notMeasured(
      lacking.wallMs === undefined
        ? `the build at line ${lacking.line} failed before it ran${lacking.error ? ` (${lacking.error})` : ''}`
        : `the build at line ${lacking.line} failed after ${Math.round(lacking.wallMs)} ms; a failed build records its wall time only`,
    );
  }
  if (lacking && key === 'bytesPushed') return notMeasured(`the build at line ${lacking.line} says no bytes pushed (it pushed no image, or to a registry whose storage kmodlab cannot read)`);
  if (lacking) return notMeasured(`build at line ${lacking.line} did not record ${key === 'cpuMs' ? 'userCpuMs/systemCpuMs' : key}`);
  const values = worked.map((b) => b[key]!);
  const value = key === 'peakRssBytes' ? Math.max(...values) : values.reduce((a, b) => a + b, 0);
  const failed = worked.filter((b) => !b.ok).length;
  return measured(value, worked.map((b) => b.line), partialNote(ctx) ?? (failed ? `includes ${failed} failed build(s), up to the failure` : undefined));
}

/**
 * The image the method's builds made, as the registry stores it: the largest one built in
 * the scenario (the shipped image — KMM's signed image is built FROM the unsigned one; a
 * layered OS image FROM its base), its size and layer count; not a source image (pushed for
 * an in-cluster build to copy from, run by no node). Cache hits count: their image was read
 * from the registry in this run.
 */
export function builtImage(ctx: ScenarioContext, key: 'imageBytes' | 'layers'): Measured<number> {
  const reason = unavailable(ctx);
  if (reason) return notMeasured(reason);
  const all = buildItems(ctx);
  if (all.length === 0) return notMeasured(ctx.seg.status === 'interrupted' ? `${ctx.seg.reason} (before any build)` : 'no build in this scenario');
  // The source image an in-cluster build copies the driver source from is pushed, never run: not the method's image.
  const images = all.filter((b) => b.ok && b.imageBytes !== undefined && b.layers !== undefined && b.by !== SOURCE_IMAGE_STEP);
  if (images.length === 0) {
    const failed = all.find((b) => !b.ok);
    const source = all.find((b) => b.by === SOURCE_IMAGE_STEP);
    if (!failed && source) return notMeasured(`only a source image was built (line ${source.line}): the image the nodes run was not built in this scenario (e.g. already in the registry)`);
    return notMeasured(failed ? `the build at line ${failed.line} failed: no image${failed.error ? ` (${failed.error})` : ''}` : `no build recorded its image (the build at line ${all[0]!.line} carries no image size: a cluster's builds have none, nor has a build that made no image)`);
  }
  const largest = images.reduce((a, b) => (b.imageBytes! > a.imageBytes! ? b : a));
  return measured(largest[key]!, [largest.line], partialNote(ctx) ?? (images.length > 1 ? `the largest of ${images.length} images built` : undefined));
}
