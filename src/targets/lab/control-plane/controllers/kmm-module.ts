/**
 * KMM `Module` → what the KMM operator does on each node its selector matches:
 * pick the first kernelMapping (literal or regexp) matching the node's kernel, build
 * the image when it is missing and the mapping has a build, then a one-shot worker
 * pod loads the modules with `modprobe -d /opt` from the image. A node that reboots
 * (e.g. into a new kernel) is handled again, so the driver follows kernel changes.
 * Deleting the Module unloads the modules. Without the operator's Subscription the
 * Module kind does not exist and nothing happens.
 */
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { K8sObject } from '../../../../artifacts/artifact-set.js';
import { dnsLabel } from '../../../../names.js';
import type { ClusterNode } from '../cluster-types.js';
import type { LabCluster } from '../lab-cluster.js';
import { matchesSelector } from '../objects.js';
import { execInPod, removePod } from '../pod-runtime.js';
import { kernelTag } from '../image-registry.js';

interface KernelMapping {
  literal?: string;
  regexp?: string;
  containerImage?: string;
  build?: unknown;
}
interface ModuleSpec {
  selector?: Record<string, string>;
  moduleLoader: {
    container: {
      containerImage?: string;
      build?: unknown;
      kernelMappings: KernelMapping[];
      modprobe: { moduleName?: string; modulesLoadingOrder?: string[]; parameters?: string[]; dirName?: string };
    };
  };
}

interface Loaded {
  kver: string;
  bootId: string;
  imageRef: string;
  /** Order the modules were loaded in (unload in reverse). */
  order: string[];
  dirName: string;
  workerImage: string;
}

const loadedOn = new WeakMap<LabCluster, Map<string, Loaded>>();

function state(c: LabCluster): Map<string, Loaded> {
  let m = loadedOn.get(c);
  if (!m) loadedOn.set(c, (m = new Map()));
  return m;
}

function operatorInstalled(c: LabCluster): boolean {
  return c.store.list('Subscription').some((s) => (s.spec as { name?: string } | undefined)?.name === 'kernel-module-management');
}

/** Modules in the order they end up loaded: `modulesLoadingOrder` is "first depends on the next". */
export function loadSequence(modprobe: ModuleSpec['moduleLoader']['container']['modprobe']): string[] {
  const order = modprobe.modulesLoadingOrder ?? [];
  return order.length > 0 ? [...order].reverse() : [modprobe.moduleName ?? ''];
}

export function mappingFor(spec: ModuleSpec, kver: string): KernelMapping | undefined {
  return spec.moduleLoader.container.kernelMappings.find((m) => (m.literal !== undefined ? m.literal === kver : m.regexp !== undefined && new RegExp(m.regexp).test(kver)));
}

/** The image for a kernel: `${KERNEL_FULL_VERSION}` filled as KMM does (see kernelTag). */
export function imageFor(spec: ModuleSpec, mapping: KernelMapping, kver: string): string | undefined {
  const template = mapping.containerImage ?? spec.moduleLoader.container.containerImage;
  return template?.replaceAll('${KERNEL_FULL_VERSION}', kernelTag(kver));
}

function readyLabel(m: K8sObject): string {
  return `kmm.node.kubernetes.io/${m.metadata.namespace}.${m.metadata.name}.ready`;
}

/** Whether the operator's pods were reported as running, per cluster. */
const operatorRunning = new WeakMap<LabCluster, boolean>();

/**
 * The operator's controller and webhook are resident cluster components. The lab
 * emulates them on the host, so they are reported as running (on the first node, as
 * on single-node OpenShift) with no memory sample: their cost is "not measured" in
 * the lab rather than a made-up or zero figure.
 */
function reportOperatorPods(c: LabCluster): void {
  const installed = operatorInstalled(c);
  if (installed === (operatorRunning.get(c) ?? false)) return;
  operatorRunning.set(c, installed);
  const node = c.nodes[0]?.name;
  for (const pod of ['kmm-operator-controller', 'kmm-operator-webhook']) {
    if (installed) c.emit('pod-start', { pod, component: 'kmm-operator', emulated: true, note: 'emulated on the lab host: memory not measured' }, node);
    else c.emit('pod-stop', { pod, component: 'kmm-operator', reason: 'Uninstalled' }, node);
  }
}

export async function reconcileModules(c: LabCluster): Promise<void> {
  reportOperatorPods(c);
  const modules = c.store.list('Module');
  if (modules.length > 0 && !operatorInstalled(c)) {
    c.emit('fault', { fault: 'no-operator', message: 'Module objects exist but the kernel-module-management Subscription is not applied: the Module kind is unknown to the API server' });
    return;
  }
  for (const m of modules) {
    const spec = m.spec as ModuleSpec;
    for (const node of c.nodes) {
      if (node.lab.state !== 'ready' || !matchesSelector(node.labels, spec.selector)) continue;
      await ensureLoaded(c, m, spec, node);
    }
  }
}

