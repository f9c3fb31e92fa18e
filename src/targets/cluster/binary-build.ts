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
import { createHash } from 'node:crypto';
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

export async function runBinaryBuild(
  client: KubeClient,
  bc: K8sObject,
  sourceDir: string,
  o: { timeoutMs: number; pollMs: number; say: (step: string) => void; archive?: Buffer },
): Promise<BinaryBuildResult> {
  const ref = await client.mapping(bc.apiVersion, 'BuildConfig');
  const buildRef = await client.mapping(bc.apiVersion, 'Build');
  const ns = bc.metadata.namespace ?? client.defaultNamespace;
  const archive = o.archive ?? (await archiveDir(sourceDir));
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

/** The source a build was fed, as a digest of the archive sent (GNU tar's is the same for an unchanged directory). */
export function sourceDigest(archive: Buffer): string {
  return createHash('sha256').update(archive).digest('hex');
}

interface FedBuild {
  /** The BuildConfig as applied (its spec, serialized) and as the API holds it (uid). */
  spec: string;
  uid: string;
  source: string;
  build: string;
}

/**
 * The binary builds kmodlab fed and saw Complete. A person who applies the same set again
 * (`oc apply -f` of unchanged files) does not run `oc start-build` again: the driver is
 * built and running. So a BuildConfig that kmodlab fed this same source, that is applied
 * with the same spec, still the same object (uid), whose last Build is the one kmodlab
 * started and still Complete, is not fed again. Anything else builds: a new source, a
 * changed BuildConfig, one deleted and created again (uninstall), a build someone else
 * started since, a failed one.
 */
export class FedBuilds {
  private readonly done = new Map<string, FedBuild>();

  private static namespace(client: KubeClient, bc: K8sObject): string {
    return bc.metadata.namespace ?? client.defaultNamespace;
  }

  private static spec(bc: K8sObject): string {
    return JSON.stringify((bc as { spec?: unknown }).spec ?? null);
  }

  /** The BuildConfig as the API holds it now (undefined when it is not there). */
  private static async live(client: KubeClient, bc: K8sObject): Promise<(K8sObject & { status?: { lastVersion?: number } }) | undefined> {
    const ref = await client.mapping(bc.apiVersion, 'BuildConfig');
    return (await client.get('binary-build', ref, bc.metadata.name, FedBuilds.namespace(client, bc)).catch(() => undefined)) as (K8sObject & { status?: { lastVersion?: number } }) | undefined;
  }

  /** After a Complete build: what makes the next apply of the same set need none. */
  async record(client: KubeClient, bc: K8sObject, source: string, build: string): Promise<void> {
    const uid = (await FedBuilds.live(client, bc))?.metadata.uid;
    if (typeof uid !== 'string') return;
    this.done.set(`${FedBuilds.namespace(client, bc)}/${bc.metadata.name}`, { spec: FedBuilds.spec(bc), uid, source, build });
  }

  /** The Build that already built this source for `bc` as applied now, or undefined when it must be fed. */
  async upToDate(client: KubeClient, bc: K8sObject, source: string): Promise<string | undefined> {
    const ns = FedBuilds.namespace(client, bc);
    const fed = this.done.get(`${ns}/${bc.metadata.name}`);
    if (!fed || fed.source !== source || fed.spec !== FedBuilds.spec(bc)) return undefined;
    const live = await FedBuilds.live(client, bc);
    if (live?.metadata.uid !== fed.uid || `${bc.metadata.name}-${live.status?.lastVersion ?? 0}` !== fed.build) return undefined;
    const b = (await client.get('binary-build', await client.mapping(bc.apiVersion, 'Build'), fed.build, ns).catch(() => undefined)) as { status?: { phase?: string } } | undefined;
    return b?.status?.phase === 'Complete' ? fed.build : undefined;
  }
}
