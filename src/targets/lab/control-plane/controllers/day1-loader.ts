/**
 * A Day-1 driver loader MachineConfig (KMM's Day-1 form): a script plus two systemd
 * units — `…-load.service` before the network loads the driver from a locally stored
 * image, `…-pull.service` after the network pulls the image for the running kernel
 * and reboots. Lab nodes have no systemd or podman, so the lab realizes the units'
 * effect with the script's own values: the pull stores the image's module tree on
 * the node and reboots; at the next boot a hook runs the script's own `modprobe -d`
 * lines before the node's network (its agent channel) comes up.
 */
import { join } from 'node:path';
import type { K8sObject } from '../../../../artifacts/artifact-set.js';
import { buildInitramfs } from '../../os-image/initramfs.js';
import { withLocalFiles } from '../../os-image/node-local-layer.js';
import type { LabCluster } from '../lab-cluster.js';
import { kernelTag } from '../image-registry.js';

const ROLE_LABEL = 'machineconfiguration.openshift.io/role';

interface LoaderScript {
  imageRepo: string;
  driverVersion: string;
  modulesRoot: string;
  /** The load() function's modprobe command lines, variables filled in. */
  modprobeLines: string[];
}

interface IgnitionConfig {
  storage?: { files?: { path: string; contents?: { source?: string } }[] };
  systemd?: { units?: { name: string }[] };
}

function decodeDataUrl(source: string): string | undefined {
  const m = /^data:[^,]*?(;base64)?,(.*)$/s.exec(source);
  if (!m) return undefined;
  return m[1] ? Buffer.from(m[2]!, 'base64').toString('utf8') : decodeURIComponent(m[2]!);
}

function shellValue(script: string, name: string): string | undefined {
  return new RegExp(`^${name}='([^']*)'`, 'm').exec(script)?.[1];
}

/** Finds the loader script of a Day-1 MachineConfig, if it is one. */
export function parseLoader(mc: K8sObject): LoaderScript | undefined {
  const config = (mc.spec as { config?: IgnitionConfig } | undefined)?.config;
  if (!config?.systemd?.units?.some((u) => u.name.endsWith('-load.service'))) return undefined;
  for (const f of config.storage?.files ?? []) {
    const script = f.contents?.source ? decodeDataUrl(f.contents.source) : undefined;
    if (!script || !/^pull\(\)/m.test(script)) continue;
    const imageRepo = shellValue(script, 'IMAGE_REPO');
    const driverVersion = shellValue(script, 'DRIVER_VERSION');
    const modulesRoot = shellValue(script, 'MODULES_ROOT');
    if (!imageRepo || !driverVersion || !modulesRoot) continue;
    const load = /^load\(\) \{\n([\s\S]*?)\n\}/m.exec(script)?.[1] ?? '';
    const modprobeLines = load
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('modprobe '))
      .map((l) => l.replaceAll('"${MODULES_ROOT}"', modulesRoot).replace(/^modprobe /, '/sbin/modprobe '));
    return { imageRepo, driverVersion, modulesRoot, modprobeLines };
  }
  return undefined;
}

/** The image the script's pull unit pulls for a kernel, tagged as the script tags it. */
export function loaderImage(loader: LoaderScript, kver: string): string {
  return `${loader.imageRepo}:${loader.driverVersion}-${kernelTag(kver)}`;
}

/** Which kernel each node has pulled the driver image for (node-local storage). */
const pulled = new WeakMap<LabCluster, Map<string, string>>();

export async function reconcileDay1Loaders(c: LabCluster): Promise<void> {
  let done = pulled.get(c);
  if (!done) pulled.set(c, (done = new Map()));
  for (const mc of c.store.list('MachineConfig')) {
    const loader = parseLoader(mc);
    const pool = mc.metadata.labels?.[ROLE_LABEL];
    if (!loader || !pool) continue;
    for (const node of c.nodes.filter((n) => n.pool === pool && n.lab.state === 'ready')) {
      const kver = node.lab.kernel.kver;
      if (done.get(node.name) === kver) continue;
      // The pull unit: the image for the running kernel.
      const image = loaderImage(loader, kver);
      const found = c.registry.pull(image);
      if (!found) {
        c.emit('fault', { fault: 'image-pull', message: `Day-1 pull unit on ${node.name}: ${image} not found; the driver will not load at boot` }, node.name);
        done.set(node.name, kver);
        continue;
      }
      c.emit('progress', { step: `Day-1 pull unit: pulled ${image}; rebooting so the load unit loads the driver before the network` }, node.name);
      const base = await buildInitramfs({ kernel: node.lab.kernel });
      const hook = ['#!/bin/sh', `# ${mc.metadata.name}: load unit (lab realization of the script's load())`, 'set -e', ...loader.modprobeLines, ''].join('\n');
      const bootImage = await withLocalFiles(
        base.path,
        [
          { path: join(loader.modulesRoot, 'lib', 'modules', kver), fromDir: join(found.dir, 'opt', 'lib', 'modules', kver) },
          { path: `/etc/kmodlab/boot.d/${mc.metadata.name}.sh`, content: hook, mode: 0o755 },
        ],
        join(c.runDir, 'os-images'),
      );
      done.set(node.name, kver);
      await c.rebootNode(node, { initramfs: bootImage });
    }
  }
}
