/**
 * `kmodlab lab up --manifests <dir>` (bin/kmodlab.js; needs `npm run build`): the installer
 * manifests are created through the lab API before any node joins; a directory or file
 * that is not what was expected is a user error (exit 2) naming it, and no lab starts.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { labAvailability, primaryKernel, REPO, skipReason } from './helpers.js';
import { kubectlBinary } from './api-server-helpers.js';
import { LabUpHarness, runtimeBaseOf } from './lab-up-harness.js';

const BIN = path.join(REPO, 'bin', 'kmodlab.js');

describe('kmodlab lab up --manifests', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kmodlab-labmanifests-'));
  const env = { ...process.env, KMODLAB_LAB_DIR: path.join(dir, 'state'), KMODLAB_CACHE: path.join(dir, 'cache'), HOME: path.join(dir, 'home') };
  const kubeconfig = path.join(dir, 'state', 'kubeconfig');
  const run = (file: string, args: string[], extraEnv: Record<string, string> = {}) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(file, args, { env: { ...env, ...extraEnv }, timeout: 120_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 124) : 0, stdout, stderr }),
      ),
    );
  const kmodlab = (...args: string[]) => run(process.execPath, [BIN, ...args]);
  mkdirSync(env.HOME, { recursive: true });
  afterAll(async () => {
    await kmodlab('lab', 'down');
    rmSync(dir, { recursive: true, force: true });
  });

  it('a missing directory: exit 2 naming the flag and the directory; the lab stays down', async () => {
    const missing = path.join(dir, 'no-such-dir');
    const r = await kmodlab('lab', 'up', '--nodes', '0', '--manifests', missing);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`--manifests: ${missing} is not a directory`);
    expect((await kmodlab('lab', 'status')).stdout).toMatch(/^lab: down/m);
  });

  it('a file that is not a Kubernetes object: exit 2 naming the file and document', async () => {
    const bad = path.join(dir, 'bad');
    mkdirSync(bad);
    writeFileSync(path.join(bad, '99_x.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\nfoo: bar\n');
    const r = await kmodlab('lab', 'up', '--nodes', '0', '--manifests', bad);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${path.join(bad, '99_x.yaml')}, document 2: expected a Kubernetes object`);
  });

  it.skipIf(!kubectlBinary())('the objects exist once the lab is up, created by the install step (a namespaced object listed before its Namespace too)', async () => {
    const manifests = path.join(dir, 'openshift');
    mkdirSync(manifests);
    writeFileSync(path.join(manifests, '99_z-namespace.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: day1-test\n');
    writeFileSync(path.join(manifests, '99_b-configmap.yml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-install\n  namespace: day1-test\ndata:\n  k: v\n');
    writeFileSync(path.join(manifests, 'README.md'), 'not a manifest\n');
    const r = await kmodlab('lab', 'up', '--nodes', '0', '--manifests', manifests);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('installer manifests: 2 object(s)');
    const got = await run(kubectlBinary()!, ['get', 'configmap', 'from-install', '-n', 'day1-test', '-o', 'jsonpath={.data.k}'], { KUBECONFIG: kubeconfig });
    expect(got.stdout, got.stderr).toBe('v');
  });
});

/**
 * Day 1 on a real node: a MachineConfig among the installer manifests that sets kernel
 * arguments (and keeps the boot image) is applied by the node's first boot, as
 * machine-config-daemon-firstboot does — the node reboots once with them and is Done on the
 * rendered config; it does not run without them until some later reboot.
 */
const lab = labAvailability();
const kernel = lab.ok ? primaryKernel(lab.kernels) : undefined;
const missing = ['buildah', 'skopeo', 'docker-registry', 'mkfs.erofs'].filter((t) => !findTool(t));
const ok = lab.ok && missing.length === 0 && !!kubectlBinary();
const why = !lab.ok ? skipReason(lab) : ` [SKIPPED: ${missing.length ? `not installed: ${missing.join(', ')}` : 'no kubectl'}]`;

describe.skipIf(!ok)(`kmodlab lab up --manifests: a Day-1 MachineConfig with kernelArguments${ok ? '' : why}`, () => {
  const h = new LabUpHarness('labday1kargs', { timeoutMs: 600_000 });
  afterAll(() => h.stop(), 300_000);

  it('the node reboots once at first boot with the arguments on its command line, Done on the rendered config', async () => {
    const manifests = path.join(h.dir, 'openshift');
    mkdirSync(manifests, { recursive: true });
    writeFileSync(
      path.join(manifests, '99-master-kargs.yaml'),
      'apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata:\n  name: 99-master-kargs\n  labels:\n    machineconfiguration.openshift.io/role: master\nspec:\n  kernelArguments:\n    - kmodlab.day1=on\n',
    );
    const { release, up } = await h.start({ kernel: kernel!, upArgs: ['--nodes', '1', '--kernel', kernel!.kver, '--manifests', manifests] });
    expect(up.code, up.stderr).toBe(0);
    const w = await h.kubectl('wait', 'mcp/master', '--for=condition=Updated', '--timeout=300s');
    expect(w.code, `${w.stderr}\n${h.logTail(15, /machine-config/)}`).toBe(0);
    const node = JSON.parse((await h.kubectl('get', 'node', 'lab-node-0', '-o', 'json')).stdout) as { metadata: { annotations: Record<string, string> } };
    const rendered = JSON.parse((await h.kubectl('get', 'mcp', 'master', '-o', 'json')).stdout) as { status: { configuration: { name: string } } };
    expect(node.metadata.annotations['machineconfiguration.openshift.io/currentConfig']).toBe(rendered.status.configuration.name);
    expect(node.metadata.annotations['machineconfiguration.openshift.io/state']).toBe('Done');
    expect(h.logTail(50, /first boot done/)).toMatch(/lab-node-0: first boot done on rendered-master-/);
    const reboots = JSON.parse((await h.kubectl('get', 'events', '-A', '--field-selector', 'reason=Rebooted,involvedObject.name=lab-node-0', '-o', 'json')).stdout) as { items: unknown[] };
    expect(reboots.items).toHaveLength(1);
    expect((await h.nodeOutput(runtimeBaseOf(release), 'cat /proc/cmdline')).join(' ')).toMatch(/(^| )kmodlab\.day1=on( |$)/);
  }, 600_000);
});
