/**
 * The directory `render --output-dir` writes into: checked before anything is created,
 * so every mistake (a file, a dangling symlink, a read-only place, a kernel interface
 * such as /proc or /sys, a directory that already holds files) is one line naming the
 * flag and why — never a stack trace, never a hang.
 *
 * Kernel pseudo file systems are refused by their file-system type (statfs), not by
 * path: a recursive mkdir under /proc never gets EEXIST/ENOENT the way it expects and
 * spins, and /sys answers with errors that say nothing about the flag.
 */
import { constants } from 'node:fs';
import { access, lstat, readdir, readlink, rm, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';

const FLAG = '--output-dir';

/** statfs(2) f_type values of kernel interfaces (linux/magic.h). */
const PSEUDO_FILESYSTEMS: Record<number, string> = {
  0x9fa0: 'procfs',
  0x62656572: 'sysfs',
  0x64626720: 'debugfs',
  0x74726163: 'tracefs',
  0x73636673: 'securityfs',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0xcafe4a11: 'bpf',
};

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a part of the path is not a directory',
  EEXIST: 'a file is in the way',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
};

/** Turns a file-system error while writing under --output-dir into a UserError (others stay internal). */
export function outputDirError(dir: string, e: unknown, doing: string): Error {
  const code = errCode(e);
  const reason = REASONS[code];
  if (reason === undefined) return e instanceof Error ? e : new Error(String(e));
  return new UserError(`${FLAG} ${dir}: cannot ${doing}: ${reason} (${code})`);
}

async function lstatOrUndefined(p: string) {
  try {
    return await lstat(p);
  } catch (e) {
    if (errCode(e) === 'ENOENT') return undefined;
    if (errCode(e) === 'ENOTDIR') throw new UserError(`${FLAG} ${p}: a part of the path is not a directory`);
    throw e;
  }
}

/** The nearest ancestor of `p` (or `p`) that exists. */
async function nearestExisting(p: string): Promise<string> {
  let cur = p;
  for (;;) {
    if ((await lstatOrUndefined(cur)) !== undefined) return cur;
    const parent = path.dirname(cur);
    if (parent === cur) return cur;
    cur = parent;
  }
}

export interface OutputDirCheck {
  /** Absolute path. */
  dir: string;
  /** Entries already in it (empty when it does not exist yet). */
  existing: string[];
}

/**
 * Checks that `dir` can hold a render, without creating anything. A directory that
 * already holds files is refused unless `overwrite`: `oc apply -f .` in a method folder
 * must apply exactly this render (not, say, the MachineConfig of an earlier --pool).
 */
export async function checkOutputDir(dir: string, options: { overwrite?: boolean } = {}): Promise<OutputDirCheck> {
  const abs = path.resolve(dir);
  const st = await lstatOrUndefined(abs);
  if (st?.isSymbolicLink()) {
    const target = await readlink(abs);
    const resolved = await stat(abs).catch((e: unknown) => errCode(e));
    if (typeof resolved === 'string') {
      throw new UserError(`${FLAG} ${dir}: is a symbolic link to ${target}, which does not exist (${resolved}); create the target or choose another directory`);
    }
    if (!resolved.isDirectory()) throw new UserError(`${FLAG} ${dir}: is a symbolic link to ${target}, which is not a directory`);
  } else if (st && !st.isDirectory()) {
    throw new UserError(`${FLAG} ${dir}: exists and is not a directory; choose a directory (it is created when missing)`);
  }
  const existingDir = st ? abs : await nearestExisting(path.dirname(abs));
  const existingSt = await stat(existingDir).catch(() => undefined);
  if (existingSt && !existingSt.isDirectory()) {
    throw new UserError(`${FLAG} ${dir}: cannot create it: ${existingDir} is not a directory`);
  }
  const fs = await statfs(existingDir).catch(() => undefined);
  const pseudo = fs ? PSEUDO_FILESYSTEMS[fs.type] : undefined;
  if (pseudo !== undefined) {
    throw new UserError(`${FLAG} ${dir}: ${existingDir} is on ${pseudo}, a kernel interface that cannot hold files; choose a directory on a real file system`);
  }
  try {
    await access(existingDir, constants.W_OK | constants.X_OK);
  } catch (e) {
    const code = errCode(e);
    throw new UserError(`${FLAG} ${dir}: ${existingDir === abs ? 'is not writable' : `cannot be created: ${existingDir} is not writable`}: ${REASONS[code] ?? code} (${code})`);
  }
  const existing = st ? await readdir(abs).catch((e: unknown) => Promise.reject(outputDirError(dir, e, 'list it'))) : [];
  if (existing.length > 0 && !options.overwrite) {
    const shown = existing.slice(0, 5).join(', ') + (existing.length > 5 ? `, … (${existing.length} entries)` : '');
    throw new UserError(
      `${FLAG} ${dir}: is not empty (${shown}); kmodlab writes into a clean directory so that \`oc apply -f .\` applies only this render`,
      'choose a new directory, or add --overwrite to replace the method folders this render writes',
    );
  }
  return { dir: abs, existing };
}

/** With --overwrite: removes the method folders about to be written, so no stale file of an earlier render stays. */
export async function clearMethodDirs(check: OutputDirCheck, methods: readonly string[]): Promise<void> {
  for (const m of methods) {
    if (!check.existing.includes(m)) continue;
    await rm(path.join(check.dir, m), { recursive: true, force: true }).catch((e: unknown) => Promise.reject(outputDirError(check.dir, e, `remove ${m}/`)));
  }
}
