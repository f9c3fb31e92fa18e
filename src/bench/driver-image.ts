/**
 * Bench: a driver image build on a warm build cache against the bare `make` it wraps
 * (#8: ≤ 2×). The image is the dtk method's rendered Containerfile (pinned, rendered for
 * the lab release of the kernel, as `kmodlab render --release-info <(kmodlab lab
 * release-info K)` writes it), built the way the lab's Build controller builds it:
 * buildah bud, chroot isolation, no layer cache (an OpenShift build pod has none), its
 * base images already in the store — that is the warm cache. The bare build is the
 * driver's own build commands against the same kernel's kbuild tree
 * (driver-builds/driver-build.ts), from a clean copy of the source each time, its wall
 * time as measured around the commands alone.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { artifactText, findFile } from '../artifacts/artifact-set.js';
import type { LoadedDriver } from '../driver/load.js';
import { renderMethods } from '../methods/render.js';
import { resolveRelease } from '../release/resolve.js';
import { buildDriver } from '../targets/lab/driver-builds/driver-build.js';
import { Buildah } from '../targets/lab/images/buildah.js';
import { labReleaseInfoFor } from '../targets/lab/images/lab-release.js';
import { openRegistry } from '../targets/lab/images/registry.js';
import type { LabKernel } from '../targets/lab/kernels/catalog.js';
import { figure, notAFigure, type Figure } from './figures.js';

const IMAGE = 'dtk driver image build (rendered Containerfile, buildah, warm build cache)';
const BARE = 'bare driver build (its make alone, same kernel)';
const RATIO = 'dtk driver image build ÷ bare make';

export async function benchDriverImage(report: (f: Figure) => void, driver: LoadedDriver, kernel: LabKernel, runs: number): Promise<boolean> {
  if (!driver.sourceDir) {
    for (const name of [IMAGE, BARE]) report(notAFigure(name, 's', 'the driver has no local source directory'));
    return false;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-bench-driver-image-'));
  const registry = await openRegistry();
  try {
    const infoFile = path.join(dir, 'release-info.json');
    writeFileSync(infoFile, JSON.stringify(await labReleaseInfoFor(kernel.kver)));
    const release = await resolveRelease({ releaseInfoFile: infoFile });
    const set = renderMethods(driver.spec, release, 'dtk', { variant: 'pinned' })[0]!;
    const file = findFile(set, 'Containerfile');
    if (!file) throw new Error('the dtk render has no Containerfile');
    const containerfile = path.join(dir, 'Containerfile');
    writeFileSync(containerfile, artifactText(file));
    const buildah = new Buildah();
    const bud = (i: number) =>
      buildah.bud({ containerfile, context: driver.sourceDir!, tag: `localhost/kmodlab-bench/driver-image:${i}`, logFile: path.join(dir, `bud-${i}.log`), insecure: registry.insecure });
    // Warm-up, not a sample: pulls the driver-toolkit and runtime-base images into the store.
    await bud(0);
    const image: number[] = [];
    const bare: number[] = [];
    for (let i = 1; i <= runs; i++) {
      const store = path.join(dir, `store-${i}`);
      const b = await buildDriver(driver, kernel, { storeDir: store });
      if (b.cached) throw new Error('the bare build was a cache hit');
      bare.push(b.record.wallMs / 1000);
      rmSync(store, { recursive: true, force: true });
      const t0 = performance.now();
      await bud(i);
      image.push((performance.now() - t0) / 1000);
    }
    const fi = figure(IMAGE, 's', image);
    const fb = figure(BARE, 's', bare);
    report(fi);
    report(fb);
    report(figure(RATIO, '×', [fi.median / fb.median], '≤ 2'));
    await buildah.run(['rmi', '--force', ...Array.from({ length: runs + 1 }, (_, i) => `localhost/kmodlab-bench/driver-image:${i}`)], { allowFailure: true });
    return true;
  } catch (e) {
    const why = (e as Error).message.split('\n')[0]!;
    for (const name of [IMAGE, BARE]) report(notAFigure(name, 's', why));
    return false;
  } finally {
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
