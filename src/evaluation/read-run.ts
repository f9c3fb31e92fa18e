/**
 * Reads a run directory back: `events.jsonl` → validated events with their line
 * numbers (metrics cite them, so every figure can be traced to the lines behind it).
 * A run killed mid-write leaves a cut-short last line; a hand-edited or damaged file
 * may have bad lines: both become warnings, never a crash, because a partial run is
 * still worth a report.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { checkEventData, EVENT_DATA, EventEnvelopeSchema, type EventData, type RunEvent } from './events.js';
import { EVENTS_FILE } from './recorder.js';

/** An event as read, with the 1-based line it came from. */
export type RecordedEvent = RunEvent & { line: number };

export interface RunRecord {
  dir: string;
  file: string;
  /** Every valid event, in file (= recording) order; includes run-start/run-end. */
  events: RecordedEvent[];
  start: RecordedEvent & { data: EventData<'run-start'> };
  end?: RecordedEvent & { data: EventData<'run-end'> };
  /** No run-end: the process was killed (or is still running). */
  interrupted: boolean;
  /** Lines that could not be used, with line numbers. */
  warnings: string[];
}

/** Where `kmodlab evaluate` puts runs by default (relative to the working directory). */
export const RUNS_DIR = 'runs';

/**
 * The newest run under `root` (default ./runs): the directory whose events.jsonl was
 * written last. Undefined when there is none.
 */
export function newestRun(root = RUNS_DIR): string | undefined {
  if (!existsSync(root)) return undefined;
  const runs = readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(root, d.name, EVENTS_FILE)))
    .map((d) => ({ dir: path.join(root, d.name), mtime: statSync(path.join(root, d.name, EVENTS_FILE)).mtimeMs }));
  runs.sort((a, b) => b.mtime - a.mtime || b.dir.localeCompare(a.dir));
  return runs[0]?.dir;
}

export function readRun(dir: string): RunRecord {
  const file = path.join(dir, EVENTS_FILE);
  let text: string;
  try {
    if (!statSync(dir).isDirectory()) throw new UserError(`${dir} is not a directory: expected a run directory containing ${EVENTS_FILE}`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(
      code === 'ENOENT' ? `${file} not found: expected a run directory written by \`kmodlab evaluate\`` : `cannot read ${file}: ${(e as Error).message}`,
    );
  }
  return parseRun(text, dir, file);
}

/** Parses the text of an events file (exported for tests). */
export function parseRun(text: string, dir: string, file: string): RunRecord {
  const warnings: string[] = [];
  const events: RecordedEvent[] = [];
  const lines = text.split('\n');
  // A file written by the recorder ends with "\n"; anything after the last one is a line cut short.
  const cutShort = !text.endsWith('\n') && text.length > 0;
  lines.forEach((raw, i) => {
    const line = i + 1;
    const isLast = i === lines.length - 1;
    if (raw.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      warnings.push(
        isLast && cutShort
          ? `line ${line}: last line is cut short (run killed while writing it?); ignored`
          : `line ${line}: not valid JSON; ignored`,
      );
      return;
    }
    const env = EventEnvelopeSchema.safeParse(json);
    if (!env.success) {
      warnings.push(`line ${line}: not an event (${env.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}); ignored`);
      return;
    }
    const problem = checkEventData(env.data);
    if (problem) {
      warnings.push(`line ${line}: ${env.data.kind} event with invalid data (${problem}); ignored`);
      return;
    }
    events.push({ ...env.data, line });
  });

  const start = events.find((e) => e.kind === 'run-start');
  if (!start) throw new UserError(`${file} has no run-start event: it is not a kmodlab run record (or its first line is damaged)`);
  if (events[0] !== start) warnings.push(`line ${start.line}: run-start is not the first event; earlier events are kept`);
  // Unknown kinds are allowed (forward compatibility) but worth a note once per kind.
  const unknown = new Set(events.filter((e) => !(e.kind in EVENT_DATA)).map((e) => e.kind));
  for (const k of unknown) warnings.push(`events of unknown kind "${k}" ignored by this version`);
  const end = events.find((e) => e.kind === 'run-end');
  return {
    dir,
    file,
    events,
    start: start as RunRecord['start'],
    ...(end ? { end: end as RunRecord['end'] } : {}),
    interrupted: end === undefined,
    warnings,
  };
}
