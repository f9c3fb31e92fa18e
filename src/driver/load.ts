/**
 * Reading a driver.yaml: file errors, YAML syntax errors and schema errors all become
 * one UserError that names the file, the field and what was expected.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { describeDriverIssues } from './issues.js';
import { parseYamlStream, YamlSyntaxError } from '../yaml.js';
import { DriverSpecSchema, type DriverSpec } from './spec.js';

/** A DriverSpec together with where it came from (local sources are relative to it). */
export interface LoadedDriver {
  spec: DriverSpec;
  /** Absolute path of the driver.yaml. */
  file: string;
  /** Absolute path of the source directory when `source.path` is used. */
  sourceDir?: string;
}

/** `text`: the YAML the value was read from, so messages give lines and values as written. */
export function parseDriverSpec(value: unknown, where: string, text?: string): DriverSpec {
  const result = DriverSpecSchema.safeParse(value);
  if (!result.success) {
    throw new UserError(
      `invalid driver spec\n${describeDriverIssues(where, result.error, DriverSpecSchema, value, text)}`,
      'see drivers/simple-kmod/driver.yaml for a complete example',
    );
  }
  return result.data;
}

export async function loadDriver(file: string): Promise<LoadedDriver> {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${file}: cannot read driver spec (${code ?? String(e)})`, 'pass --driver <path to driver.yaml>');
  }
  let docs: unknown[];
  try {
    docs = parseYamlStream(text);
  } catch (e) {
    if (e instanceof YamlSyntaxError) {
      throw new UserError(`${file}${e.line ? `:${e.line}` : ''}: not valid YAML: ${e.message.split('\n')[0]}`);
    }
    throw e;
  }
  if (docs.length !== 1) {
    throw new UserError(`${file}: expected exactly one YAML document holding the driver spec, found ${docs.length}`);
  }
  const spec = parseDriverSpec(docs[0], file, text);
  const loaded: LoadedDriver = { spec, file: abs };
  if ('path' in spec.source) {
    const dir = path.resolve(path.dirname(abs), spec.source.path);
    const st = await stat(dir).catch(() => undefined);
    if (!st?.isDirectory()) {
      throw new UserError(`${file}: source.path: expected a directory, "${spec.source.path}" (${dir}) does not exist or is not a directory`);
    }
    loaded.sourceDir = dir;
    // Every method copies the firmware from the source into its image; a missing file
    // would only fail in the build (or, in a Containerfile COPY, on the cluster).
    for (const [i, fw] of spec.firmware.entries()) {
      const abs = path.resolve(dir, fw.source);
      const fst = await stat(abs).catch(() => undefined);
      if (!fst?.isFile()) {
        throw new UserError(`${file}: firmware[${i}].source: "${fw.source}" (${abs}) ${fst ? 'is not a file' : 'does not exist'} in the driver source`);
      }
    }
  }
  return loaded;
}
