/**
 * Exec credential plugins (R7): a credential without `expirationTimestamp` is valid
 * until the server refuses it (client-go plugin/pkg/client/auth/exec: cached, refreshed
 * on a 401); one with an expiry is reused until then. The plugin here is a real
 * executable counting its runs; the server is the fake API server with bearer tokens.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeClient, type ResourceRef } from '../../src/targets/cluster/client.js';
import { Credentials } from '../../src/targets/cluster/kubeconfig.js';
import { FakeKubeApiServer } from './fake-kube-apiserver.js';
import { tempDir } from './helpers.js';

const NODES: ResourceRef = { group: '', version: 'v1', resource: 'nodes', kind: 'Node', namespaced: false };

describe('exec credential plugin', () => {
  let fake: FakeKubeApiServer;
  let dir: string;
  let kubeconfig: string;
  const runs = () => readFileSync(path.join(dir, 'runs'), 'utf8').split('\n').filter(Boolean).length;

  function plugin(expiry?: string): void {
    const script = path.join(dir, 'plugin.sh');
    writeFileSync(
      script,
      `#!/bin/sh\necho run >> "${dir}/runs"\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"${expiry ? `,"expirationTimestamp":"${expiry}"` : ''}}}' "$(cat "${dir}/token")"\n`,
    );
    chmodSync(script, 0o755);
    kubeconfig = path.join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: ${fake.url}\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: ${script}\n      interactiveMode: Never\n`,
    );
  }

  beforeEach(async () => {
    fake = new FakeKubeApiServer();
    await fake.start();
    dir = tempDir();
    writeFileSync(path.join(dir, 'runs'), '');
    writeFileSync(path.join(dir, 'token'), 'exec-token-one');
    fake.tokens.add('exec-token-one');
  });
  afterEach(async () => fake.stop());

  it('without expirationTimestamp: run once, reused, run again only after a 401', async () => {
    plugin();
    const c = new KubeClient({ credentials: new Credentials({ kubeconfig }) });
    for (let i = 0; i < 4; i++) await c.list('watch-nodes', NODES);
    expect(runs()).toBe(1);
    // The server stops accepting it; the plugin now hands out a new token.
    fake.tokens.clear();
    fake.tokens.add('exec-token-two');
    writeFileSync(path.join(dir, 'token'), 'exec-token-two');
    await c.list('watch-nodes', NODES);
    expect(runs()).toBe(2);
    await c.list('watch-nodes', NODES);
    expect(runs()).toBe(2);
  });

  it('with an expiry in the future: reused until then', async () => {
    plugin(new Date(Date.now() + 3600_000).toISOString());
    const c = new KubeClient({ credentials: new Credentials({ kubeconfig }) });
    for (let i = 0; i < 3; i++) await c.list('watch-nodes', NODES);
    expect(runs()).toBe(1);
  });

  it('with an expiry in the past: run for every request (the credential is stale at once)', async () => {
    plugin(new Date(Date.now() - 1000).toISOString());
    const c = new KubeClient({ credentials: new Credentials({ kubeconfig }) });
    for (let i = 0; i < 3; i++) await c.list('watch-nodes', NODES);
    expect(runs()).toBe(3);
  });
});
