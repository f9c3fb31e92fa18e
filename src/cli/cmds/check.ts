/**
 * `kmodlab check`: does the driver build, load and unload on each kernel? A CI gate
 * before a rollout. Exit 0 when every cell passed, 1 when one failed, 2 on bad input.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { formatMatrix, runCheck, selectKernels, toJUnitXml, CheckReportSchema, checkFailed } from '../../check/index.js';
import { loadDriver } from '../../driver/load.js';
import { REFERENCE_DRIVER_FILE } from '../../driver/reference.js';
import { ExitStatus, ExitCode, UserError } from '../../errors.js';
import type { CliIO } from '../output.js';

interface CheckFlags {
  driver: string;
  kernels: string;
  junit?: string;
  output: string;
  jobs?: string;
  memory?: string;
  buildCache?: string;
}

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${flag}: "${value}" is not a positive whole number`);
  return n;
}

export function registerCheckCommand(program: Command, io: CliIO): void {
  program
    .command('check')
    .description("Build the driver against each kernel's build tree, boot a lab node on it, load the modules with their parameters, read back /sys/module, taint, vermagic, dependencies and the kernel log, unload.")
    .option('--driver <file>', 'driver spec', REFERENCE_DRIVER_FILE)
    .option('--kernels <list>', 'all, or a comma-separated list of kernel releases (`kmodlab lab kernels`)', 'all')
    .option('--junit <file>', 'also write JUnit XML (one test case per kernel and step)')
    .option('-o, --output <format>', 'table | json', 'table')
    .option('--jobs <n>', 'kernels checked at the same time (default: the cores available)')
    .option('--memory <MiB>', 'node memory')
    .option('--build-cache <dir>', 'driver build store (default: the lab cache)')
    .action(async (flags: CheckFlags) => {
      if (flags.output !== 'table' && flags.output !== 'json') throw new UserError(`-o/--output: unknown format "${flags.output}": expected table or json`);
      const jobs = positiveInt(flags.jobs, '--jobs');
      const memoryMB = positiveInt(flags.memory, '--memory');
      const driver = await loadDriver(flags.driver);
      if (!driver.sourceDir) throw new UserError(`${flags.driver}: source: check builds from a local directory (source.path)`, 'clone the git source and point source.path at it');
      const kernels = selectKernels(flags.kernels);
      io.stderr(`check: ${driver.spec.name} ${driver.spec.version} on ${kernels.length} kernel(s): ${kernels.map((k) => k.kver).join(', ')}\n`);
      const report = CheckReportSchema.parse(
        await runCheck({ driver, kernels, jobs, memoryMB, buildStore: flags.buildCache, progress: (line) => io.stderr(`${line}\n`) }),
      );
      if (flags.junit) {
        writeFileSync(flags.junit, toJUnitXml(report));
        io.stderr(`check: JUnit XML written to ${flags.junit}\n`);
      }
      io.stdout(flags.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatMatrix(report));
      if (checkFailed(report)) throw new ExitStatus(ExitCode.internal, 'a check cell failed');
    });
}
