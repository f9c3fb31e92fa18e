/**
 * `kmodlab report <run-dir>`: events.jsonl → report.md, report.json (+ schema) and
 * report.html in the run directory; the chosen format goes to stdout, notes to stderr.
 * Works on a run that was killed halfway: what was recorded is reported.
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Command } from 'commander';
import { hiddenAlias, mergeAlias } from '../flag-aliases.js';
import { UserError } from '../../errors.js';
import { newestRun, RUNS_DIR } from '../../evaluation/read-run.js';
import { reportJsonSchema } from '../../report/model.js';
import { renderSummaryText } from '../../report/terminal.js';
import { REPORT_FORMATS, writeReports, type ReportFormat } from '../../report/write.js';
import type { CliIO } from '../output.js';

interface ReportFlags {
  output: string;
  /** Hidden alias of -o/--output (the earlier spelling). */
  format?: string;
  open?: boolean;
  printSchema?: boolean;
}

export function registerReportCommand(program: Command, io: CliIO): void {
  program
    .command('report')
    .description('Derive the measured comparison from a run directory (events.jsonl) and write report.md, report.json and report.html into it.')
    .argument('[run-dir]', 'run directory written by `kmodlab evaluate` (contains events.jsonl); default: the newest under ./runs')
    .option('-o, --output <format>', 'what to print on stdout: md | json | html', 'md')
    .addOption(hiddenAlias('--format <format>', 'alias of -o/--output'))
    .option('--open', 'open report.html in a browser (xdg-open) or print its path')
    .option('--print-schema', 'print the JSON Schema of report.json and exit')
    .addHelpText(
      'after',
      `
Examples:
  kmodlab report                      # the newest run under ./runs
  kmodlab report runs/20261125-100000
  kmodlab report runs/20261125-100000 -o json | jq '.summary'
  kmodlab report runs/20261125-100000 --open`,
    )
    .action(async (runDir: string | undefined, flags: ReportFlags, cmd: Command) => {
      const spelled = mergeAlias(cmd, flags, 'output', 'format', '-o/--output', '--format');
      await runReport(runDir, flags, io, spelled);
    });
}

export async function runReport(runDir: string | undefined, flags: ReportFlags, io: CliIO, outputFlag = '-o/--output'): Promise<void> {
  if (flags.printSchema) {
    io.stdout(`${JSON.stringify(reportJsonSchema(), null, 2)}\n`);
    return;
  }
  if (!runDir) {
    // Like `git show` without a commit: the most recent one.
    runDir = newestRun();
    if (!runDir) throw new UserError(`no run under ./${RUNS_DIR}: pass the run directory written by \`kmodlab evaluate\` (it contains events.jsonl)`);
    io.stderr(`report: newest run ${runDir}\n`);
  }
  if (!(REPORT_FORMATS as readonly string[]).includes(flags.output)) {
    throw new UserError(`${outputFlag}: unknown format "${flags.output}": expected ${REPORT_FORMATS.join(', ')}`);
  }
  const dir = path.resolve(runDir);
  let written;
  try {
    written = writeReports(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Writing into the run directory can fail too (read-only copy of a run): say where.
    if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM') throw new UserError(`cannot write the reports into ${dir}: ${(e as Error).message}`);
    throw e;
  }
  for (const w of written.run.warnings) io.stderr(`warning: ${w}\n`);
  if (written.run.interrupted) io.stderr(`note: the run was interrupted; figures after its last event are reported as not measured\n`);
  io.stderr(`wrote ${written.files.md}, ${written.files.json}, ${written.files.html}\n`);
  io.stdout(written.texts[flags.output as ReportFormat]);
  if (flags.open) openInBrowser(written.files.html, io);
}

function openInBrowser(file: string, io: CliIO): void {
  const which = spawnSync('/bin/sh', ['-c', 'command -v xdg-open'], { encoding: 'utf8' });
  if (which.status !== 0 || !which.stdout.trim()) {
    io.stderr(`open ${file} in a browser (xdg-open not found)\n`);
    return;
  }
  // Detached: the browser outlives this command.
  spawn(which.stdout.trim(), [file], { detached: true, stdio: 'ignore' }).unref();
  io.stderr(`opened ${file}\n`);
}

/**
 * For `kmodlab evaluate`: writes the three reports into the run directory and returns
 * the summary to print at the end of the run, sized for the terminal.
 */
export async function writeRunReports(runDir: string, width = process.stdout.columns || 80): Promise<string> {
  const written = writeReports(path.resolve(runDir));
  return renderSummaryText(written.report, width);
}
