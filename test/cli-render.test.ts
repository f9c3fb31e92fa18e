/**
 * `kmodlab render`: files written per method for Day 1 and Day 2, every object valid
 * against the upstream schemas, stdout forms, and bad input → one clear message, exit
 * code 2. The commands run in-process (the same `main` the launcher calls, with its
 * own stdout/stderr); what only the process shows — the shipped launcher's exit code
 * and streams, no stack trace on a real stderr — is checked through bin/kmodlab.js.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { parseYamlStream } from '../src/yaml.js';
import { assertValidK8sObject } from './support/upstream-schemas.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'kmodlab.js');
const RELEASE = ['--ocp-version', '4.14.12', '--kernel', '5.14.0-284.52.1.el9_2.x86_64'];

/** The CLI in this process: exit code and the two streams, as the launcher would give them. */
async function kmodlab(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'kmodlab', ...args], { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

/** The shipped launcher (bin/kmodlab.js → dist/) in its own process. */
function kmodlabProcess(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: ROOT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => path.join(dir, f))
    .filter((f) => statSync(f).isFile())
    .sort();
}

function objectsIn(files: string[]): Record<string, unknown>[] {
  return files.filter((f) => f.endsWith('.yaml')).flatMap((f) => parseYamlStream(readFileSync(f, 'utf8')) as Record<string, unknown>[]);
}

describe('kmodlab render --method all', () => {
  it.each([
    ['day2', []],
    ['day1', ['--day1', '--registry', 'quay.io/acme']],
  ])('writes every method for %s, each object schema-valid and labelled', async (_phase, extra) => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-render-'));
    const r = await kmodlab('render', '--method', 'all', ...RELEASE, ...extra, '--output-dir', out);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['dtk', 'kmm', 'layering']);
    for (const method of ['dtk', 'kmm', 'layering']) {
      const files = filesUnder(path.join(out, method));
      expect(files.map((f) => path.basename(f))).toContain('README.md');
      const objects = objectsIn(files);
      expect(objects.length).toBeGreaterThan(0);
      for (const o of objects) {
        assertValidK8sObject(o);
        const labels = (o.metadata as { labels: Record<string, string> }).labels;
        expect(labels['app.kubernetes.io/managed-by']).toBe('kmodlab');
        expect(labels['app.kubernetes.io/name']).toBe('simple-kmod');
        expect(labels['kmodlab.io/method']).toBe(method);
      }
      const day1Files = files.filter((f) => f.includes(`${path.sep}openshift${path.sep}`));
      if (extra.includes('--day1')) {
        expect(day1Files.length, `${method} has installer manifests`).toBeGreaterThan(0);
        for (const o of objectsIn(day1Files)) {
          expect((o.metadata as { annotations?: Record<string, string> }).annotations?.['kmodlab.io/install-phase']).toBe('day1');
        }
      } else {
        expect(day1Files).toEqual([]);
      }
    }
  });

  it('uses the release kernel in every method and lists no kernel placeholder when it is known', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-render-'));
    const r = await kmodlab('render', ...RELEASE, '--output-dir', out);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('FILL_ME_KERNEL_VERSION');
    const dtk = filesUnder(path.join(out, 'dtk')).map((f) => readFileSync(f, 'utf8')).join('\n');
    expect(dtk).toContain('5.14.0-284.52.1.el9_2.x86_64');
    const module = readFileSync(path.join(out, 'kmm', '12-module.yaml'), 'utf8');
    const regexp = /regexp: (.+)/.exec(module)?.[1]?.replace(/^["']|["']$/g, '').replace(/\\\\/g, '\\');
    expect(regexp).toBeDefined();
    expect(new RegExp(regexp!).test('5.14.0-284.52.1.el9_2.x86_64')).toBe(true);
  });

  it('names the unknown facts on stderr when the release is not given', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-render-'));
    const r = await kmodlab('render', '--method', 'dtk', '--output-dir', out);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('FILL_ME_KERNEL_VERSION');
    expect(r.stderr).toContain('--image-for=driver-toolkit');
  });
});

