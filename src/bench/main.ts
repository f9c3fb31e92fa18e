/**
 * `npm run bench`: the lab's speed and memory goals, measured on this machine (not
 * checked by timed unit tests). Compare figures as ratios within one run.
 *   node dist/bench/main.js [--quick] [--runs N]
 * --quick skips the full evaluations (minutes each); --lab-api-only measures only the lab API server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadDriver } from '../driver/load.js';
import { REFERENCE_DRIVER_FILE } from '../driver/reference.js';
import '../methods/all.js';
import { Recorder } from '../evaluation/recorder.js';
import { runEvaluation, targetEmitter, type RecordingScope } from '../evaluation/run-evaluation.js';
import { SCENARIO_IDS } from '../evaluation/events.js';
import { METHOD_IDS } from '../artifacts/artifact-set.js';
import { buildDriver } from '../targets/lab/driver-builds/driver-build.js';
import { LabCluster } from '../targets/lab/control-plane/lab-cluster.js';
import { listKernels } from '../targets/lab/kernels/catalog.js';
import { chooseLabKernels } from '../targets/lab/kernels/lab-releases.js';
import { LabTarget } from '../targets/lab/lab-target.js';
import { LabNode } from '../targets/lab/node/node.js';
import { buildInitramfs } from '../targets/lab/os-image/initramfs.js';
import { LAB_REGISTRY } from '../targets/lab/release.js';
import { figure, formatFigure, writeBenchJson, type Figure } from './figures.js';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { readyz, SERVER_ENTRY } from '../targets/lab/api-server/background.js';
import { findTool } from '../targets/lab/host/tools.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const runs = Number(args[args.indexOf('--runs') + 1]) || 5;

function tmp(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `kmodlab-bench-${prefix}-`));
}

async function main(): Promise<void> {
  const figures: Figure[] = [];
  const report = (f: Figure) => {
    figures.push(f);
    process.stdout.write(`${formatFigure(f)}\n`);
  };
  await labApiRss(report);
  if (args.includes('--lab-api-only')) return writeBenchJson(path.resolve('bench.json'), figures);
  const kernels = chooseLabKernels(listKernels());
  const kernel = kernels.from;
  await buildInitramfs({ kernel }); // warm the image cache: boots measure booting, not image building
  process.stderr.write(`bench: kernel ${kernel.kver}, ${os.cpus().length} CPUs, ${runs} runs\n`);

  // One node: QEMU start → agent ready; and QEMU's resident memory on the host.
  const boots: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dir = tmp('node');
    const node = await LabNode.start(kernel, undefined, { name: 'bench', runDir: dir });
    boots.push(node.boots[0]!.bootMs / 1000);
    await new Promise((r) => setTimeout(r, 1000));
    rss.push((node.hostRssKB() ?? 0) / 1024);
    await node.poweroff();
    rmSync(dir, { recursive: true, force: true });
  }
  report(figure('node boot to agent ready', 's', boots, '≤ 2.5 s'));
  report(figure('node memory (QEMU RSS on the host)', 'MiB', rss, '≤ 256 MiB'));

  // Three nodes booted together: wall time until all are ready, as a ratio to one node.
  const three: number[] = [];
  for (let i = 0; i < Math.max(3, Math.ceil(runs / 2)); i++) {
    const dir = tmp('3nodes');
    const t0 = performance.now();
    const nodes = await Promise.all([0, 1, 2].map((n) => LabNode.start(kernel, undefined, { name: `bench-${n}`, runDir: dir })));
    three.push((performance.now() - t0) / 1000);
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

  // kmodlab's own CPU share while three nodes idle under the monitor (sampling every 2 s).
  {
    const dir = tmp('idle');
    const cluster = await LabCluster.create({ runDir: dir, release: { kernel }, nodes: 3, driver });
    cluster.startMonitor(2000);
    const shares: number[] = [];
    for (let i = 0; i < 3; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, 10_000));
      const c = process.cpuUsage(c0);
      shares.push(((c.user + c.system) / 1000 / (performance.now() - t0)) * 100);
    }
    await cluster.shutdown();
    rmSync(dir, { recursive: true, force: true });
    report(figure("kmodlab's own CPU while 3 nodes idle (10 s windows)", '% of one core', shares));
  }

  if (!quick) {
    // The default evaluation end to end, then again with a warm build cache.
    const walls: number[] = [];
    const store = tmp('eval-store');
    for (const label of ['cold', 'warm']) {
      const runDir = tmp(`eval-${label}`);
      const recorder = new Recorder(runDir);
      const scope: RecordingScope = {};
      const target = new LabTarget({ runDir, driver, kernels, buildStore: store, emit: targetEmitter(recorder, scope, 'lab') });
      const t0 = performance.now();
      await runEvaluation(
        { runId: `bench-${label}`, target, recorder, driver: driver.spec, methods: [...METHOD_IDS], scenarios: [...SCENARIO_IDS], render: { pool: 'master' }, day1Registry: `${LAB_REGISTRY}/kmodlab`, settleTimeoutMs: 30_000 },
        scope,
      );
      recorder.close();
      walls.push((performance.now() - t0) / 1000);
      report(figure(`full default evaluation, ${label} build cache`, 's', [walls.at(-1)!], label === 'cold' ? '≤ 300 s' : undefined));
    }
  }
  writeBenchJson(path.resolve('bench.json'), figures);
  process.stderr.write('bench: figures written to bench.json\n');
}

/**
 * The lab API server's own resident memory (its process, /proc/<pid>/status VmRSS) after
 * the apply load: every manifest `kmodlab render` writes for the three methods applied
 * with `kubectl apply --server-side` twice, plus 300 ConfigMaps, plus a `kubectl get -w`
 * open on them. One sample after each of three rounds.
 */
