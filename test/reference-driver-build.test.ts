/**
 * The reference driver really compiles against a real kernel build tree (Debian's
 * linux-headers, installed by .ci/run) with the driver's own build commands.
 */
import { execFileSync, execSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDriver } from '../src/driver/load.js';
import { REFERENCE_DRIVER_DIR, REFERENCE_DRIVER_FILE } from '../src/driver/reference.js';
import { moduleFile } from '../src/driver/spec.js';

function installedKernelBuildTrees(): string[] {
  if (!existsSync('/lib/modules')) return [];
  return readdirSync('/lib/modules').filter((k) => existsSync(path.join('/lib/modules', k, 'build', 'Makefile')));
}

describe('reference driver build', () => {
  const kernels = installedKernelBuildTrees();
  it('has at least one kernel build tree installed (.ci/run installs linux-headers-amd64)', () => {
    expect(kernels.length).toBeGreaterThan(0);
  });

  it.each(kernels.slice(0, 2))('builds both modules against /lib/modules/%s/build', async (kver) => {
    const driver = await loadDriver(REFERENCE_DRIVER_FILE);
    const work = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-build-'));
    cpSync(REFERENCE_DRIVER_DIR, work, { recursive: true });
    for (const cmd of driver.spec.build.commands) {
      execSync(cmd, { cwd: work, env: { ...process.env, KVER: kver }, stdio: 'pipe', shell: '/bin/sh' });
    }
    for (const m of driver.spec.modules) {
      const ko = path.join(work, moduleFile(m));
      expect(existsSync(ko), `${ko} built`).toBe(true);
      const vermagic = execFileSync('modinfo', ['-F', 'vermagic', ko], { encoding: 'utf8' }).trim();
      expect(vermagic.split(' ')[0]).toBe(kver);
      const name = execFileSync('modinfo', ['-F', 'name', ko], { encoding: 'utf8' }).trim();
      expect(name).toBe(m.name.replace(/-/g, '_'));
    }
    const params = execFileSync('modinfo', ['-p', path.join(work, 'simple-kmod.ko')], { encoding: 'utf8' });
    expect(params).toMatch(/^greeting:/m);
  });
});
