/**
 * Where CLI output goes: stdout only carries what was asked for (`-o json` stays
 * parseable); progress, notes and errors go to stderr. Tests pass their own streams.
 *
 * A reader that stops early (`kmodlab help render | head -1`) closes the pipe: the next
 * write fails with EPIPE, emitted asynchronously as an 'error' event that would crash
 * the process with a stack trace. As with other Unix tools, a closed stdout means nobody
 * wants the rest: further output is dropped and the command finishes quietly (an
 * evaluation still runs its cleanup; its progress on stderr goes on).
 */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

type Closable = Pick<NodeJS.WriteStream, 'write' | 'on'>;

/** A writer for `stream` that turns EPIPE into "drop the rest"; other errors are rethrown. */
export function pipeSafeWriter(stream: Closable): (text: string) => void {
  let closed = false;
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') {
      closed = true;
      return;
    }
    throw e;
  });
  return (text) => {
    if (!closed) stream.write(text);
  };
}

export const processIO: CliIO = {
  stdout: pipeSafeWriter(process.stdout),
  stderr: pipeSafeWriter(process.stderr),
};
