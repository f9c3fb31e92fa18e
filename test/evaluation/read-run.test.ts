/** Reading a run back: damaged lines are warnings with line numbers, never crashes. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { readRun } from '../../src/evaluation/read-run.js';
import { runOf, runStart, up } from './helpers.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/runs');

describe('readRun', () => {
  it('reads the complete fixture without warnings', () => {
    const run = readRun(path.join(FIXTURES, 'complete'));
    expect(run.warnings).toEqual([]);
    expect(run.interrupted).toBe(false);
    expect(run.end?.data.status).toBe('completed');
    expect(run.events[0]!.line).toBe(1);
  });

  it('reads the interrupted fixture: cut-short last line is a warning, the run is interrupted', () => {
    const run = readRun(path.join(FIXTURES, 'interrupted'));
    expect(run.interrupted).toBe(true);
    expect(run.warnings).toHaveLength(1);
    expect(run.warnings[0]).toMatch(/^line \d+: last line is cut short/);
  });

  it('reports malformed lines with their line numbers and keeps the rest', () => {
    const run = runOf([runStart(), up(10, 'b1')], '');
    expect(run.events).toHaveLength(2);
    const dir = mkdtempSync(path.join(tmpdir(), 'kmodlab-read-'));
    const good = JSON.stringify({ t: 1, source: 'lab', kind: 'run-start', data: runStart().data });
    writeFileSync(
      path.join(dir, 'events.jsonl'),
      [
        good,
        '{not json',
        JSON.stringify({ t: 2, source: 'lab', kind: 'node-up', data: { bootId: 'b' } }),
        JSON.stringify({ t: 'x', kind: 'progress', data: {} }),
        JSON.stringify({ t: 3, source: 'lab', kind: 'something-new', data: { x: 1 } }),
        JSON.stringify({ t: 4, source: 'lab', kind: 'progress', data: { step: 'ok' } }),
        '',
      ].join('\n'),
    );
    const r = readRun(dir);
    expect(r.events.map((e) => [e.line, e.kind])).toEqual([
      [1, 'run-start'],
      [5, 'something-new'],
      [6, 'progress'],
    ]);
    expect(r.warnings[0]).toBe('line 2: not valid JSON; ignored');
    expect(r.warnings[1]).toMatch(/^line 3: node-up event with invalid data \(kver: /);
    expect(r.warnings[2]).toMatch(/^line 4: not an event \(/);
    expect(r.warnings[3]).toBe('events of unknown kind "something-new" ignored by this version');
  });

  it('no run-start → UserError naming the file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kmodlab-read-'));
    writeFileSync(path.join(dir, 'events.jsonl'), `${JSON.stringify({ t: 1, source: 'lab', kind: 'progress', data: { step: 'x' } })}\n`);
    expect(() => readRun(dir)).toThrow(UserError);
    expect(() => readRun(dir)).toThrow(`${path.join(dir, 'events.jsonl')} has no run-start event`);
  });

  it('missing directory or file → UserError', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kmodlab-read-'));
    expect(() => readRun(path.join(dir, 'nope'))).toThrow(UserError);
    mkdirSync(path.join(dir, 'empty'));
    expect(() => readRun(path.join(dir, 'empty'))).toThrow(/events.jsonl not found/);
    writeFileSync(path.join(dir, 'file'), 'x');
    expect(() => readRun(path.join(dir, 'file'))).toThrow(/is not a directory/);
  });
});
