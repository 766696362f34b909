/**
 * A Sandbox double: echoes each task's args, stdin and files into stdout, with a real
 * resultDigest. `hold()` makes runs wait until `release()`, to observe in-flight state.
 * `cancel(task)` is recorded; a cancelled task's result is SANDBOX_CANCELLED.
 */
import { fromUtf8, resultDigest, utf8, type SandboxErrorCode } from '@lode/protocol';
import type { Sandbox, SandboxResult, SandboxTask } from '../src/sandboxTypes.js';

export class FakeSandbox implements Sandbox {
  readonly modules = new Map<string, Uint8Array>();
  readonly batches: SandboxTask[][] = [];
  /** Tasks passed to `cancel` while they were running. */
  readonly cancelled = new Set<SandboxTask>();
  readonly #running = new Set<SandboxTask>();
  addModuleCalls = 0;
  closed = false;
  #gate: Promise<void> | undefined;
  #release: (() => void) | undefined;

  constructor(readonly concurrency = 2) {}

  async addModule(hash: string, bytes: Uint8Array): Promise<void> {
    this.addModuleCalls++;
    this.modules.set(hash, bytes);
  }

  hasModule(hash: string): boolean {
    return this.modules.has(hash);
  }

  hold(): void {
    this.#gate = new Promise((resolve) => (this.#release = resolve));
  }

  release(): void {
    this.#release?.();
    this.#gate = undefined;
  }

  async run(task: SandboxTask): Promise<SandboxResult> {
    return (await this.runBatch([task]))[0]!;
  }

  async runBatch(tasks: SandboxTask[]): Promise<SandboxResult[]> {
    if (this.closed) throw new Error('sandbox closed');
    this.batches.push(tasks);
    for (const t of tasks) this.#running.add(t);
    await this.#gate;
    for (const t of tasks) this.#running.delete(t);
    return tasks.map((t) => {
      if (!this.modules.has(t.moduleHash)) throw new Error('module not added');
      if (this.cancelled.has(t)) return failedResult('SANDBOX_CANCELLED');
      const files = t.files.map((f) => `${f.path}=${fromUtf8(f.data)}`).join(',');
      const stdout = utf8(`args=${t.args.join(' ')};stdin=${fromUtf8(t.stdin)};files=${files}`);
      const stderr = new Uint8Array(0);
      const out = [{ path: '/out/seed', data: utf8(t.seed) }];
      return {
        status: 'ok' as const,
        exitCode: 0,
        stdout,
        stderr,
        files: out,
        deleted: [],
        resultHash: resultDigest({ exitCode: 0, stdout, stderr, files: out, deleted: [] }),
        durationMs: 1,
      };
    });
  }

  cancel(task: SandboxTask): boolean {
    if (!this.#running.has(task)) return false;
    this.cancelled.add(task);
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

function failedResult(code: SandboxErrorCode): SandboxResult {
  const empty = new Uint8Array(0);
  const content = { exitCode: null, stdout: empty, stderr: empty, files: [], deleted: [] };
  return { status: 'failed', ...content, resultHash: resultDigest(content), error: { code, message: code }, durationMs: 0 };
}
