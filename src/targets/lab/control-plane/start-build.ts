/**
 * What `oc start-build <bc> --from-dir <dir>` does, for kubectl users (openshift/oc
 * pkg/cli/startbuild: the directory is sent as a tar archive in the body of
 * POST …/buildconfigs/<bc>/instantiatebinary; the answer is the new Build), and
 * `--wait`: follow the Build until it completes or fails. Works against any server that
 * serves the subresource — the lab API or an OpenShift cluster.
 */
import { existsSync, statSync } from 'node:fs';
import https from 'node:https';
import { spawn } from 'node:child_process';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { UserError } from '../../../errors.js';

export interface StartBuildOptions {
  kubeconfig: string;
  namespace: string;
  buildConfig: string;
  fromDir: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

export async function startBinaryBuild(o: StartBuildOptions): Promise<Obj> {
  if (!existsSync(o.fromDir) || !statSync(o.fromDir).isDirectory()) throw new UserError(`--from-dir ${o.fromDir}: not a directory`);
  const kc = new KubeConfig();
  kc.loadFromFile(o.kubeconfig);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new UserError(`${o.kubeconfig}: the current context names no cluster`);
  const url = `${cluster.server}/apis/build.openshift.io/v1/namespaces/${encodeURIComponent(o.namespace)}/buildconfigs/${encodeURIComponent(o.buildConfig)}/instantiatebinary`;
  const opts: Obj = { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' } };
  await kc.applyToHTTPSOptions(opts as never);
  const tar = spawn('tar', ['-cf', '-', '-C', o.fromDir, '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let tarErr = '';
  tar.stderr.on('data', (c: Buffer) => (tarErr += c.toString()));
  const answer = await new Promise<{ code: number; text: string }>((resolve, reject) => {
    const req = https.request(url, opts, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    tar.stdout.pipe(req);
  });
  const tarCode = await new Promise<number | null>((r) => (tar.exitCode !== null ? r(tar.exitCode) : tar.once('exit', r)));
  if (tarCode !== 0) throw new Error(`tar of ${o.fromDir} failed: ${tarErr.trim()}`);
  let body: Obj = {};
  try {
    body = JSON.parse(answer.text) as Obj;
  } catch {
    body = { message: answer.text };
  }
  if (answer.code === 404) throw new UserError(`buildconfig ${o.buildConfig} in namespace ${o.namespace}: ${body.message ?? 'not found'}`);
  if (answer.code === 400) throw new UserError(`buildconfig ${o.namespace}/${o.buildConfig}: ${body.message}`);
  if (answer.code >= 300) throw new Error(`instantiatebinary answered ${answer.code}: ${body.message ?? answer.text.slice(0, 300)}`);
  return body;
}

/** Polls the Build until Complete/Failed/Cancelled/Error; returns it. */
export async function waitForBuild(kubeconfig: string, namespace: string, name: string, timeoutMs: number): Promise<Obj> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const api = kc.makeApiClient(CustomObjectsApi);
  const end = Date.now() + timeoutMs;
  for (;;) {
    const b = (await api.getNamespacedCustomObject({ group: 'build.openshift.io', version: 'v1', namespace, plural: 'builds', name })) as Obj;
    if (['Complete', 'Failed', 'Cancelled', 'Error'].includes(b.status?.phase)) return b;
    if (Date.now() > end) throw new Error(`build ${namespace}/${name} still ${b.status?.phase ?? 'New'} after ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}