const RELEASE_INFO = path.join(ROOT, 'test', 'fixtures', 'release-info', 'ocp-4.14.12-x86_64.json');
/** Every fact: the release (its kernel is not in release info), the registry, the layered image. */
const ALL_FACTS = ['--release-info', RELEASE_INFO, '--kernel', '5.14.0-284.52.1.el9_2.x86_64'];
const REGISTRY = ['--registry', 'quay.io/acme'];
const FACTS_4_19 = [
  ...['--ocp-version', '4.19.0', '--kernel', '5.14.0-570.17.1.el9_6.x86_64'],
  ...['--dtk-image', `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'12'.repeat(32)}`],
  ...['--rhcos-image', `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'34'.repeat(32)}`],
];
const LAYERED_IMAGE = `quay.io/acme/simple-kmod-rhcos@sha256:${'ab'.repeat(32)}`;

describe('kmodlab render -o', () => {
  it('-o yaml prints one multi-document stream of every object and nothing else', async () => {
    const r = await kmodlab('render', '--method', 'dtk', ...ALL_FACTS, '-o', 'yaml');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const objects = parseYamlStream(r.stdout) as { kind: string }[];
    expect(objects.map((o) => o.kind)).toEqual(['Namespace', 'ImageStream', 'BuildConfig', 'ServiceAccount', 'Role', 'RoleBinding', 'DaemonSet']);
  });

  it('-o json prints a v1 List', async () => {
    const r = await kmodlab('render', '--method', 'kmm', ...ALL_FACTS, '-o', 'json');
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as { kind: string; items: { kind: string }[] };
    expect(list.kind).toBe('List');
    expect(list.items.map((i) => i.kind)).toContain('Module');
  });

  it.each([
    ['layering', REGISTRY],
    // On-cluster layering needs 4.19 (no 4.19 release-info fixture: the facts as flags).
    ['layering', ['--variant', 'on-cluster', ...REGISTRY]],
    ['dtk', REGISTRY],
    ['dtk', ['--variant', 'tracking']], // builds and pushes through the internal registry
    ['kmm', []],
  ])('with every fact given, -o yaml/json for %s %j is a stream oc apply -f - accepts', async (method, extra) => {
    const layered = method === 'layering' && !extra.includes('on-cluster') ? ['--layered-image', LAYERED_IMAGE] : [];
    for (const format of ['yaml', 'json']) {
      const facts = extra.includes('on-cluster') ? FACTS_4_19 : ALL_FACTS;
      const r = await kmodlab('render', '--method', method, ...extra, ...facts, ...layered, '-o', format);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain('FILL_ME');
      const objects = (format === 'json' ? (JSON.parse(r.stdout) as { items: unknown[] }).items : parseYamlStream(r.stdout)) as Record<string, unknown>[];
      expect(objects.length).toBeGreaterThan(0);
      for (const o of objects) assertValidK8sObject(o);
      const namespaces = objects.filter((o) => o.kind === 'Namespace').map((o) => (o.metadata as { name: string }).name);
      expect(new Set(namespaces).size, 'each namespace declared once').toBe(namespaces.length);
      if (layered.length) expect(JSON.stringify(objects)).toContain(`"osImageURL":"${LAYERED_IMAGE}"`);
    }
  });

  it('refuses while placeholders remain, naming each one and the flag that fills it', async () => {
    const r = await kmodlab('render', '--method', 'layering', '--release-info', RELEASE_INFO, '-o', 'yaml');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/FILL_ME_LAYERED_IMAGE_DIGEST: fill with --layered-image/);
    expect(r.stderr).toMatch(/FILL_ME_REGISTRY: fill with --registry/);
    expect(r.stderr).toContain('--allow-placeholders');
    const dtk = await kmodlab('render', '--method', 'dtk', '--ocp-version', '4.14.12', '-o', 'json');
    expect(dtk.code).toBe(2);
    expect(dtk.stderr).toMatch(/FILL_ME_KERNEL_VERSION: fill with --kernel/);
    expect(dtk.stderr).toMatch(/FILL_ME_DRIVER_TOOLKIT_IMAGE: fill with --dtk-image/);
  });

  it('prints with --allow-placeholders, and lists them on stderr', async () => {
    const r = await kmodlab('render', '--method', 'layering', '--release-info', RELEASE_INFO, '--allow-placeholders', '-o', 'yaml');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('FILL_ME_LAYERED_IMAGE_DIGEST');
    expect(r.stderr).toContain('FILL_ME_LAYERED_IMAGE_DIGEST');
  });

  it('takes exactly one method', async () => {
    for (const method of [[], ['--method', 'all'], ['--method', 'dtk,kmm']]) {
      const r = await kmodlab('render', ...method, ...ALL_FACTS, ...REGISTRY, '-o', 'yaml');
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/-o prints the objects of one method.*fight over the module/);
      expect(r.stderr).toContain('--method layering|dtk|kmm');
    }
  });

  it.each([
    ['--layered-image not by digest', ['--method', 'layering', '--layered-image', 'quay.io/acme/x:latest', '-o', 'yaml'], /--layered-image: expected an image pinned by digest/],
    ['--layered-image with another method', ['--method', 'dtk', '--layered-image', LAYERED_IMAGE, '-o', 'yaml'], /--layered-image applies to --method layering/],
    ['--allow-placeholders without -o', ['--method', 'dtk', '--allow-placeholders', '--output-dir', '/nonexistent-kmodlab-dir'], /--allow-placeholders applies to -o/],
  ])('%s → exit 2', async (_label, args, pattern) => {
    const r = await kmodlab('render', ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(pattern);
  });
});

