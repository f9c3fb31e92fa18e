/**
 * Every example a user may copy: each ```yaml block parses, each ```sh / ```bash block
 * passes `sh -n` / `bash -n` — in README.md and in every README kmodlab renders (each
 * method, variant and Day-1/Day-2 form). Blocks that show a file format (the driver
 * spec) are also checked against their schema.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findFile } from '../src/artifacts/artifact-set.js';
import { loadDriver, parseDriverSpec } from '../src/driver/load.js';
import { REFERENCE_DRIVER_FILE } from '../src/driver/reference.js';
import { isUserError } from '../src/errors.js';
import '../src/methods/all.js';
import { allMethods } from '../src/methods/index.js';
import { renderMethods } from '../src/methods/render.js';
import { resolveRelease } from '../src/release/resolve.js';
import { parseYamlStream } from '../src/yaml.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Block {
  lang: string;
  text: string;
  /** 1-based line of the opening fence. */
  line: number;
}

/** Fenced code blocks (``` only, as the READMEs use), with their language tag. */
export function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```\s*([\w+-]*)/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]!); j++) body.push(lines[j]!.slice(Math.min(indent, lines[j]!.length - lines[j]!.trimStart().length)));
    blocks.push({ lang: open[2]!.toLowerCase(), text: body.join('\n') + '\n', line: i + 1 });
    i = j;
  }
  return blocks;
}

/**
 * A `<fill-in>` marker left in a command (outside its comment): `sh -n` does not always
 * catch one (`cp f <install-dir>/openshift/` parses as two redirections).
 */
const FILL_IN_MARKER = /<[A-Za-z][^<>\n]*>/;

function commandPart(line: string): string {
  const i = line.search(/(^|\s)#/);
  return i < 0 ? line : line.slice(0, i);
}

/** Problems of one README's examples, as `<where>:<line> (<lang>): <what>`. */
function checkBlocks(where: string, markdown: string): string[] {
  const problems: string[] = [];
  for (const b of codeBlocks(markdown)) {
    const at = `${where}:${b.line} (${b.lang})`;
    if (b.lang === 'yaml' || b.lang === 'yml') {
      try {
        parseYamlStream(b.text);
      } catch (e) {
        problems.push(`${at}: ${(e as Error).message.split('\n')[0]}`);
      }
    } else if (b.lang === 'sh' || b.lang === 'bash' || b.lang === 'shell') {
      const r = spawnSync(b.lang === 'bash' ? 'bash' : 'sh', ['-n'], { input: b.text, encoding: 'utf8' });
      if (r.status !== 0) problems.push(`${at}: ${r.stderr.trim()}`);
      const marker = b.text.split('\n').find((l) => FILL_IN_MARKER.test(commandPart(l)) && !/<\(|<<|<&|[0-9]?<\s/.test(commandPart(l)));
      if (marker !== undefined) problems.push(`${at}: fill-in marker in a command: ${marker.trim()}`);
    }
  }
  return problems;
}

describe('README.md examples', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

  it('finds the blocks it checks', () => {
    const langs = codeBlocks(readme).map((b) => b.lang);
    expect(langs).toContain('yaml');
    expect(langs).toContain('sh');
  });

  it('every yaml block parses and every sh block passes sh -n', () => {
    expect(checkBlocks('README.md', readme)).toEqual([]);
  });

  it('the driver spec example is a valid driver spec', () => {
    const spec = codeBlocks(readme).find((b) => b.lang === 'yaml' && b.text.includes('kind: Driver'));
    expect(spec, 'README has a driver spec example').toBeDefined();
    const parsed = parseDriverSpec(parseYamlStream(spec!.text)[0], 'README.md driver spec example', spec!.text);
    expect(parsed.build.commands.some((c) => c.includes('${KVER}'))).toBe(true);
  });

  it('the checker can fail: it rejects the unquoted flow sequence the README once had', () => {
    expect(checkBlocks('x', '```yaml\nbuild:\n  commands: [make KVER=${KVER}]\n```\n')).toHaveLength(1);
    expect(checkBlocks('x', '```sh\nif true; then echo\n```\n')).toHaveLength(1);
    expect(checkBlocks('x', '```sh\nNODE=<node name>\n```\n').length).toBeGreaterThan(0);
    expect(checkBlocks('x', '```sh\ncp a.yaml <install-dir>/openshift/\n```\n')).toEqual(['x:1 (sh): fill-in marker in a command: cp a.yaml <install-dir>/openshift/']);
    expect(checkBlocks('x', '```sh\nNODE=node-1   # from <oc get nodes>\n```\n')).toEqual([]);
    expect(checkBlocks('x', '```sh\ncat <(true)\n```\n')).toHaveLength(1);
    expect(checkBlocks('x', '```bash\ncat <(true)\n```\n')).toEqual([]);
  });
});

describe('rendered README examples', async () => {
  const driver = await loadDriver(REFERENCE_DRIVER_FILE);
  const releases = {
    '4.14.12': await resolveRelease({ releaseInfoFile: path.join(ROOT, 'test', 'fixtures', 'release-info', 'ocp-4.14.12-x86_64.json'), kernel: '5.14.0-284.52.1.el9_2.x86_64' }),
    '4.19.0': await resolveRelease({ ocpVersion: '4.19.0', kernel: '5.14.0-570.17.1.el9_6.x86_64' }),
    'no facts': await resolveRelease({}),
  };
  const cases: [string, string, string | undefined, boolean, string | undefined][] = [];
  for (const m of allMethods()) {
    for (const variant of m.variants) {
      for (const day1 of [false, true]) {
        for (const registry of [undefined, 'quay.io/acme']) {
          for (const release of Object.keys(releases)) cases.push([m.id, release, variant, day1, registry]);
        }
      }
    }
  }

  it.each(cases)('%s for %s, variant %s, day1 %s, registry %s', (method, release, variant, day1, registry) => {
    let sets;
    try {
      sets = renderMethods(driver.spec, releases[release as keyof typeof releases], method, { variant, day1, registry });
    } catch (e) {
      if (isUserError(e)) return; // a combination render refuses (e.g. Day 1 without a registry) has no README
      throw e;
    }
    const readme = findFile(sets[0]!, 'README.md')?.content;
    expect(readme).toBeDefined();
    // Values the user supplies are shell variables set at the top of the block: the real text is checked.
    expect(checkBlocks(`${method}/README.md`, readme!)).toEqual([]);
  });
});

describe('rendered README examples: a signing driver on a custom pool', async () => {
  const loaded = await loadDriver(REFERENCE_DRIVER_FILE);
  const driver = { ...loaded.spec, signing: { keySecret: 'acme-signing-key', certSecret: 'acme-signing-cert' } } as typeof loaded.spec;
  const release = await resolveRelease({ ocpVersion: '4.19.0', kernel: '5.14.0-570.17.1.el9_6.x86_64' });
  const cases: [string, string, boolean][] = [];
  for (const m of allMethods()) for (const variant of m.variants) for (const day1 of [false, true]) cases.push([m.id, variant, day1]);

  it.each(cases)('%s, variant %s, day1 %s', (method, variant, day1) => {
    let sets;
    try {
      sets = renderMethods(driver, release, method, { variant, day1, registry: 'quay.io/acme', pool: 'infra', kmmVersion: method === 'kmm' ? '2.6' : undefined });
    } catch (e) {
      if (isUserError(e)) return;
      throw e;
    }
    const readme = findFile(sets[0]!, 'README.md')!.content!;
    expect(checkBlocks(`${method}/README.md`, readme)).toEqual([]);
  });
});
