/**
 * The process-level guard for promise rejections nobody handled. Each one is a bug (every
 * promise in Lode has a handler), but one request or one frame that trips it must not stop a
 * gateway that serves everyone else: the guard logs it — a JSON line whose message starts with
 * `UNHANDLED_REJECTION`, which the end-to-end tests look for and fail on (test/support/cluster.ts)
 * — and the process keeps serving.
 */
const UNHANDLED_MARK = 'UNHANDLED_REJECTION';

let installed = false;

export function installRejectionGuard(): void {
  if (installed) return;
  installed = true;
  process.on('unhandledRejection', (reason) => {
    const err = reason instanceof Error ? { type: reason.name, message: reason.message, stack: reason.stack } : { message: String(reason) };
    process.stderr.write(
      `${JSON.stringify({ level: 50, time: Date.now(), msg: `${UNHANDLED_MARK}: a promise rejection was not handled (a bug); the process keeps serving`, err })}\n`,
    );
  });
}
