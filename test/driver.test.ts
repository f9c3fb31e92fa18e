import { mkdtemp, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDriver, parseDriverSpec } from '../src/driver/load.js';
import { REFERENCE_DRIVER_DIR, REFERENCE_DRIVER_FILE } from '../src/driver/reference.js';
import { buildCommands, moduleFile, moduleParameterWords, moduleNames } from '../src/driver/spec.js';
import { UserError } from '../src/errors.js';

async function tempDriver(yamlText: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kmodlab-driver-'));
  await mkdir(path.join(dir, 'src'));
  const file = path.join(dir, 'driver.yaml');
  await writeFile(file, yamlText);
  return file;
}

function errorOf(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error('expected a UserError');
}

describe('reference driver spec', () => {
  it('loads with defaults filled and the source directory resolved', async () => {
    const d = await loadDriver(REFERENCE_DRIVER_FILE);
    expect(d.spec.name).toBe('simple-kmod');
    expect(moduleNames(d.spec)).toEqual(['simple-kmod', 'simple-procfs-kmod']);
    expect(d.sourceDir).toBe(REFERENCE_DRIVER_DIR);
    expect(moduleFile(d.spec.modules[0]!)).toBe('simple-kmod.ko');
    expect(moduleParameterWords(d.spec, 'simple_kmod')).toEqual(['greeting=kmodlab']);
    expect(buildCommands(d.spec, '6.1.0-56-amd64')).toEqual(['make KVER=6.1.0-56-amd64']);
  });
});

describe('driver spec defaults', () => {
  it('uses the kbuild default when build is omitted and accepts a git source', () => {
    const spec = parseDriverSpec({ name: 'nic', source: { git: { url: 'https://example.com/nic.git', ref: 'v2.1' } }, modules: ['nic_core', { name: 'nic_eth', file: 'eth/nic_eth.ko' }] }, 'inline');
    expect(spec.build.commands).toEqual(['make -C /lib/modules/${KVER}/build M=${PWD} modules']);
    expect(moduleFile(spec.modules[1]!)).toBe('eth/nic_eth.ko');
    expect(spec.inTreeModulesToRemove).toEqual([]);
  });
});

describe('bad driver specs name the file, the field and what was expected', () => {
  const base = { name: 'nic', source: { path: '.' }, modules: ['nic'] };
  it.each([
    ['missing name', { ...base, name: undefined }, /name: .*expected string/i],
    ['upper-case name', { ...base, name: 'MyDriver' }, /name: expected a DNS-1123 label/],
    ['no modules', { ...base, modules: [] }, /modules: expected at least one module/],
    ['bad module name', { ...base, modules: ['nic/../x'] }, /modules\[0\]/],
    ['unknown field', { ...base, colour: 'blue' }, /colour|unrecognized key/i],
    ['both git and path', { ...base, source: { path: '.', git: { url: 'u', ref: 'r' } } }, /source/],
    ['absolute firmware path', { ...base, firmware: [{ source: '/etc/passwd', target: 'x.bin' }] }, /firmware\[0\]\.source: expected a path relative/],
    ['parameters for an unknown module', { ...base, moduleParameters: { other: { a: 1 } } }, /moduleParameters\.other: no module named "other"/],
    ['duplicate module', { ...base, modules: ['nic', 'nic'] }, /modules\[1\]\.name: module "nic" is listed twice/],
    ['signing secret not a DNS name', { ...base, signing: { keySecret: 'Key_1', certSecret: 'cert' } }, /signing\.keySecret: expected a Secret name/],
  ])('%s', (_label, value, pattern) => {
    const err = errorOf(() => parseDriverSpec(value, 'drivers/x/driver.yaml'));
    expect(err.message).toContain('drivers/x/driver.yaml: ');
    expect(err.message).toMatch(pattern);
  });

  it('reports a YAML syntax error with the file and line', async () => {
    const file = await tempDriver('name: nic\nmodules: [nic\nsource:\n  path: src\n');
    await expect(loadDriver(file)).rejects.toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: not valid YAML`));
  });

  it('reports an unreadable file', async () => {
    await expect(loadDriver('/nonexistent/driver.yaml')).rejects.toThrow(/\/nonexistent\/driver.yaml: cannot read driver spec \(ENOENT\)/);
  });

  it('reports a source.path that does not exist', async () => {
    const file = await tempDriver('name: nic\nmodules: [nic]\nsource:\n  path: nowhere\n');
    await expect(loadDriver(file)).rejects.toThrow(/source\.path: expected a directory, "nowhere"/);
  });

  it.each([
    ['a misspelt key in a module entry', 'name: acme-nic\nsource: {path: .}\nmodules:\n  - nmae: acme-nic\n', /driver\.yaml:4: modules\[0\]: unknown key "nmae" \(did you mean "name"\?\)/],
    ['a misspelt top-level key', 'name: acme-nic\nsource: {path: .}\nmodules: [acme]\nfirmwre: []\n', /driver\.yaml:4: \(top level\): unknown key "firmwre" \(did you mean "firmware"\?\)/],
    ['a misspelt nested key', 'name: acme-nic\nsource: {path: .}\nmodules: [acme]\nbuild:\n  comands: [make]\n', /driver\.yaml:5: build: unknown key "comands" \(did you mean "commands"\?\)/],
    ['an unknown key far from any', 'name: acme-nic\nsource: {path: .}\nmodules: [acme]\ncolour: blue\n', /unknown key "colour" \(expected one of: .*name.*modules/],
    ['a number as version', 'name: acme-nic\nversion: 2.30\nsource: {path: .}\nmodules: [acme]\n', /driver\.yaml:2: version: quote it \("2\.30"\)/],
    ['a number as a module name', 'name: acme-nic\nsource: {path: .}\nmodules: [8139]\n', /driver\.yaml:3: modules\[0\]: quote it \("8139"\)/],
  ])('%s: names the file, line and field, and what to write', async (_label, text, pattern) => {
    const file = await tempDriver(text);
    const err = await loadDriver(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(pattern);
    expect((err as UserError).message).not.toMatch(/Invalid input|expected string, received/);
  });

  it('refuses a firmware file that does not exist in the driver source, naming the field and file', async () => {
    const file = await tempDriver('name: nic\nmodules: [nic]\nsource: {path: src}\nfirmware:\n  - {source: fw/nic.bin, target: acme/nic.bin}\n');
    await expect(loadDriver(file)).rejects.toThrow(/driver\.yaml: firmware\[0\]\.source: "fw\/nic\.bin" \(.*src\/fw\/nic\.bin\) does not exist in the driver source/);
    await mkdir(path.join(path.dirname(file), 'src', 'fw'));
    await writeFile(path.join(path.dirname(file), 'src', 'fw', 'nic.bin'), 'firmware');
    await expect(loadDriver(file)).resolves.toMatchObject({ spec: { firmware: [{ source: 'fw/nic.bin' }] } });
  });

  it('refuses several documents', async () => {
    const file = await tempDriver('name: a\n---\nname: b\n');
    await expect(loadDriver(file)).rejects.toThrow(/expected exactly one YAML document.*found 2/);
  });
});
