/**
 * One row of the check matrix: build the driver for one kernel, boot a node on it,
 * load the driver's modules in order with their parameters, read back what the kernel
 * says, unload. Failures are results, not exceptions: each cell carries the first
 * error line in the words of the tool that failed.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedDriver } from '../driver/load.js';
import { canonicalModuleName, moduleParameterWords } from '../driver/spec.js';
import { isUserError } from '../errors.js';
import { buildDriver, DriverBuildError, type BuildRecord } from '../targets/lab/driver-builds/driver-build.js';
import type { LabKernel } from '../targets/lab/kernels/catalog.js';
import { requireTool } from '../targets/lab/host/tools.js';
import { LabNode } from '../targets/lab/node/node.js';
import { SHARE_MOUNT } from '../targets/lab/os-image/init.js';
import { modinfoDepends } from '../targets/lab/os-image/initramfs.js';
import { readModuleTree, type ModuleTree } from '../targets/lab/os-image/kernel-modules.js';
import { classifyDependencies, parseDepends } from '../targets/lab/driver-builds/module-dependencies.js';
import { firstBuildError, firstLoadError, newLogLines } from './first-error.js';
import { layModuleRoot } from './module-root.js';
import type { KernelCheck } from './report.js';

export interface KernelCheckOptions {
  driver: LoadedDriver;
  kernel: LabKernel;
  /** Scratch directory for this kernel (node console log, module root share). */
  workDir: string;
  /** Driver build store; default the lab's. */
  buildStore?: string;
  memoryMB?: number;
  /** Node boot timeout; default 180 s (TCG boots on a busy 2-core CI machine can take a minute). */
  bootTimeoutMs?: number;
  progress?: (step: string) => void;
}

