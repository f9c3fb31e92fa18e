/**
 * OpenShift builds in the lab, reconciled from the API (openshift/openshift-controller-manager
 * pkg/build/controller: the build controller runs New builds; the buildconfig controller
 * instantiates a config on its ConfigChange trigger), with buildah in place of the build pod
 * (openshift/builder pkg/build/builder/docker.go):
 *   - a Build in phase New (Serial: one at a time, in number order) → Running; its source is
 *     the archive `instantiatebinary` received (Binary) or a `git clone` of source.git
 *     (Git); the config's `source.dockerfile`, when set, replaces the Dockerfile in the
 *     context — EXACTLY that file is built, with strategy.dockerStrategy.buildArgs; FROM
 *     images are pulled from the registry by their references (the lab release's are by
 *     digest); the result is pushed to the lab registry as `<ns>/<stream>:<tag>`;
 *   - the output ImageStreamTag gets the pushed digest in the ImageStream's status.tags, as
 *     the image registry does on push; the Build gets Complete with output.to.imageDigest,
 *     or Failed with reason DockerBuildFailed, its message and logSnippet (the last lines of
 *     its log, upstream's field for a failed build);
 *   - a Git-source config with a ConfigChange trigger is instantiated once when created;
 *   - an ImageChange trigger instantiates its config whenever the ImageStreamTag it names
 *     points at another image than the one it last triggered on (also when the config is
 *     created and the tag already resolves), and records it in
 *     status.imageChangeTriggers[].lastTriggeredImageID (openshift-controller-manager
 *     pkg/image/trigger/buildconfigs); configs with a Binary source are never triggered
 *     (only `instantiatebinary` can start them);
 *   - `dockerStrategy.volumes` of source Secret (openshift/api build/v1 BuildVolume): each
 *     Secret's data keys as files, mounted read-only at the mount's destinationPath for
 *     every RUN and not in the output image ("transient mount"), as buildah's --volume
 *     does; the files sit in a private directory outside the build context for the
 *     build's lifetime only. A Secret that is not there fails the build;
 *   - a KMM image build gets its kernel's module tree mounted the same way, as KMM mounts
 *     the node's /usr/lib/modules into its build pods (kmm-build-modules.ts);
 *   - references to the internal registry (image-registry.openshift-image-registry.svc:5000/
 *     <ns>/<stream>:<tag>, in FROM, COPY --from or ARG defaults) are served from the
 *     ImageStream tag, as the integrated registry's pullthrough does: the tag's image is
 *     pulled by digest and named that way in the build's storage.
 * The whole log of each build is kept in the lab's build-log directory (not served as
 * `oc logs build/…`: the lab has no build pods). What only the build host can tell — the
 * kernel modules the built image's driver needs (images/image-module-dependencies.ts) — is
 * written on the Build as the MODULE_DEPENDENCIES annotation before it turns Complete, and
 * so are the build host's figures of the build (images/build-host-figures.ts: buildah's
 * wall, CPU and peak RSS, image size and layers, bytes pushed), so the cluster target's
 * `build` event carries them; a cluster's builds carry neither. A build that fails in
 * `buildah bud` gets its figures up to the failure before it turns Failed.
 */
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { binaryArchivePath } from '../../api-server/builds.js';
import { labStateDir } from '../../api-server/tls.js';
import { run } from '../../host/run.js';
import { requireTool } from '../../host/tools.js';
import { Buildah, type BuiltImage } from '../../images/buildah.js';
import { BUILD_HOST_FIGURES, failedBuildAnnotations, pushMeasured, type BuildHostFigures } from '../../images/build-host-figures.js';
import { MODULE_DEPENDENCIES } from '../../driver-builds/module-dependencies.js';
import { imageModuleDependencies } from '../../images/image-module-dependencies.js';
import type { LabRegistry } from '../../images/registry.js';
import type { SharedInformers } from '../informers.js';
import { rfc3339 } from '../kube-time.js';
import { kmmBuildModuleMounts } from './kmm-build-modules.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = KubernetesObject & Record<string, any>;

export const BUILDS = '/apis/build.openshift.io/v1/builds';
export const BUILDCONFIGS = '/apis/build.openshift.io/v1/buildconfigs';
export const IMAGESTREAMS = '/apis/image.openshift.io/v1/imagestreams';

