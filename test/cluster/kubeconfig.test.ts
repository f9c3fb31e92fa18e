import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Credentials, kubeconfigFiles, resolveKubeconfig } from '../../src/targets/cluster/kubeconfig.js';
import { UserError } from '../../src/errors.js';
import { fixtureSecrets, FIXTURE_TOKEN, kubeconfigFor, SECOND_TOKEN, tempDir } from './helpers.js';

const SERVER = 'http://127.0.0.1:1';

function userErrorOf(f: () => unknown): UserError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error('expected a UserError');
}

describe('kubeconfig resolution (as kubectl)', () => {
  let dir: string;
  let token: string;
  let second: string;
  beforeAll(() => {
    dir = tempDir();
    token = kubeconfigFor('ocp-token.kubeconfig', SERVER, dir);
    second = kubeconfigFor('merge-second.kubeconfig', SERVER, dir);
  });

  it('--kubeconfig wins over KUBECONFIG and ~/.kube/config', () => {
    const r = resolveKubeconfig({ kubeconfig: token, env: { KUBECONFIG: second }, home: dir });
    expect(r.files).toEqual([token]);
    expect(r.context).toBe('default/api-sno-lab-example:6443/kube:admin');
    expect(r.server).toBe(SERVER);
    expect(r.namespace).toBe('default');
  });

  it('KUBECONFIG merges ":"-separated files: first definition and first current-context win, missing files skipped', () => {
    const r = resolveKubeconfig({ env: { KUBECONFIG: [path.join(dir, 'missing'), token, second].join(':') }, home: dir });
    expect(r.files).toEqual([token, second]);
    expect(r.context).toBe('default/api-sno-lab-example:6443/kube:admin'); // from the first file
    expect(r.server).toBe(SERVER); // not the second file's 127.0.0.2 redefinition
    expect(r.kc.getContexts().map((c) => c.name)).toContain('kind-other');
  });

  it('--context selects a context from a later file, with its namespace and user', () => {
    const r = resolveKubeconfig({ context: 'kind-other', env: { KUBECONFIG: `${token}:${second}` }, home: dir });
    expect(r.context).toBe('kind-other');
    expect(r.namespace).toBe('kmodlab-tests');
    expect(r.kc.getCurrentUser()?.token).toBe(SECOND_TOKEN);
  });

  it('falls back to ~/.kube/config', () => {
    const home = tempDir();
    mkdirSync(path.join(home, '.kube'));
    const f = kubeconfigFor('client-cert.kubeconfig', SERVER, path.join(home, '.kube'), 'config');
    expect(kubeconfigFiles({ env: {}, home })).toEqual([f]);
    expect(resolveKubeconfig({ env: {}, home }).context).toBe('admin');
  });

  it('no kubeconfig at all is a UserError that says how to provide one (never localhost:8080)', () => {
    const e = userErrorOf(() => resolveKubeconfig({ env: {}, home: tempDir() }));
    expect(e.message).toMatch(/no kubeconfig/);
    expect(e.hint).toMatch(/--kubeconfig/);
    expect(e.hint).toMatch(/KUBECONFIG/);
    expect(`${e.message} ${e.hint}`).not.toMatch(/8080/);
  });

  it.each([
    ['missing --kubeconfig file', () => resolveKubeconfig({ kubeconfig: path.join(tempDir(), 'x') }), /no such file/],
    ['unknown --context', () => resolveKubeconfig({ kubeconfig: kubeconfigFor('ocp-token.kubeconfig', SERVER), context: 'nope' }), /no such context/],
    ['no current-context', () => resolveKubeconfig({ kubeconfig: kubeconfigFor('no-current-context.kubeconfig', SERVER) }), /no current-context/],
    ['malformed YAML', () => resolveKubeconfig({ kubeconfig: kubeconfigFor('malformed.kubeconfig', SERVER) }), /cannot parse kubeconfig/],
  ])('%s → UserError', (_what, f, re) => {
    expect(userErrorOf(f).message).toMatch(re);
  });

  it('errors never quote kubeconfig contents (tokens, certificate and key data)', () => {
    const secrets = fixtureSecrets();
    expect(secrets.length).toBeGreaterThan(5);
    const texts: string[] = [];
    for (const f of [
      () => resolveKubeconfig({ kubeconfig: kubeconfigFor('malformed.kubeconfig', SERVER) }),
      () => resolveKubeconfig({ kubeconfig: kubeconfigFor('no-current-context.kubeconfig', SERVER) }),
      () => resolveKubeconfig({ kubeconfig: kubeconfigFor('client-cert.kubeconfig', SERVER), context: 'x' }),
    ]) {
      const e = userErrorOf(f);
      texts.push(`${e.message}\n${e.hint ?? ''}\n${e.stack ?? ''}`);
    }
    for (const s of secrets) for (const t of texts) expect(t).not.toContain(s);
  });

  it('Credentials put the bearer token in the Authorization header and re-read the file on reload', async () => {
    const f = kubeconfigFor('ocp-token.kubeconfig', SERVER);
    const c = new Credentials({ kubeconfig: f });
    expect((await c.requestOptions()).headers['Authorization']).toBe(`Bearer ${FIXTURE_TOKEN}`);
    const { writeFileSync, readFileSync } = await import('node:fs');
    writeFileSync(f, readFileSync(f, 'utf8').replace(FIXTURE_TOKEN, 'sha256~renewed-token-0002'));
    expect((await c.requestOptions()).headers['Authorization']).toBe(`Bearer ${FIXTURE_TOKEN}`); // cached until told
    c.reload();
    expect((await c.requestOptions()).headers['Authorization']).toBe('Bearer sha256~renewed-token-0002');
  });

  afterAll(() => undefined);
});
