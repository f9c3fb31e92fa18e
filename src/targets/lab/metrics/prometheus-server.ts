/**
 * The lab's Prometheus: Debian's `prometheus` (2.42) run by kmodlab with a config written
 * here — listening on 127.0.0.1 only, storage under the lab cache, a 2 s scrape of the
 * lab's metrics endpoint (the lab has a handful of series; OpenShift scrapes every 30 s)
 * and the OpenShift recording rule the cluster target reads per namespace. The package's
 * own service (:9090 on every interface) is not used.
 *
 * It runs as the lab registry does (host/lab-service.ts): never outliving kmodlab, stopped
 * when the lab stops. One Prometheus per storage directory
 * (its TSDB is locked): a second one on the same directory is refused, naming the first.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../../errors.js';
import { labCacheDir, writeFileAtomic } from '../host/cache.js';
import { freePort, liveOwner, startLabService } from '../host/lab-service.js';
import { requireTool } from '../host/tools.js';

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
/** How often the lab's Prometheus scrapes (seconds): the lab's windows are seconds long. */
export const LAB_SCRAPE_INTERVAL_S = 2;

export function prometheusConfig(targets: string[], rulesFile: string, intervalS = LAB_SCRAPE_INTERVAL_S): string {
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

async function ready(url: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.status === 200;
  } catch {
    return false;
  }
}

export async function startPrometheus(opts: StartPrometheusOptions): Promise<LabPrometheus> {
  const dir = opts.dir ?? labCacheDir('prometheus');
  const configFile = join(dir, 'prometheus.yml');
  const rulesFile = join(dir, 'rules.yml');
  const storage = join(dir, 'data');
  mkdirSync(storage, { recursive: true });
  const owner = liveOwner(join(dir, 'prometheus.pid'), configFile);
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
  const url = `http://127.0.0.1:${port}`;
  const proc = await startLabService({
    name: 'prometheus',
    command: prometheus,
    args,
    logFile: join(dir, 'prometheus.log'),
    pidFile: join(dir, 'prometheus.pid'),
    address: `127.0.0.1:${port}`,
    ready: () => ready(url, 500),
    readyTimeoutMs: opts.readyTimeoutMs ?? 30_000,
  });
  return { url, pid: proc.pid, dir, stop: proc.stop };
}
