/**
 * No QEMU outlives kmodlab: a child process boots a node, then is terminated
 * (SIGTERM, SIGINT), exits on its own, or is SIGKILLed (no handler can run: QEMU
 * dies through setpriv's parent-death signal). The child runs the real lab code,
 * transpiled with the project's TypeScript (Node 20 cannot run .ts directly).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTool } from '../../src/targets/lab/host/tools.js';
import { alive, waitGone } from './processes.js';
import { REPO, labAvailability, primaryKernel, removeTempDirs, skipReason, tempDir } from './helpers.js';

const lab = labAvailability();

function transpileTree(files: string[], outDir: string): void {
  for (const file of files) {
    const out = join(outDir, relative(REPO, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(out), { recursive: true });
    const js = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: file,
    }).outputText;
    writeFileSync(out, js);
  }
  writeFileSync(join(outDir, 'package.json'), '{"type":"module"}\n');
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe.skipIf(!lab.ok)(`lab cleanup: no QEMU outlives kmodlab${skipReason(lab)}`, () => {
  let script: string;
  let runDir: string;

  beforeAll(() => {
    runDir = tempDir('run');
    const out = tempDir('child');
    // Only what the node needs (kernels, os-image, node, host helpers) and its one import outside the lab.
    const dirs = ['host', 'kernels', 'os-image', 'node'].map((d) => join(REPO, 'src/targets/lab', d));
    transpileTree([...dirs.flatMap(tsFiles), join(REPO, 'src/errors.ts'), join(REPO, 'test/lab/fixtures/node-child.ts')], out);
    script = join(out, 'test/lab/fixtures/node-child.js');
  });

  afterAll(() => removeTempDirs());

  /** `pdeathsig: false` leaves only the registry's handlers to do the cleanup. */
  async function bootChild(mode: 'wait' | 'exit', pdeathsig: boolean): Promise<{ child: ReturnType<typeof spawn>; qemuPid: number }> {
    const child = spawn(process.execPath, [script, primaryKernel(lab.kernels).kver, runDir, mode], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, KMODLAB_QEMU_PDEATHSIG: pdeathsig ? '1' : '0' },
    });
    const line = await new Promise<string>((resolve, reject) => {
      let buf = '';
      child.stdout!.on('data', (b: Buffer) => {
        buf += b.toString();
        if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
      });
      child.once('exit', (code) => reject(new Error(`child exited (${code}) before the node was ready`)));
    });
    const qemuPid = (JSON.parse(line) as { pid: number }).pid;
    expect(alive(qemuPid)).toBe(true);
    expect(readFileSync(`/proc/${qemuPid}/cmdline`, 'utf8')).toContain('qemu-system-x86_64');
    return { child, qemuPid };
  }

  it.each(['SIGTERM', 'SIGINT'] as const)('kills QEMU when kmodlab gets %s', async (signal) => {
    const { child, qemuPid } = await bootChild('wait', false);
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, s) => r(s)));
    child.kill(signal);
    expect(await exited).toBe(signal); // the default disposition is kept: the process dies of the signal
    expect(await waitGone(qemuPid, 5_000)).toBe(true);
  });

  it('kills QEMU when kmodlab exits without stopping its nodes', async () => {
    const { child, qemuPid } = await bootChild('exit', false);
    await new Promise((r) => child.once('exit', r));
    expect(await waitGone(qemuPid, 5_000)).toBe(true);
  });

  it.skipIf(!findTool('setpriv'))('kills QEMU when kmodlab is SIGKILLed (parent-death signal)', async () => {
    const { child, qemuPid } = await bootChild('wait', true);
    child.kill('SIGKILL');
    expect(await waitGone(qemuPid, 5_000)).toBe(true);
  });
});
