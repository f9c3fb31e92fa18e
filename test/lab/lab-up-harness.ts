/**
 * One `kmodlab lab up` per test file, driven the way a user drives it: bin/kmodlab.js and
 * kubectl as child processes, with the lab's state, cache and HOME in a temp dir of the
 * file's own (a lab someone runs by hand is left alone) and, when asked, a lab registry
 * opened for the file and named to kmodlab (KMODLAB_REGISTRY).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { setupLabImages, type SetupImagesResult } from '../../src/targets/lab/images/lab-release.js';
import { openRegistry, type LabRegistry } from '../../src/targets/lab/images/registry.js';
import type { LabKernel } from '../../src/targets/lab/kernels/catalog.js';
import { kubectlBinary, waitPodsReady } from './api-server-helpers.js';
import { REPO, testLabCache } from './helpers.js';

export const BIN = path.join(REPO, 'bin', 'kmodlab.js');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface LabUpHarnessOptions {
  /** Open a lab registry for this file and name it to kmodlab (default true). */
  registry?: boolean;
  /** Longest run of one command (default 15 min: a `lab up` that builds images, a rollout). */
  timeoutMs?: number;
}

export interface StartOptions {
  /** The kernel the nodes boot. */
  kernel: LabKernel;
  /** Kernels whose lab release images must exist first (default: `kernel`; [] sets up nothing). */
  images?: LabKernel[];
  /** `lab up` flags (default: one node on `kernel`). */
  upArgs?: string[];
}

/** A DaemonSet `name` whose pod runs `script` (sh) on each node, then prints `end-of-output` and sleeps. */
function scriptDaemonSet(name: string, image: string, script: string): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name, image, command: ['sh', '-c', `${script}\necho end-of-output; exec sleep infinity`] }] },
      },
    },
  });
}

export class LabUpHarness {
  readonly dir: string;
  readonly kubeconfig: string;
  /** The `lab up` process's log (its controllers write here). */
  readonly labLog: string;
  private opened: LabRegistry | undefined;

  constructor(
    prefix: string,
    private readonly opts: LabUpHarnessOptions = {},
  ) {
    this.dir = mkdtempSync(path.join(tmpdir(), `kmodlab-${prefix}-`));
    this.kubeconfig = path.join(this.dir, 'state', 'kubeconfig');
    this.labLog = path.join(this.dir, 'cache', 'lab-api', 'api.log');
  }

  get registry(): LabRegistry {
    if (!this.opened) throw new Error('the lab registry is opened by start()');
    return this.opened;
  }

  /** kmodlab's environment: this file's lab state, cache, HOME and registry, and its kubeconfig. */
  env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      KMODLAB_LAB_DIR: path.join(this.dir, 'state'),
      KMODLAB_CACHE: testLabCache(path.join(this.dir, 'cache')),
      HOME: path.join(this.dir, 'home'),
      KUBECONFIG: this.kubeconfig,
      ...(this.opened ? { KMODLAB_REGISTRY: this.opened.host } : {}),
    };
  }

  /** Runs `file` to completion; a command killed by the timeout has code 124. */
  readonly run = (file: string, args: string[], opts: { cwd?: string } = {}): Promise<RunResult> =>
    new Promise((resolve) =>
      execFile(file, args, { env: this.env(), cwd: opts.cwd ?? REPO, timeout: this.opts.timeoutMs ?? 900_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 124) : 0, stdout, stderr }),
      ),
    );

  /** bin/kmodlab.js (destructurable, like run and kubectl). */
  readonly kmodlab = (...args: string[]): Promise<RunResult> => this.run(process.execPath, [BIN, ...args]);

  readonly kubectl = (...args: string[]): Promise<RunResult> => this.run(kubectlBinary()!, args);

  /** The last `lines` lines of the lab's log (those matching `only`, when given). */
  readonly logTail = (lines = 25, only?: RegExp): string => {
    let all: string[];
    try {
      all = readFileSync(this.labLog, 'utf8').split('\n');
    } catch {
      return '(no lab log)';
    }
    return (only ? all.filter((l) => only.test(l)) : all).slice(-lines).join('\n');
  };

  /** The end of every build log the lab wrote (Builds, MachineOSBuilds), for a failure message: a failed build's reason is in its log. */
  readonly buildLogTails = (lines = 15): string => {
    const root = path.join(this.dir, 'state', 'build-logs');
    const files = existsSync(root) ? readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).flatMap((d) => readdirSync(path.join(root, d.name)).map((f) => path.join(root, d.name, f))) : [];
    return files.map((f) => `== ${path.relative(root, f)}\n${readFileSync(f, 'utf8').trim().split('\n').slice(-lines).join('\n')}`).join('\n') || '(no build log)';
  };

  /**
   * What `script` prints on the node, run by a pod (the lab's pods see the node's /proc, /sys
   * and /dev, as a privileged debug pod does: `oc debug node/<n>`): a DaemonSet in `image`
   * runs it, its log is read with kubectl logs, then it is deleted. One node (the first pod's log).
   */
  readonly onNode = async (image: string, script: string, name = 'node-script'): Promise<string> => {
    const f = path.join(this.dir, `${name}.json`);
    writeFileSync(f, scriptDaemonSet(name, image, script));
    const a = await this.kubectl('apply', '-f', f);
    expect(a.code, a.stderr).toBe(0);
    const w = await waitPodsReady(this.kubectl, `app=${name}`);
    expect(w.code, `${w.stderr}\n${this.logTail()}`).toBe(0);
    let logs = '';
    for (let i = 0; i < 30 && !logs.includes('end-of-output'); i++, await new Promise((r) => setTimeout(r, 500))) logs = (await this.kubectl('logs', `ds/${name}`)).stdout;
    await this.kubectl('delete', 'ds', name, '--wait=true');
    return logs.slice(0, logs.lastIndexOf('end-of-output'));
  };

  /** The output lines of `script` run on the node (onNode). */
  readonly nodeOutput = async (image: string, script: string): Promise<string[]> => (await this.onNode(image, script)).split('\n').filter(Boolean);

  /** The modules the node has loaded, as a pod sees them (/proc/modules). */
  readonly loadedModules = async (image: string): Promise<string[]> =>
    (await this.onNode(image, 'cut -d" " -f1 /proc/modules', 'lsmod')).split('\n').filter(Boolean);

  /** Opens the registry (if asked), sets up the lab release images, and brings the lab up. */
  async start(opts: StartOptions): Promise<{ release: SetupImagesResult | undefined; up: RunResult }> {
    if (this.opts.registry ?? true) this.opened = await openRegistry();
    const images = opts.images ?? [opts.kernel];
    const release = images.length ? await setupLabImages(images) : undefined;
    mkdirSync(path.join(this.dir, 'home'), { recursive: true });
    const up = await this.kmodlab('lab', 'up', ...(opts.upArgs ?? ['--nodes', '1', '--kernel', opts.kernel.kver]));
    return { release, up };
  }

  /** `lab down`, the registry stopped, the temp dir removed. */
  async stop(): Promise<void> {
    await this.kmodlab('lab', 'down');
    await this.opened?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The digest reference of the lab release's runtime base (ubi-minimal's counterpart). */
export function runtimeBaseOf(release: SetupImagesResult | undefined): string {
  return release!.images.find((i) => i.role === 'runtime-base')!.digestRef!;
}
