/**
 * One error type for mistakes the user can fix (bad flag, bad file, bad field).
 * The CLI prints its message alone — no stack trace — and exits with code 2.
 * Anything else that escapes is an internal failure (exit 1).
 */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(message: string, readonly hint?: string) {
    super(message);
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}

/** Exit codes, as kubectl/oc use them. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
} as const;

/**
 * A command that ran to its end and printed its result, but whose result is a failure
 * (e.g. `kmodlab check` with a failed cell): the CLI exits with `exitCode` and prints
 * nothing more.
 */
export class CommandFailed extends Error {
  override readonly name = 'CommandFailed';
  constructor(readonly exitCode: number, message = `exit ${exitCode}`) {
    super(message);
  }
}
