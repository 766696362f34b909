/**
 * The preparation worker: hashes, checks (`inspectModule`), meters (`instrumentModule`) and
 * compiles modules, so that none of it runs on the node's main thread. The pool bounds each
 * request by a wall-time budget (it terminates this worker on overrun) and this worker's heap by
 * `resourceLimits`. One request at a time; replies transfer the metered bytes.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { instrumentModule } from '../metering/instrument.js';
import { inspectModule, prepareModule } from '../module.js';
import { toErrorData, type CompiledData, type PrepareReply, type PrepareRequest } from './prepareMessages.js';

async function compile(source: Uint8Array, pages: number): Promise<CompiledData> {
  try {
    return { module: await WebAssembly.compile(prepareModule(source, pages) as BufferSource) };
  } catch (e) {
    return { error: toErrorData(e) };
  }
}

async function handle(msg: PrepareRequest): Promise<{ reply: PrepareReply; transfer: ArrayBuffer[] }> {
  if (msg.type === 'compile') return { reply: { id: msg.id, ok: true, compiled: await compile(msg.source, msg.pages) }, transfer: [] };
  const hash = createHash('sha256').update(msg.bytes).digest('hex');
  let source: Uint8Array;
  try {
    inspectModule(msg.bytes);
    source = msg.metering ? instrumentModule(msg.bytes) : msg.bytes;
  } catch (e) {
    return { reply: { id: msg.id, ok: false, hash, error: toErrorData(e) }, transfer: [] };
  }
  const compiled = await compile(source, msg.pages);
  const transfer = source.byteOffset === 0 && source.byteLength === source.buffer.byteLength ? [source.buffer as ArrayBuffer] : [];
  return { reply: { id: msg.id, ok: true, hash, source, compiled }, transfer };
}

parentPort!.on('message', (msg: PrepareRequest) => {
  handle(msg).then(
    ({ reply, transfer }) => parentPort!.postMessage(reply, transfer),
    (e: unknown) => parentPort!.postMessage({ id: msg.id, ok: false, error: toErrorData(e) } satisfies PrepareReply),
  );
});
parentPort!.postMessage({ ready: true });
