/**
 * A "driver container image" in the lab: a directory laid out exactly as the method's
 * rendered Containerfile lays out its final stage, so the node sees the same paths a
 * pod would (`/lib/modules/$KVER/extra` for DTK, `/opt/lib/modules/$KVER/extra` read
 * with `modprobe -d /opt` for KMM). depmod runs on the host — it only writes index
 * files, it loads nothing.
 */
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { DriverSpec } from '../../../driver/spec.js';
import { modprobeConf } from '../../../methods/driver-build.js';
import { run } from '../host/run.js';
import { requireTool } from '../host/tools.js';
import type { BuildRecord } from './driver-build.js';

export type ImageLayout = 'dtk' | 'kmm';

export interface DriverImage {
  /** Root of the image tree (what a pod's filesystem would be). */
  root: string;
  /** Directory to pass to `modprobe -d` (`/` for dtk, `/opt` for kmm), relative to root. */
  modprobeDir: string;
  kver: string;
}

export async function layDriverImage(build: BuildRecord, driver: DriverSpec, layout: ImageLayout, dest: string): Promise<DriverImage> {
  const modprobeDir = layout === 'kmm' ? '/opt' : '/';
  const base = join(dest, modprobeDir);
  const extra = join(base, 'lib', 'modules', build.kver, 'extra');
  mkdirSync(extra, { recursive: true });
  for (const m of build.modules) cpSync(m.path, join(extra, basename(m.path)));
  const conf = modprobeConf(driver);
  if (conf) {
    mkdirSync(join(dest, 'etc', 'modprobe.d'), { recursive: true });
    writeFileSync(join(dest, 'etc', 'modprobe.d', `${driver.name}.conf`), `${conf}\n`);
  }
  await run(requireTool('depmod'), ['-b', base, build.kver]);
  return { root: dest, modprobeDir, kver: build.kver };
}
