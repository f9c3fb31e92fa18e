/**
 * The KMM operator's Module controller in the lab, reconciled from the API while OLM has
 * the KMM CSV Succeeded (olm.ts). Semantics of kubernetes-sigs/kernel-module-management
 * (docs/mkdocs/documentation/deploy_kmod.md "Deploying kernel modules", kmod_image.md
 * "Creating a kmod image"; KMM ≥2.2 worker pods):
 *   - nodes: those matching spec.selector; per node the first kernelMapping whose
 *     `literal` equals, or whose `regexp` matches, status.nodeInfo.kernelVersion; the
 *     mapping's containerImage (or the container's) with `${KERNEL_FULL_VERSION}` (and the
 *     older `${KERNEL_VERSION}`) replaced by that kernel;
 *   - image missing in the registry and the mapping has `build`: an OpenShift Build
 *     (strategy Docker, the Dockerfile from build.dockerfileConfigMap key `dockerfile`,
 *     output DockerImage = the image) with the build args KMM passes: the mapping's
 *     buildArgs plus KERNEL_VERSION, KERNEL_FULL_VERSION, MOD_NAME, MOD_NAMESPACE and, on
 *     OpenShift, DTK_AUTO = the driver-toolkit image of that kernel (here: the lab
 *     release's). The lab's Build controller (builds.ts) runs it with buildah and pushes;
 *   - then a one-shot worker Pod on the node (`kmm-worker-<node>-<module>`, spec.nodeName,
 *     restartPolicy Never, the node's /lib/modules mounted read-only for in-tree
 *     dependencies) runs modprobe with `-d <dirName>` in the kmod image; when it Succeeded
 *     the node gets the label `kmm.node.kubernetes.io/<ns>.<module>.ready` and the pod is
 *     deleted; a Failed worker stays for `kubectl logs`;
 *   - a node whose boot ID or kernel changed has lost its modules: its label goes and the
 *     node is handled again (a new build when the new kernel's image is missing);
 *   - the Module carries a finalizer; when it is deleted, an unload worker
 *     (`modprobe -r -d <dirName>`) runs on each node where the module was loaded, and the
 *     finalizer is removed once every unload succeeded;
 *   - status.moduleLoader: nodesMatchingSelectorNumber, desiredNumber, availableNumber.
 * Unlike upstream, the worker runs in the kmod image itself (whose modprobe the lab's
 * runtime base provides) rather than in KMM's worker image with the kmod image's dirName
 * copied in; the loaded state is kept by this controller, not in NodeModulesConfig objects.
 * Module signing (`sign`, container-wide or per mapping): kmm-sign.ts; the node's image is
 * then loaded only once its sign Build completed.
 */
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type KubernetesObject, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { dnsLabel } from '../../../../names.js';
import { findKernel } from '../../kernels/catalog.js';
import { inspectManifest } from '../../images/registry-client.js';
import type { LabRegistry } from '../../images/registry.js';
import { lookupImages, planLabReleases, releaseImagesOf } from '../../images/release-images.js';
import { PATHS, type SharedInformers } from '../informers.js';
import { matchesSelector } from '../objects.js';
import { BUILDS } from './builds.js';
import { KMM_GROUP } from './kmm-bundle.js';
import { normalizeKernel, secretsProblem, signBuildVolumes, signDockerfile, signFor, type SignSpec } from './kmm-sign.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = KubernetesObject & Record<string, any>;

export const MODULES = `/apis/${KMM_GROUP}/v1beta1/modules`;
/** KMM's finalizer on Module objects (internal/constants). */
export const MODULE_FINALIZER = 'kmm.node.kubernetes.io/module-finalizer';
const MODULE_LABEL = 'kmm.node.kubernetes.io/module.name';
const KERNEL_LABEL = 'kmm.node.kubernetes.io/target-kernel';
const ACTION_LABEL = 'kmm.node.kubernetes.io/worker-action';
/** A Build not finished yet (no phase yet counts as New). */
const pending = (builds: Obj[]) => builds.some((b) => b.status?.phase === 'New' || b.status?.phase === 'Running' || b.status?.phase === undefined);

/** Build or sign (internal/constants ResourceType; values api/v1beta1 BuildOrSignAction). */
const RESOURCE_TYPE_LABEL = 'kmm.node.kubernetes.io/resource-type';

export const readyLabel = (ns: string, name: string) => `kmm.node.kubernetes.io/${ns}.${name}.ready`;

