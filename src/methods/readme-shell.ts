/**
 * Every ```sh block of a rendered README pastes as is: values the user supplies or looks
 * up are shell variables, set (or looked up) in a line at the top of the block with a
 * comment saying what they are, instead of `<fill-in>` markers that the shell reads as
 * redirections. Method READMEs write the markers where they read best; this pass turns
 * them into shell, in one place, for every method.
 */
import { nodeRoleLabel } from './custom-pool.js';

interface Fill {
  /** The marker as the READMEs write it. */
  marker: RegExp;
  /** What replaces it in the command. */
  word: string;
  /** The line that sets the variable (first one of the block). */
  define: (pool: string) => string;
  /** A block that already sets the variable needs no definition. */
  variable: string;
}

const FILLS: Fill[] = [
  {
    marker: /<node(?: name)?>/g,
    word: '"$NODE"',
    variable: 'NODE',
    define: (pool) => `NODE=$(oc get nodes -l ${nodeRoleLabel(pool)} -o jsonpath='{.items[0].metadata.name}')   # the first node of pool ${pool}; for another one: NODE=<name from oc get nodes>`,
  },
  {
    marker: /<install-dir>/g,
    word: '"$INSTALL_DIR"',
    variable: 'INSTALL_DIR',
    define: () => 'INSTALL_DIR=install   # the openshift-install directory (the one holding your install-config.yaml)',
  },
  {
    marker: /<driver source dir>/g,
    word: '"$DRIVER_SRC"',
    variable: 'DRIVER_SRC',
    define: () => 'DRIVER_SRC=.   # the driver source directory (source.path of driver.yaml, with its Makefile)',
  },
  {
    marker: /<(?:user|robot account)>/g,
    word: '"$REGISTRY_USER"',
    variable: 'REGISTRY_USER',
    define: () => ': "${REGISTRY_USER:?export REGISTRY_USER (the registry user or robot account) first}"',
  },
  {
    marker: /<(?:password or token|token)>/g,
    word: '"$REGISTRY_PASSWORD"',
    variable: 'REGISTRY_PASSWORD',
    define: () => ': "${REGISTRY_PASSWORD:?export REGISTRY_PASSWORD (its password or token; not in these files, not in your shell history) first}"',
  },
  { marker: /<pull-secret\.json>/g, word: 'pull-secret.json', variable: '', define: () => '' },
];

/** `VAR=<what it is>` lines: the user must give the value; the block refuses to run without it. */
const ASSIGNED_FILL_IN = /^(\s*)([A-Z_][A-Z0-9_]*)=<([^<>\n]+)>(.*)$/;

/** The part of a shell line before its comment (good enough for the READMEs' lines). */
function code(line: string): string {
  const i = line.search(/(^|\s)#/);
  return i < 0 ? line : line.slice(0, i);
}

function pasteableBlock(lines: string[], pool: string): string[] {
  const defines: string[] = [];
  let body = lines.map((l) => {
    const m = ASSIGNED_FILL_IN.exec(l);
    if (!m) return l;
    if (m[2] === 'NODE') return l; // looked up below
    return `${m[1]}: "\${${m[2]}:?export ${m[2]} first: ${m[3]!.replace(/[`"$\\{}]/g, '')}}"${m[4]}`;
  });
  for (const f of FILLS) {
    const setsIt = f.variable !== '' && body.some((l) => new RegExp(`^\\s*${f.variable}=`).test(l) && !new RegExp(`^\\s*${f.variable}=<`).test(l));
    let used = false;
    body = body.map((l) => {
      if (f.variable && new RegExp(`^\\s*${f.variable}=<[^<>]*>\\s*$`).test(l)) {
        used = true;
        return '';
      }
      const c = code(l);
      if (!f.marker.test(c)) return l;
      f.marker.lastIndex = 0;
      used = true;
      return c.replace(f.marker, f.word) + l.slice(c.length);
    });
    f.marker.lastIndex = 0;
    if (used && !setsIt && f.variable) defines.push(f.define(pool));
  }
  // A block indented under a list item keeps its indentation.
  const indent = /^\s*/.exec(lines.find((l) => l.trim() !== '') ?? '')![0];
  return [...defines.map((d) => indent + d), ...body.filter((l, i) => l !== '' || lines[i] === '')];
}

/** The README with each ```sh block made paste-able (see the file comment). */
export function pasteableShell(markdown: string, pool: string): string {
  const lines = markdown.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(sh|bash|shell)\s*$/.exec(lines[i]!);
    out.push(lines[i]!);
    if (!open) continue;
    const block: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]!); j++) block.push(lines[j]!);
    out.push(...pasteableBlock(block, pool));
    if (j < lines.length) out.push(lines[j]!);
    i = j;
  }
  return out.join('\n');
}
