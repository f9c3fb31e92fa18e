/**
 * Image content from the host's installed Debian packages: a package set closed over
 * Depends/Pre-Depends (alternatives: the first installed one; virtual names: an
 * installed provider), and the files those packages installed (`dpkg -L`), so an image
 * gets exactly what the host's dpkg put there — the same gcc, make, binutils, libc and
 * kernel build tree a module is built with on the host.
 *
 * Chosen over debootstrap: it needs no mirror access and no package downloads, and
 * closing gcc, make, binutils, libc6-dev and one kernel's headers takes well under a
 * second of dpkg-query here, where a debootstrap minbase took 55 s (lab notes) before
 * any toolchain package was installed.
 *
 * Paths are written in their merged-/usr form (Debian 12 has /lib → usr/lib, /bin →
 * usr/bin, …); the image's base layer carries those symlinks.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { run } from '../host/run.js';

export interface InstalledPackage {
  name: string;
  version: string;
  /** Depends + Pre-Depends, each an alternative group. */
  depends: string[][];
  provides: string[];
}

/** `a (>= 1) | b:any, c` → [['a','b'],['c']]. */
export function parseDepends(field: string): string[][] {
  return field
    .split(',')
    .map((group) =>
      group
        .split('|')
        .map((alt) => alt.trim().replace(/\s*\(.*?\)/g, '').replace(/:\w+$/, '').trim())
        .filter(Boolean),
    )
    .filter((g) => g.length > 0);
}

/** Every installed package, with what it depends on and provides. */
export async function installedPackages(): Promise<Map<string, InstalledPackage>> {
  const fmt = '${db:Status-Abbrev}\\t${Package}\\t${Version}\\t${Pre-Depends}, ${Depends}\\t${Provides}\\n';
  const out = (await run('dpkg-query', ['-W', '-f', fmt])).stdout.toString('utf8');
  const pkgs = new Map<string, InstalledPackage>();
  for (const line of out.split('\n')) {
    const [status, name, version, depends, provides] = line.split('\t');
    if (!name || !status?.startsWith('ii')) continue;
    pkgs.set(name, { name, version: version ?? '', depends: parseDepends(depends ?? ''), provides: parseDepends(provides ?? '').flat() });
  }
  return pkgs;
}

/** The closure of `roots` over installed packages, not entering `exclude`d ones; throws naming a root that is not installed. */
export function packageClosure(roots: readonly string[], installed: Map<string, InstalledPackage>, exclude: (name: string) => boolean = () => false): InstalledPackage[] {
  const providers = new Map<string, string>();
  for (const p of installed.values()) for (const v of p.provides) if (!providers.has(v)) providers.set(v, p.name);
  const resolve = (name: string) => (installed.has(name) ? name : providers.get(name));
  const seen = new Map<string, InstalledPackage>();
  const missing = roots.filter((r) => resolve(r) === undefined);
  if (missing.length) throw new Error(`packages not installed on this host: ${missing.join(', ')}`);
  const queue = roots.map((r) => resolve(r)!);
  while (queue.length) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    const pkg = installed.get(name)!;
    seen.set(name, pkg);
    for (const group of pkg.depends) {
      const hit = group.map(resolve).find((n): n is string => n !== undefined);
      if (hit && !seen.has(hit) && !exclude(hit)) queue.push(hit);
    }
  }
  return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Documentation is left out of images (as container base images do). */
const SKIP = /^\/usr\/share\/(doc|man|info|locale|lintian|bug)\//;

/** A host path in its merged-/usr form (the directory resolved, the file itself not). */
function canonicalPath(p: string): string | undefined {
  try {
    return join(realpathSync(dirname(p)), basename(p));
  } catch {
    return undefined;
  }
}

/**
 * Links update-alternatives made (`/usr/bin/awk` → /etc/alternatives/awk → mawk): no
 * package lists them, but tools rely on them (kbuild runs `awk`). From
 * /var/lib/dpkg/alternatives/<name>: mode, master link, then slave name/link pairs.
 */
function alternativesLinks(dbDir = '/var/lib/dpkg/alternatives'): Array<{ name: string; link: string }> {
  if (!existsSync(dbDir)) return [];
  const out: Array<{ name: string; link: string }> = [];
  for (const name of readdirSync(dbDir)) {
    const lines = readFileSync(join(dbDir, name), 'utf8').split('\n');
    if (lines[1]) out.push({ name, link: lines[1] });
    for (let i = 2; i + 1 < lines.length && lines[i] !== ''; i += 2) out.push({ name: lines[i]!, link: lines[i + 1]! });
  }
  return out;
}

/**
 * Files (not directories) the packages installed that are still on disk, plus the
 * alternatives links that resolve to them, as canonical (merged-/usr) absolute paths,
 * sorted.
 */
export async function packageFiles(pkgs: readonly InstalledPackage[]): Promise<string[]> {
  if (pkgs.length === 0) return [];
  const out = (await run('dpkg', ['-L', ...pkgs.map((p) => p.name)])).stdout.toString('utf8');
  const files = new Set<string>();
  for (const line of out.split('\n')) {
    if (!line.startsWith('/')) continue;
    try {
      if (lstatSync(line).isDirectory()) continue;
    } catch {
      continue; // removed after install (e.g. path-exclude), or a diversion's original
    }
    const canonical = canonicalPath(line);
    if (canonical && !SKIP.test(canonical)) files.add(canonical);
  }
  for (const { name, link } of alternativesLinks()) {
    const alt = `/etc/alternatives/${name}`;
    let target: string;
    try {
      target = realpathSync(alt);
    } catch {
      continue; // a dangling alternative
    }
    const canonicalLink = canonicalPath(link);
    if (!files.has(target) || !canonicalLink || SKIP.test(canonicalLink)) continue;
    if (readlinkSafe(link) !== alt) continue; // the admin replaced the link
    files.add(alt);
    files.add(canonicalLink);
  }
  return [...files].sort();
}

function readlinkSafe(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
}

/** `name=version` lines: what content-addresses an image made of packages. */
export function packageManifest(pkgs: readonly InstalledPackage[]): string {
  return pkgs.map((p) => `${p.name}=${p.version}`).join('\n');
}

/** A dpkg status database for the packages, so `dpkg -l` in the image tells what it holds. */
export async function dpkgStatus(pkgs: readonly InstalledPackage[]): Promise<string> {
  if (pkgs.length === 0) return '';
  return (await run('dpkg-query', ['-s', ...pkgs.map((p) => p.name)])).stdout.toString('utf8');
}
