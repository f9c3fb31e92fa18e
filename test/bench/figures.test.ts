/**
 * Bench figures are honest about what was not measured: a failed reading is no sample
 * (never 0), and a measurement that did not complete is "not a figure", with why.
 */
import { describe, expect, it } from 'vitest';
import { figureOfReadings, formatFigure, notAFigure } from '../../src/bench/figures.js';

describe('bench figures', () => {
  it('a failed reading is not a sample, and the line counts it', () => {
    const f = figureOfReadings('node memory', 'MiB', [120, undefined, 140], '≤ 256 MiB');
    expect(f.samples).toEqual([120, 140]);
    expect(f.min).toBe(120); // not 0: the failed read is not in the figure
    expect(f.failed).toBe(1);
    expect(formatFigure(f)).toBe('node memory: 130 MiB (min 120, max 140, 2 runs, 1 failed reading(s) not counted)  [goal: ≤ 256 MiB]');
  });

  it('all readings failed: no figure, and the line says so', () => {
    const line = formatFigure(figureOfReadings('node memory', 'MiB', [undefined, undefined]));
    expect(line).toBe('node memory: not a figure: all 2 reading(s) failed');
    expect(line).not.toMatch(/\b0 MiB/);
  });

  it('a run with a failed scenario is not a figure', () => {
    const line = formatFigure(notAFigure('full default evaluation, cold build cache', 's', '2 scenario(s) failed after 181.0 s', '≤ 300 s'));
    expect(line).toBe('full default evaluation, cold build cache: not a figure: 2 scenario(s) failed after 181.0 s  [goal: ≤ 300 s]');
  });
});