const G = { group: 'build.openshift.io', version: 'v1' };
const IMG = { group: 'image.openshift.io', version: 'v1' };

/** The integrated registry's service address, as builds in an OpenShift cluster name it. */
const INTERNAL_REF = /image-registry\.openshift-image-registry\.svc:5000\/([a-z0-9][a-z0-9.-]*)\/([a-z0-9][a-z0-9._-]*)(?::([A-Za-z0-9_][A-Za-z0-9_.-]*))?/g;

export interface BuildControllerOptions {
  kc: KubeConfig;
  informers: SharedInformers;
  registry: LabRegistry;
  buildah?: Buildah;
  log?: (line: string) => void;
}

export class BuildController {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  private readonly seen = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly o: BuildControllerOptions) {
    this.custom = o.kc.makeApiClient(CustomObjectsApi);
    this.core = o.kc.makeApiClient(CoreV1Api);
  }

  async start(): Promise<void> {
    await this.o.informers.subscribe(IMAGESTREAMS, () => undefined);
    await this.o.informers.subscribe(BUILDS, (type, b) => {
      if (type !== 'delete') this.consider(b as Obj);
    });
    await this.o.informers.subscribe(BUILDCONFIGS, (type, bc) => {
      if (type === 'add') void this.configChange(bc as Obj);
      if (type !== 'delete') this.imageChange(bc as Obj);
    });
    // A tag moving (a push, a release change) is the reason ImageChange triggers exist.
    await this.o.informers.subscribe(IMAGESTREAMS, () => {
      for (const bc of this.o.informers.list<Obj>(BUILDCONFIGS)) this.imageChange(bc);
    });
  }

  /** ImageChange triggers whose tag now points at an image they have not triggered on: instantiate (once per image). */
  private imageChange(bc: Obj): void {
    if (this.stopped || bc.metadata?.deletionTimestamp) return;
    if (bc.spec?.source?.type === 'Binary' || bc.spec?.source?.binary) return;
    const ns = bc.metadata!.namespace!;
    const name = bc.metadata!.name!;
    for (const t of (bc.spec?.triggers ?? []) as Obj[]) {
      if (t.type !== 'ImageChange') continue;
      // No `from`: the trigger follows the strategy's own from image.
      const from = (t.imageChange?.from ?? bc.spec?.strategy?.dockerStrategy?.from) as Obj | undefined;
      if (from?.kind !== 'ImageStreamTag' || !from.name) continue;
      const [stream, tag = 'latest'] = String(from.name).split(':');
      const fromNs = from.namespace ?? ns;
      const image = this.resolveTag(fromNs, stream!, tag);
      if (!image) continue;
      const last = ((bc.status?.imageChangeTriggers ?? []) as Obj[]).find((x) => x.from?.name === from.name && (x.from?.namespace ?? ns) === fromNs)?.lastTriggeredImageID;
      // The BuildConfig's uid: one created again under the same name triggers again, as a new config does.
      const key = `${ns}/${name} ${bc.metadata!.uid ?? ''} ${fromNs}/${from.name} ${image}`;
      if (last === image || this.triggered.has(key)) continue;
      this.triggered.add(key);
      void this.instantiateOnImage(bc, { name: from.name, namespace: fromNs }, image);
    }
  }
  private readonly triggered = new Set<string>();

  private async instantiateOnImage(bc: Obj, from: { name: string; namespace: string }, image: string): Promise<void> {
    const ns = bc.metadata!.namespace!;
    const name = bc.metadata!.name!;
    const cluster = this.o.kc.getCurrentCluster()!;
    const request = {
      kind: 'BuildRequest',
      apiVersion: 'build.openshift.io/v1',
      metadata: { name },
      from: { kind: 'DockerImage', name: image },
      triggeredByImage: { kind: 'DockerImage', name: image },
      triggeredBy: [{ message: `Image change`, imageChangeBuild: { imageID: image, fromRef: { kind: 'ImageStreamTag', ...from } } }],
    };
    try {
      await postJson(this.o.kc, `${cluster.server}/apis/build.openshift.io/v1/namespaces/${ns}/buildconfigs/${name}/instantiate`, JSON.stringify(request));
      const current = (this.o.informers.list<Obj>(BUILDCONFIGS).find((x) => x.metadata?.namespace === ns && x.metadata?.name === name)?.status?.imageChangeTriggers ?? []) as Obj[];
      const others = current.filter((x) => !(x.from?.name === from.name && (x.from?.namespace ?? ns) === from.namespace));
      const entry = { lastTriggeredImageID: image, from, lastTriggerTime: rfc3339() };
      await this.custom.patchNamespacedCustomObjectStatus({ ...G, namespace: ns, plural: 'buildconfigs', name, body: { status: { imageChangeTriggers: [...others, entry] } } }, this.merge);
      this.o.log?.(`buildconfig ${ns}/${name}: ImageChange ${from.namespace}/${from.name} → ${image}: instantiated`);
    } catch (e) {
      this.o.log?.(`buildconfig ${ns}/${name}: image change instantiate failed: ${(e as Error).message}`);
    }
  }

  /** Pullthrough: internal-registry references of the build, pulled from what their ImageStream tags name. */
  async pullThrough(buildah: Buildah, texts: string[], logFile: string): Promise<void> {
    const refs = new Set<string>();
    for (const t of texts) for (const m of t.matchAll(INTERNAL_REF)) refs.add(m[0]);
    for (const ref of refs) {
      const m = new RegExp(`^${INTERNAL_REF.source}$`).exec(ref)!;
      const image = this.resolveTag(m[1]!, m[2]!, m[3] ?? 'latest');
      if (!image) {
        // A build pod starts with empty storage: a name an earlier build (of this lab or of
        // an earlier one sharing the build store) left behind must not stand in for it.
        const forgot = await buildah.forget(ref);
        writeFileSync(logFile, `pullthrough: ${ref}: ImageStream tag ${m[1]}/${m[2]}:${m[3] ?? 'latest'} has no image${forgot ? ' (a local copy from an earlier build was dropped)' : ''}\n`, { flag: 'a' });
        continue; // buildah then fails to pull it, as a build pod would
      }
      writeFileSync(logFile, `pullthrough: ${ref} → ${image}\n`, { flag: 'a' });
      await buildah.pullAs(image, ref, this.o.registry.insecure);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.queue;
  }

  /** The digest reference an ImageStream tag points at, from the informer cache. */
  resolveTag(namespace: string, stream: string, tag: string): string | undefined {
    const is = this.o.informers.list<Obj>(IMAGESTREAMS).find((s) => s.metadata?.namespace === namespace && s.metadata?.name === stream);
    const t = ((is?.status?.tags ?? []) as Obj[]).find((x) => x.tag === tag);
    return t?.items?.[0]?.dockerImageReference;
  }

  /** ConfigChange trigger (buildconfig controller): a new Git-source config builds once. */
  private async configChange(bc: Obj): Promise<void> {
    const triggers = (bc.spec?.triggers ?? []) as Obj[];
    if (!triggers.some((t) => t.type === 'ConfigChange')) return;
    if (bc.spec?.source?.type === 'Binary' || bc.spec?.source?.binary) return;
    if (Number(bc.status?.lastVersion ?? 0) > 0) return;
    const ns = bc.metadata!.namespace!;
    const name = bc.metadata!.name!;
    const cluster = this.o.kc.getCurrentCluster()!;
    const request = { kind: 'BuildRequest', apiVersion: 'build.openshift.io/v1', metadata: { name }, triggeredBy: [{ message: 'Build configuration change' }] };
    try {
      await postJson(this.o.kc, `${cluster.server}/apis/build.openshift.io/v1/namespaces/${ns}/buildconfigs/${name}/instantiate`, JSON.stringify(request));
      this.o.log?.(`buildconfig ${ns}/${name}: ConfigChange → instantiated`);
    } catch (e) {
      this.o.log?.(`buildconfig ${ns}/${name}: instantiate failed: ${(e as Error).message}`);
    }
  }

  private consider(b: Obj): void {
    // By uid: a Build made again under the same name (its namespace deleted and applied
    // again, a BuildConfig whose lastVersion starts over) is another build.
    const key = `${b.metadata!.namespace}/${b.metadata!.name} ${b.metadata!.uid ?? ''}`;
    const phase = b.status?.phase ?? 'New';
    if (phase !== 'New' || this.seen.has(key) || this.stopped) return;
    this.seen.add(key);
    // Serial run policy: builds run one after another.
    this.queue = this.queue.then(() => this.runBuild(b)).catch((e: Error) => this.o.log?.(`build ${key}: ${e.message}`));
  }

  private async patchStatus(kind: 'builds' | 'imagestreams', ns: string, name: string, status: Obj): Promise<void> {
    const g = kind === 'builds' ? G : IMG;
    await this.custom.patchNamespacedCustomObjectStatus({ ...g, namespace: ns, plural: kind, name, body: { status } }, this.merge);
  }

  private async runBuild(b: Obj): Promise<void> {
    const ns = b.metadata!.namespace!;
    const name = b.metadata!.name!;
    const logDir = path.join(labStateDir(), 'build-logs', ns);
    mkdirSync(logDir, { recursive: true });
    const logFile = path.join(logDir, `${name}.log`);
    writeFileSync(logFile, '');
    const started = new Date();
    const t0 = performance.now();
    await this.patchStatus('builds', ns, name, { phase: 'Running', startTimestamp: rfc3339(started), config: b.status?.config });
    this.o.log?.(`build ${ns}/${name}: Running`);
    const ctx = mkdtempSync(path.join(tmpdir(), 'kmodlab-build-'));
    let secrets: string | undefined;
    // Where a build's seconds go, at the end of its log (what a person reading a slow build asks).
    let mark = t0;
    const phase = (what: string) => {
      const now = performance.now();
      writeFileSync(logFile, `kmodlab: ${what}: ${((now - mark) / 1000).toFixed(1)} s\n`, { flag: 'a' });
      mark = now;
    };
    try {
      const contextDir = await this.source(b, ctx, logFile);
      const dockerfile = path.join(contextDir, b.spec?.strategy?.dockerStrategy?.dockerfilePath ?? 'Dockerfile');
      if (typeof b.spec?.source?.dockerfile === 'string') writeFileSync(dockerfile, b.spec.source.dockerfile);
      if (!existsSync(dockerfile)) throw new BuildFailure('DockerBuildFailed', `no Dockerfile in the build context (${path.relative(ctx, dockerfile)})`);
      const buildArgs = Object.fromEntries(((b.spec?.strategy?.dockerStrategy?.buildArgs ?? []) as Obj[]).map((a) => [a.name, String(a.value ?? '')]));
      const to = b.spec?.output?.to as Obj | undefined;
      const dest = this.destination(ns, to);
      const buildah = this.o.buildah ?? new Buildah();
      const vols = (b.spec?.strategy?.dockerStrategy?.volumes ?? []) as Obj[];
      if (vols.length) secrets = mkdtempSync(path.join(tmpdir(), 'kmodlab-build-volumes-'));
      const volumes = [...(secrets ? await this.secretVolumes(ns, vols, secrets) : []), ...kmmBuildModuleMounts(b)];
      const local = `localhost/kmodlab-build/${ns}/${name}`;
      try {
        await this.pullThrough(buildah, [readFileSync(dockerfile, 'utf8'), ...Object.values(buildArgs).map(String)], logFile);
      } catch (e) {
        throw new BuildFailure('PullBuilderImageFailed', 'Failed to pull builder image.', e);
      }
      phase('source and base images');
      let built: BuiltImage;
      try {
        built = await buildah.bud({ containerfile: dockerfile, context: contextDir, tag: local, buildArgs, volumes, logFile, insecure: this.o.registry.insecure, timeoutMs: 1_800_000 });
      } catch (e) {
        throw new BuildFailure('DockerBuildFailed', 'Docker build strategy has failed.', e);
      }
      phase('build');
      let digest: string | undefined;
      let figures: BuildHostFigures | undefined;
      if (dest) {
        try {
          ({ digest, figures } = await pushMeasured(buildah, local, dest.ref, this.o.registry, built.usage, logFile));
        } catch (e) {
          throw new BuildFailure('PushImageToRegistryFailed', `Failed to push the image to the registry: ${dest.ref}`, e);
        }
        const repo = dest.ref.replace(/:[^:/]+$/, '');
        if (dest.stream) await this.tagPushed(dest.stream.namespace, dest.stream.name, dest.stream.tag, `${repo}@${digest}`, digest, repo);
        phase('push');
      }
      // Read before the image goes from local storage; a look that fails loses only the figure.
      const deps = await imageModuleDependencies(buildah, local).catch((e: Error) => {
        writeFileSync(logFile, `module dependencies not read: ${e.message.split('\n')[0]}\n`, { flag: 'a' });
        return undefined;
      });
      const annotations = { ...(deps ? { [MODULE_DEPENDENCIES]: JSON.stringify(deps) } : {}), ...(figures ? { [BUILD_HOST_FIGURES]: JSON.stringify(figures) } : {}) };
      if (Object.keys(annotations).length) await this.custom.patchNamespacedCustomObject({ ...G, namespace: ns, plural: 'builds', name, body: { metadata: { annotations } } }, this.merge);
      await buildah.run(['rmi', local], { allowFailure: true });
      phase('module dependencies and clean-up');
      const wallMs = performance.now() - t0;
      await this.patchStatus('builds', ns, name, {
        phase: 'Complete',
        startTimestamp: rfc3339(started),
        completionTimestamp: rfc3339(),
        duration: Math.round(wallMs * 1e6),
        ...(dest ? { outputDockerImageReference: dest.ref, output: { to: { imageDigest: digest } } } : {}),
        config: b.status?.config,
      });
      this.o.log?.(`build ${ns}/${name}: Complete in ${(wallMs / 1000).toFixed(1)} s → ${dest?.ref ?? '(no output)'}@${digest ?? ''}`);
    } catch (e) {
      const f = e instanceof BuildFailure ? e : new BuildFailure('GenericBuildFailed', (e as Error).message);
      const tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-15).join('\n');
      const wallMs = performance.now() - t0;
      // The build host's figures up to the failure, before the Build turns Failed (a watcher
      // that sees it done sees them): a failed build cost CPU too.
      const annotations = failedBuildAnnotations(f.inner);
      if (annotations) {
        await this.custom.patchNamespacedCustomObject({ ...G, namespace: ns, plural: 'builds', name, body: { metadata: { annotations } } }, this.merge).catch(() => undefined);
      }
      await this.patchStatus('builds', ns, name, {
        phase: 'Failed',
        reason: f.reason,
        message: f.message,
        logSnippet: tail,
        startTimestamp: rfc3339(started),
        completionTimestamp: rfc3339(),
        duration: Math.round(wallMs * 1e6),
        config: b.status?.config,
      }).catch(() => undefined);
      this.o.log?.(`build ${ns}/${name}: Failed (${f.reason}): ${f.message}; log ${logFile}`);
    } finally {
      rmSync(ctx, { recursive: true, force: true });
      if (secrets) rmSync(secrets, { recursive: true, force: true });
      rmSync(binaryArchivePath(ns, name), { force: true });
    }
  }

  /** Build volumes → `host-dir:destinationPath` mounts; each Secret's data written (0600) under `dir` (0700). */
  private async secretVolumes(ns: string, volumes: Obj[], dir: string): Promise<string[]> {
    chmodSync(dir, 0o700);
    const mounts: string[] = [];
    for (const v of volumes) {
      if (v.source?.type !== 'Secret' || !v.source.secret?.secretName) throw new BuildFailure('CannotCreateBuildPod', `build volume ${v.name}: only Secret volumes are served by the lab (got ${v.source?.type ?? 'no source'})`);
      const name = String(v.source.secret.secretName);
      const secret = await this.core.readNamespacedSecret({ namespace: ns, name }).catch(() => undefined);
      if (!secret) {
        if (v.source.secret.optional === true) continue;
        throw new BuildFailure('CannotCreateBuildPod', `build volume ${v.name}: secret "${name}" not found`);
      }
      const vdir = path.join(dir, dnsSafe(String(v.name)));
      mkdirSync(vdir, { mode: 0o700 });
      for (const [k, b64] of Object.entries(secret.data ?? {})) writeFileSync(path.join(vdir, path.basename(k)), Buffer.from(b64, 'base64'), { mode: 0o600 });
      for (const [k, text] of Object.entries(secret.stringData ?? {})) writeFileSync(path.join(vdir, path.basename(k)), text, { mode: 0o600 });
      for (const m of (v.mounts ?? []) as Obj[]) mounts.push(`${vdir}:${m.destinationPath}`);
    }
    return mounts;
  }

  /** Lays the build's source out in `ctx`; returns the context directory (contextDir applied). */
  private async source(b: Obj, ctx: string, logFile: string): Promise<string> {
    const src = (b.spec?.source ?? {}) as Obj;
    const ns = b.metadata!.namespace!;
    if (src.type === 'Binary' || src.binary) {
      const archive = binaryArchivePath(ns, b.metadata!.name!);
      if (!existsSync(archive)) throw new BuildFailure('FetchSourceFailed', 'the binary build received no source archive (start it with oc start-build --from-dir or kmodlab lab start-build)');
      if (src.binary?.asFile) {
        writeFileSync(path.join(ctx, src.binary.asFile), readFileSync(archive));
      } else {
        // GNU tar detects gzip itself on extraction.
        const r = await run('tar', ['-xf', archive, '-C', ctx, '--no-same-owner'], { allowFailure: true });
        if (r.code !== 0) throw new BuildFailure('FetchSourceFailed', `the source archive could not be extracted: ${r.stderr.trim()}`);
      }
    } else if (src.git?.uri) {
      const git = requireTool('git');
      const args = ['clone', '--depth', '1', ...(src.git.ref ? ['--branch', src.git.ref] : []), src.git.uri, ctx];
      const r = await run(git, args, { allowFailure: true, timeoutMs: 600_000 });
      writeFileSync(logFile, `git ${args.join(' ')}\n${r.stderr}`, { flag: 'a' });
      if (r.code !== 0) throw new BuildFailure('FetchSourceFailed', `Failed to fetch the input source: ${r.stderr.trim().split('\n').pop()}`);
    } else if (typeof src.dockerfile !== 'string') {
      throw new BuildFailure('FetchSourceFailed', 'the build has no source (binary, git or dockerfile)');
    }
    return src.contextDir ? path.join(ctx, src.contextDir) : ctx;
  }

  /** Where the output goes: an ImageStreamTag → `<registry>/<ns>/<stream>:<tag>`; a DockerImage → its name. */
  private destination(ns: string, to: Obj | undefined): { ref: string; stream?: { namespace: string; name: string; tag: string } } | undefined {
    if (!to?.name) return undefined;
    if (to.kind === 'DockerImage') return { ref: to.name };
    const [stream, tag = 'latest'] = String(to.name).split(':');
    const namespace = to.namespace ?? ns;
    return { ref: `${this.o.registry.prefix}/${namespace}/${stream}:${tag}`, stream: { namespace, name: stream!, tag } };
  }

  /** The registry's side of a push to an ImageStream: status.tags gets the new image first. */
  private async tagPushed(ns: string, stream: string, tag: string, ref: string, digest: string, repo: string): Promise<void> {
    let is: Obj;
    try {
      is = (await this.custom.getNamespacedCustomObject({ ...IMG, namespace: ns, plural: 'imagestreams', name: stream })) as Obj;
    } catch {
      throw new BuildFailure('InvalidOutputReference', `Output image could not be resolved: the ImageStream ${ns}/${stream} does not exist`);
    }
    const tags = ((is.status?.tags ?? []) as Obj[]).filter((t) => t.tag !== tag);
    const old = ((is.status?.tags ?? []) as Obj[]).find((t) => t.tag === tag)?.items ?? [];
    const item = { created: rfc3339(), dockerImageReference: ref, image: digest, generation: is.metadata?.generation ?? 1 };
    tags.push({ tag, items: [item, ...old].slice(0, 5) });
    await this.patchStatus('imagestreams', ns, stream, { dockerImageRepository: repo, tags });
  }
}

const dnsSafe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');

class BuildFailure extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly inner?: unknown,
  ) {
    super(inner instanceof Error ? `${message} ${inner.message.split('\n')[0]}` : message);
  }
}

/** POST a JSON body with the kubeconfig's credentials (client-node has no typed call for instantiate). */
async function postJson(kc: KubeConfig, url: string, body: string): Promise<unknown> {
  const https = await import('node:https');
  const opts: Record<string, unknown> = { method: 'POST', headers: { 'Content-Type': 'application/json' } };
  await kc.applyToHTTPSOptions(opts as never);
  return new Promise((resolve, reject) => {
    const req = https.request(url, opts as never, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => ((res.statusCode ?? 500) < 300 ? resolve(JSON.parse(text)) : reject(new Error(`${res.statusCode}: ${text.slice(0, 300)}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}
