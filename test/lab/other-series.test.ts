/**
 * A kernel of another series (Debian's 6.12: modules shipped as .ko.xz, virtio built
 * in): `kmodlab lab up --kernel <it>` boots the node on it, and KMM's manifests rendered
 * for that kernel's lab release build the driver for it in the lab and load it — what a
 * y-stream upgrade needs. Driven as a user does (bin/kmodlab.js, kubectl; needs `npm run build`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { Buildah } from '../../src/targets/lab/images/buildah.js';
import { kubectlBinary, waitPodsReady } from './api-server-helpers.js';
import { labAvailability, pollUntil, skipReason } from './helpers.js';
import { LabUpHarness, runtimeBaseOf } from './lab-up-harness.js';

const availability = labAvailability();
const other = availability.kernels.find((k) => k.series !== '6.1' && !k.flavour.startsWith('rt'));
const missing = ['buildah', 'skopeo', 'docker-registry'].filter((t) => !findTool(t));
const ok = availability.ok && !!other && missing.length === 0 && !!kubectlBinary();
const why = !availability.ok
  ? skipReason(availability)
  : !other
    ? ' [SKIPPED: no non-6.1 kernel installed; scripts/lab-packages.sh installs one]'
    : ` [SKIPPED: ${missing.length ? `not installed: ${missing.join(', ')}` : 'no kubectl'}]`;

/** A DaemonSet whose pod prints `file` (the node's /proc), then `end-of-file`. */
function catDaemonSet(image: string, file: string): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'cat', namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: 'cat' } },
      template: { metadata: { labels: { app: 'cat' } }, spec: { containers: [{ name: 'cat', image, command: ['sh', '-c', `cat ${file}; echo end-of-file; exec sleep infinity`] }] } },
    },
  });
}

describe.skipIf(!ok)(`lab kernel of another series${ok ? '' : why}`, () => {
  const h = new LabUpHarness('series');
  const { dir, kmodlab, kubectl } = h;
  const out = path.join(dir, 'out', 'kmm');
  const READY = 'kmm.node.kubernetes.io/kmodlab-simple-kmod.simple-kmod.ready';
  const CSV = 'kernel-module-management.v2.7.0';
  let runtimeBase: string;
  // A repository of this run only: an image pushed by an earlier run would skip KMM's build.
  const repo = () => `${h.registry.host}/${path.basename(dir).toLowerCase()}`;

  beforeAll(async () => {
    const { release, up } = await h.start({ kernel: other! });
    expect(up.code, up.stderr).toBe(0);
    runtimeBase = runtimeBaseOf(release);
    const info = await kmodlab('lab', 'release-info', other!.kver);
    expect(info.code, info.stderr).toBe(0);
    writeFileSync(path.join(dir, 'release.json'), info.stdout);
    const r = await kmodlab('render', '--method', 'kmm', '--release-info', path.join(dir, 'release.json'), '--output-dir', path.join(dir, 'out'), '--registry', repo(), '--pool', 'master');
    expect(r.code, r.stderr).toBe(0);
  }, 900_000);
  afterAll(() => h.stop());

  it(`boots ${other?.kver ?? 'a 6.12 kernel'}, builds the driver for it and loads it with the KMM manifests`, async () => {
    const node = JSON.parse((await kubectl('get', 'nodes', '-o', 'json')).stdout).items[0];
    expect(node.status.nodeInfo.kernelVersion).toBe(other!.kver);

    // The README's steps: the operator (the Module kind is served once its CSV installed), the source image, then everything.
    await kubectl('apply', '-f', out);
    const csv = await pollUntil(async () => (await kubectl('get', 'csv', '-n', 'openshift-kmm', '-o', 'name')).stdout, (s) => s.includes(CSV), 60_000, 1_000);
    expect(csv, h.logTail()).toContain(CSV);
    const w = await kubectl('wait', '-n', 'openshift-kmm', `csv/${CSV}`, '--for=jsonpath={.status.phase}=Succeeded', '--timeout=180s');
    expect(w.code, `${w.stderr}\n${h.logTail()}`).toBe(0);
    expect((await kubectl('wait', 'crd/modules.kmm.sigs.x-k8s.io', '--for=condition=Established', '--timeout=60s')).code).toBe(0);
    const step = /podman build -f Containerfile\.source -t (\S+) (\S+)/.exec(readFileSync(path.join(out, 'README.md'), 'utf8'));
    expect(step, 'the README names its source-image build').not.toBeNull();
    const buildah = new Buildah();
    const log = path.join(dir, 'source-build.log');
    await buildah.bud({ containerfile: path.join(out, 'Containerfile.source'), context: step![2]!, tag: 'localhost/kmodlab-test/series-source', logFile: log, insecure: true });
    await buildah.push('localhost/kmodlab-test/series-source', step![1]!, { insecure: true, logFile: log });
    const a = await kubectl('apply', '-f', out);
    expect(a.code, a.stderr).toBe(0);

    // Labelled ready, or a failed Build (KMM does not retry it: no need to wait out the poll).
    const state = async () => ({
      labelled: (await kubectl('get', 'nodes', '-l', READY, '-o', 'name')).stdout,
      builds: (await kubectl('get', 'builds', '-n', 'kmodlab-simple-kmod', '-o', 'jsonpath={.items[*].status.phase}')).stdout,
    });
    const seen = await pollUntil(state, (v) => v.labelled.includes(node.metadata.name) || /\b(Failed|Error)\b/.test(v.builds), 600_000, 2_000);
    expect(seen.labelled, `builds: ${seen.builds}\n${h.logTail()}\n${h.buildLogTails()}`).toContain(node.metadata.name);
    // One build, for this kernel, complete.
    const builds = JSON.parse((await kubectl('get', 'builds', '-n', 'kmodlab-simple-kmod', '-o', 'json')).stdout).items;
    expect(builds.map((b: { status: { phase: string } }) => b.status.phase)).toEqual(['Complete']);
    const args = Object.fromEntries(builds[0].spec.strategy.dockerStrategy.buildArgs.map((x: { name: string; value: string }) => [x.name, x.value]));
    expect(args.KERNEL_FULL_VERSION).toBe(other!.kver);

    const mods = await h.loadedModules(runtimeBase);
    expect(mods).toContain('simple_kmod');
    // The driver works on this kernel: its procfs file answers.
    const f = path.join(dir, 'cat.json');
    writeFileSync(f, catDaemonSet(runtimeBase, '/proc/simple-procfs-kmod'));
    expect((await kubectl('apply', '-f', f)).code).toBe(0);
    expect((await waitPodsReady(kubectl, 'app=cat')).code, h.logTail()).toBe(0);
    const logs = await pollUntil(async () => (await kubectl('logs', 'ds/cat')).stdout, (s) => s.includes('end-of-file'), 15_000, 500);
    expect(logs.split('\n')[0]!.trim()).toMatch(/^simple-procfs-kmod reads=\d+$/);
  }, 900_000);
});
