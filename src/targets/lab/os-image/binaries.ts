/**
 * Copy a host binary into a staging root together with the shared libraries it
 * needs (as `ldd` reports them), so a dynamically linked tool such as kmod runs
 * inside the initramfs. Static binaries (busybox-static) are copied alone.
 */
import { copyFileSync, chmodSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from '../host/run.js';
import { requireTool } from '../host/tools.js';

/** Library paths from `ldd` output (absolute paths only; vdso has none). */
export function parseLdd(output: string): string[] {
  const libs: string[] = [];
  for (const line of output.split('\n')) {
    const arrow = /=>\s+(\/\S+)/.exec(line);
    const bare = /^\s*(\/\S+)\s+\(/.exec(line);
    const p = arrow?.[1] ?? bare?.[1];
    if (p && !libs.includes(p)) libs.push(p);
  }
  return libs;
}

export async function sharedLibraries(binary: string): Promise<string[]> {
  const res = await run(requireTool('ldd'), [binary], { allowFailure: true });
  // "not a dynamic executable" / "statically linked": nothing to copy.
  if (res.code !== 0) return [];
  return parseLdd(res.stdout.toString('utf8'));
}

function copyInto(root: string, src: string, dest: string, mode: number): void {
  const to = join(root, dest);
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(src, to); // follows symlinks: the library's real content lands under the ldd name
  chmodSync(to, mode);
}

/** Copy `binary` to `<root>/<dest>` and its libraries to the same paths they have on the host. Returns the copied files. */
export async function installBinary(root: string, binary: string, dest: string): Promise<string[]> {
  copyInto(root, binary, dest, 0o755);
  const libs = await sharedLibraries(binary);
  for (const lib of libs) copyInto(root, lib, lib, 0o755);
  return [binary, ...libs];
}
