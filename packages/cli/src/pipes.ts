/**
 * A closed pipe is not a failure: `lode job results <id> --json | head -c 100` ends when `head`
 * has read enough, and the writer should stop quietly, like any Unix tool killed by SIGPIPE
 * (Node ignores SIGPIPE, so the write fails with EPIPE instead).
 */

let installed = false;

/**
 * Makes the process exit with status 0 when the reader of stdout or stderr goes away. Installed
 * once per process; other stream errors are rethrown as before.
 */
export function exitQuietlyOnClosedPipe(): void {
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
}
