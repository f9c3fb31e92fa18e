/**
 * Files that live on a node's own disk across reboots (what `podman pull` leaves in
 * local storage, what a unit writes under /var), appended to the node's boot image as
 * one more newc archive — the lab node's root is an initramfs, so state that must
 * survive a reboot travels in the image it boots.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../host/cache.js';
import { run } from '../host/run.js';
import { requireTool } from '../host/tools.js';

export interface LocalFile {
  /** Absolute path in the node. */
  path: string;
  content?: string;
  /** Copy this host directory to `path` instead. */
  fromDir?: string;
  mode?: number;
}

export async function withLocalFiles(baseInitramfs: string, files: LocalFile[], outDir: string): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'kmodlab-local-'));
  try {
    for (const f of files) {
      const dest = join(root, f.path);
      mkdirSync(dirname(dest), { recursive: true });
      if (f.fromDir) cpSync(f.fromDir, dest, { recursive: true });
      else writeFileSync(dest, f.content ?? '', { mode: f.mode ?? 0o644 });
    }
    const cpio = requireTool('cpio');
    const layer = (await run('sh', ['-c', `find . -mindepth 1 -print0 | LC_ALL=C sort -z | "${cpio}" --null -o -H newc -R 0:0 --quiet`], { cwd: root })).stdout;
    const digest = createHash('sha256').update(layer).digest('hex').slice(0, 16);
    mkdirSync(outDir, { recursive: true });
    const out = join(outDir, `local-${digest}.cpio`);
    writeFileAtomic(out, Buffer.concat([readFileSync(baseInitramfs), layer]));
    return out;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