interface KernelMapping {
  literal?: string;
  regexp?: string;
  containerImage?: string;
  build?: { dockerfileConfigMap?: { name: string }; buildArgs?: { name: string; value: string }[] };
  sign?: SignSpec;
}
interface Modprobe {
  moduleName?: string;
  modulesLoadingOrder?: string[];
  parameters?: string[];
  dirName?: string;
}

/** First matching mapping (deploy_kmod.md: mappings are tried in order). */
export function mappingFor(mappings: KernelMapping[], kver: string): KernelMapping | undefined {
  return mappings.find((m) => (m.literal !== undefined ? m.literal === kver : m.regexp !== undefined && new RegExp(m.regexp).test(kver)));
}

/**
 * containerImage with the kernel variables filled in, as KMM does: with the normalized
 * version (an image tag cannot hold `+`); build args keep the kernel's own version.
 */
export function substituteKernel(template: string, kver: string): string {
  const v = normalizeKernel(kver);
  return template.replaceAll('${KERNEL_FULL_VERSION}', v).replaceAll('${KERNEL_VERSION}', v);
}

/**
 * modprobe argv lists in load order: modulesLoadingOrder lists the module and what it
 * depends on, the first loaded last (api/v1beta1 module_types.go ModprobeSpec).
 */
export function loadCommands(m: Modprobe): string[][] {
  const dir = m.dirName ?? '/opt';
  const order = m.modulesLoadingOrder?.length ? [...m.modulesLoadingOrder].reverse() : [m.moduleName!];
  return order.map((mod) => ['modprobe', '-v', '-d', dir, mod, ...(mod === m.moduleName ? (m.parameters ?? []) : [])]);
}

export function unloadCommand(m: Modprobe): string[] {
  const order = m.modulesLoadingOrder?.length ? m.modulesLoadingOrder : [m.moduleName!];
  return ['modprobe', '-v', '-r', '-d', m.dirName ?? '/opt', ...order];
}

