/**
 * B1/B8: the KMM method through OLM. The Module kind exists only once OLM has installed
 * the operator's CSV (its CRD), so the Module is applied after the CSV succeeded and is
 * watched from then on; an OperatorGroup or a KMM install that was already there is
 * reused and never deleted. The fake OLM (fake-olm.ts) stands in for OLM, which the lab
 * does not run.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import '../../src/methods/all.js';
import { renderMethods } from '../../src/methods/render.js';
import { loadDriver } from '../../src/driver/load.js';
import { ReleaseSchema } from '../../src/release/release.js';
import type { ArtifactSet } from '../../src/artifacts/artifact-set.js';
import { ClusterTarget } from '../../src/targets/cluster/cluster-target.js';
import type { EventKind } from '../../src/evaluation/events.js';
import { KVER, startFakeCluster, type FakeCluster } from './fake-cluster.js';
import { installFakeOlm, KMM_MODULES, preinstalledKmm } from './fake-olm.js';
import { FIXTURE_TOKEN, kubeconfigFor, until } from './helpers.js';

let set: ArtifactSet;
beforeAll(async () => {
  const driver = (await loadDriver('drivers/simple-kmod/driver.yaml')).spec;
  set = renderMethods(driver, ReleaseSchema.parse({ version: '4.14.12', kernelVersion: KVER, sources: {} }), 'kmm')[0]!;
});

const moduleObj = () => set.files.flatMap((f) => f.objects ?? []).find((o) => o.kind === 'Module')!;

describe('KMM through OLM (fake OLM)', () => {
  let cluster: FakeCluster;
  let t: ClusterTarget | undefined;
  let events: { kind: EventKind; data: Record<string, unknown> }[];
  const connect = async () =>
    (t = await ClusterTarget.connect({
      kubeconfig: kubeconfigFor('ocp-token.kubeconfig', cluster.api.url),
      emit: (kind, data) => events.push({ kind, data }),
      readyzIntervalMs: 100,
      pollMs: 20,
      prometheusMinWindowMs: Number.MAX_SAFE_INTEGER,
      watch: { backoffMs: { initial: 20, max: 100 } },
    }));
  const steps = () => events.filter((e) => e.kind === 'progress').map((e) => String(e.data['step']));
  afterEach(async () => {
    await t?.close();
    t = undefined;
    await cluster.api.stop();
  });

  it('applies the Module only after the CSV succeeded (the CRD did not exist at connect), then watches it', async () => {
    cluster = await startFakeCluster(FIXTURE_TOKEN, ['simple_kmod']);
    installFakeOlm(cluster.api, { delayMs: 150 });
    events = [];
    const target = await connect();
    await target.reset({ release: target.releases().from });
    await target.apply(set);
    const m = moduleObj();
    expect(cluster.api.get(m.apiVersion, 'Module', m.metadata.name, m.metadata.namespace)).toBeDefined();
    expect(steps().some((s) => /kernel-module-management\.v2\.0\.0 Succeeded/.test(s))).toBe(true);
    // The Module watch started lazily: a status change by the operator shows up.
    cluster.api.update(m.apiVersion, 'Module', m.metadata.name, m.metadata.namespace, (x) => (x['status'] = { moduleLoader: { availableNumber: 2, desiredNumber: 2, nodesMatchingSelectorNumber: 2 } }));
    await until(() => steps().some((s) => /KMM Module \S+: 2\/2 loader pods available/.test(s)), 3000, 'the Module status in the record');
    await target.remove(set);
  });

  it('Day 1: the operator the installer manifests subscribed to is still installing when the Module is applied: apply waits for its CSV and kind, then applies it', async () => {
    const driver = (await loadDriver('drivers/simple-kmod/driver.yaml')).spec;
    const day1 = renderMethods(driver, ReleaseSchema.parse({ version: '4.14.12', kernelVersion: KVER, sources: {} }), 'kmm', { day1: true, registry: 'quay.io/acme' })[0]!;
    cluster = await startFakeCluster(FIXTURE_TOKEN, ['simple_kmod']);
    installFakeOlm(cluster.api, { delayMs: 1_000 });
    // The installer created the Day-1 manifests (operator namespace, OperatorGroup, Subscription) with the cluster.
    const installed = day1.files.filter((f) => f.phase === 'day1').flatMap((f) => f.objects ?? []).filter((o) => o.kind !== 'MachineConfig');
    expect(installed.map((o) => o.kind)).toContain('Subscription');
    events = [];
    const target = await connect();
    await target.reset({ release: target.releases().from });
    // (put after the reset: the fake OLM's install starts from the Subscription's creation)
    for (const o of installed) cluster.api.put(structuredClone(o) as never);
    await target.follow(day1);
    expect(cluster.api.unserved.has(KMM_MODULES), 'the Module kind is not served yet when the Module is applied').toBe(true);
    await target.apply(day1);
    const m = day1.files.flatMap((f) => f.objects ?? []).find((o) => o.kind === 'Module')!;
    expect(cluster.api.get(m.apiVersion, 'Module', m.metadata.name, m.metadata.namespace)).toBeDefined();
    expect(steps().some((s) => /kernel-module-management\.v2\.0\.0 Succeeded/.test(s))).toBe(true);
  });

  it("the source image KMM's build copies from: a recorded manual step, and whether the internal registry has it", async () => {
    cluster = await startFakeCluster(FIXTURE_TOKEN, ['simple_kmod']);
    installFakeOlm(cluster.api, { delayMs: 20 });
    events = [];
    const target = await connect();
    await target.reset({ release: target.releases().from });
    await target.apply(set);
    const step = events.find((e) => e.kind === 'manual-step' && /source image/.test(String(e.data['description'])))!;
    expect(step.data).toMatchObject({ performedBy: 'user' });
    const image = /source image (\S+):/.exec(String(step.data['description']))![1]!;
    expect(steps()).toContain(`source image ${image} is not in the internal registry: KMM's build fails until it is built and pushed (the manual step above)`);
    await target.remove(set);
    // Pushed to the internal registry: its ImageStreamTag exists.
    const [, ns, name, tag] = /^[^/]+\/([^/]+)\/([^:]+):(.+)$/.exec(image)!;
    cluster.api.put({ apiVersion: 'image.openshift.io/v1', kind: 'ImageStreamTag', metadata: { name: `${name}:${tag}`, namespace: ns } });
    await target.apply(set);
    expect(steps()).toContain(`source image ${image} is in the internal registry`);
    await target.remove(set);
  });

  it('an OperatorGroup already in openshift-kmm is reused (no second one: TooManyOperatorGroups) and kept on removal', async () => {
    cluster = await startFakeCluster(FIXTURE_TOKEN, ['simple_kmod']);
    installFakeOlm(cluster.api, { delayMs: 50 });
    cluster.api.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'openshift-kmm' } });
    cluster.api.put({ apiVersion: 'operators.coreos.com/v1', kind: 'OperatorGroup', metadata: { name: 'openshift-kmm-abcde', namespace: 'openshift-kmm' }, spec: {} });
    events = [];
    const target = await connect();
    await target.reset({ release: target.releases().from });
    await target.apply(set);
    expect(cluster.api.all('OperatorGroup').map((g) => g.metadata['name'])).toEqual(['openshift-kmm-abcde']);
    await target.remove(set);
    expect(cluster.api.all('OperatorGroup').map((g) => g.metadata['name'])).toEqual(['openshift-kmm-abcde']);
    expect(cluster.api.get('v1', 'Namespace', 'openshift-kmm')).toBeDefined();
  });

  it('a KMM someone else installed is reused and not uninstalled; only kmodlab objects are deleted', async () => {
    cluster = await startFakeCluster(FIXTURE_TOKEN, ['simple_kmod']);
    installFakeOlm(cluster.api, { delayMs: 20 });
    preinstalledKmm(cluster.api);
    await until(() => !cluster.api.unserved.size, 3000, 'the preinstalled KMM');
    events = [];
    const target = await connect();
    await target.reset({ release: target.releases().from });
    await target.apply(set);
    expect(cluster.api.all('Subscription').map((x) => x.metadata['name'])).toEqual(['kmm-by-admin']);
    await target.remove(set);
    await target.close();
    t = undefined;
    expect(cluster.api.get('v1', 'Namespace', 'openshift-kmm')).toBeDefined();
    expect(cluster.api.all('Subscription').map((x) => x.metadata['name'])).toEqual(['kmm-by-admin']);
    expect(cluster.api.all('OperatorGroup').map((x) => x.metadata['name'])).toEqual(['kmm-admins']);
    const m = moduleObj();
    expect(cluster.api.get(m.apiVersion, 'Module', m.metadata.name, m.metadata.namespace)).toBeUndefined();
  });
});
