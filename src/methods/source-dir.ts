/**
 * How README commands name a `source.path` driver's directory: the real path kmodlab
 * loaded it from (shell-quoted when needed), or a placeholder when rendered without one
 * (library callers that pass a spec but no `sourceDir`).
 */
import type { DriverSpec } from '../driver/spec.js';
import type { RenderOptions } from './method.js';

export const SOURCE_DIR_PLACEHOLDER = '<driver source dir>';

/** A word the shell reads back as `s` (single quotes only when needed). */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The driver source directory for README commands; undefined for git drivers. */
export function sourceDirArg(driver: DriverSpec, options: Pick<RenderOptions, 'sourceDir'>): string | undefined {
  if (!('path' in driver.source)) return undefined;
  return options.sourceDir !== undefined ? shellWord(options.sourceDir) : SOURCE_DIR_PLACEHOLDER;
}
