/**
 * What `lab setup` changes on the host, said before it changes it, and undone by
 * `lab teardown` where it can be.
 *
 * The one change beyond installing packages: Debian's kernel packages run
 * initramfs-tools' kernel hook on install (update-initramfs, ~1.5 min per kernel on
 * 2 cores) and the lab never boots that initramfs, so scripts/lab-packages.sh diverts
 * the hook (dpkg-divert) to a name run-parts ignores. While diverted, *every* kernel
 * installed on the host gets no initramfs, including the host's own kernel updates.
 * dpkg-divert honours DPKG_ROOT and DPKG_ADMINDIR, so the tests run it on a scratch root.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../../errors.js';

export const LAB_PACKAGES_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'scripts', 'lab-packages.sh');

/** initramfs-tools' hook, run by run-parts for each installed kernel. */
export const INITRAMFS_HOOK = '/etc/kernel/postinst.d/initramfs-tools';
/** Where scripts/lab-packages.sh diverts it (run-parts skips names with a dot). */
export const INITRAMFS_HOOK_DIVERTED = `${INITRAMFS_HOOK}.kmodlab-disabled`;

export interface SetupPlan {
  /** Debian packages that are not installed yet. */
  packages: string[];
  /** The initramfs hook is not diverted yet and will be. */
  divert: boolean;
}

/** Asks scripts/lab-packages.sh (the one list of lab packages) what it would change. */
export function setupPlan(kernels: string[], env: NodeJS.ProcessEnv = process.env): SetupPlan {
  const r = spawnSync(LAB_PACKAGES_SCRIPT, ['--plan'], { encoding: 'utf8', env: { ...env, LAB_KERNELS: kernels.join(' ') } });
  if (r.status !== 0) throw new UserError(`${LAB_PACKAGES_SCRIPT} --plan failed (exit ${r.status ?? r.signal})`, (r.stderr || r.error?.message || '').trim());
  const lines = r.stdout.split('\n').map((l) => l.trim().split(/\s+/));
  return {
    packages: lines.filter((l) => l[0] === 'install' && l[1]).map((l) => l[1]!),
    divert: lines.some((l) => l[0] === 'divert'),
  };
}

/** The host-change lines `lab setup` shows before asking. */
export function describePlan(plan: SetupPlan): string[] {
  const lines: string[] = [];
  if (plan.packages.length) lines.push(`install ${plan.packages.length} Debian package(s) with apt-get: ${plan.packages.join(' ')}`);
  if (plan.divert) {
    lines.push(
      `divert initramfs-tools' kernel hook (dpkg-divert ${INITRAMFS_HOOK} → ${INITRAMFS_HOOK_DIVERTED}):`,
      '  kernels installed on this host from now on get NO initramfs in /boot, the host\'s own kernel updates included;',
      '  do not do this on a machine that must boot newly installed kernels. `kmodlab lab teardown` undoes it.',
    );
  }
  return lines;
}

function dpkgDivert(args: string[], env: NodeJS.ProcessEnv): string {
  const r = spawnSync('dpkg-divert', args, { encoding: 'utf8', env });
  if (r.status !== 0) throw new UserError(`dpkg-divert ${args.join(' ')} failed (exit ${r.status ?? r.signal})`, (r.stderr || r.error?.message || '').trim() || 'it needs root');
  return r.stdout;
}

/** Is the hook diverted by kmodlab (and not by someone else)? */
export function hookDiverted(env: NodeJS.ProcessEnv = process.env): boolean {
  return dpkgDivert(['--list', INITRAMFS_HOOK], env).includes(INITRAMFS_HOOK_DIVERTED);
}

/** Removes kmodlab's divert and puts the hook back; false if there was none. */
export function undoHookDivert(env: NodeJS.ProcessEnv = process.env): boolean {
  if (!hookDiverted(env)) return false;
  dpkgDivert(['--rename', '--remove', INITRAMFS_HOOK], env);
  return true;
}
