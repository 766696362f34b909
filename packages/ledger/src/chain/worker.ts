/**
 * The embedded chain's worker thread (started by ChainWorker): owns the EmbeddedChain — the VM,
 * its state and its log file — and answers one request message at a time. Every message is
 * `{ id, method, params, budgetMs, dev }`; every answer `{ id, result }` or `{ id, error }` with
 * the JSON-RPC error's code, message and data. `{ t: 'close' }` flushes and closes the chain.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EmbeddedChain, RpcError, type EmbeddedChainOptions } from './embeddedChain.js';
import { dispatch } from './rpc.js';

export interface WorkerRequest {
  t: 'call';
  id: number;
  method: string;
  params: unknown;
  budgetMs: number;
  dev: boolean;
}
export type WorkerAnswer =
  | { t: 'ready'; chainId: number }
  | { t: 'failed'; message: string }
  | { t: 'result'; id: number; result: unknown }
  | { t: 'error'; id: number; code: number; message: string; data?: string }
  | { t: 'closed' };

const port = parentPort;
if (port === null) throw new Error('chain/worker.js runs in a worker thread (see ChainWorker)');
const post = (answer: WorkerAnswer) => port.postMessage(answer);

let chain: EmbeddedChain;
try {
  chain = await EmbeddedChain.open(workerData as EmbeddedChainOptions);
  post({ t: 'ready', chainId: chain.chainId });
} catch (err) {
  post({ t: 'failed', message: (err as Error).message });
  port.close();
  process.exit(1);
}

port.on('message', (m: WorkerRequest | { t: 'close' }) => {
  if (m.t === 'close') {
    chain
      .close()
      .then(
        () => post({ t: 'closed' }),
        () => post({ t: 'closed' }),
      )
      .finally(() => port.close());
    return;
  }
  dispatch(chain, m.method, m.params, { devMethods: m.dev, budgetMs: m.budgetMs }).then(
    (result) => {
      try {
        post({ t: 'result', id: m.id, result: result ?? null });
      } catch (err) {
        post({ t: 'error', id: m.id, code: -32603, message: `internal error: the answer could not be sent (${(err as Error).message})` });
      }
    },
    (err: unknown) => {
      const e = err instanceof RpcError ? err : new RpcError(-32603, `internal error: ${(err as Error)?.message ?? String(err)}`);
      post({ t: 'error', id: m.id, code: e.code, message: e.message, ...(e.data === undefined ? {} : { data: e.data }) });
    },
  );
});
