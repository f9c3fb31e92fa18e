/**
 * Ctrl-C (or a plain `kill`) during `kmodlab evaluate`: what was recorded so far is
 * reported (the run has no run-end, so the report says "interrupted" and marks the rest
 * "not measured"), and the user is told where the report is. Exit codes follow the
 * shell's 128 + signal convention.
 */
import path from 'node:path';
import type { Recorder } from '../evaluation/recorder.js';
import { writeReports } from '../report/write.js';
import type { CliIO } from './output.js';

const SIGNALS = { SIGINT: 130, SIGTERM: 143 } as const;

export interface InterruptOptions {
  runDir: string;
  recorder: Recorder;
  io: CliIO;
  /** Injectable for tests (default process.exit). */
  exit?: (code: number) => void;
}

/** Installs the handlers; returns the function that removes them (call it when the run ends normally). */
export function reportOnInterrupt({ runDir, recorder, io, exit = (c) => process.exit(c) }: InterruptOptions): () => void {
  const handler = (signal: NodeJS.Signals) => {
    remove();
    // Nothing more is recorded: a scenario still running would otherwise append after the report was made.
    recorder.close();
    try {
      const { files } = writeReports(runDir);
      io.stderr(`\n${signal === 'SIGINT' ? 'interrupted (Ctrl-C)' : `stopped (${signal})`}: partial report of what was recorded: ${files.html} (also ${path.basename(files.md)}, ${path.basename(files.json)})\n`);
    } catch (e) {
      io.stderr(`\n${signal}: could not write the partial report (${(e as Error).message.split('\n')[0]}); the record is in ${path.join(runDir, 'events.jsonl')}: run \`kmodlab report ${runDir}\`\n`);
    }
    // process.exit runs the 'exit' handlers, which stop every lab node.
    exit(SIGNALS[signal as keyof typeof SIGNALS] ?? 1);
  };
  const remove = () => {
    for (const s of Object.keys(SIGNALS)) process.off(s, handler);
  };
  for (const s of Object.keys(SIGNALS)) process.on(s, handler);
  return remove;
}
