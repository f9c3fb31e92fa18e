/**
 * Content hash of a driver source tree: what a registry's image digest would change
 * with. Build outputs (.o, .ko, kbuild's .cmd files) are ignored, so a tree someone
 * built in place still hashes like the clean tree.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, lstatSync, readlinkSync } from 'node:fs';
import { join, relative } from 'node:path';

const IGNORED = /(^|\/)(\.git|\.tmp_versions)(\/|$)|\.(o|ko|mod|mod\.c|mod\.o|cmd|order|symvers|a)$|(^|\/)(Module\.symvers|modules\.order)$/;

export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const abs = join(d, entry.name);
      const rel = relative(dir, abs);
      if (IGNORED.test(rel)) continue;
      if (entry.isDirectory()) walk(abs);
      else out.push(rel);
    }
  };
  walk(dir);
  return out;
}

export function hashSourceTree(dir: string): string {
  const h = createHash('sha256');
  for (const rel of sourceFiles(dir)) {
    const abs = join(dir, rel);
    const st = lstatSync(abs);
    h.update(rel).update('\0').update(String(st.mode & 0o111 ? 'x' : '-')).update('\0');
    h.update(st.isSymbolicLink() ? `link:${readlinkSync(abs)}` : readFileSync(abs)).update('\0');
  }
  return h.digest('hex');
}
