/**
 * Starting a `Binary` BuildConfig the way `oc start-build <bc> --from-dir=<dir>` does:
 * a binary BuildConfig never builds by itself (no trigger can start it); the client
 * POSTs an archive of the directory to the `buildconfigs/<name>/instantiatebinary`
 * subresource, and the API answers with the Build it created (openshift/oc
 * pkg/cli/startbuild: a gzip-compressed tar of the directory as the request body;
 * openshift/api build/v1 BinaryBuildRequestOptions: `asFile` is for a single file, the
 * `revision.*` query parameters describe the source, none is needed for a directory).
 * openshift/builder then extracts the archive as the build context. kmodlab follows the
 * Build until Complete (or Failed/Error/Cancelled) and reads its log
 * (`builds/<name>/log`), which it reports on failure.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { K8sObject } from '../../artifacts/artifact-set.js';
import { sleep, type KubeClient } from './client.js';

const run = promisify(execFile);

export type BuildPhase = 'New' | 'Pending' | 'Running' | 'Complete' | 'Failed' | 'Error' | 'Cancelled';
const FINAL: readonly string[] = ['Complete', 'Failed', 'Error', 'Cancelled'];

/** True for a BuildConfig that only builds when fed an archive. */
export function isBinaryBuildConfig(o: K8sObject): boolean {
  return o.kind === 'BuildConfig' && (o as { spec?: { source?: { type?: string } } }).spec?.source?.type === 'Binary';
}

/** The directory as a gzip-compressed tar stream (GNU tar; the same archive `oc start-build --from-dir` sends). */
export async function archiveDir(dir: string): Promise<Buffer> {
  const { stdout } = await run('tar', ['-C', dir, '--exclude=.git', '-czf', '-', '.'], { encoding: 'buffer', maxBuffer: 512 * 1024 * 1024 });
  return stdout;
}

export interface BinaryBuildResult {
  build: string;
  phase: string;
  /** Build log (last lines), read when the build ended. */
  logTail: string;
  message?: string;
}

export async function runBinaryBuild(client: KubeClient, bc: K8sObject, sourceDir: string, o: { timeoutMs: number; pollMs: number; say: (step: string) => void }): Promise<BinaryBuildResult> {
  const ref = await client.mapping(bc.apiVersion, 'BuildConfig');
  const buildRef = await client.mapping(bc.apiVersion, 'Build');
  const ns = bc.metadata.namespace ?? client.defaultNamespace;
  const archive = await archiveDir(sourceDir);
  const r = await client.request('binary-build', {
    method: 'POST',
    ref,
    namespace: ns,
    name: bc.metadata.name,
    subresource: 'instantiatebinary',
    rawBody: archive,
    contentType: 'application/octet-stream',
    timeoutMs: 5 * 60_000,
  });
  const build = (r.body as K8sObject).metadata.name;
  o.say(`Build ${ns}/${build} started from ${sourceDir} (${archive.length} bytes of source archive, as oc start-build --from-dir)`);
  const deadline = Date.now() + o.timeoutMs;
  let last = '';
  for (;;) {
    const b = (await client.get('binary-build', buildRef, build, ns).catch(() => undefined)) as { status?: { phase?: string; message?: string } } | undefined;
    const phase = b?.status?.phase ?? 'New';
    if (phase !== last) o.say(`Build ${ns}/${build}: ${phase}`);
    last = phase;
    if (FINAL.includes(phase) || Date.now() >= deadline) {
      const log = await client
        .request('binary-build', { method: 'GET', ref: buildRef, namespace: ns, name: build, subresource: 'log' })
        .then((x) => x.text)
        .catch((e: Error) => `(no build log: ${e.message})`);
      const logTail = log.trimEnd().split('\n').slice(-20).join('\n');
      return { build, phase: FINAL.includes(phase) ? phase : `${phase} (not finished within ${Math.round(o.timeoutMs / 60_000)} min)`, logTail, message: b?.status?.message };
    }
    await sleep(Math.min(o.pollMs, Math.max(0, deadline - Date.now())));
  }
}
