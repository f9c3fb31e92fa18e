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
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function figure(name: string, unit: string, samples: number[], goal?: string): Figure {
  return { name, unit, samples, median: median(samples), min: Math.min(...samples), max: Math.max(...samples), goal };
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 3 : 1);
}

export function formatFigure(f: Figure): string {
  return `${f.name}: ${fmt(f.median)} ${f.unit} (min ${fmt(f.min)}, max ${fmt(f.max)}, ${f.samples.length} runs)${f.goal ? `  [goal: ${f.goal}]` : ''}`;
}

export function writeBenchJson(file: string, figures: Figure[]): void {
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), figures }, null, 2)}\n`);
}
