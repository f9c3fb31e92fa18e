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
