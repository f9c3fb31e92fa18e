/** Ctrl-C during evaluate: the partial report is written and its path printed; exit 130. */
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { reportOnInterrupt } from '../../src/cli/interrupt.js';
import { Recorder } from '../../src/evaluation/recorder.js';
import { FIXTURES } from './support.js';

describe('reportOnInterrupt', () => {
  it.each([
    ['SIGINT', 130, /^interrupted \(Ctrl-C\): partial report of what was recorded: .*report\.html \(also report\.md, report\.json\)$/m],
    ['SIGTERM', 143, /^stopped \(SIGTERM\): partial report/m],
  ] as const)('%s writes the partial report, says where, exits %i', (signal, code, said) => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'kmodlab-int-')), 'run');
    // A run cut short during a scenario (no run-end), the recorder still open.
    cpSync(path.join(FIXTURES, 'interrupted'), dir, { recursive: true });
    const recorder = new Recorder(dir);
    let stderr = '';
    const exits: number[] = [];
    const remove = reportOnInterrupt({ runDir: dir, recorder, io: { stdout: () => undefined, stderr: (t) => void (stderr += t) }, exit: (c) => void exits.push(c) });
    try {
      process.emit(signal, signal);
    } finally {
      remove();
    }
    expect(exits).toEqual([code]);
    expect(stderr).toMatch(said);
    expect(stderr).toContain(path.join(dir, 'report.html'));
    const report = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
    expect(report.run.status).toBe('interrupted');
    expect(existsSync(path.join(dir, 'report.md'))).toBe(true);
    // Nothing is recorded after the report was made.
    expect(() => recorder.record('progress', { step: 'late' })).toThrow(/closed/);
    // The handlers are gone once used: a second signal does nothing here.
    expect(process.listeners(signal).length).toBe(process.listeners(signal).filter((l) => l.name !== 'handler').length);
  });
});
