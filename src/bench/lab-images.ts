/**
 * Bench: the image step of `lab setup` — the lab release of every installed kernel
 * built with buildah and pushed — from an empty image cache (own buildah store and
 * registry in a temporary lab cache, packages already installed), then a second,
 * unchanged setup, which must only ask the registry.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listKernels } from '../targets/lab/kernels/catalog.js';
import { setupLabImages } from '../targets/lab/images/lab-release.js';
import { figure, figureOfReadings, type Figure } from './figures.js';

export async function benchLabImages(report: (f: Figure) => void): Promise<void> {
  const kernels = listKernels();
  if (kernels.length === 0) {
    process.stderr.write('bench: lab images not measured: no lab kernel installed\n');
    return;
  }
  const cache = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-bench-images-'));
  const saved = process.env.KMODLAB_CACHE;
  process.env.KMODLAB_CACHE = cache; // an empty buildah store, registry and build records
  try {
    const log = (l: string) => process.stderr.write(`bench: ${l}\n`);
    const cold = await setupLabImages(kernels, { log });
    const warm = await setupLabImages(kernels);
    if (warm.built !== 0) throw new Error(`the second setup rebuilt ${warm.built} images`);
    const n = kernels.length;
    // The goal is stated for 4 kernels; with another count it scales per kernel.
    const goal = n === 4 ? '≤ 360 s' : `≤ ${Math.round((360 / 4) * n)} s (360 s for 4 kernels, scaled to ${n})`;
    report(figure(`lab setup image build, ${n} kernels, empty cache`, 's', [cold.wallMs / 1000], goal));
    report(figure('lab setup image build, second (unchanged) setup', 's', [warm.wallMs / 1000], '≤ 10 s'));
    const builds = cold.images.filter((i) => i.build);
    report(figure('lab release image build CPU (user+system, whole buildah tree), per image', 's', builds.map((i) => (i.build!.usage.userCpuMs + i.build!.usage.systemCpuMs) / 1000)));
    report(figure('lab release image build peak RSS, per image', 'MiB', builds.map((i) => i.build!.usage.peakRssBytes / 1024 / 1024)));
    // An image whose size could not be read is a failed reading, never 0 MiB.
    report(figureOfReadings('lab release image size (compressed, in the registry), per image', 'MiB', cold.images.map((i) => (i.sizeBytes === undefined ? undefined : i.sizeBytes / 1024 / 1024))));
    if (cold.registryBytes !== undefined) report(figure('lab registry storage after setup', 'MiB', [cold.registryBytes / 1024 / 1024]));
  } finally {
    if (saved === undefined) delete process.env.KMODLAB_CACHE;
    else process.env.KMODLAB_CACHE = saved;
    rmSync(cache, { recursive: true, force: true });
  }
}
