/**
 * Benchmark figures: each is a list of raw samples; printed as
 * `<name>: <median> <unit> (min …, max …, n runs)` and written to bench.json.
 */
import { writeFileSync } from 'node:fs';

export interface Figure {
  name: string;
  unit: string;
  samples: number[];
  median: number;
  min: number;
  max: number;
  /** What the figure is checked against, when there is a goal. */
  goal?: string;
  /** Samples whose reading failed: not counted (a failed read is no sample), but said. */
  failed?: number;
  /** Why there is no figure although the measurement ran (e.g. a scenario failed). */
  notAFigure?: string;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function figure(name: string, unit: string, samples: number[], goal?: string, failed = 0): Figure {
  return { name, unit, samples, median: median(samples), min: Math.min(...samples), max: Math.max(...samples), goal, ...(failed ? { failed } : {}) };
}

/** Samples that may have failed to read: `undefined` is a failed read, never a 0. */
export function figureOfReadings(name: string, unit: string, readings: (number | undefined)[], goal?: string): Figure {
  const samples = readings.filter((x): x is number => x !== undefined);
  const failed = readings.length - samples.length;
  if (samples.length === 0) return { name, unit, samples, median: NaN, min: NaN, max: NaN, goal, failed, notAFigure: `all ${failed} reading(s) failed` };
  return figure(name, unit, samples, goal, failed);
}

/** A measurement that ran but whose result must not stand as a figure. */
export function notAFigure(name: string, unit: string, why: string, goal?: string): Figure {
  return { name, unit, samples: [], median: NaN, min: NaN, max: NaN, goal, notAFigure: why };
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 3 : 1);
}

export function formatFigure(f: Figure): string {
  const goal = f.goal ? `  [goal: ${f.goal}]` : '';
  if (f.notAFigure) return `${f.name}: not a figure: ${f.notAFigure}${goal}`;
  const failed = f.failed ? `, ${f.failed} failed reading(s) not counted` : '';
  return `${f.name}: ${fmt(f.median)} ${f.unit} (min ${fmt(f.min)}, max ${fmt(f.max)}, ${f.samples.length} runs${failed})${goal}`;
}

export function writeBenchJson(file: string, figures: Figure[]): void {
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), figures }, null, 2)}\n`);
}
