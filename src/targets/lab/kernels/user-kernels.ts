/**
 * Kernels a user brought (e.g. a RHEL kernel and its kernel-devel unpacked from RPMs,
 * for an exact preflight of the release their nodes run): remembered in
 * `<config>/kernels.json` ($KMODLAB_CONFIG, else $XDG_CONFIG_HOME/kmodlab, else
 * ~/.config/kmodlab) and listed by the catalog next to the installed ones.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../../errors.js';
import { userKernel, type LabKernel, type UserKernelInput } from './catalog.js';

/** Checked by hand rather than with zod: the lab's node code is also run from a bare copy (cleanup tests). */
function isEntry(e: unknown): e is UserKernelInput {
  if (typeof e !== 'object' || e === null) return false;
  const o = e as Record<string, unknown>;
  const optionalString = (v: unknown) => v === undefined || typeof v === 'string';
  return typeof o.image === 'string' && typeof o.buildDir === 'string' && optionalString(o.modulesDir) && optionalString(o.kver) && optionalString(o.name);
}

export function userKernelsFile(): string {
  const dir =
    process.env.KMODLAB_CONFIG ??
    (process.env.XDG_CONFIG_HOME ? join(process.env.XDG_CONFIG_HOME, 'kmodlab') : join(homedir(), '.config', 'kmodlab'));
  return join(dir, 'kernels.json');
}

function readEntries(): UserKernelInput[] {
  const file = userKernelsFile();
  if (!existsSync(file)) return [];
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`${file}: not valid JSON (${(e as Error).message}): fix or delete it`);
  }
  if (!Array.isArray(data) || !data.every(isEntry)) throw new UserError(`${file}: expected a list of {image, buildDir, modulesDir?, kver?, name?}: fix or delete it`);
  return data;
}

function writeEntries(entries: UserKernelInput[]): void {
  const file = userKernelsFile();
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, `${JSON.stringify(entries, null, 2)}\n`);
}

/** User kernels that are still usable (a moved or deleted tree drops out of the list). */
export function listUserKernels(): LabKernel[] {
  const out: LabKernel[] = [];
  for (const e of readEntries()) {
    try {
      out.push(userKernel(e));
    } catch {
      // no longer valid: `kmodlab lab add-kernel` reports the reason when it is re-added
    }
  }
  return out;
}

/** Validates and remembers a user kernel; returns it. */
export function addUserKernel(input: UserKernelInput): LabKernel {
  const kernel = userKernel(input);
  const entries = readEntries().filter((e) => {
    try {
      return userKernel(e).kver !== kernel.kver;
    } catch {
      return false;
    }
  });
  writeEntries([...entries, { image: kernel.vmlinuz, buildDir: kernel.buildDir, modulesDir: kernel.modulesDir, kver: kernel.kver, ...(kernel.name ? { name: kernel.name } : {}) }]);
  return kernel;
}

export function removeUserKernel(kver: string): boolean {
  const entries = readEntries();
  const kept = entries.filter((e) => (e.kver ?? '') !== kver);
  if (kept.length === entries.length) return false;
  writeEntries(kept);
  return true;
}
