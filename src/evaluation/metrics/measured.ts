/**
 * A figure is either measured — with the event lines it was derived from, so anyone
 * can audit it in events.jsonl — or not measured, with the reason. There is no third
 * state: nothing is estimated, defaulted or filled in.
 */
export type Scalar = number | boolean | string;

export interface MeasuredValue<T> {
  value: T;
  /** events.jsonl line numbers behind the value (empty when the value rests on an absence, see `note`). */
  from: number[];
  /** What the value means when that is not obvious (e.g. "no pods observed"). */
  note?: string;
}
export interface NotMeasured {
  notMeasured: string;
}
export type Measured<T> = MeasuredValue<T> | NotMeasured;

export function measured<T>(value: T, from: readonly number[], note?: string): MeasuredValue<T> {
  const lines = [...new Set(from)].sort((a, b) => a - b);
  return note === undefined ? { value, from: lines } : { value, from: lines, note };
}

export function notMeasured(reason: string): NotMeasured {
  return { notMeasured: reason };
}

export function isMeasured<T>(m: Measured<T> | undefined): m is MeasuredValue<T> {
  return m !== undefined && 'value' in m;
}

/** The median of a non-empty list (mean of the middle two for even lengths). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Kernel module names: `simple-kmod` and `simple_kmod` are the same module (/sys/module uses `_`). */
export function moduleKey(name: unknown): string {
  return String(name).replace(/-/g, '_');
}