const shq = (w: string) => `'${w.replace(/'/g, `'\\''`)}'`;

interface Loaded {
  kver: string;
  bootID: string;
  image: string;
  modprobe: Modprobe;
}

export interface KmmModuleControllerOptions {
  kc: KubeConfig;
  informers: SharedInformers;
  registry: LabRegistry;
  log?: (line: string) => void;
}

export class KmmModuleController {
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  /** `ns/module/node` → what is loaded there. */
  private readonly loaded = new Map<string, Loaded>();
  private readonly images = new Set<string>();
  private readonly dtk = new Map<string, string>();
  private readonly said = new Set<string>();
  private running: Promise<void> = Promise.resolve();
  private queued = false;
  private active = false;
  private subscribed = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: KmmModuleControllerOptions) {
    this.core = o.kc.makeApiClient(CoreV1Api);
    this.custom = o.kc.makeApiClient(CustomObjectsApi);
  }

  /** The operator starts (CSV Succeeded: the Module CRD exists) or stops. */
  async setRunning(on: boolean): Promise<void> {
    this.active = on;
    if (!on) {
      clearTimeout(this.timer);
      return;
    }
    if (!this.subscribed) {
      this.subscribed = true;
      const kick = () => this.kick();
      await Promise.all([MODULES, PATHS.nodes, PATHS.pods, BUILDS].map((p) => this.o.informers.subscribe(p, kick)));
    }
    const tick = () => {
      if (!this.active) return;
      this.kick();
      this.timer = setTimeout(tick, 5_000);
    };
    this.timer = setTimeout(tick, 5_000);
    this.kick();
  }

  async stop(): Promise<void> {
    this.active = false;
    clearTimeout(this.timer);
    await this.running;
  }

  kick(): void {
    if (this.queued || !this.active) return;
    this.queued = true;
    this.running = this.running.then(async () => {
      await new Promise((r) => setTimeout(r, 50));
      this.queued = false;
      for (const m of this.o.informers.list<Obj>(MODULES)) {
        await this.reconcile(m).catch((e: Error) => this.o.log?.(`kmm: module ${m.metadata?.namespace}/${m.metadata?.name}: ${e.message.split('\n')[0]}`));
      }
    });
  }

  private async patchModule(m: Obj, body: Obj, status = false): Promise<void> {
    const args = { group: KMM_GROUP, version: 'v1beta1', plural: 'modules', namespace: m.metadata!.namespace!, name: m.metadata!.name!, body };
    if (status) await this.custom.patchNamespacedCustomObjectStatus(args, this.merge);
    else await this.custom.patchNamespacedCustomObject(args, this.merge);
  }

  private async setNodeLabel(node: string, key: string, on: boolean): Promise<void> {
    await this.core.patchNode({ name: node, body: { metadata: { labels: { [key]: on ? '' : null } } } }, this.merge);
  }

  private workerPods(m: Obj, node: string): V1Pod[] {
    const ns = m.metadata!.namespace!;
    return this.o.informers.list<V1Pod>(PATHS.pods).filter((p) => p.metadata?.namespace === ns && p.metadata?.labels?.[MODULE_LABEL] === m.metadata!.name && p.spec?.nodeName === node && !p.metadata?.deletionTimestamp);
  }

  private async reconcile(m: Obj): Promise<void> {
    const ns = m.metadata!.namespace!;
    const name = m.metadata!.name!;
    const container = (m.spec?.moduleLoader?.container ?? {}) as { kernelMappings?: KernelMapping[]; containerImage?: string; modprobe?: Modprobe; sign?: SignSpec };
    const modprobe = container.modprobe ?? {};
    const nodes = this.o.informers.list<V1Node>(PATHS.nodes);
    if (m.metadata!.deletionTimestamp) return this.finalize(m, nodes);
    if (!(m.metadata!.finalizers ?? []).includes(MODULE_FINALIZER)) {
      await this.patchModule(m, { metadata: { finalizers: [...(m.metadata!.finalizers ?? []), MODULE_FINALIZER] } });
    }
    const selected = nodes.filter((n) => matchesSelector(n.metadata?.labels ?? {}, m.spec?.selector));
    let desired = 0;
    let available = 0;
    for (const node of selected) {
      const nodeName = node.metadata!.name!;
      const kver = node.status?.nodeInfo?.kernelVersion ?? '';
      const bootID = node.status?.nodeInfo?.bootID ?? '';
      const key = `${ns}/${name}/${nodeName}`;
      const label = readyLabel(ns, name);
      const prev = this.loaded.get(key);
      if (prev && (prev.bootID !== bootID || prev.kver !== kver)) {
        // Rebooted (maybe into another kernel): the modules are gone with the old boot.
        this.loaded.delete(key);
        await this.setNodeLabel(nodeName, label, false);
        this.o.log?.(`kmm: ${key}: node rebooted (kernel ${kver}): loading again`);
      }
      const mapping = mappingFor(container.kernelMappings ?? [], kver);
      const template = mapping?.containerImage ?? container.containerImage;
      if (!mapping || !template) continue;
      desired += 1;
      const image = substituteKernel(template, kver);
      if (this.loaded.get(key)?.image === image) {
        available += 1;
        if (node.metadata?.labels?.[label] === undefined) await this.setNodeLabel(nodeName, label, true);
        continue;
      }
      const sign = signFor(container.sign, mapping.sign, kver);
      if (!(await (sign ? this.signedImageReady(m, mapping, sign, image, kver, modprobe.dirName ?? '/opt') : this.imageReady(m, mapping, image, kver)))) continue;
      await this.load(m, node, image, modprobe, key, label);
      if (this.loaded.get(key)?.image === image) available += 1;
    }
    const status = { moduleLoader: { nodesMatchingSelectorNumber: selected.length, desiredNumber: desired, availableNumber: available } };
    if (JSON.stringify(m.status?.moduleLoader) !== JSON.stringify(status.moduleLoader)) await this.patchModule(m, { status }, true);
  }

  /** Is `image` in the registry? If not, make sure a build for it runs (true once pushed). */
  private async imageReady(m: Obj, mapping: KernelMapping, image: string, kver: string): Promise<boolean> {
    if (this.images.has(image)) return true;
    const ns = m.metadata!.namespace!;
    const builds = this.o.informers
      .list<Obj>(BUILDS)
      .filter((b) => b.metadata?.namespace === ns && b.metadata?.labels?.[MODULE_LABEL] === m.metadata!.name && b.spec?.output?.to?.name === image && b.metadata?.labels?.[RESOURCE_TYPE_LABEL] !== 'SignImage');
    if (pending(builds)) return false;
    if (await this.inRegistry(image)) return true;
    if (builds.some((b) => b.status?.phase === 'Failed')) return false; // stays failed, as KMM's build status does
    if (!mapping.build) {
      const line = `kmm: module ${ns}/${m.metadata!.name}: ${image} is not in the registry and the kernel mapping has no build`;
      if (!this.said.has(line)) this.o.log?.(line); // once, not at every resync
      this.said.add(line);
      return false;
    }
    await this.createBuild(m, mapping, image, kver);
    return false;
  }

  private async driverToolkit(kver: string): Promise<string> {
    let ref = this.dtk.get(kver);
    if (ref) return ref;
    const [plan] = await planLabReleases([findKernel(kver)]);
    ref = releaseImagesOf(plan!, await lookupImages([plan!], this.o.registry)).driverToolkit?.digestRef;
    if (!ref) throw new Error(`no driver-toolkit image of kernel ${kver} in the lab registry (kmodlab lab setup --kernels ${kver})`);
    this.dtk.set(kver, ref);
    return ref;
  }

  private async createBuild(m: Obj, mapping: KernelMapping, image: string, kver: string): Promise<void> {
    const ns = m.metadata!.namespace!;
    const name = m.metadata!.name!;
    const cmName = mapping.build?.dockerfileConfigMap?.name;
    if (!cmName) throw new Error('the kernel mapping build has no dockerfileConfigMap');
    const cm = await this.core.readNamespacedConfigMap({ namespace: ns, name: cmName });
    const dockerfile = cm.data?.dockerfile;
    if (!dockerfile) throw new Error(`ConfigMap ${ns}/${cmName} has no key "dockerfile"`);
    const args: Record<string, string> = {
      ...Object.fromEntries((mapping.build?.buildArgs ?? []).map((a) => [a.name, a.value])),
      KERNEL_VERSION: kver,
      KERNEL_FULL_VERSION: kver,
      MOD_NAME: name,
      MOD_NAMESPACE: ns,
      DTK_AUTO: await this.driverToolkit(kver),
    };
    const hash = createHash('sha256').update(image).digest('hex').slice(0, 10);
    const body = {
      apiVersion: 'build.openshift.io/v1',
      kind: 'Build',
      metadata: {
        generateName: `${name}-build-`,
        namespace: ns,
        labels: { [MODULE_LABEL]: name, [KERNEL_LABEL]: kver.slice(0, 63), 'kmm.node.kubernetes.io/image-hash': hash, [RESOURCE_TYPE_LABEL]: 'BuildImage' },
        ownerReferences: [{ apiVersion: `${KMM_GROUP}/v1beta1`, kind: 'Module', name, uid: m.metadata!.uid!, controller: true }],
      },
      spec: {
        source: { type: 'Dockerfile', dockerfile },
        strategy: { type: 'Docker', dockerStrategy: { buildArgs: Object.entries(args).map(([k, v]) => ({ name: k, value: v })) } },
        output: { to: { kind: 'DockerImage', name: image } },
      },
    };
    const b = (await this.custom.createNamespacedCustomObject({ group: 'build.openshift.io', version: 'v1', plural: 'builds', namespace: ns, body })) as Obj;
    this.o.log?.(`kmm: module ${ns}/${name}: ${image} is missing: build ${b.metadata!.name} for kernel ${kver}`);
  }

  /**
   * A mapping with `sign` (kmm-sign.ts): build first when the mapping has a build, then the
   * sign Build that overwrites `image` with the signed one; true once that completed. The
   * state is read from the module's Builds in the API, as KMM 2.7 reads it from its
   * ModuleImagesConfig/ModuleBuildSignConfig status.
   */
  private async signedImageReady(m: Obj, mapping: KernelMapping, sign: SignSpec, image: string, kver: string, dirName: string): Promise<boolean> {
    if (this.images.has(image)) return true;
    const ns = m.metadata!.namespace!;
    const name = m.metadata!.name!;
    const mine = this.o.informers.list<Obj>(BUILDS).filter((b) => b.metadata?.namespace === ns && b.metadata?.labels?.[MODULE_LABEL] === name && b.spec?.output?.to?.name === image);
    const signs = mine.filter((b) => b.metadata?.labels?.[RESOURCE_TYPE_LABEL] === 'SignImage');
    const builds = mine.filter((b) => b.metadata?.labels?.[RESOURCE_TYPE_LABEL] !== 'SignImage');
    if (pending(signs)) return false;
    if (signs.some((b) => b.status?.phase === 'Complete')) {
      this.images.add(image);
      this.o.log?.(`kmm: module ${ns}/${name}: ${image} signed`);
      return true;
    }
    if (signs.some((b) => b.status?.phase === 'Failed')) return false; // stays failed, as KMM's sign status does
    let unsigned: string;
    if (mapping.build) {
      if (pending(builds)) return false;
      const built = builds.find((b) => b.status?.phase === 'Complete');
      if (!built) {
        if (builds.some((b) => b.status?.phase === 'Failed')) return false;
        // Nothing built or signed for it yet: an image already in the registry is used as it is (KMM's pull check → Exists).
        if (await this.inRegistry(image)) return true;
        await this.createBuild(m, mapping, image, kver);
        return false;
      }
      // The image this Build pushed (unsigned), by digest: the tag is what the sign Build overwrites.
      const digest = built.status?.output?.to?.imageDigest as string | undefined;
      unsigned = digest ? `${image.replace(/:[^:/]+$/, '')}@${digest}` : image;
    } else {
      if (await this.inRegistry(image)) return true;
      if (!sign.unsignedImage) {
        await this.warnOnce(m, 'SignFailed', `sync for image ${image}, action SignImage failed: no image to sign given`);
        return false;
      }
      unsigned = sign.unsignedImage;
    }
    await this.createSignBuild(m, sign, unsigned, image, kver, dirName);
    return false;
  }

  /** KMM's pull check: an image the registry already holds is used as it is (Exists). */
  private async inRegistry(image: string): Promise<boolean> {
    if (!(await inspectManifest(image, this.o.registry.insecure))) return false;
    this.images.add(image);
    return true;
  }

  private async createSignBuild(m: Obj, sign: SignSpec, unsigned: string, image: string, kver: string, dirName: string): Promise<void> {
    const ns = m.metadata!.namespace!;
    const name = m.metadata!.name!;
    const read = (ref: { name: string } | undefined) =>
      ref?.name ? this.core.readNamespacedSecret({ namespace: ns, name: ref.name }).catch((e: { code?: number }) => (e?.code === 404 ? undefined : Promise.reject(e))) : Promise.resolve(undefined);
    // Read only to check them (KMM hashes them into the sign pod); the Build mounts them itself.
    const problem = secretsProblem(ns, sign, await read(sign.keySecret), await read(sign.certSecret));
    if (problem) {
      await this.warnOnce(m, 'SignFailed', `sync for image ${image}, action SignImage failed: ${problem}`);
      return;
    }
    const dockerfile = signDockerfile({ unsignedImage: unsigned, signImage: await this.driverToolkit(kver), kver, dirName, filesToSign: sign.filesToSign ?? [] });
    const body = {
      apiVersion: 'build.openshift.io/v1',
      kind: 'Build',
      metadata: {
        generateName: `${name}-sign-`,
        namespace: ns,
        labels: { [MODULE_LABEL]: name, [KERNEL_LABEL]: kver.slice(0, 63), [RESOURCE_TYPE_LABEL]: 'SignImage' },
        ownerReferences: [{ apiVersion: `${KMM_GROUP}/v1beta1`, kind: 'Module', name, uid: m.metadata!.uid!, controller: true }],
      },
      spec: {
        source: { type: 'Dockerfile', dockerfile },
        strategy: { type: 'Docker', dockerStrategy: { volumes: signBuildVolumes(sign) } },
        output: { to: { kind: 'DockerImage', name: image } },
      },
    };
    const b = (await this.custom.createNamespacedCustomObject({ group: 'build.openshift.io', version: 'v1', plural: 'builds', namespace: ns, body })) as Obj;
    this.o.log?.(`kmm: module ${ns}/${name}: signing ${unsigned} → ${image}: build ${b.metadata!.name} for kernel ${kver}`);
  }

  /** A Warning event on the Module and a log line, once per message (not at every resync). */
  private async warnOnce(m: Obj, reason: string, message: string): Promise<void> {
    const ns = m.metadata!.namespace!;
    const line = `kmm: module ${ns}/${m.metadata!.name}: ${message}`;
    if (this.said.has(line)) return;
    this.said.add(line);
    this.o.log?.(line);
    const now = new Date();
    await this.core
      .createNamespacedEvent({
        namespace: ns,
        body: {
          metadata: { generateName: `${m.metadata!.name}.`, namespace: ns },
          involvedObject: { apiVersion: `${KMM_GROUP}/v1beta1`, kind: 'Module', name: m.metadata!.name, namespace: ns, uid: m.metadata!.uid },
          type: 'Warning',
          reason,
          message,
          source: { component: 'kmm' },
          reportingComponent: 'kmm',
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      })
      .catch(() => undefined);
  }

  private workerPod(m: Obj, node: string, image: string, action: 'Load' | 'Unload', script: string): V1Pod {
    const ns = m.metadata!.namespace!;
    const name = m.metadata!.name!;
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: dnsLabel('kmm-worker', node, name),
        namespace: ns,
        labels: { [MODULE_LABEL]: name, [ACTION_LABEL]: action, 'app.kubernetes.io/component': 'worker', 'app.kubernetes.io/name': 'kmm', 'app.kubernetes.io/part-of': 'kmm' },
      },
      spec: {
        nodeName: node,
        restartPolicy: 'Never',
        ...(m.spec?.moduleLoader?.serviceAccountName ? { serviceAccountName: m.spec.moduleLoader.serviceAccountName } : {}),
        containers: [
          {
            name: 'worker',
            image,
            imagePullPolicy: m.spec?.moduleLoader?.container?.imagePullPolicy ?? 'IfNotPresent',
            command: ['/bin/sh', '-c', script],
            securityContext: { privileged: true },
            volumeMounts: [{ name: 'lib-modules', mountPath: '/lib/modules', readOnly: true }],
          },
        ],
        volumes: [{ name: 'lib-modules', hostPath: { path: '/lib/modules', type: 'Directory' } }],
      },
    };
  }

  private async load(m: Obj, node: V1Node, image: string, modprobe: Modprobe, key: string, label: string): Promise<void> {
    const nodeName = node.metadata!.name!;
    const ns = m.metadata!.namespace!;
    const [pod] = this.workerPods(m, nodeName);
    if (!pod) {
      const script = loadCommands(modprobe).map((c) => c.map(shq).join(' ')).join(' && ');
      await this.core.createNamespacedPod({ namespace: ns, body: this.workerPod(m, nodeName, image, 'Load', script) });
      this.o.log?.(`kmm: ${key}: worker load pod for ${image}`);
      return;
    }
    if (pod.metadata?.labels?.[ACTION_LABEL] !== 'Load') return;
    if (pod.status?.phase === 'Succeeded') {
      this.loaded.set(key, { kver: node.status?.nodeInfo?.kernelVersion ?? '', bootID: node.status?.nodeInfo?.bootID ?? '', image, modprobe });
      await this.setNodeLabel(nodeName, label, true);
      await this.core.deleteNamespacedPod({ namespace: ns, name: pod.metadata!.name! }).catch(() => undefined);
      this.o.log?.(`kmm: ${key}: loaded (${image})`);
    }
  }

  /** Deleted Module: unload where loaded, then drop the finalizer. */
  private async finalize(m: Obj, nodes: V1Node[]): Promise<void> {
    const ns = m.metadata!.namespace!;
    const name = m.metadata!.name!;
    let pending = 0;
    for (const node of nodes) {
      const nodeName = node.metadata!.name!;
      const key = `${ns}/${name}/${nodeName}`;
      const loaded = this.loaded.get(key);
      const [pod] = this.workerPods(m, nodeName);
      if (!loaded || loaded.bootID !== node.status?.nodeInfo?.bootID) {
        this.loaded.delete(key);
        if (pod) await this.core.deleteNamespacedPod({ namespace: ns, name: pod.metadata!.name! }).catch(() => undefined);
        if (node.metadata?.labels?.[readyLabel(ns, name)] !== undefined) await this.setNodeLabel(nodeName, readyLabel(ns, name), false);
        continue;
      }
      pending += 1;
      if (!pod) {
        await this.core.createNamespacedPod({ namespace: ns, body: this.workerPod(m, nodeName, loaded.image, 'Unload', unloadCommand(loaded.modprobe).map(shq).join(' ')) });
        this.o.log?.(`kmm: ${key}: worker unload pod`);
      } else if (pod.metadata?.labels?.[ACTION_LABEL] === 'Load') {
        await this.core.deleteNamespacedPod({ namespace: ns, name: pod.metadata!.name! }).catch(() => undefined);
      } else if (pod.status?.phase === 'Succeeded') {
        this.loaded.delete(key);
        await this.setNodeLabel(nodeName, readyLabel(ns, name), false);
        await this.core.deleteNamespacedPod({ namespace: ns, name: pod.metadata!.name! }).catch(() => undefined);
        this.o.log?.(`kmm: ${key}: unloaded`);
        pending -= 1;
      }
    }
    if (pending === 0 && (m.metadata!.finalizers ?? []).includes(MODULE_FINALIZER)) {
      await this.patchModule(m, { metadata: { finalizers: (m.metadata!.finalizers ?? []).filter((f: string) => f !== MODULE_FINALIZER) } });
      this.o.log?.(`kmm: module ${ns}/${name}: finalizer removed`);
    }
  }
}
