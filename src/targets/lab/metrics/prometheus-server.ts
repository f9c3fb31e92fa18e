/**
 * The lab's Prometheus: Debian's `prometheus` (2.42) run by kmodlab with a config written
 * here — listening on 127.0.0.1 only, storage under the lab cache, a 2 s scrape of the
 * lab's metrics endpoint (the lab has a handful of series; OpenShift scrapes every 30 s)
 * and the OpenShift recording rule the cluster target reads per namespace. The package's
 * own service (:9090 on every interface) is not used.
 *
 * Its lifecycle is the lab registry's (images/registry.ts): tracked by the node process
 * registry (killed on exit and on SIGINT/SIGTERM/SIGHUP), started under
 * `setpriv --pdeathsig SIGKILL` for the case where kmodlab is SIGKILLed, stopped with
 * SIGTERM (SIGKILL after 5 s) when the lab stops. One Prometheus per storage directory
 * (its TSDB is locked): a second one on the same directory is refused, naming the first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { UserError } from '../../../errors.js';
import { labCacheDir, writeFileAtomic } from '../host/cache.js';
import { findTool, requireTool } from '../host/tools.js';
import { trackProcess, untrackProcess } from '../node/registry.js';

export interface LabPrometheus {
  /** `http://127.0.0.1:<port>`: what the cluster target's --prometheus-url takes. */
  url: string;
  pid: number;
  dir: string;
  stop(): Promise<void>;
}

export interface StartPrometheusOptions {
  /** Scrape targets (`host:port`) serving /metrics. */
  targets: string[];
  /** Config, storage, log; default <lab cache>/prometheus. */
  dir?: string;
  port?: number;
  scrapeIntervalS?: number;
  /** How long samples are kept. */
  retention?: string;
  readyTimeoutMs?: number;
}

/**
 * openshift/cluster-monitoring-operator's recording rule (openshift-kubernetes.rules) behind
 * the per-namespace memory the cluster target reads.
 */
export const RECORDING_RULES = {
  groups: [
    {
      name: 'openshift-kubernetes.rules',
      rules: [{ record: 'namespace:container_memory_usage_bytes:sum', expr: 'sum(container_memory_usage_bytes{container!=""}) BY (namespace)' }],
    },
  ],
};

/** The Prometheus config (JSON is YAML). */
export function prometheusConfig(targets: string[], rulesFile: string, intervalS = 2): string {
  const interval = `${intervalS}s`;
  return `${JSON.stringify(
    {
      global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
      rule_files: [rulesFile],
      scrape_configs: [
        {
          job_name: 'kmodlab-lab',
          metrics_path: '/metrics',
          // The exposition carries the labels OpenShift's ServiceMonitors add (job, node, instance…).
          honor_labels: true,
          static_configs: [{ targets }],
        },
      ],
    },
    null,
    2,
  )}\n`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function ready(url: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.status === 200;
  } catch {
    return false;
  }
}

function liveOwner(dir: string, configFile: string): number | undefined {
  const pidFile = join(dir, 'prometheus.pid');
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(configFile) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export async function startPrometheus(opts: StartPrometheusOptions): Promise<LabPrometheus> {
  const dir = opts.dir ?? labCacheDir('prometheus');
  const configFile = join(dir, 'prometheus.yml');
  const rulesFile = join(dir, 'rules.yml');
  const storage = join(dir, 'data');
  mkdirSync(storage, { recursive: true });
  const owner = liveOwner(dir, configFile);
  if (owner !== undefined) {
    throw new UserError(`a lab Prometheus already runs on ${dir} (pid ${owner})`, 'stop the lab that started it (`kmodlab lab down`) first');
  }
  const port = opts.port ?? (await freePort());
  writeFileAtomic(rulesFile, `${JSON.stringify(RECORDING_RULES, null, 2)}\n`);
  writeFileAtomic(configFile, prometheusConfig(opts.targets, rulesFile, opts.scrapeIntervalS));

  const prometheus = requireTool('prometheus');
  const args = [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${storage}`,
    `--storage.tsdb.retention.time=${opts.retention ?? '7d'}`,
    // 127.0.0.1 only: lab services never listen on other interfaces.
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ];
  const setpriv = findTool('setpriv');
  const logFile = join(dir, 'prometheus.log');
  const logFd = openSync(logFile, 'a');
  const [cmd, argv] = setpriv ? [setpriv, ['--pdeathsig', 'SIGKILL', prometheus, ...args]] : [prometheus, args];
  let child: ChildProcess;
  try {
    child = spawn(cmd, argv, { stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  trackProcess(child);
  writeFileAtomic(join(dir, 'prometheus.pid'), `${child.pid}\n`);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  while (!(await ready(url, 500))) {
    if (exited !== undefined || Date.now() > deadline) {
      child.kill('SIGKILL');
      untrackProcess(child);
      const tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-10).join('\n');
      throw new Error(`prometheus did not become ready on 127.0.0.1:${port} (${exited !== undefined ? `exit ${exited}` : 'no answer'}); ${logFile}:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  let stopped: Promise<void> | undefined;
  return {
    url,
    pid: child.pid!,
    dir,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        if (exited !== undefined || child.exitCode !== null) {
          untrackProcess(child);
          resolve();
          return;
        }
        const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(kill);
          untrackProcess(child);
          resolve();
        });
        child.kill('SIGTERM');
      })),
  };
}
