/**
 * `npm run bench`: the lab's speed and memory goals, measured on this machine (not
 * checked by timed unit tests). Compare figures as ratios within one run.
 *   node dist/bench/main.js [--quick] [--runs N]
 * --quick skips the full evaluations (minutes each); --lab-api-only measures only the lab API server;
 * --eval-set-only measures only the small evaluation set on the lab (eval-lab.ts);
 * --eval-default-only measures only the default evaluation, cold then warm (eval-lab.ts);
 * --lab-idle-only measures only kmodlab's own CPU while a 3-node `lab up` idles (lab-idle.ts).
 * --driver-image-only measures only a dtk driver image build against its bare make (driver-image.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadDriver, type LoadedDriver } from '../driver/load.js';
import { REFERENCE_DRIVER_FILE } from '../driver/reference.js';
import '../methods/all.js';
import { buildDriver } from '../targets/lab/driver-builds/driver-build.js';
import { listKernels } from '../targets/lab/kernels/catalog.js';
import { chooseLabKernels } from '../targets/lab/kernels/lab-releases.js';
import { LabNode } from '../targets/lab/node/node.js';
import { buildInitramfs } from '../targets/lab/os-image/initramfs.js';
import { figure, figureOfReadings, formatFigure, writeBenchJson, type Figure } from './figures.js';
import { benchCheck } from './check.js';
import { benchLabImages } from './lab-images.js';
import { labApiRss } from './lab-api.js';
import { benchEvaluation, DEFAULT_SET, SMALL_SET, SMALL_SET_NAME } from './eval-lab.js';
import { labIdleCpu } from './lab-idle.js';
import { cliStartUp } from './cli-start.js';
import { benchDriverImage } from './driver-image.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const runs = Number(args[args.indexOf('--runs') + 1]) || 5;

function tmp(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `kmodlab-bench-${prefix}-`));
}

/** First QEMU spawn → last agent ready over the nodes' first boots (ms). */
function bootSpanMs(nodes: LabNode[]): number {
  const first = nodes.map((n) => n.boots[0]!);
  return Math.max(...first.map((b) => b.startedAt.getTime() + b.bootMs)) - Math.min(...first.map((b) => b.startedAt.getTime()));
}

/**
 * The default evaluation (5 rows + the baseline × 5 scenarios, 1 node) cold, then warm:
 * ≤ 6 min cold; a warm re-run (build records and images of the cold one) ≥ 2× faster.
 */
async function benchDefaultEvaluation(report: (f: Figure) => void, driver: LoadedDriver, kernels: ReturnType<typeof chooseLabKernels>): Promise<boolean> {
  const cold = await benchEvaluation(report, 'full default evaluation, cold', DEFAULT_SET, driver, kernels, '≤ 360 s', { cold: true });
  const warm = await benchEvaluation(report, 'full default evaluation, warm', DEFAULT_SET, driver, kernels);
  if (cold === undefined || warm === undefined) return false;
  // A ratio within one run: only when both evaluations did all their work.
  report(figure('full default evaluation, warm ÷ cold wall time', '×', [warm / cold], '≤ 0.5'));
  return true;
}

