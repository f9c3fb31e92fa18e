/**
 * kmodlab's command line. Exit codes (as kubectl/oc): 0 success, 1 internal failure,
 * 2 user error (bad flag, bad input file) — user errors print one clear message, no
 * stack trace; 3 `evaluate` ran but some scenario failed (ExitCode in errors.ts).
 */
import { Command, CommanderError } from 'commander';
import { ExitCode, ExitStatus, isUserError } from '../errors.js';
import { processIO, type CliIO } from './output.js';
import { registerRenderCommand } from './cmds/render.js';
import { registerRbacCommand } from './cmds/rbac.js';
import { registerEvaluateCommand } from './cmds/evaluate.js';
import { registerLabCommand } from './cmds/lab.js';
import { registerReportCommand } from './cmds/report.js';
import { registerCheckCommand } from './cmds/check.js';
import { registerRecommendCommand } from './cmds/recommend.js';
import '../methods/all.js';

export function buildProgram(io: CliIO): Command {
  const program = new Command('kmodlab')
    .description('Render, rehearse, evaluate and compare ways to deliver an out-of-tree kernel driver to OpenShift/Kubernetes nodes.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();
  registerRenderCommand(program, io);
  registerRbacCommand(program, io);
  registerEvaluateCommand(program, io);
  registerLabCommand(program, io);
  registerReportCommand(program, io);
  registerCheckCommand(program, io);
  registerRecommendCommand(program, io);
  // Sub-commands inherit output and exit behaviour.
  for (const cmd of program.commands) cmd.configureOutput({ writeOut: io.stdout, writeErr: io.stderr }).exitOverride();
  return program;
}

/** Runs the CLI and returns the exit code instead of exiting (so tests can call it). */
export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv);
    return ExitCode.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end with a CommanderError too; they are not failures.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return ExitCode.ok;
      return ExitCode.usage; // commander already printed the message
    }
    if (e instanceof ExitStatus) return e.code; // the command already said why
    if (isUserError(e)) {
      io.stderr(`error: ${e.message}\n`);
      if (e.hint) io.stderr(`hint: ${e.hint}\n`);
      return ExitCode.usage;
    }
    io.stderr(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return ExitCode.internal;
  }
}