function modinfoField(file: string, field: string): string {
  try {
    return execFileSync(requireTool('modinfo'), ['-F', field, file], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

/** vermagic of the kernel itself, read from one of its own modules. */
function kernelVermagic(kernel: LabKernel, tree: ModuleTree): string | undefined {
  const first = tree.files.values().next().value;
  return first ? modinfoField(join(kernel.modulesDir, first), 'vermagic') || undefined : undefined;
}

function sh(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
}

export async function checkKernel(opts: KernelCheckOptions): Promise<KernelCheck> {
  const { driver, kernel } = opts;
  const progress = opts.progress ?? (() => undefined);
  const row: KernelCheck = {
    kver: kernel.kver,
    series: kernel.series,
    flavour: kernel.flavour,
    source: kernel.source,
    build: { status: 'skipped', modules: [] },
    load: { status: 'skipped', inTreeDependencies: [], modules: [], output: '', kernelLog: [] },
    unload: { status: 'skipped', leftOver: [], output: '', kernelLog: [] },
  };

  // --- build -------------------------------------------------------------------------
  progress('build');
  const t0 = performance.now();
  let record: BuildRecord;
  const tree = readModuleTree(kernel.modulesDir, modinfoDepends);
  try {
    const result = await buildDriver(driver, kernel, { storeDir: opts.buildStore, timeoutMs: 600_000 });
    record = result.record;
    row.build = { status: 'ok', cached: result.cached, logFile: record.logFile, durationMs: Math.round(performance.now() - t0), modules: [] };
  } catch (e) {
    if (isUserError(e)) throw e;
    const failedBuild = e instanceof DriverBuildError;
    const log = failedBuild ? readFileSync(e.logFile, 'utf8') : '';
    row.build = {
      status: 'failed',
      cached: false,
      durationMs: Math.round(performance.now() - t0),
      logFile: failedBuild ? e.logFile : undefined,
      firstError: (failedBuild && firstBuildError(log)) || firstLine(e),
      modules: [],
    };
    const because = `build failed on ${kernel.kver}`;
    row.load.skippedBecause = because;
    row.unload.skippedBecause = because;
    return row;
  }
  const driverModules = driver.spec.modules.map((m) => m.name);
  row.build.kernelVermagic = kernelVermagic(kernel, tree);
  const inTreeNeeded = new Set<string>();
  for (const m of record.modules) {
    const dependencies = classifyDependencies(parseDepends(modinfoField(m.path, 'depends')), driverModules, tree);
    for (const d of dependencies) if (d.kind === 'in-tree') inTreeNeeded.add(d.name);
    row.build.modules.push({ name: m.name, bytes: m.bytes, sha256: m.sha256, vermagic: modinfoField(m.path, 'vermagic'), dependencies });
  }

  // --- load --------------------------------------------------------------------------
  const share = join(opts.workDir, 'share');
  rmSync(share, { recursive: true, force: true });
  mkdirSync(share, { recursive: true });
  const root = await layModuleRoot(join(share, 'root'), kernel, record, tree, [...inTreeNeeded]);
  const nodeRoot = `${SHARE_MOUNT}/root`;
  row.load.inTreeDependencies = root.inTree;
  progress('boot');
  let node: LabNode | undefined;
  let phase: 'load' | 'unload' = 'load';
  try {
    node = await LabNode.start(kernel, undefined, {
      name: 'check',
      runDir: opts.workDir,
      shareDir: share,
      shareReadOnly: true,
      memoryMB: opts.memoryMB,
      bootTimeoutMs: opts.bootTimeoutMs ?? 180_000,
    });
    progress('load');
    row.load.bootMs = node.boots[0]?.bootMs;
    const t1 = performance.now();
    const names = driver.spec.modules.map((m) => canonicalModuleName(m.name));
    const taint = async () => Number((await node!.readFile('/proc/sys/kernel/tainted')).trim());
    row.load.kernelTaintBefore = await taint();
    const logBefore = await node.dmesg();
    // One modprobe per module, in order, each with its own parameters; stop at the first failure.
    const script = driver.spec.modules
      .map((m) => `modprobe -v -d ${nodeRoot} ${canonicalModuleName(m.name)} ${moduleParameterWords(driver.spec, m.name).map(sh).join(' ')} || exit $?`)
      .join('\n');
    const loaded = await node.exec(`${script}\n`, { timeoutMs: 120_000 });
    row.load.output = (loaded.stdout + loaded.stderr).trim();
    row.load.kernelLog = newLogLines(logBefore, await node.dmesg());
    row.load.kernelTaintAfter = await taint();
    row.load.modules = await readModules(node, names, driver);
    const notLive = row.load.modules.filter((m) => !m.loaded).map((m) => m.name);
    row.load.durationMs = Math.round(performance.now() - t1);
    if (loaded.code !== 0 || notLive.length) {
      row.load.status = 'failed';
      row.load.firstError = firstLoadError(row.load.output, row.load.kernelLog) ?? `not loaded: ${notLive.join(', ')}`;
    } else {
      row.load.status = 'ok';
    }

    // --- unload ------------------------------------------------------------------------
    const present = row.load.modules.filter((m) => m.initstate !== undefined).map((m) => m.name);
    if (present.length === 0) {
      row.unload.skippedBecause = 'no module was loaded';
      return row;
    }
    progress('unload');
    phase = 'unload';
    const t2 = performance.now();
    const before = await node.dmesg();
    const unloadScript = [...present].reverse().map((m) => `modprobe -v -r -d ${nodeRoot} ${m} || rc=$?`).join('\n');
    const unloaded = await node.exec(`rc=0\n${unloadScript}\nexit $rc\n`, { timeoutMs: 120_000 });
    row.unload.output = (unloaded.stdout + unloaded.stderr).trim();
    row.unload.kernelLog = newLogLines(before, await node.dmesg());
    row.unload.leftOver = (await readModules(node, names, driver)).filter((m) => m.initstate !== undefined).map((m) => m.name);
    row.unload.durationMs = Math.round(performance.now() - t2);
    if (unloaded.code !== 0 || row.unload.leftOver.length) {
      row.unload.status = 'failed';
      row.unload.firstError = firstLoadError(row.unload.output, row.unload.kernelLog) ?? `still loaded: ${row.unload.leftOver.join(', ')}`;
    } else {
      row.unload.status = 'ok';
    }
    return row;
  } catch (e) {
    // The node did not boot or stopped answering: the cell in progress failed.
    const cell = row[phase];
    cell.status = 'failed';
    cell.firstError = firstLine(e);
    if (phase === 'load') row.unload.skippedBecause = 'load did not complete';
    return row;
  } finally {
    await node?.stop();
  }
}

/** /sys/module state of the driver's modules, and the parameters the spec sets, in one round trip. */
async function readModules(node: LabNode, names: string[], driver: LoadedDriver): Promise<KernelCheck['load']['modules']> {
  const lines = names.map((m) => {
    const d = `/sys/module/${m}`;
    const params = Object.entries(driver.spec.moduleParameters).find(([k]) => canonicalModuleName(k) === m)?.[1] ?? {};
    const p = Object.keys(params)
      .map((k) => `echo "${m}|param|${k}|$(cat ${d}/parameters/${k} 2>/dev/null)"`)
      .join('\n');
    return `if [ -d ${d} ]; then echo "${m}|state|$(cat ${d}/initstate 2>/dev/null)|$(cat ${d}/taint 2>/dev/null)|$(cat ${d}/coresize 2>/dev/null)"\n${p}\nelse echo "${m}|absent"; fi`;
  });
  const r = await node.exec(lines.join('\n'));
  const out = new Map<string, KernelCheck['load']['modules'][number]>(names.map((n) => [n, { name: n, loaded: false, parameters: {} }]));
  for (const line of r.stdout.split('\n')) {
    const [name = '', kind, a = '', b = '', c = ''] = line.split('|');
    const m = out.get(name);
    if (!m) continue;
    if (kind === 'state') {
      // Built-in-like entries without initstate do not happen for loadable modules; '' means gone mid-read.
      m.initstate = a || undefined;
      m.loaded = a === 'live';
      m.taint = b;
      m.coresizeBytes = c ? Number(c) : undefined;
    } else if (kind === 'param') {
      m.parameters[a] = b;
    }
  }
  return [...out.values()];
}
