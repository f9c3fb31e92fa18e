/** Shared by the report tests: fixture runs copied to a temp dir and reported. */
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeReports, type WrittenReport } from '../../src/report/write.js';

export const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/runs');
export const FIXED_NOW = new Date('2026-11-25T12:00:00Z');

/** Copies a fixture run (reports are written into the run dir) and reports it. */
export function reportFixture(name: 'complete' | 'interrupted' | 'lab-recorded' | 'lab-baseline' | 'lab-default'): WrittenReport & { dir: string } {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'kmodlab-report-')), name);
  cpSync(path.join(FIXTURES, name), dir, { recursive: true });
  return { ...writeReports(dir, { now: FIXED_NOW }), dir };
}
