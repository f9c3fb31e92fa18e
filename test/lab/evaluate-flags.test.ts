/**
 * `kmodlab evaluate` on the lab checks every flag before it creates anything: a bad
 * --nodes, an unknown --kernel or an --rt-kernel that is not realtime exit 2 naming the
 * flag and leave no run directory behind. No node is booted.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { listKernels } from '../../src/targets/lab/kernels/catalog.js';
import { removeTempDirs, tempDir } from './helpers.js';

async function cli(...args: string[]) {
  let out = '';
  let err = '';
  const code = await main(['node', 'kmodlab', ...args], { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

afterAll(removeTempDirs);

const plain = listKernels().find((k) => !k.flavour.includes('rt'));

describe('evaluate --target lab: bad input leaves nothing behind', () => {
  it.each([
    [['--nodes', '0'], /--nodes: expected a whole number from 1/],
    [['--memory', 'lots'], /--memory: expected a whole number/],
    [['--kernel', 'bogus'], /--kernel bogus/],
    [['--methods', 'dkms'], /--methods: unknown value "dkms"/],
  ])('%j → exit 2, no run directory', async (flags, message) => {
    const out = join(tempDir('eval-flags'), 'run');
    const r = await cli('evaluate', ...flags, '--out', out);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });

  it.skipIf(!plain)(`--rt-kernel naming a kernel that is not realtime → exit 2 naming the flag${plain ? '' : ' (skipped: no default-flavour kernel installed)'}`, async () => {
    const out = join(tempDir('eval-flags'), 'run');
    const r = await cli('evaluate', '--rt-kernel', plain!.kver, '--out', out);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`--rt-kernel ${plain!.kver}: not a realtime kernel`);
    expect(existsSync(out)).toBe(false);
  });
});
