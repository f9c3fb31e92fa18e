/**
 * How long the command line takes to start: `kmodlab --version` from process spawn to exit
 * (Node's own start-up included). Every command a user types pays it, and so does each
 * `kmodlab` a script or a test runs; the targets and client-node load only for the commands
 * that talk to an API. A run that exits non-zero is not a sample.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { figure, notAFigure, type Figure } from './figures.js';

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'kmodlab.js');

export function cliStartUp(report: (f: Figure) => void, runs: number): void {
  const name = 'CLI start-up (kmodlab --version)';
  const goal = '≤ 0.8 s';
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' });
    const s = (performance.now() - t0) / 1000;
    if (r.status === 0) samples.push(s);
  }
  report(samples.length ? figure(name, 's', samples, goal, runs - samples.length) : notAFigure(name, 's', `all ${runs} runs failed`, goal));
}