async function ensureLoaded(c: LabCluster, m: K8sObject, spec: ModuleSpec, node: ClusterNode): Promise<void> {
  const key = `${m.metadata.namespace}/${m.metadata.name}/${node.name}`;
  const kver = node.lab.kernel.kver;
  const prev = state(c).get(key);
  if (prev && prev.bootId === node.lab.currentBootId && prev.kver === kver) return;
  if (prev) {
    state(c).delete(key); // the node rebooted: modules are gone, labels too
    delete node.labels[readyLabel(m)];
  }
  const mapping = mappingFor(spec, kver);
  if (!mapping) {
    c.emit('fault', { fault: 'no-kernel-mapping', message: `Module ${m.metadata.name}: no kernelMapping matches kernel ${kver} of node ${node.name}` }, node.name);
    return;
  }
  const ref = imageFor(spec, mapping, kver);
  if (!ref) return;
  if (!c.registry.has(ref)) {
    if (!(mapping.build ?? spec.moduleLoader.container.build)) {
      c.emit('fault', { fault: 'image-pull', message: `Module ${m.metadata.name}: ${ref} does not exist and the mapping has no build` }, node.name);
      return;
    }
    if (!(await c.buildImage(kver, `Module/${m.metadata.name}`, ref, 'kmm'))) return;
  }
  const image = c.registry.pull(ref)!;
  // The worker runs KMM's own image with the driver image's dirName mounted: only
  // <dirName> of the driver image is visible (its /etc/modprobe.d is not).
  const dirName = spec.moduleLoader.container.modprobe.dirName ?? '/opt';
  const workerRef = `${ref}#worker`;
  if (!c.registry.has(workerRef)) {
    const w = c.registry.newImageDir(`kmm-worker-${kver}`);
    const src = join(image.dir, dirName);
    if (existsSync(src)) cpSync(src, join(w.dir, dirName), { recursive: true });
    c.registry.push(workerRef, w.dir, w.sharePath, kver);
  }
  const pod = {
    name: dnsLabel('kmm-worker-load', m.metadata.name, node.name),
    owner: `Module/${m.metadata.namespace}/${m.metadata.name}`,
    component: 'kmm-worker',
    imageRef: workerRef,
    restarts: 0,
    phase: 'Running' as const,
    startedAt: Date.now(),
  };
  const order = loadSequence(spec.moduleLoader.container.modprobe);
  const main = spec.moduleLoader.container.modprobe.moduleName;
  if (!(await c.startPodOn(node, { ...pod }, ['sleep', 'infinity']))) return;
  let ok = true;
  for (const mod of order) {
    const params = mod === main ? (spec.moduleLoader.container.modprobe.parameters ?? []) : [];
    const r = await execInPod(node.lab, pod.name, ['modprobe', '-v', '-d', dirName, mod, ...params]);
    if (r.code !== 0) {
      ok = false;
      c.emit('fault', { fault: 'module-load-failed', message: `${pod.name}: modprobe -d ${dirName} ${mod} exited ${r.code}: ${r.output}` }, node.name);
      break;
    }
  }
  await removePod(node.lab, pod.name);
  c.emit('pod-stop', { pod: pod.name, component: pod.component, reason: ok ? 'Completed' : 'Error' }, node.name);
  if (!ok) return;
  node.labels[readyLabel(m)] = '';
  state(c).set(key, { kver, bootId: node.lab.currentBootId ?? '', imageRef: ref, order, dirName, workerImage: workerRef });
}

/** Finalizer of a deleted Module: an unload worker on every node where it was loaded. */
export async function unloadModule(c: LabCluster, m: K8sObject): Promise<void> {
  for (const node of c.nodes) {
    const key = `${m.metadata.namespace}/${m.metadata.name}/${node.name}`;
    const loaded = state(c).get(key);
    if (!loaded || node.lab.state !== 'ready') continue;
    const pod = { name: dnsLabel('kmm-worker-unload', m.metadata.name, node.name), owner: `Module/${m.metadata.namespace}/${m.metadata.name}`, component: 'kmm-worker', imageRef: loaded.workerImage, restarts: 0, phase: 'Running' as const, startedAt: Date.now() };
    if (await c.startPodOn(node, { ...pod }, ['sleep', 'infinity'])) {
      const r = await execInPod(node.lab, pod.name, ['modprobe', '-v', '-r', '-d', loaded.dirName, ...[...loaded.order].reverse()]);
      if (r.code !== 0) c.emit('fault', { fault: 'module-unload-failed', message: `${pod.name}: ${r.output}` }, node.name);
      await removePod(node.lab, pod.name);
      c.emit('pod-stop', { pod: pod.name, component: pod.component, reason: r.code === 0 ? 'Completed' : 'Error' }, node.name);
    }
    state(c).delete(key);
    delete node.labels[readyLabel(m)];
  }
}
