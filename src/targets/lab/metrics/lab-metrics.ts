/**
 * The lab's monitoring stack as one service: the metrics endpoint and a Prometheus
 * scraping it, started together and stopped together (Prometheus first, so its last
 * scrape does not hit a closed endpoint and no process is left behind). The Prometheus
 * URL is what the cluster target takes as `--prometheus-url`.
 */
import { startExporter, type MetricsExporter } from './exporter.js';
import { startPrometheus, type LabPrometheus } from './prometheus-server.js';
import type { UsageSource } from './usage.js';

export interface LabMetrics {
  /** The /metrics endpoint, `http://127.0.0.1:<port>`. */
  metricsUrl: string;
  /** The lab Prometheus, `http://127.0.0.1:<port>`. */
  prometheusUrl: string;
  prometheusPid: number;
  stop(): Promise<void>;
}

export interface LabMetricsOptions {
  /** Prometheus config, storage and log; default <lab cache>/prometheus. */
  dir?: string;
  scrapeIntervalS?: number;
}

export async function startLabMetrics(source: UsageSource, opts: LabMetricsOptions = {}): Promise<LabMetrics> {
  const exporter: MetricsExporter = await startExporter(source);
  let prom: LabPrometheus;
  try {
    prom = await startPrometheus({ targets: [exporter.target], dir: opts.dir, scrapeIntervalS: opts.scrapeIntervalS });
  } catch (e) {
    await exporter.stop();
    throw e;
  }
  let stopped: Promise<void> | undefined;
  return {
    metricsUrl: exporter.url,
    prometheusUrl: prom.url,
    prometheusPid: prom.pid,
    stop: () => (stopped ??= prom.stop().finally(() => exporter.stop())),
  };
}
