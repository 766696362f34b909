/**
 * Job intake: turns a submission's raw body into a valid, signed job without stalling the
 * gateway's event loop (a 55 MB job with 100k tasks used to hold it for 4–6 s, long enough for
 * every node to be dropped as silent).
 *
 * Guarantees:
 * - A body of at most `inlineBytes` is parsed, validated and its signature recovered on the main
 *   thread (about a millisecond; a worker round trip would cost as much).
 * - A larger one goes to a worker (piscina, at most `threads` of them): JSON, schema, the spec's
 *   canonical hash and the signature are all checked there; its tasks come back in chunks of
 *   `chunkTasks`, each its own message, so the main thread never deserializes the whole job at
 *   once. The spec also comes back serialized, for the store.
 * - At most `maxQueue` large submissions wait for a worker; more are refused with 429 at once.
 * - Errors are the protocol's: MalformedJsonError, InvalidRequestError (with the zod path),
 *   InvalidSignatureError.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { inspectModule } from '@lode/sandbox';
import {
  InvalidModuleError,
  InvalidRequestError,
  InvalidSignatureError,
  MalformedJsonError,
  RateLimitedError,
  SignedJob,
  verifyJobSignature,
  type JobSpec,
  type LodeDomain,
  type TaskInput,
} from '@lode/protocol';
import { zodMessage } from '../zodMessage.js';
import { recoverSigner } from '../crypto/recoverSigner.js';
import type { IntakeRequest, IntakeResult } from './intake.worker.js';

/** A submission that is a valid job signed by its requester for this gateway. */
export interface AcceptedSubmission {
  spec: JobSpec;
  signature: string;
  jobId: string;
  /** The spec as JSON, when a worker already serialized it (the store writes it as it is). */
  specJson?: string;
}

export interface JobIntakeOptions {
  domain: LodeDomain;
  /** Bodies up to this size are checked on the main thread. @default 64 KiB */
  inlineBytes?: number;
  /** Worker threads, at most. @default 2 */
  threads?: number;
  /** Large submissions waiting for a worker, at most. @default 8 */
  maxQueue?: number;
  /** Tasks per message from the worker. @default 2,000 (~5 ms to deserialize) */
  chunkTasks?: number;
}

/** Where the compiled worker is: beside this file when built, in dist/ when run from source (tests). */
function workerFile(): string {
  const here = new URL('./intake.worker.js', import.meta.url);
  if (import.meta.url.endsWith('.js')) return fileURLToPath(here);
  const built = fileURLToPath(new URL('../../dist/jobs/intake.worker.js', import.meta.url));
  if (!existsSync(built)) throw new Error(`@lode/gateway: ${built} is missing; build first (npx tsc -b packages/gateway).`);
  return built;
}

export class JobIntake {
  private pool: Piscina | undefined;
  private readonly inlineBytes: number;
  private readonly chunkTasks: number;

  constructor(private readonly o: JobIntakeOptions) {
    this.inlineBytes = o.inlineBytes ?? 64 * 1024;
    this.chunkTasks = o.chunkTasks ?? 2_000;
  }

  async stop(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
  }

  /**
   * Throws InvalidModuleError unless `bytes` is a module every node will take (`inspectModule`);
   * a module over `inlineBytes` is walked in a worker.
   */
  async inspectModule(bytes: Uint8Array): Promise<void> {
    if (bytes.byteLength <= this.inlineBytes) {
      inspectModule(bytes);
      return;
    }
    const copy = bytes.slice().buffer; // the store's copy stays; the worker gets its own
    const refusal = (await this.workers().run({ bytes: copy }, { name: 'inspect', transferList: [copy] })) as { message: string; details?: string } | null;
    if (refusal) throw new InvalidModuleError(refusal.message, { details: refusal.details });
  }

  private workers(): Piscina {
    return (this.pool ??= new Piscina({
      filename: workerFile(),
      minThreads: 0,
      maxThreads: this.o.threads ?? 2,
      maxQueue: this.o.maxQueue ?? 8,
      idleTimeout: 30_000,
      // A hostile body can only cost the worker its heap, never the gateway's.
      resourceLimits: { maxOldGenerationSizeMb: 2048 },
    }));
  }

  /** Parses and checks a submission's body (a JSON `SignedJob`). */
  async accept(body: Uint8Array): Promise<AcceptedSubmission> {
    if (body.byteLength <= this.inlineBytes) return this.acceptInline(body);
    const pool = this.workers();
    const { port1, port2 } = new MessageChannel();
    const tasks: TaskInput[] = [];
    let expected = -1;
    let arrived: (() => void) | undefined;
    port1.on('message', (chunk: TaskInput[]) => {
      for (const t of chunk) tasks.push(t);
      if (tasks.length === expected) arrived?.();
      // The next chunk after the loop has had its turn (timers, sockets, other requests).
      setImmediate(() => port1.postMessage('next'));
    });
    // The body's bytes move to the worker (no copy); the request holds no other reference to them.
    const copy = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength ? body.buffer : body.slice().buffer;
    const request: IntakeRequest = { body: copy as ArrayBuffer, domain: this.o.domain, port: port2, chunkTasks: this.chunkTasks };
    let result: IntakeResult;
    try {
      result = (await pool.run(request, { transferList: [copy as ArrayBuffer, port2] })) as IntakeResult;
      if (result.ok && tasks.length < result.taskCount) {
        // Chunks posted before the worker answered are on their way (each its own message).
        expected = result.taskCount;
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve, reject) => {
          arrived = resolve;
          timer = setTimeout(() => reject(new Error(`job intake: only ${tasks.length} of ${expected} tasks arrived`)), 60_000);
        }).finally(() => clearTimeout(timer));
      }
    } catch (err) {
      if (/queue is at limit/i.test((err as Error).message)) {
        throw new RateLimitedError('The gateway is busy checking other large jobs. Try again in a few seconds.', { meta: { retryAfterMs: 2000 } });
      }
      throw err;
    } finally {
      port1.close();
    }
    if (!result.ok) throw errorOf(result.error);
    return { spec: { ...result.head, tasks } as JobSpec, signature: result.signature, jobId: result.jobId, specJson: result.specJson };
  }

  private async acceptInline(body: Uint8Array): Promise<AcceptedSubmission> {
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
    } catch (err) {
      throw new MalformedJsonError((err as Error).message);
    }
    const parsed = SignedJob.safeParse(json);
    if (!parsed.success) {
      throw new InvalidRequestError('The job is not a valid signed JobSpec. Build it with the SDK or `lode run`.', { details: zodMessage(parsed.error) });
    }
    const { jobId } = await verifyJobSignature(parsed.data, this.o.domain, undefined, recoverSigner);
    return { spec: parsed.data.spec, signature: parsed.data.signature, jobId };
  }
}

function errorOf(e: Extract<IntakeResult, { ok: false }>['error']): Error {
  switch (e.code) {
    case 'MALFORMED_JSON':
      return new MalformedJsonError(e.details);
    case 'INVALID_SIGNATURE':
      return new InvalidSignatureError(e.message, { details: e.details });
    default:
      return new InvalidRequestError(e.message, { details: e.details });
  }
}
