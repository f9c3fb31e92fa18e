/** Helpers for the check tests: run the CLI in-process, and query JUnit XML with xmllint (libxml2, a real XML parser). */
import { execFileSync } from 'node:child_process';
import { main } from '../../src/cli/main.js';

export async function cli(...args: string[]) {
  let out = '';
  let err = '';
  const code = await main(['node', 'kmodlab', ...args], { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

/** Evaluates an XPath expression on a file; throws if the file is not well-formed XML. */
export function xpath(file: string, expr: string): string {
  return execFileSync('xmllint', ['--xpath', expr, file], { encoding: 'utf8' }).trim();
}

/** Parses the whole file (xmllint exits non-zero on malformed XML). */
export function xmlWellFormed(file: string): void {
  execFileSync('xmllint', ['--noout', file], { stdio: 'pipe' });
}
