/**
 * KMM's Day-1 loader on a lab node: what the two systemd units of a Day-1 MachineConfig
 * (the kmm method's `--day1` form, src/methods/kmm/day1.ts) do on the machine, following
 * KMM's Day-1 utility (kubernetes-sigs/kernel-module-management pkg/mcproducer and its
 * scripts pull-image.sh / replace-kernel-module.sh; docs "Day 1 kernel module loading",
 * day1_limited_option.md):
 *   - the pull unit, after network-online.target, at every boot: if the image of the
 *     running kernel (`<repo>:<uname -r>`, the tag spelled as the script spells it) is not
 *     on the node, pull it, keep it in the node's local storage and reboot — once; when it
 *     is there, do nothing;
 *   - the load unit, before network-pre.target, at every boot: if the image is on the
 *     node, unload the in-tree modules the script names, then run the script's own
 *     `modprobe -d /opt …` lines from it; otherwise nothing (there is no network yet).
 *     Firmware the script copies out of the image is not realized (no lab driver has any).
 * Lab nodes have no systemd, podman or persistent disk (their root is an initramfs), so the
 * units' effects are realized with the script's own values: the pull goes through the
 * kubelet's image store (skopeo, by digest, from the lab registry) and the image's `/opt`
 * becomes a directory under the script's IMAGE_STORE on the node; that node-local state
 * and a boot hook running the load lines travel in the image the node boots
 * (os-image/node-local-layer.ts) — /init runs boot hooks before it brings up eth0 and
 * the node agent. The machine-config daemon (../machineconfig.ts) runs the pull unit once
 * per boot of a node whose current config holds a loader, and puts the node-local layer
 * on every boot image it reboots the node into.
 */
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { NodeImageStore } from '../../../kubelet/image-pull.js';
import { withLocalFiles } from '../../../os-image/node-local-layer.js';
import type { MachineConfigSpec } from './render.js';

export interface Day1Loader {
  /** The load unit's name (`…-load.service`): names its boot hook in the console. */
  loadUnit: string;
  pullUnit: string;
  imageRepo: string;
  /** The script's IMAGE_STORE: where the node keeps what the pull saved. */
  imageStore: string;
  /** The `modprobe …` lines load() runs inside the image, in order (`-d /opt` as written). */
  modprobeLines: string[];
  /** In-tree modules load() unloads first when loaded: `/proc/modules` name and the name given to `modprobe -r`. */
  unload: { loadedAs: string; module: string }[];
}

interface IgnitionFile {
  path: string;
  contents?: { source?: string };
}

/** The image's modprobe root, as the script's `modprobe -d` names it. */
const IMAGE_MODULES_DIR = '/opt';

function decodeDataUrl(source: string): string | undefined {
  const m = /^data:[^,]*?(;base64)?,(.*)$/s.exec(source);
  if (!m) return undefined;
  return m[1] ? Buffer.from(m[2]!, 'base64').toString('utf8') : decodeURIComponent(m[2]!);
}

function shellValue(script: string, name: string): string | undefined {
  return new RegExp(`^${name}='([^']*)'`, 'm').exec(script)?.[1];
}

/**
 * The Day-1 loaders of a (rendered) config: a script with pull() and load() that a
 * `…-load.service` unit runs, as the kmm method renders it.
 */
export function loadersOf(spec: MachineConfigSpec | undefined): Day1Loader[] {
  const units = (spec?.config?.systemd?.units ?? []).map((u) => u.name);
  const files = (spec?.config?.storage?.files ?? []) as IgnitionFile[];
  const out: Day1Loader[] = [];
  for (const f of files) {
    const script = f.contents?.source ? decodeDataUrl(f.contents.source) : undefined;
    if (!script || !/^pull\(\)/m.test(script) || !/^load\(\)/m.test(script)) continue;
    // The units run `<script> load` / `<script> pull`; the script's header names them.
    const loadUnit = units.find((u) => u.endsWith('-load.service') && script.includes(u));
    const pullUnit = units.find((u) => u.endsWith('-pull.service') && script.includes(u));
    const imageRepo = shellValue(script, 'IMAGE_REPO');
    const imageStore = shellValue(script, 'IMAGE_STORE');
    if (!loadUnit || !pullUnit || !imageRepo || !imageStore) continue;
    const load = /^load\(\) \{\n([\s\S]*?)\n\}/m.exec(script)?.[1] ?? '';
    // `podman run … "${IMAGE}" modprobe -v -d /opt <module> <params…>`: the part after the image runs in it.
    const modprobeLines = load
      .split('\n')
      .map((l) => / "\$\{IMAGE\}" (modprobe .*)$/.exec(l.trim())?.[1])
      .filter((l): l is string => l !== undefined);
    // `if grep -q '^<name> ' /proc/modules; then … modprobe -v -r <module>; fi`, run on the node itself.
    const unload = [...load.matchAll(/^\s*if grep -q '\^(\S+) ' \/proc\/modules; then\n(?:\s*log [^\n]*\n)?\s*modprobe -v -r (\S+)\n\s*fi$/gm)].map((m) => ({ loadedAs: m[1]!, module: m[2]! }));
    out.push({ loadUnit, pullUnit, imageRepo, imageStore, modprobeLines, unload });
  }
  return out;
}

