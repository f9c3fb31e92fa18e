/**
 * Where the lab keeps derived artifacts (extracted vmlinux, initramfs images):
 * $KMODLAB_CACHE, else $XDG_CACHE_HOME/kmodlab, else ~/.cache/kmodlab.
 * Writes are atomic (temp file + rename) so concurrent kmodlab processes never see
 * a half-written file.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, renameSync, writeFileSync, type Dirent } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The cache's root, without creating it (`lab teardown` reports it). */
export function labCacheRoot(): string {
  return process.env.KMODLAB_CACHE ?? (process.env.XDG_CACHE_HOME ? join(process.env.XDG_CACHE_HOME, 'kmodlab') : join(homedir(), '.cache', 'kmodlab'));
}

export function labCacheDir(sub?: string): string {
  const base = labCacheRoot();
  const dir = sub ? join(base, sub) : base;
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function sha256(...parts: (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(p);
    h.update('\0');
  }
  return h.digest('hex');
}

export function writeFileAtomic(path: string, data: Buffer | string, mode?: number): void {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, data, mode === undefined ? undefined : { mode });
  renameSync(tmp, path);
}

/** Bytes under `dir` (0 if it does not exist); symlinks are not followed. */
export function dirBytes(dir: string): number {
  let total = 0;
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += dirBytes(p);
    else if (e.isFile()) total += lstatSync(p).size;
  }
  return total;
}
