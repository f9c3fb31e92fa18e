/**
 * One spelling per concept across commands, and the other spelling still accepted:
 * `--method`/`--methods` (render and evaluate take both), `-o/--output` for what a
 * command prints (report keeps `--format` as a hidden alias). The alias is hidden from
 * --help so each command shows one spelling.
 */
import { Option, type Command } from 'commander';
import { UserError } from '../errors.js';

/** A hidden option spelled `alias` that fills the same value as `canonical`. */
export function hiddenAlias(flags: string, description: string): Option {
  return new Option(flags, description).hideHelp();
}

/**
 * Moves the alias's value to the canonical key. Both given on the command line is a
 * conflict unless they agree. `canonicalFlag`/`aliasFlag` are the spellings users type;
 * returns the one used, for messages about the value.
 */
export function mergeAlias<T extends object>(cmd: Command, flags: T, canonical: keyof T & string, alias: keyof T & string, canonicalFlag: string, aliasFlag: string): string {
  const aliasValue = flags[alias];
  if (aliasValue === undefined) return canonicalFlag;
  if (cmd.getOptionValueSource(canonical) === 'cli' && flags[canonical] !== aliasValue) {
    throw new UserError(`${canonicalFlag} and ${aliasFlag} are the same flag: give one (got ${String(flags[canonical])} and ${String(aliasValue)})`);
  }
  (flags as Record<string, unknown>)[canonical] = aliasValue;
  delete flags[alias];
  return aliasFlag;
}
