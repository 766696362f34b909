/**
 * Baseline worker for `bench/run.js`: runs one task on Lode's sandbox core in a piscina thread,
 * the module compiled once per thread — the same work a node does, without the network.
 */
import { pagesForMiB, prepareModule, runTask } from '@lode/sandbox';

const compiled = new Map();

export default function run({ moduleBytes, hash, task }) {
  let module = compiled.get(hash);
  if (!module) {
    module = new WebAssembly.Module(prepareModule(moduleBytes, pagesForMiB(task.limits.memoryMiB)));
    compiled.set(hash, module);
  }
  const r = runTask(module, task);
  return { status: r.status, stdout: r.stdout, resultHash: r.resultHash };
}
