/**
 * The KMM method end to end on `kmodlab lab up`, with kubectl as on a cluster (bin/kmodlab.js;
 * needs `npm run build`): the rendered operator files install KMM through the lab's OLM
 * (Subscription → InstallPlan → CSV Succeeded), the Module kind is served only after; two
 * OperatorGroups fail the CSV with TooManyOperatorGroups; the rendered Module (its source
 * image built and pushed first, the README's step 3) builds the kmod image for the node's
 * kernel, a worker pod loads it and the node gets KMM's ready label; deleting the Module
 * unloads it before the Module goes. A Module whose kernelMapping matches no node's kernel
 * gets no build, no worker and no label (deploy_kmod.md: a node is eligible only when it
 * runs a kernel one of the mappings matches).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { Buildah } from '../../src/targets/lab/images/buildah.js';
import { kubectlBinary } from './api-server-helpers.js';
import { labAvailability, primaryKernel, skipReason } from './helpers.js';
import { LabUpHarness, runtimeBaseOf } from './lab-up-harness.js';

const lab = labAvailability();
const missing = ['buildah', 'skopeo', 'docker-registry'].filter((t) => !findTool(t));
const ok = lab.ok && missing.length === 0 && !!kubectlBinary();
const why = !lab.ok ? skipReason(lab) : ` [SKIPPED: ${missing.length ? `not installed: ${missing.join(', ')}` : 'no kubectl'}]`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!ok)(`the KMM method on kmodlab lab up, with kubectl${ok ? '' : why}`, () => {
  const kernel = lab.ok ? primaryKernel(lab.kernels) : undefined;
  const h = new LabUpHarness('labkmm');
  const { dir, labLog, kmodlab, kubectl } = h;
  const out = path.join(dir, 'out', 'kmm');
  let runtimeBase: string;
  const logTail = () => readFileSync(labLog, 'utf8').split('\n').slice(-25).join('\n');
  const json = async (...args: string[]) => JSON.parse((await kubectl(...args, '-o', 'json')).stdout);
  /** Polls `probe` until it is true (or the time is up); returns the last value. */
  const until = async (probe: () => Promise<boolean>, ms: number) => {
    const end = Date.now() + ms;
    let v = await probe();
    while (!v && Date.now() < end) {
      await sleep(1_000);
      v = await probe();
    }
    return v;
  };
  const loaded = () => h.loadedModules(runtimeBase);
  const READY = 'kmm.node.kubernetes.io/kmodlab-simple-kmod.simple-kmod.ready';
  const CSV = 'kernel-module-management.v2.7.0';
  // A repository of this run only: an image pushed by an earlier run would skip KMM's build.
  const repo = () => `${h.registry.host}/${path.basename(dir).toLowerCase()}`;

  beforeAll(async () => {
    const { release, up } = await h.start({ kernel: kernel! });
    runtimeBase = runtimeBaseOf(release);
    expect(up.code, up.stderr).toBe(0);
    const info = await kmodlab('lab', 'release-info', kernel!.kver);
    expect(info.code, info.stderr).toBe(0);
    writeFileSync(path.join(dir, 'release.json'), info.stdout);
    const r = await kmodlab('render', '--method', 'kmm', '--release-info', path.join(dir, 'release.json'), '--output-dir', path.join(dir, 'out'), '--registry', repo(), '--pool', 'master');
    expect(r.code, r.stderr).toBe(0);
  }, 900_000);
  afterAll(() => h.stop());

  it('kubectl apply of the operator files: OLM installs KMM (CSV Succeeded) and only then serves the Module kind', async () => {
    // Everything at once, as a user might: the Module cannot be mapped yet (no CRD before the CSV installs).
    const all = await kubectl('apply', '-f', out);
    expect(all.code).not.toBe(0);
    expect(all.stderr).toMatch(/no matches for kind "Module"/);
    expect((await kubectl('get', 'crd', 'modules.kmm.sigs.x-k8s.io')).code === 0 ? 'served' : 'not served').toBe('not served');

    // The README's step 1.
    expect(await until(async () => (await kubectl('get', 'csv', '-n', 'openshift-kmm', '-o', 'name')).stdout.includes(CSV), 60_000), logTail()).toBe(true);
    const w = await kubectl('wait', '-n', 'openshift-kmm', `csv/${CSV}`, "--for=jsonpath={.status.phase}=Succeeded", '--timeout=120s');
    expect(w.code, `${w.stderr}\n${logTail()}`).toBe(0);
    const est = await kubectl('wait', 'crd/modules.kmm.sigs.x-k8s.io', '--for=condition=Established', '--timeout=60s');
    expect(est.code, est.stderr).toBe(0);

    const csv = await json('get', 'csv', CSV, '-n', 'openshift-kmm');
    expect(csv.status.conditions.map((c: { phase: string }) => c.phase)).toEqual(['Pending', 'InstallReady', 'Installing', 'Succeeded']);
    const sub = await json('get', 'subscription', 'kernel-module-management', '-n', 'openshift-kmm');
    expect(sub.status).toMatchObject({ state: 'AtLatestKnown', installedCSV: CSV, currentCSV: CSV });
    const ip = await json('get', 'installplan', sub.status.installPlanRef.name, '-n', 'openshift-kmm');
    expect(ip.spec).toMatchObject({ approval: 'Automatic', approved: true, clusterServiceVersionNames: [CSV] });
    expect(ip.status.phase).toBe('Complete');
    // Now the kind is served, and the rendered Module passes the server's checks.
    expect((await kubectl('get', 'modules', '-A')).code).toBe(0);
    const dry = await kubectl('apply', '--dry-run=server', '-f', path.join(out, '12-module.yaml'));
    expect(dry.code, dry.stderr).toBe(0);
  }, 300_000);

  it('two OperatorGroups in the namespace: the CSV fails with TooManyOperatorGroups, and recovers when one is deleted', async () => {
    const ns = 'kmm-two-groups';
    const f = path.join(dir, 'two-ogs.json');
    const og = (name: string) => ({ apiVersion: 'operators.coreos.com/v1', kind: 'OperatorGroup', metadata: { name, namespace: ns } });
    const items = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
      og('first'),
      og('second'),
      { apiVersion: 'operators.coreos.com/v1alpha1', kind: 'Subscription', metadata: { name: 'kernel-module-management', namespace: ns }, spec: { channel: 'stable', name: 'kernel-module-management', source: 'redhat-operators', sourceNamespace: 'openshift-marketplace', installPlanApproval: 'Automatic' } },
    ];
    writeFileSync(f, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    expect((await kubectl('apply', '-f', f)).code).toBe(0);
    expect(await until(async () => (await kubectl('get', 'csv', '-n', ns, '-o', 'name')).stdout.includes(CSV), 60_000), logTail()).toBe(true);
    const w = await kubectl('wait', '-n', ns, `csv/${CSV}`, '--for=jsonpath={.status.reason}=TooManyOperatorGroups', '--timeout=60s');
    expect(w.code, w.stderr).toBe(0);
    expect((await json('get', 'csv', CSV, '-n', ns)).status.phase).toBe('Failed');
    expect((await kubectl('delete', 'operatorgroup', 'second', '-n', ns)).code).toBe(0);
    const s = await kubectl('wait', '-n', ns, `csv/${CSV}`, '--for=jsonpath={.status.phase}=Succeeded', '--timeout=60s');
    expect(s.code, s.stderr).toBe(0);
    await kubectl('delete', 'namespace', ns, '--wait=false');
  }, 300_000);

  it('the rendered Module: KMM builds the kmod image for the node kernel, a worker loads it, the node is labelled; delete unloads', async () => {
    // The README's step 3: the source image the in-cluster build copies from.
    const readme = readFileSync(path.join(out, 'README.md'), 'utf8');
    const step = /podman build -f Containerfile\.source -t (\S+) (\S+)/.exec(readme);
    expect(step, 'the README names its source-image build').not.toBeNull();
    const buildah = new Buildah();
    const log = path.join(dir, 'source-build.log');
    await buildah.bud({ containerfile: path.join(out, 'Containerfile.source'), context: step![2]!, tag: 'localhost/kmodlab-test/simple-kmod-source', logFile: log, insecure: true });
    await buildah.push('localhost/kmodlab-test/simple-kmod-source', step![1]!, { insecure: true, logFile: log });

    const t0 = Date.now();
    const a = await kubectl('apply', '-f', out);
    expect(a.code, a.stderr).toBe(0);
    const node = (await kubectl('get', 'nodes', '-o', 'jsonpath={.items[0].metadata.name}')).stdout;
    const labelled = await until(async () => (await kubectl('get', 'nodes', '-l', READY, '-o', 'name')).stdout.includes(node), 600_000);
    expect(labelled, logTail()).toBe(true);
    process.stderr.write(`lab kmm: Module applied to node labelled ready in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

    const builds = (await json('get', 'builds', '-n', 'kmodlab-simple-kmod')).items;
    expect(builds).toHaveLength(1);
    expect(builds[0].status.phase).toBe('Complete');
    const args = Object.fromEntries(builds[0].spec.strategy.dockerStrategy.buildArgs.map((x: { name: string; value: string }) => [x.name, x.value]));
    expect(args).toMatchObject({ KERNEL_FULL_VERSION: kernel!.kver, MOD_NAME: 'simple-kmod', MOD_NAMESPACE: 'kmodlab-simple-kmod' });
    expect(args.DTK_AUTO).toMatch(/driver-toolkit@sha256:/);
    expect(builds[0].spec.output.to.name).toBe(`${repo()}/simple-kmod-kmm:1.0.0-${kernel!.kver}`);
    const mod = await json('get', 'module', 'simple-kmod', '-n', 'kmodlab-simple-kmod');
    expect(mod.status.moduleLoader).toEqual({ nodesMatchingSelectorNumber: 1, desiredNumber: 1, availableNumber: 1 });

    const mods = await loaded();
    expect(mods).toContain('simple_kmod');
    expect(mods).toContain('simple_procfs_kmod');

    // kubectl delete waits for the finalizer: KMM unloads first.
    const d = await kubectl('delete', '-f', path.join(out, '12-module.yaml'), '--timeout=300s');
    expect(d.code, `${d.stderr}\n${logTail()}`).toBe(0);
    expect((await kubectl('get', 'nodes', '-l', READY, '-o', 'name')).stdout.trim()).toBe('');
    const after = await loaded();
    expect(after).not.toContain('simple_kmod');
    expect(after).not.toContain('simple_procfs_kmod');
  }, 900_000);

  it('wrong manifest: a kernelMapping regexp that matches no node kernel schedules no build and no worker; nothing loads', async () => {
    const ns = 'kmodlab-simple-kmod';
    const buildsBefore = (await json('get', 'builds', '-n', ns)).items.length;
    // The rendered Module with every mapping for a RHEL 9 kernel; the lab node runs Debian's.
    const m = parseDocument(readFileSync(path.join(out, '12-module.yaml'), 'utf8')).toJS();
    for (const k of m.spec.moduleLoader.container.kernelMappings) {
      delete k.literal;
      k.regexp = '^5\\.14\\.0-.*\\.el9.*$';
    }
    writeFileSync(path.join(dir, 'module-el9.json'), JSON.stringify(m));
    const a = await kubectl('apply', '-f', path.join(dir, 'module-el9.json'));
    expect(a.code, a.stderr).toBe(0);
    // KMM reconciled it (its finalizer and status are written) without a node to load on.
    const reconciled = await until(async () => (await json('get', 'module', m.metadata.name, '-n', ns)).status?.moduleLoader !== undefined, 60_000);
    expect(reconciled, logTail()).toBe(true);
    const mod = await json('get', 'module', m.metadata.name, '-n', ns);
    expect(mod.status.moduleLoader).toMatchObject({ nodesMatchingSelectorNumber: 1, availableNumber: 0 });
    await sleep(5_000); // a wrong controller would have started something by now
    expect((await json('get', 'builds', '-n', ns)).items).toHaveLength(buildsBefore);
    expect((await json('get', 'pods', '-n', ns, '-l', 'kmm.node.kubernetes.io/module.name')).items).toEqual([]);
    expect((await kubectl('get', 'nodes', '-l', READY, '-o', 'name')).stdout.trim()).toBe('');
    expect(await loaded()).not.toContain('simple_kmod');
    const d = await kubectl('delete', 'module', m.metadata.name, '-n', ns, '--timeout=120s');
    expect(d.code, d.stderr).toBe(0);
  }, 300_000);
});
