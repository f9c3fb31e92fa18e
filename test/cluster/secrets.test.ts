/**
 * Secrets (tokens, kubeconfig contents, keys) never reach error messages, logs or the
 * run record. The flows in cluster-target.test.ts grep events.jsonl; this file greps
 * the errors of every failure path with both credential kinds (token, client cert).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeClient } from '../../src/targets/cluster/client.js';
import { Credentials } from '../../src/targets/cluster/kubeconfig.js';
import { ClusterTarget } from '../../src/targets/cluster/cluster-target.js';
import { PrometheusClient } from '../../src/targets/cluster/prometheus.js';
import { FakeKubeApiServer } from './fake-kube-apiserver.js';
import { FakePrometheus } from './fake-prometheus.js';
import { fixtureSecrets, kubeconfigFor } from './helpers.js';

function text(e: unknown): string {
  const x = e as Error & { hint?: string };
  return `${String(x)}\n${x.message}\n${x.hint ?? ''}\n${x.stack ?? ''}`;
}

describe('no secret in errors', () => {
  let fake: FakeKubeApiServer;
  beforeEach(async () => {
    fake = new FakeKubeApiServer();
    fake.tokens.add('sha256~a-token-the-fixtures-do-not-have');
    await fake.start();
  });
  afterEach(async () => fake.stop());

  it.each(['ocp-token.kubeconfig', 'client-cert.kubeconfig'])('%s: 401, 403-free paths, connection refused, Prometheus 401, connect failure', async (fixture) => {
    const kubeconfig = kubeconfigFor(fixture, fake.url);
    const secrets = fixtureSecrets();
    const texts: string[] = [];
    const c = new KubeClient({ credentials: new Credentials({ kubeconfig }) });
    texts.push(text(await c.mapping('apps/v1', 'DaemonSet').catch((e) => e))); // 401 (retried once)
    const dead = new KubeClient({ credentials: new Credentials({ kubeconfig: kubeconfigFor(fixture, 'http://127.0.0.1:9') }) });
    texts.push(text(await dead.mapping('v1', 'Pod').catch((e) => e))); // connection refused
    const prom = new FakePrometheus();
    prom.tokens.add('sha256~nope');
    await prom.start();
    try {
      const p = new PrometheusClient({ url: prom.url, credentials: new Credentials({ kubeconfig }) });
      texts.push(text(await p.queryRange('up', 0, 60_000, 15).catch((e) => e)));
      // What the fake Prometheus received is the only place the credential may appear.
      expect(prom.authHeaders.length).toBe(2);
    } finally {
      await prom.stop();
    }
    const events: string[] = [];
    texts.push(text(await ClusterTarget.connect({ kubeconfig, emit: (k, d) => events.push(JSON.stringify([k, d])) }).catch((e) => e)));
    expect(texts.every((t) => t.length > 20)).toBe(true);
    for (const s of secrets) for (const t of [...texts, ...events]) expect(t).not.toContain(s);
    for (const t of [...texts, ...events]) expect(t).not.toMatch(/Bearer\s+\S/);
  });
});
