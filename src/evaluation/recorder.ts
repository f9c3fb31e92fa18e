/**
 * The Recorder appends one JSON line per event to `<runDir>/events.jsonl` the moment
 * it happens. Each line is written with one synchronous write() on a file opened for
 * append, so when the process is killed every completed line is already in the
 * kernel's hands and `kmodlab report` can still read it; at worst the last line is
 * cut short, which the reader tolerates.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { checkEventData, EventSource, type EventData, type EventKind, type RunEvent, type ScenarioId } from './events.js';
import type { MethodRowId } from '../methods/rows.js';
import { redact } from './redact.js';

export const EVENTS_FILE = 'events.jsonl';

/** Where an event applies; `source` defaults to the recorder's own. */
export interface EventContext {
  source?: z.infer<typeof EventSource>;
  method?: MethodRowId;
  scenario?: ScenarioId;
  node?: string;
}

export interface RecorderOptions {
  /** Default `source` of events (`kmodlab`). */
  source?: z.infer<typeof EventSource>;
  /** Clock, injectable for tests (default Date.now). */
  now?: () => number;
  /** fsync after every line: survives a host crash too, at a cost; a killed process does not need it. */
  fsync?: boolean;
}

export class Recorder {
  readonly file: string;
  private fd: number | undefined;
  private readonly now: () => number;

  constructor(readonly runDir: string, private readonly options: RecorderOptions = {}) {
    mkdirSync(runDir, { recursive: true });
    this.file = path.join(runDir, EVENTS_FILE);
    this.fd = openSync(this.file, 'a');
    this.now = options.now ?? Date.now;
  }

  /**
   * Records one event and returns it as written. An invalid payload is a bug in the
   * producer, not a user mistake: it throws rather than writing a line readers would drop.
   */
  record<K extends EventKind>(kind: K, data: EventData<K>, context: EventContext = {}): RunEvent {
    if (this.fd === undefined) throw new Error(`recorder for ${this.file} is closed`);
    const { value: clean, found } = redact(data as Record<string, unknown>);
    const event: RunEvent = {
      t: this.now(),
      source: context.source ?? this.options.source ?? 'kmodlab',
      kind,
      ...(context.method ? { method: context.method } : {}),
      ...(context.scenario ? { scenario: context.scenario } : {}),
      ...(context.node ? { node: context.node } : {}),
      // Say that something was scrubbed (not what), so a reader knows the text was altered.
      data: found.length > 0 ? { ...clean, redacted: [...new Set(found)] } : clean,
    };
    const problem = checkEventData(event);
    if (problem) throw new Error(`invalid ${kind} event: ${problem}`);
    // One write per line: a line is either fully in the file or (if killed mid-write) cut short.
    const line = Buffer.from(`${JSON.stringify(event)}\n`, 'utf8');
    let off = 0;
    while (off < line.length) off += writeSync(this.fd, line, off, line.length - off);
    if (this.options.fsync) fsyncSync(this.fd);
    return event;
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}