describe('bad input → one clear message, exit code 2, no stack trace', () => {
  const bad = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-bad-'));
  const badDriver = path.join(bad, 'driver.yaml');
  writeFileSync(badDriver, 'name: Bad_Name\nsource: {path: .}\nmodules: []\n');
  const garbage = path.join(bad, 'release.txt');
  writeFileSync(garbage, 'this is not release info\n');

  it.each([
    ['unknown method', ['render', '--method', 'foo', '-o', 'yaml'], /unknown method "foo": expected one of layering, dtk, kmm, all/],
    ['malformed driver', ['render', '--method', 'kmm', '--driver', badDriver, '-o', 'yaml'], new RegExp(`${badDriver.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1: name: expected a DNS-1123 label`)],
    ['missing driver file', ['render', '--method', 'kmm', '--driver', '/nope/driver.yaml', '-o', 'yaml'], /\/nope\/driver.yaml: cannot read driver spec/],
    ['unreadable release info', ['render', '--method', 'kmm', '--release-info', '/nope/release.txt', '-o', 'yaml'], /--release-info \/nope\/release.txt: cannot read/],
    ['garbage release info', ['render', '--method', 'kmm', '--release-info', garbage, '-o', 'yaml'], /expected the output of `oc adm release info/],
    ['conflicting outputs', ['render', '-o', 'yaml', '--output-dir', bad], /-o\/--output and --output-dir conflict/],
    ['no output chosen', ['render'], /--output-dir <dir> \(files\) or -o yaml\|json/],
    ['bad output format', ['render', '-o', 'xml'], /unknown format "xml"/],
    ['bad kernel flag', ['render', '--method', 'kmm', '--kernel', 'not a kernel', '-o', 'yaml'], /--kernel: expected a kernel version/],
    ['bad pool', ['render', '--method', 'kmm', '--pool', 'GPU_nodes', '-o', 'yaml'], /--pool: expected a MachineConfigPool name/],
    ['bad OS family', ['render', '--method', 'dtk', '--os-family', 'fedora', '-o', 'yaml'], /--os-family: expected one of rhcos, debian-lab \(got "fedora"\)/],
    ['variant with all methods', ['render', '--variant', 'tracking', '--output-dir', path.join(bad, 'variant-out')], /--variant applies to one method/],
    ['day1 without a registry', ['render', '--method', 'dtk', '--day1', '-o', 'yaml'], /--day1 with dtk needs --registry/],
    ['unknown flag', ['render', '--colour', 'blue'], /unknown option '--colour'/],
  ])('%s', async (_label, args, pattern) => {
    const r = await kmodlab(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/); // no stack trace
    expect(r.stdout).toBe('');
  });
});

describe('help', () => {
  it('exits 0 and documents the flags', async () => {
    const r = await kmodlab('render', '--help');
    expect(r.code).toBe(0);
    for (const flag of ['--driver', '--method', '--release-info', '--day1', '--pool', '--registry', '--output-dir', '--output']) expect(r.stdout).toContain(flag);
  });
});

describe('kmodlab render --os-family', () => {
  it('debian-lab: the Containerfiles use the lab family lines, and a runtime base the release did not name is a listed placeholder', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-render-family-'));
    const r = await kmodlab('render', '--method', 'dtk', ...RELEASE, '--os-family', 'debian-lab', '--output-dir', out);
    expect(r.code).toBe(0);
    const containerfile = readFileSync(path.join(out, 'dtk', 'Containerfile'), 'utf8');
    expect(containerfile).not.toContain('microdnf');
    expect(containerfile).toContain('FROM quay.io/FILL_ME/runtime-base:FILL_ME_RUNTIME_BASE_IMAGE\n');
    expect(r.stderr).toMatch(/FILL_ME_RUNTIME_BASE_IMAGE: .*kmodlab lab release-info/);
  });
});

describe('kmodlab render --kmm-version', () => {
  it('renders the forms of the KMM release given, and refuses an unknown one with exit 2 naming the flag', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-render-kmmv-'));
    const bad = await kmodlab('render', '--method', 'kmm', ...RELEASE, '--kmm-version', '9.9', '--output-dir', out);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--kmm-version 9.9: expected a KMM release 2.0');
    expect(readdirSync(out)).toEqual([]); // nothing written
    const ok = await kmodlab('render', '--method', 'kmm', ...RELEASE, '--kmm-version', '2.6', '--output-dir', out);
    expect(ok.code).toBe(0);
    const module = objectsIn(filesUnder(path.join(out, 'kmm'))).find((o) => o.kind === 'Module') as { spec: Record<string, unknown> };
    expect(module.spec.imageRebuildTriggerGeneration).toBe(1);
    // default for 4.14: KMM 2.0, which has no rebuild trigger
    const out2 = mkdtempSync(path.join(os.tmpdir(), 'kmodlab-render-kmmv-'));
    expect((await kmodlab('render', '--method', 'kmm', ...RELEASE, '--output-dir', out2)).code).toBe(0);
    const dflt = objectsIn(filesUnder(path.join(out2, 'kmm'))).find((o) => o.kind === 'Module') as { spec: Record<string, unknown> };
    expect(dflt.spec.imageRebuildTriggerGeneration).toBeUndefined();
  });
});

describe('the shipped launcher (bin/kmodlab.js → dist/)', () => {
  beforeAll(() => {
    // These run the launcher, which needs dist/ (npm test builds first).
    if (!existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  });

  it('renders to stdout with exit 0 and nothing on stderr', () => {
    const r = kmodlabProcess('render', '--method', 'dtk', ...ALL_FACTS, '-o', 'yaml');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((parseYamlStream(r.stdout) as { kind: string }[]).map((o) => o.kind)).toContain('DaemonSet');
  });

  it('bad input: exit code 2, one message on stderr, no stack trace, nothing on stdout', () => {
    const r = kmodlabProcess('render', '--method', 'kmm', '--driver', '/nope/driver.yaml', '-o', 'yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\/nope\/driver.yaml: cannot read driver spec/);
    expect(r.stderr).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
    expect(r.stdout).toBe('');
  });

  it('an unknown flag is a usage error of the process (exit 2)', () => {
    const r = kmodlabProcess('render', '--colour', 'blue');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--colour'/);
  });
});
