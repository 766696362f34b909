/**
 * The Node pool's preparation worker: `handlePrepare` (hash, check, meter, compile) for each
 * request, off the node's main thread. The pool bounds each request by a wall-time budget (it
 * terminates this worker on overrun) and this worker's heap by `resourceLimits`.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { handlePrepare, PREPARE_READY, toErrorData, type PrepareReply, type PrepareRequest } from '../prepare.js';

const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

parentPort!.on('message', (msg: PrepareRequest) => {
  handlePrepare(msg, sha256Hex)
    .then(({ reply, transfer }) => parentPort!.postMessage(reply, transfer))
    .catch((e: unknown) => parentPort!.postMessage({ t: 'prepared', id: msg.id, ok: false, error: toErrorData(e) } satisfies PrepareReply));
});
parentPort!.postMessage(PREPARE_READY);
