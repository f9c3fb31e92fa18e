/**
 * Where CLI output goes: stdout only carries what was asked for (`-o yaml|json` stays
 * parseable); progress, notes and errors go to stderr. Tests pass their own streams.
 */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export const processIO: CliIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};
