/**
 * Debian's package index, read and refreshed through apt's own clients. A stale index
 * (a machine whose `apt-get update` ran weeks ago) offers old kernels only and misses
 * newer series, so `lab setup` refreshes it before choosing. `APT_CONFIG` in `env`
 * points apt at another configuration (the tests use a local repository).
 */
import { spawnSync } from 'node:child_process';
import { UserError } from '../../../errors.js';

function asRoot(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? [cmd, args] : ['sudo', [cmd, ...args]];
}

/** `apt-get update`: the index then lists what the mirror offers today. */
export function refreshPackageIndex(env: NodeJS.ProcessEnv = process.env): void {
  const [cmd, args] = asRoot('apt-get', ['update', '-q']);
  const r = spawnSync(cmd, args, { encoding: 'utf8', env });
  if (r.status !== 0) {
    throw new UserError(`refreshing the package index failed (${[cmd, ...args].join(' ')}, exit ${r.status ?? r.signal})`, (r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join('\n') || 'it needs root and access to the Debian package mirror');
  }
}

/** Names of the `linux-image-<digit>…` packages in the index (`apt-cache search`). */
export function kernelImagePackages(env: NodeJS.ProcessEnv = process.env): string[] {
  const r = spawnSync('apt-cache', ['search', '--names-only', '^linux-image-[0-9]'], { encoding: 'utf8', env });
  if (r.status !== 0) throw new UserError('apt-cache search failed: is this a Debian-based machine?', (r.stderr || r.error?.message || '').trim());
  return r.stdout.split('\n').filter(Boolean);
}
