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
import { REPO } from './helpers.js';
import { kubectlBinary } from './api-server-helpers.js';

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
