/**
 * JUnit XML for CI systems (GitHub Actions test reporters, GitLab `artifacts:reports:junit`,
 * Jenkins): one <testsuite> per check, one <testcase> per kernel and step, named
 * `<kver>` / `build|load|unload`. A failed cell is a <failure> whose message is the
 * first error line; a step that could not run is <skipped>. The element and attribute
 * names follow the common JUnit schema (testsuites/testsuite/testcase with tests,
 * failures, errors, skipped, time).
 */
import { CHECK_STEPS, type CheckReport, type KernelCheck } from './report.js';

/** XML 1.0 forbids most control characters even escaped: drop them (console output has some). */
function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '');
}

export function xmlEscape(s: string): string {
  return clean(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function seconds(ms: number | undefined): string {
  return ((ms ?? 0) / 1000).toFixed(3);
}

function details(row: KernelCheck, step: (typeof CHECK_STEPS)[number]): string {
  if (step === 'build') {
    const b = row.build;
    return [b.firstError ?? '', b.logFile ? `build log: ${b.logFile}` : ''].filter(Boolean).join('\n');
  }
  const c = row[step];
  return [c.output && `$ modprobe …\n${c.output}`, c.kernelLog.length ? `kernel log:\n${c.kernelLog.join('\n')}` : ''].filter(Boolean).join('\n\n');
}

function testcase(row: KernelCheck, step: (typeof CHECK_STEPS)[number]): string {
  const cell = row[step];
  const open = `    <testcase classname="${xmlEscape(row.kver)}" name="${step}" time="${seconds(cell.durationMs)}"`;
  if (cell.status === 'ok') {
    const out = step === 'build' ? (row.build.cached ? 'cache hit: built earlier from the same source and kernel' : '') : row[step].kernelLog.join('\n');
    return out ? `${open}>\n      <system-out>${xmlEscape(out)}</system-out>\n    </testcase>` : `${open}/>`;
  }
  if (cell.status === 'skipped') return `${open}>\n      <skipped message="${xmlEscape(cell.skippedBecause ?? 'not run')}"/>\n    </testcase>`;
  const message = cell.firstError ?? `${step} failed`;
  return `${open}>\n      <failure message="${xmlEscape(message)}" type="${step}">${xmlEscape(details(row, step))}</failure>\n    </testcase>`;
}

export function toJUnitXml(report: CheckReport): string {
  const { ok, failed, skipped } = report.summary;
  const tests = ok + failed + skipped;
  const name = `kmodlab check ${report.driver.name} ${report.driver.version}`;
  const counts = `tests="${tests}" failures="${failed}" errors="0" skipped="${skipped}" time="${seconds(report.durationMs)}"`;
  const cases = report.kernels.flatMap((row) => CHECK_STEPS.map((step) => testcase(row, step)));
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlEscape(name)}" ${counts}>`,
    `  <testsuite name="${xmlEscape(name)}" ${counts} timestamp="${xmlEscape(report.startedAt)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
