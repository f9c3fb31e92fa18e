/**
 * `kmodlab lab up|status|down` as a user runs them (bin/kmodlab.js; needs `npm run build`):
 * the API in the background, a 0600 kubeconfig, /readyz, no token on any output, and every
 * manifest `kmodlab render --method dtk` writes applied with `kubectl apply --server-side`.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { REPO } from './helpers.js';
import { kubectlBinary } from './api-server-helpers.js';

const BIN = path.join(REPO, 'bin', 'kmodlab.js');

describe.skipIf(!kubectlBinary())('kmodlab lab up/status/down', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kmodlab-labcli-'));
  const env = { ...process.env, KMODLAB_LAB_DIR: path.join(dir, 'state'), KMODLAB_CACHE: path.join(dir, 'cache'), HOME: path.join(dir, 'home') };
  const kubeconfig = path.join(dir, 'state', 'kubeconfig');
  const run = (file: string, args: string[], extraEnv: Record<string, string> = {}) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(file, args, { env: { ...env, ...extraEnv }, timeout: 120_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 124) : 0, stdout, stderr }),
      ),
    );
  const kmodlab = (...args: string[]) => run(process.execPath, [BIN, ...args]);
  const kubectl = (...args: string[]) => run(kubectlBinary()!, args, { KUBECONFIG: kubeconfig });
  let upOutput = '';

  beforeAll(async () => {
    mkdirSync(env.HOME, { recursive: true });
    const r = await kmodlab('lab', 'up', '--nodes', '0');
    upOutput = r.stdout + r.stderr;
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await kmodlab('lab', 'down');
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a 0600 kubeconfig and never prints the token', () => {
    expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
    const kc = parseYaml(readFileSync(kubeconfig, 'utf8'));
    const token: string = kc.users[0].user.token;
    expect(token.length).toBeGreaterThanOrEqual(40);
    expect(kc.clusters[0].cluster.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(upOutput).toContain(`export KUBECONFIG=${kubeconfig}`);
    expect(upOutput).not.toContain(token);
    const log = readFileSync(path.join(env.KMODLAB_CACHE, 'lab-api', 'api.log'), 'utf8');
    expect(log).not.toContain(token);
  });

  it('status says up and ready; a second up is refused', async () => {
    const s = await kmodlab('lab', 'status');
    expect(s.stdout).toMatch(/lab: up \(pid \d+\), API https:\/\/127\.0\.0\.1:\d+: ready/);
    const again = await kmodlab('lab', 'up', '--nodes', '0');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already up');
  });

  it('kubectl apply --server-side accepts every manifest `kmodlab render --method dtk` writes', async () => {
    const out = path.join(dir, 'out');
    const r = await kmodlab('render', '--method', 'dtk', '--output-dir', out);
    expect(r.code, r.stderr).toBe(0);
    const manifests = readdirSync(path.join(out, 'dtk')).filter((f) => f.endsWith('.yaml'));
    expect(manifests.length).toBeGreaterThan(3);
    const a = await kubectl('apply', '--server-side', '-f', path.join(out, 'dtk'));
    expect(a.code, a.stderr).toBe(0);
    const kinds = a.stdout.trim().split('\n').map((l) => l.split(' ')[0]!.split('/')[0]);
    expect(kinds).toEqual(expect.arrayContaining(['namespace', 'imagestream.image.openshift.io', 'buildconfig.build.openshift.io', 'daemonset.apps']));
    expect(a.stdout.trim().split('\n')).toHaveLength(manifests.length);
    // And a second time, as a re-run of the README's step would.
    expect((await kubectl('apply', '--server-side', '-f', path.join(out, 'dtk'))).code).toBe(0);
  });

  it.each([
    [['--nodes', 'two'], /--nodes: "two" is not a whole number from 0 to 8/],
    [['--nodes', '1', '--memory', '64'], /--memory: "64" is not a whole number from 128 to 4096/],
    [['--nodes', '1', '--kernel', '9.9.9-nope'], /--kernel 9\.9\.9-nope: kernel 9\.9\.9-nope is not available in the lab/],
  ])('up %j is refused with exit 2 naming the flag', async (args, message) => {
    const r = await kmodlab('lab', 'up', ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('down stops it', async () => {
    const d = await kmodlab('lab', 'down');
    expect(d.stdout).toMatch(/lab: stopped \(pid \d+\)/);
    expect((await kmodlab('lab', 'status')).stdout).toContain('lab: down');
    expect((await kubectl('get', 'ns', '--request-timeout=3s')).code).not.toBe(0);
  });
});
