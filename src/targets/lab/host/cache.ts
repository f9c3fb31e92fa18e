/**
 * Where the lab keeps derived artifacts (extracted vmlinux, initramfs images):
 * $KMODLAB_CACHE, else $XDG_CACHE_HOME/kmodlab, else ~/.cache/kmodlab.
 * Writes are atomic (temp file + rename) so concurrent kmodlab processes never see
 * a half-written file.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function labCacheDir(sub?: string): string {
  const base =
    process.env.KMODLAB_CACHE ??
    (process.env.XDG_CACHE_HOME ? join(process.env.XDG_CACHE_HOME, 'kmodlab') : join(homedir(), '.cache', 'kmodlab'));
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
