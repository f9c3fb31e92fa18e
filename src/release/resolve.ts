/**
 * The release a render targets: a saved `oc adm release info` output, if given, with
 * explicit flags on top. Every fact records where it came from (`sources`), and every
 * value is checked against ReleaseSchema, with errors naming the flag or file that gave it.
 */
import { readFile } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { parseReleaseInfo } from './release-info.js';
import { ReleaseSchema, type Release, type ReleaseInput } from './release.js';

export interface ResolveReleaseOptions {
  /** `--release-info <file>`: saved `oc adm release info` output (text or -o json). */
  releaseInfoFile?: string;
  /** `--ocp-version` */
  ocpVersion?: string;
  /** `--kernel` */
  kernel?: string;
  /** `--dtk-image` */
  dtkImage?: string;
  /** `--rhcos-image` */
  rhcosImage?: string;
  /** `--os-family`: overrides the family the release info names (default rhcos). */
  osFamily?: string;
}

type FactField = 'version' | 'kernelVersion' | 'driverToolkitImage' | 'rhcosImage' | 'osFamily';

/** The flag that sets each release fact. */
export const RELEASE_FLAGS: Record<FactField, string> = {
  version: '--ocp-version',
  kernelVersion: '--kernel',
  driverToolkitImage: '--dtk-image',
  rhcosImage: '--rhcos-image',
  osFamily: '--os-family',
};

export async function resolveRelease(opts: ResolveReleaseOptions): Promise<Release> {
  const file = opts.releaseInfoFile;
  let base: ReleaseInput = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new UserError(`--release-info ${file}: cannot read the file: ${describeFsError(e)}`);
    }
    base = parseReleaseInfo(text, file);
  }

  const candidate: ReleaseInput = { ...base };
  const sources: Record<string, string> = { ...(base.sources ?? {}) };
  const fromFlag = new Set<FactField>();

  if (opts.ocpVersion !== undefined && base.version !== undefined && opts.ocpVersion !== base.version) {
    throw new UserError(
      `--ocp-version ${opts.ocpVersion} conflicts with release info ${file} (${base.version}): drop one`,
      'the release info file describes one release; --ocp-version names another. Keep the file (it carries the image pull specs) or pass the right file.',
    );
  }
  const flags: Array<[FactField, string | undefined]> = [
    ['version', opts.ocpVersion],
    ['kernelVersion', opts.kernel],
    ['driverToolkitImage', opts.dtkImage],
    ['rhcosImage', opts.rhcosImage],
    ['osFamily', opts.osFamily],
  ];
  for (const [field, value] of flags) {
    if (value === undefined) continue;
    if (field === 'version' && base.version !== undefined) continue; // same value as the file: keep the file as source
    (candidate as Record<string, unknown>)[field] = value; // checked by ReleaseSchema below
    sources[field] = RELEASE_FLAGS[field];
    fromFlag.add(field);
  }
  candidate.sources = sources;

  const parsed = ReleaseSchema.safeParse(candidate);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const field = issue.path[0];
      const value = typeof field === 'string' ? (candidate as Record<string, unknown>)[field] : undefined;
      const got = typeof value === 'string' ? ` (got "${value}")` : '';
      if (typeof field === 'string' && fromFlag.has(field as FactField)) {
        return `${RELEASE_FLAGS[field as FactField]}: ${issue.message}${got}`;
      }
      return `release info ${file ?? '(none)'}: ${issue.path.map(String).join('.') || '(top level)'}: ${issue.message}${got}`;
    });
    throw new UserError(problems.join('\n'));
  }
  return parsed.data;
}

function describeFsError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return err.message ?? String(e);
  }
}
