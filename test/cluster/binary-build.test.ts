/**
 * B2: a `Binary` BuildConfig builds only when its `instantiatebinary` subresource receives
 * the source (what `oc start-build --from-dir` does). kmodlab sends the driver directory
 * as a gzip tar, follows the Build to Complete/Failed and reports the log of a failure.
 * The fake API server answers the subresource as OpenShift's build API does (the Build
 * object); the fake cluster's builder moves the Build on.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import '../../src/methods/all.js';
import { renderMethods } from '../../src/methods/render.js';
import { loadDriver, type LoadedDriver } from '../../src/driver/load.js';
import { allObjects } from '../../src/artifacts/artifact-set.js';
import { ClusterTarget } from '../../src/targets/cluster/cluster-target.js';
import type { EventKind } from '../../src/evaluation/events.js';
import { startFakeCluster, type FakeCluster } from './fake-cluster.js';
import { FIXTURE_TOKEN, kubeconfigFor, tempDir } from './helpers.js';

let driver: LoadedDriver;
beforeAll(async () => {
  driver = await loadDriver('drivers/simple-kmod/driver.yaml');
});

describe('binary builds through instantiatebinary (fake build API)', () => {
  let cluster: FakeCluster;
  let t: ClusterTarget | undefined;
  let events: { kind: EventKind; data: Record<string, unknown> }[];
  const connect = (sourceDir: string | undefined) =>
    ClusterTarget.connect({ kubeconfig: kubeconfigFor('ocp-token.kubeconfig', cluster.api.url), emit: (kind, data) => events.push({ kind, data }), readyzIntervalMs: 100, pollMs: 20, prometheusMinWindowMs: Number.MAX_SAFE_INTEGER, driverSourceDir: sourceDir });
  afterEach(async () => {
    await t?.close();
    t = undefined;
    await cluster.api.stop();
  });

  it('dtk: the driver directory goes to the BuildConfig as a gzip tar; the build is followed to Complete; the step is recorded as done by kmodlab', async () => {
    cluster = await startFakeCluster(FIXTURE_TOKEN, ['simple_kmod']);
    events = [];
    t = await connect(driver.sourceDir);
    await t.reset({ release: t.releases().from });
    const set = renderMethods(driver.spec, t.releases().from, 'dtk', { pool: t.pool() })[0]!;
    const bc = allObjects(set, 'day2').find((o) => o.kind === 'BuildConfig')!;
    await t.apply(set);
    expect(cluster.api.binaryUploads.map((u) => [u.namespace, u.buildConfig])).toEqual([[bc.metadata.namespace, bc.metadata.name]]);
    const upload = cluster.api.binaryUploads[0]!;
    const dir = tempDir();
    writeFileSync(path.join(dir, 'src.tgz'), upload.archive);
    const listed = execFileSync('tar', ['-tzf', path.join(dir, 'src.tgz')], { encoding: 'utf8' });
    expect(listed).toMatch(/\.\/Makefile/);
    expect(listed).toMatch(/\.\/driver\.yaml/);
    expect(cluster.api.get('build.openshift.io/v1', 'Build', upload.build, upload.namespace)!['status'].phase).toBe('Complete');
    const step = events.find((e) => e.kind === 'manual-step' && String(e.data['command']).startsWith(`oc start-build ${bc.metadata.name} `))!;
    expect(step.data['performedBy']).toBe('kmodlab');
    await t.remove(set);
  });

  it('the same set applied again is not built again; a changed source, or a BuildConfig created again, is', async () => {
    cluster = await startFakeCluster(FIXTURE_TOKEN, ['simple_kmod']);
    events = [];
    const src = tempDir();
    cpSync(driver.sourceDir!, src, { recursive: true });
    t = await connect(src);
    await t.reset({ release: t.releases().from });
    const set = renderMethods(driver.spec, t.releases().from, 'dtk', { pool: t.pool() })[0]!;
    const bc = allObjects(set, 'day2').find((o) => o.kind === 'BuildConfig')!;
    const startBuildSteps = () => events.filter((e) => e.kind === 'manual-step' && String(e.data['command']).startsWith(`oc start-build ${bc.metadata.name} `));
    await t.apply(set);
    expect(cluster.api.binaryUploads).toHaveLength(1);
    // The next scenario of the row applies the same files: the README's build step is done.
    events = [];
    await t.apply(set);
    expect(cluster.api.binaryUploads).toHaveLength(1);
    expect(startBuildSteps()).toEqual([]);
    expect(events.some((e) => e.kind === 'progress' && /Build \S+-1 built this driver source and nothing changed since: not started again/.test(String(e.data['step'])))).toBe(true);
    // A changed source is built.
    writeFileSync(path.join(src, 'README.extra'), 'changed\n');
    events = [];
    await t.apply(set);
    expect(cluster.api.binaryUploads).toHaveLength(2);
    expect(startBuildSteps().map((e) => e.data['performedBy'])).toEqual(['kmodlab']);
    // The BuildConfig deleted (with its Builds, as their owner) and applied again: a new object, built again.
    const ns = bc.metadata.namespace!;
    for (const b of cluster.api.all('Build')) cluster.api.removeObject('build.openshift.io/v1', 'Build', b.metadata['name'], ns);
    cluster.api.removeObject('build.openshift.io/v1', 'BuildConfig', bc.metadata.name, ns);
    await t.apply(set);
    expect(cluster.api.binaryUploads).toHaveLength(3);
    await t.remove(set);
  });

  it('a failed build fails the apply with the build log, recorded as a fault', async () => {
    cluster = await startFakeCluster(FIXTURE_TOKEN, ['simple_kmod']);
    cluster.buildOutcome = { phase: 'Failed', log: 'make: *** No rule to make target modules. Stop.\nerror: build error\n', message: 'Docker build strategy has failed.' };
    events = [];
    t = await connect(driver.sourceDir);
    await t.reset({ release: t.releases().from });
    const set = renderMethods(driver.spec, t.releases().from, 'dtk', { pool: t.pool() })[0]!;
    await expect(t.apply(set)).rejects.toThrow(/Failed \(Docker build strategy has failed\.\).*\n[\s\S]*No rule to make target/);
    expect(events.find((e) => e.kind === 'fault' && e.data['fault'] === 'build-failed')!.data['message']).toMatch(/No rule to make target/);
  });

  it('without the source directory the build is left to the user as a manual step', async () => {
    cluster = await startFakeCluster(FIXTURE_TOKEN, ['simple_kmod']);
    events = [];
    t = await connect(undefined);
    await t.reset({ release: t.releases().from });
    const set = renderMethods(driver.spec, t.releases().from, 'dtk', { pool: t.pool() })[0]!;
    await t.apply(set);
    expect(cluster.api.binaryUploads).toEqual([]);
    expect(events.find((e) => e.kind === 'manual-step' && /oc start-build/.test(String(e.data['command'])))!.data['performedBy']).toBe('user');
    await t.remove(set);
  });
});