async function labApiRss(report: (f: Figure) => void): Promise<void> {
  const onPath = findTool('kubectl');
  if (!onPath) {
    process.stderr.write('bench: lab API RSS not measured: kubectl is not installed\n');
    return;
  }
  const pinned = path.join(path.dirname(realpathSync(onPath)), 'kubectl.1.32');
  const kubectl = existsSync(pinned) ? pinned : onPath;
  const dir = tmp('labapi');
  const cli = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'bin', 'kmodlab.js');
  const kubeconfig = path.join(dir, 'kubeconfig');
  const env = { ...process.env, KMODLAB_LAB_DIR: dir, HOME: dir, KUBECONFIG: kubeconfig };
  // The process `kmodlab lab up` starts.
  const server = spawn(process.execPath, [SERVER_ENTRY, '--kubeconfig-out', kubeconfig], { env, stdio: 'ignore' });
  try {
    const deadline = Date.now() + 30_000;
    while (!(existsSync(kubeconfig) && (await readyz(kubeconfig)).ok)) {
      if (Date.now() > deadline) throw new Error('the lab API did not become ready within 30 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    const out = path.join(dir, 'out');
    execFileSync(process.execPath, [cli, 'render', '--output-dir', out], { env, stdio: 'ignore' });
    const cms = { apiVersion: 'v1', kind: 'List', items: Array.from({ length: 300 }, (_, i) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `load-${i}` }, data: { i: String(i) } })) };
    writeFileSync(path.join(dir, 'load.json'), JSON.stringify(cms));
    const watcher = spawn(kubectl, ['get', 'configmaps', '-A', '-w', '-o', 'name'], { env, stdio: 'ignore' });
    const samples: number[] = [];
    try {
      for (let round = 0; round < 3; round++) {
        for (const m of ['dtk', 'layering', 'kmm']) {
          // KMM's Module has no CRD until the lab's OLM installs one: that file is refused, the rest applies.
          try {
            execFileSync(kubectl, ['apply', '--server-side', '--force-conflicts', '-f', path.join(out, m)], { env, stdio: 'ignore' });
          } catch {
            if (m !== 'kmm') throw new Error(`kubectl apply --server-side -f ${m} failed`);
          }
        }
        execFileSync(kubectl, ['apply', '--server-side', '-f', path.join(dir, 'load.json')], { env, stdio: 'ignore' });
        const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
        samples.push(Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024);
      }
    } finally {
      watcher.kill();
    }
    report(figure('lab API server RSS after the apply load', 'MiB', samples, '≤ 80 MiB'));
  } finally {
    server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
