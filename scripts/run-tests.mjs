#!/usr/bin/env node
/**
 * `npm test`'s runner: the two vitest projects of vitest.config.ts side by side, the lab
 * files in one process and the host files in the other, so a host file uses the second
 * core while a lab file waits on its QEMU node. Each output line is prefixed with its
 * project. Arguments (file filters, -t …) go to both; a project with no matching file
 * passes. Exit code: the first failing project's, else 0. Ctrl-C reaches both.
 *
 * A project that fails has its failure report (vitest's "Failed Tests" section and its
 * summary) printed again once both have ended: the two streams interleave, and a log
 * read from its end (a CI console's tail) would otherwise show only the project that
 * finished last.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));
const args = process.argv.slice(2);

/** Lines that open vitest's failure report, and the lines of its closing summary. */
const FAILURE_START = /⎯{2,}\s*(Failed Tests|Failed Suites|Unhandled Errors?)\b/;
const SUMMARY_LINE = /^\s*(Test Files|Tests|Errors|Start at|Duration)\s/;
const MAX_REPEATED_LINES = 200;

/** Keeps what is printed again for a failing project: its failure report and summary. */
function failureRecorder() {
  const lines = [];
  let inReport = false;
  return {
    add(line) {
      if (FAILURE_START.test(line)) inReport = true;
      if ((inReport || SUMMARY_LINE.test(line)) && lines.length < MAX_REPEATED_LINES) lines.push(line);
    },
    lines,
  };
}

function runProject(name) {
  const child = spawn(process.execPath, [vitest, 'run', '--project', name, '--passWithNoTests', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Colours as vitest would choose them for this terminal (its output is a pipe here).
    env: { ...(process.stdout.isTTY ? { FORCE_COLOR: '1' } : { NO_COLOR: '1' }), ...process.env },
  });
  const failures = failureRecorder();
  for (const [stream, out] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
    createInterface({ input: stream }).on('line', (line) => {
      out.write(`[${name}] ${line}\n`);
      failures.add(line);
    });
  }
  return new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ name, code: code ?? (signal ? 1 : 0), failures: failures.lines })),
  );
}

const runs = ['lab', 'host'].map(runProject);
process.on('SIGINT', () => undefined); // the children get the terminal's SIGINT themselves
const results = await Promise.all(runs);
for (const r of results.filter((r) => r.code !== 0 && r.failures.length > 0)) {
  process.stderr.write(`\n[${r.name}] failed; its failure report again:\n`);
  for (const line of r.failures) process.stderr.write(`[${r.name}] ${line}\n`);
}
for (const r of results) process.stderr.write(`[${r.name}] ${r.code === 0 ? 'passed' : `failed (exit ${r.code})`}\n`);
process.exit(results.find((r) => r.code !== 0)?.code ?? 0);
