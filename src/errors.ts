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

/** Exit codes, as kubectl/oc use them (0, 1, 2), and one of kmodlab's own (3). */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  /** `evaluate` ran to the end and wrote its reports, but some scenario failed. */
  scenarioFailed: 3,
} as const;

/**
 * A command that finished its work (output written) but must exit non-zero, e.g.
 * `evaluate` with a failed scenario. The CLI prints nothing more and exits with `code`.
 */
export class ExitStatus extends Error {
  override readonly name = 'ExitStatus';
  constructor(readonly code: number, message = `exit ${code}`) {
    super(message);
  }
}
