/**
 * Bench figure for `kmodlab check`: the reference driver on 4 kernels (a z-stream pair,
 * another series, a realtime kernel — as many of these as are installed), with a cold
 * build store (everything compiled) and then warm (every build a cache hit). Wall time
 * of the whole matrix, as a user waits for it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCheck } from '../check/run-check.js';
import { loadDriver } from '../driver/load.js';
import { REFERENCE_DRIVER_FILE } from '../driver/reference.js';
import type { LabKernel } from '../targets/lab/kernels/catalog.js';
import { listKernels } from '../targets/lab/kernels/catalog.js';
import { chooseLabKernels } from '../targets/lab/kernels/lab-releases.js';
import { figure, type Figure } from './figures.js';

function checkKernels(): LabKernel[] {
  const all = listKernels();
  const roles = chooseLabKernels(all);
  const other = all.filter((k) => k.series !== roles.from.series && !/rt/.test(k.flavour)).at(-1);
  const picked = [roles.from, roles.upgradeTo, other, roles.realtime].filter((k): k is LabKernel => !!k);
  return picked.filter((k, i) => picked.indexOf(k) === i);
}

export async function benchCheck(report: (f: Figure) => void, runs: number): Promise<void> {
  const driver = await loadDriver(REFERENCE_DRIVER_FILE);
  const kernels = checkKernels();
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < runs; i++) {
    const store = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-bench-check-'));
    try {
      for (const samples of [cold, warm]) {
        const r = await runCheck({ driver, kernels, buildStore: store });
        if (r.summary.failed > 0 || r.summary.skipped > 0) throw new Error(`check of the reference driver did not pass: ${JSON.stringify(r.summary)}`);
        const cached = r.kernels.filter((k) => k.build.cached).length;
        if ((samples === warm) !== (cached === kernels.length)) throw new Error(`check bench: ${cached} of ${kernels.length} builds were cache hits in the ${samples === warm ? 'warm' : 'cold'} run`);
        samples.push(r.durationMs / 1000);
      }
    } finally {
      rmSync(store, { recursive: true, force: true });
    }
  }
  const n = `${kernels.length} kernels`;
  report(figure(`check, reference driver on ${n}, warm build cache`, 's', warm, kernels.length === 4 ? '≤ 60 s' : undefined));
  report(figure(`check, reference driver on ${n}, cold build cache`, 's', cold, kernels.length === 4 ? '≤ 120 s' : undefined));
}
