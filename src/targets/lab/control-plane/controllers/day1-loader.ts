/**
 * A Day-1 driver loader MachineConfig (KMM's Day-1 form, as the kmm method renders it):
 * a script plus two systemd units — `…-load.service` before the network loads the
 * driver by running the pulled kmod image through podman (`modprobe -d /opt` inside it),
 * `…-pull.service` after the network pulls the image `<repo>:<uname -r>` for the running
 * kernel and reboots. Lab nodes have no systemd or podman, so the lab realizes the
 * units' effect with the script's own values: the pull stores the image's module tree
 * on the node (in place of the image's `/opt`) and reboots; at the next boot a hook
 * runs the script's own `modprobe -d` lines before the node's network (its agent
 * channel) comes up.
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
  /** Where the lab puts the image's `/opt` on the node (the container's `modprobe -d` root). */
  modulesRoot: string;
  /** The load() function's modprobe command lines (run inside the image), rooted at `modulesRoot`. */
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

/** The image's modprobe root, as the loader's `modprobe -d` names it. */
const IMAGE_MODULES_DIR = '/opt';

/** Finds the loader script of a Day-1 MachineConfig, if it is one. */
export function parseLoader(mc: K8sObject): LoaderScript | undefined {
  const config = (mc.spec as { config?: IgnitionConfig } | undefined)?.config;
  if (!config?.systemd?.units?.some((u) => u.name.endsWith('-load.service'))) return undefined;
  for (const f of config.storage?.files ?? []) {
    const script = f.contents?.source ? decodeDataUrl(f.contents.source) : undefined;
    if (!script || !/^pull\(\)/m.test(script)) continue;
    const imageRepo = shellValue(script, 'IMAGE_REPO');
    if (!imageRepo) continue;
    const modulesRoot = `/var/lib/kmodlab/day1/${mc.metadata.name}`;
    const load = /^load\(\) \{\n([\s\S]*?)\n\}/m.exec(script)?.[1] ?? '';
    // `podman run … "${IMAGE}" modprobe -v -d /opt <module> <params…>`: the part after the image runs in it.
    const modprobeLines = load
      .split('\n')
      .map((l) => / "\$\{IMAGE\}" (modprobe .*)$/.exec(l.trim())?.[1])
      .filter((l): l is string => l !== undefined)
      .map((l) => l.replace(` -d ${IMAGE_MODULES_DIR} `, ` -d ${modulesRoot} `).replace(/^modprobe /, '/sbin/modprobe '));
    return { imageRepo, modulesRoot, modprobeLines };
  }
  return undefined;
}

/** The image the script's pull unit pulls for a kernel: `<repo>:<uname -r>`, tagged as the script tags it. */
export function loaderImage(loader: LoaderScript, kver: string): string {
  return `${loader.imageRepo}:${kernelTag(kver)}`;
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
          { path: join(loader.modulesRoot, 'lib', 'modules', kver), fromDir: join(found.dir, IMAGE_MODULES_DIR, 'lib', 'modules', kver) },
          { path: `/etc/kmodlab/boot.d/${mc.metadata.name}.sh`, content: hook, mode: 0o755 },
        ],
        join(c.runDir, 'os-images'),
      );
      done.set(node.name, kver);
      await c.rebootNode(node, { initramfs: bootImage });
    }
  }
}
