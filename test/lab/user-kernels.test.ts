import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { listUserKernels } from '../../src/targets/lab/kernels/user-kernels.js';
import { labAvailability } from './helpers.js';

const availability = labAvailability();
const kernel = availability.kernels.find((k) => k.source === 'system');

async function cli(...args: string[]) {
  let out = '';
  let err = '';
  const code = await main(['node', 'kmodlab', ...args], { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

describe.skipIf(!kernel)('kmodlab lab add-kernel / remove-kernel', () => {
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env.KMODLAB_CONFIG;
    process.env.KMODLAB_CONFIG = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-config-'));
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.KMODLAB_CONFIG;
    else process.env.KMODLAB_CONFIG = saved;
  });

  it('remembers a kernel given as image + build tree + modules, and forgets it', async () => {
    const build = path.join(kernel!.modulesDir, 'build');
    const r = await cli('lab', 'add-kernel', '--image', kernel!.vmlinuz, '--build', build, '--modules', kernel!.modulesDir, '--kver', kernel!.kver);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const file = path.join(process.env.KMODLAB_CONFIG!, 'kernels.json');
    expect(existsSync(file)).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toHaveLength(1);
    expect(listUserKernels().map((k) => [k.kver, k.source])).toEqual([[kernel!.kver, 'user']]);
    expect((await cli('lab', 'remove-kernel', kernel!.kver)).code).toBe(0);
    expect(listUserKernels()).toEqual([]);
  });

  it('refuses a build directory that is not a kbuild tree, naming it (exit 2)', async () => {
    const r = await cli('lab', 'add-kernel', '--image', kernel!.vmlinuz, '--build', os.tmpdir());
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${os.tmpdir()} is not a kbuild tree`);
  });
});
