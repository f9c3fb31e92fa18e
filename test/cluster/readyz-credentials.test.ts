/**
 * R4: a 401/403 from /readyz is a credentials problem, not an API outage — the server
 * answered. It is reported once as such and never measured as downtime.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeClient } from '../../src/targets/cluster/client.js';
import { Credentials } from '../../src/targets/cluster/kubeconfig.js';
import { ReadyzMonitor } from '../../src/targets/cluster/readyz.js';
import { FakeKubeApiServer } from './fake-kube-apiserver.js';
import { FIXTURE_TOKEN, kubeconfigFor } from './helpers.js';

type Ev = { kind: string; data: Record<string, unknown> };

describe('readyz: refused credentials are not an outage', () => {
  let fake: FakeKubeApiServer;
  let client: KubeClient;
  beforeEach(async () => {
    fake = new FakeKubeApiServer();
    fake.tokens.add(FIXTURE_TOKEN);
    client = new KubeClient({ credentials: new Credentials({ kubeconfig: kubeconfigFor('ocp-token.kubeconfig', await fake.start()) }) });
  });
  afterEach(async () => fake.stop());

  it.each([
    ['401 (token expired or revoked)', () => (fake.tokens.clear(), fake.tokens.add('sha256~another-users-token')), 401],
    ['403 (anonymous /readyz not allowed)', () => (fake.readyzForbidden = true), 403],
  ])('%s: one credentials fault, no outage', async (_w, breakIt, status) => {
    let now = 1_000_000;
    const events: Ev[] = [];
    const m = new ReadyzMonitor({ client, emit: (kind, data) => events.push({ kind, data }), now: () => now, intervalMs: 1000 });
    expect(await m.pollOnce()).toBe(true);
    breakIt();
    for (let i = 0; i < 3; i++) {
      now += 1000;
      await m.pollOnce();
    }
    expect(m.outages).toEqual([]);
    expect(events.filter((e) => e.data['apiOutage'] !== undefined)).toEqual([]);
    const faults = events.filter((e) => e.kind === 'fault');
    expect(faults).toHaveLength(1);
    expect(faults[0]!.data).toMatchObject({ fault: 'api-credentials', status });
    expect(String(faults[0]!.data['message'])).toMatch(/not measured/);
    expect(m.credentialsProblem).toBeDefined();
    await expect(m.waitReady(5000)).rejects.toThrow(/credentials/);
  });

  it('a real outage after a credentials problem is still measured', async () => {
    let now = 0;
    const m = new ReadyzMonitor({ client, emit: () => undefined, now: () => now, intervalMs: 1000 });
    fake.readyzForbidden = true;
    await m.pollOnce();
    fake.readyzForbidden = false;
    fake.readyz = 'down';
    now += 1000;
    await m.pollOnce();
    fake.readyz = 'ok';
    now += 5000;
    await m.pollOnce();
    expect(m.outages).toEqual([{ fromMs: 1000, toMs: 6000 }]);
  });
});
