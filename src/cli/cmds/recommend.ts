/**
 * `kmodlab recommend [run-dir] --constraints …`: which method to use, ranked, from a
 * recorded run (figures) and the methods' documented features (with sources).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import { newestRun, readRun, RUNS_DIR } from '../../evaluation/read-run.js';
import { buildReport } from '../../report/build.js';
import { CONSTRAINT_IDS, CONSTRAINTS, parseConstraints, renderVerdictText, verdict } from '../../report/verdict.js';
import type { CliIO } from '../output.js';

interface RecommendFlags {
  constraints?: string;
  output?: string;
}

export function registerRecommendCommand(program: Command, io: CliIO): void {
  program
    .command('recommend')
    .description('Rank the delivery methods for your constraints, from the figures of a run and the documented features.')
    .argument('[run-dir]', `run directory written by \`kmodlab evaluate\`; default: the newest under ./${RUNS_DIR}`)
    .option('--constraints <list>', `comma-separated: ${CONSTRAINT_IDS.join(',')} (default: none, rank on measured impact alone)`)
    .option('-o, --output <format>', 'text | json', 'text')
    .addHelpText(
      'after',
      `
Constraints:
${CONSTRAINT_IDS.map((c) => `  ${c.padEnd(21)}${CONSTRAINTS[c]}`).join('\n')}

Examples:
  kmodlab recommend --constraints sno,no-reboot
  kmodlab recommend runs/20261125-100000 --constraints follow-upgrades,secure-boot -o json`,
    )
    .action(async (runDir: string | undefined, flags: RecommendFlags) => {
      runRecommend(runDir, flags, io);
    });
}

export function runRecommend(runDir: string | undefined, flags: RecommendFlags, io: CliIO): void {
  const output = flags.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new UserError(`-o/--output ${output}: expected text or json`);
  const { constraints, unknown } = parseConstraints(flags.constraints);
  if (unknown.length) throw new UserError(`--constraints: unknown ${unknown.map((u) => `"${u}"`).join(', ')}: expected a comma-separated list of ${CONSTRAINT_IDS.join(', ')}`);
  let dir = runDir;
  if (!dir) {
    dir = newestRun();
    if (!dir) throw new UserError(`no run under ./${RUNS_DIR}: pass the run directory written by \`kmodlab evaluate\``);
    io.stderr(`recommend: newest run ${dir}\n`);
  }
  const run = readRun(path.resolve(dir));
  const v = verdict(buildReport(run), constraints);
  if (run.interrupted) io.stderr('note: the run was interrupted; what it did not measure is judged from the documentation\n');
  io.stdout(output === 'json' ? `${JSON.stringify(v, null, 2)}\n` : renderVerdictText(v));
}