/** The script's TAG: `uname -r` with characters outside [A-Za-z0-9._-] as `_`. */
export function kernelTag(kver: string): string {
  return kver.replace(/[^A-Za-z0-9._-]/g, '_');
}

export function loaderImage(loader: Day1Loader, kver: string): string {
  return `${loader.imageRepo}:${kernelTag(kver)}`;
}

/** Where the node keeps the pulled image's `/opt` (the load step's `modprobe -d` root). */
function nodeRoot(loader: Day1Loader, kver: string): string {
  return `${loader.imageStore}/${kernelTag(kver)}`;
}

/** The load unit's boot hook: the script's modprobe lines, rooted at the node-local copy. */
export function loadHook(loader: Day1Loader, image: string, kver: string): string {
  const root = nodeRoot(loader, kver);
  const lines = loader.modprobeLines.map((l) => l.replace(` -d ${IMAGE_MODULES_DIR} `, ` -d ${root} `).replace(/^modprobe /, '/sbin/modprobe '));
  return [
    '#!/bin/sh',
    `# ${loader.loadUnit}: the load step, before the network (node-local copy of ${image})`,
    'set -e',
    `echo "${loader.loadUnit}: loading from ${image} (${root}) before the network"`,
    ...loader.unload.map((u) => `if grep -q '^${u.loadedAs} ' /proc/modules; then echo "${loader.loadUnit}: unloading in-tree module ${u.module}"; /sbin/modprobe -v -r ${u.module}; fi`),
    ...lines,
    `echo "${loader.loadUnit}: loaded from ${image}"`,
    '',
  ].join('\n');
}

interface Stored {
  kver: string;
  image: string;
  digest: string;
  /** Host copy of the image's /opt. */
  dir: string;
}

export type PullOutcome = { loader: Day1Loader; image: string } & ({ pulled: true; digest: string } | { pulled: false; present: true } | { pulled: false; error: string });

/** The node-local storage of the Day-1 loaders of every lab node, kept on the host. */
export class Day1LoaderStore {
  /** node → load unit → what its pull saved (one image: the running kernel's, as the script keeps one archive). */
  private readonly stored = new Map<string, Map<string, Stored>>();
  private readonly images = new Map<string, NodeImageStore>();
  /** Boot image with a node-local layer → the boot image under it. */
  private readonly bases = new Map<string, string>();

  constructor(
    private readonly dir: string,
    private readonly insecure: (ref: string) => boolean,
  ) {}

  private storeOf(node: string): NodeImageStore {
    let s = this.images.get(node);
    if (!s) this.images.set(node, (s = new NodeImageStore(join(this.dir, node, 'images'), this.insecure)));
    return s;
  }

  /** The pull unit of each loader on `node` running `kver`. */
  async pull(node: string, loaders: Day1Loader[], kver: string): Promise<PullOutcome[]> {
    const out: PullOutcome[] = [];
    for (const loader of loaders) {
      const image = loaderImage(loader, kver);
      const have = this.stored.get(node)?.get(loader.loadUnit);
      if (have?.kver === kver && have.image === image) {
        out.push({ loader, image, pulled: false, present: true });
        continue;
      }
      try {
        const got = await this.storeOf(node).pull(image, 'Always');
        const src = join(this.dir, node, 'images', got.sharePath, IMAGE_MODULES_DIR.slice(1));
        if (!existsSync(join(src, 'lib', 'modules', kver))) throw new Error(`${image} has no ${IMAGE_MODULES_DIR}/lib/modules/${kver}`);
        const dir = join(this.dir, node, 'store', loader.loadUnit);
        // The script keeps one archive: the running kernel's.
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        cpSync(src, join(dir, 'opt'), { recursive: true, verbatimSymlinks: true });
        let m = this.stored.get(node);
        if (!m) this.stored.set(node, (m = new Map()));
        m.set(loader.loadUnit, { kver, image, digest: got.digest, dir: join(dir, 'opt') });
        out.push({ loader, image, pulled: true, digest: got.digest });
      } catch (e) {
        out.push({ loader, image, pulled: false, error: (e as Error).message.split('\n')[0]! });
      }
    }
    return out;
  }

  /**
   * The boot image of `node` booting `kver` with `loaders` in its config: `initramfs` plus
   * the node-local layer (each stored image of that kernel and its load hook), or
   * `initramfs` itself when there is nothing to add.
   */
  async bootImage(node: string, loaders: Day1Loader[], kver: string, initramfs: string): Promise<string> {
    const base = this.bases.get(initramfs) ?? initramfs;
    const files = loaders.flatMap((l) => {
      const s = this.stored.get(node)?.get(l.loadUnit);
      if (!s || s.kver !== kver) return [];
      return [
        { path: nodeRoot(l, kver), fromDir: s.dir },
        { path: `/etc/kmodlab/boot.d/50-${l.loadUnit}.sh`, content: loadHook(l, `${s.image} (${s.digest})`, kver), mode: 0o755 },
      ];
    });
    if (files.length === 0) return base;
    const out = await withLocalFiles(base, files, join(this.dir, node, 'boot'));
    this.bases.set(out, base);
    return out;
  }
}