async function main(): Promise<void> {
  const figures: Figure[] = [];
  let benchFailed = false;
  const report = (f: Figure) => {
    figures.push(f);
    process.stdout.write(`${formatFigure(f)}\n`);
  };
  if (args.includes('--eval-set-only')) {
    const seconds = await benchEvaluation(report, SMALL_SET_NAME, SMALL_SET, await loadDriver(REFERENCE_DRIVER_FILE), chooseLabKernels(listKernels()));
    writeBenchJson(path.resolve('bench.json'), figures);
    if (seconds === undefined) process.exitCode = 1;
    return;
  }
  if (args.includes('--eval-default-only')) {
    if (!(await benchDefaultEvaluation(report, await loadDriver(REFERENCE_DRIVER_FILE), chooseLabKernels(listKernels())))) process.exitCode = 1;
    return writeBenchJson(path.resolve('bench.json'), figures);
  }
  if (args.includes('--driver-image-only')) {
    const ok = await benchDriverImage(report, await loadDriver(REFERENCE_DRIVER_FILE), chooseLabKernels(listKernels()).from, Math.max(3, Math.ceil(runs / 2)));
    writeBenchJson(path.resolve('bench.json'), figures);
    if (!ok) process.exitCode = 1;
    return;
  }
  if (args.includes('--lab-idle-only')) {
    if (!(await labIdleCpu(report, chooseLabKernels(listKernels()).from))) process.exitCode = 1;
    return writeBenchJson(path.resolve('bench.json'), figures);
  }
  cliStartUp(report, runs);
  await labApiRss(report);
  if (args.includes('--lab-api-only')) return writeBenchJson(path.resolve('bench.json'), figures);
  const kernels = chooseLabKernels(listKernels());
  const kernel = kernels.from;
  await buildInitramfs({ kernel }); // warm the image cache: boots measure booting, not image building
  process.stderr.write(`bench: kernel ${kernel.kver}, ${os.cpus().length} CPUs, ${runs} runs\n`);

  // One node: QEMU start → agent ready; and QEMU's resident memory on the host.
  const boots: number[] = [];
  const rss: (number | undefined)[] = [];
  for (let i = 0; i < runs; i++) {
    const dir = tmp('node');
    const node = await LabNode.start(kernel, undefined, { name: 'bench', runDir: dir });
    boots.push(bootSpanMs([node]) / 1000);
    await new Promise((r) => setTimeout(r, 1000));
    const kb = node.hostRssKB(); // undefined: the read failed, which is no sample (not 0 MiB)
    rss.push(kb === undefined ? undefined : kb / 1024);
    await node.poweroff();
    rmSync(dir, { recursive: true, force: true });
  }
  report(figure('node boot to agent ready', 's', boots, '≤ 2.5 s'));
  report(figureOfReadings('node memory (QEMU RSS on the host)', 'MiB', rss, '≤ 256 MiB'));

  // Three nodes booted together, with the one-node boundaries: first QEMU spawn → last
  // agent ready (node set-up before the spawn is outside both), as a ratio to one node.
  const three: number[] = [];
  for (let i = 0; i < Math.max(3, Math.ceil(runs / 2)); i++) {
    const dir = tmp('3nodes');
    const nodes = await Promise.all([0, 1, 2].map((n) => LabNode.start(kernel, undefined, { name: `bench-${n}`, runDir: dir })));
    three.push(bootSpanMs(nodes) / 1000);
    await Promise.all(nodes.map((n) => n.poweroff()));
    rmSync(dir, { recursive: true, force: true });
  }
  const f3 = figure('3 nodes booted together', 's', three, '≤ 2 × one node');
  report(f3);
  report(figure('3 nodes together / one node', 'ratio', [f3.median / figure('', '', boots).median], '≤ 2'));

  // Reference driver build: cold (empty store) vs cached (registry hit).
  const driver = await loadDriver(REFERENCE_DRIVER_FILE);
  const cold: number[] = [];
  const cached: number[] = [];
  for (let i = 0; i < Math.max(3, Math.ceil(runs / 2)); i++) {
    const store = tmp('store');
    let t0 = performance.now();
    await buildDriver(driver, kernel, { storeDir: store });
    cold.push((performance.now() - t0) / 1000);
    t0 = performance.now();
    const hit = await buildDriver(driver, kernel, { storeDir: store });
    if (!hit.cached) throw new Error('second build was not a cache hit');
    cached.push((performance.now() - t0) / 1000);
    rmSync(store, { recursive: true, force: true });
  }
  report(figure('reference driver build, cold', 's', cold));
  report(figure('reference driver build, cached', 's', cached));

  // The same driver as a dtk driver image (rendered Containerfile, buildah, warm store) ÷ its bare make: ≤ 2.
  if (!(await benchDriverImage(report, driver, kernel, Math.max(3, Math.ceil(runs / 2))))) benchFailed = true;

  // `kmodlab check` of the reference driver on 4 kernels, cold and warm build cache.
  await benchCheck(report, quick ? 1 : 2);

  // kmodlab's own CPU share while three nodes idle (`lab up --nodes 3`; lab-idle.ts).
  if (!(await labIdleCpu(report, kernel))) benchFailed = true;

  await benchLabImages(report);

  if (!quick) {
    // A small set (minutes), then the default evaluation end to end, twice: the second run
    // finds the lab release images and the registry's layers of the first (warm).
    if ((await benchEvaluation(report, SMALL_SET_NAME, SMALL_SET, driver, kernels)) === undefined) benchFailed = true;
    if (!(await benchDefaultEvaluation(report, driver, kernels))) benchFailed = true;
  }
  writeBenchJson(path.resolve('bench.json'), figures);
  process.stderr.write('bench: figures written to bench.json\n');
  if (benchFailed) {
    process.stderr.write('bench: some measurement did not complete (see the "not a figure" lines)\n');
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
