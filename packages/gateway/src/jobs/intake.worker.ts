/**
 * The job intake worker: everything a submission costs before the gateway knows it is a valid,
 * signed job — JSON parsing, the schema, the spec's canonical hash and the signature — runs
 * here, off the gateway's event loop. The tasks go back to the main thread in chunks through
 * `port`, one per request of the main thread (so no single deserialization stalls its loop),
 * the rest as the task's result, with the spec already serialized for the store.
 */
import { once } from 'node:events';
import type { MessagePort } from 'node:worker_threads';
import { InvalidModuleError, type LodeError, SignedJob, verifyJobSignature, type LodeDomain } from '@lode/protocol';
import { inspectModule } from '@lode/sandbox';
import { recoverSigner } from '../crypto/recoverSigner.js';
import { zodMessage } from '../zodMessage.js';

export interface IntakeRequest {
  body: ArrayBuffer;
  domain: LodeDomain;
  port: MessagePort;
  /** Tasks per chunk posted to `port`. */
  chunkTasks: number;
}

export type IntakeResult =
  | { ok: true; head: Omit<SignedJob['spec'], 'tasks'>; taskCount: number; signature: string; jobId: string; specJson: string }
  | { ok: false; error: { code: 'MALFORMED_JSON' | 'INVALID_REQUEST' | 'INVALID_SIGNATURE'; message: string; details?: string } };

export default async function intake(req: IntakeRequest): Promise<IntakeResult> {
  try {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(req.body));
    } catch (err) {
      return { ok: false, error: { code: 'MALFORMED_JSON', message: 'The body is not valid JSON.', details: (err as Error).message } };
    }
    const parsed = SignedJob.safeParse(json);
    if (!parsed.success) {
      return {
        ok: false,
        error: {
          code: 'INVALID_REQUEST',
          message: 'The job is not a valid signed JobSpec. Build it with the SDK or `lode run`.',
          details: zodMessage(parsed.error),
        },
      };
    }
    const job = parsed.data;
    let jobId: string;
    try {
      ({ jobId } = await verifyJobSignature(job, req.domain, undefined, recoverSigner));
    } catch (err) {
      const e = err as LodeError;
      return { ok: false, error: { code: 'INVALID_SIGNATURE', message: e.shortMessage ?? String(err), details: e.details } };
    }
    const { tasks, ...head } = job.spec;
    // One chunk at a time, each after the main thread asks for it: a port delivers every queued
    // message in one turn of its loop, so sending them all at once would stall it as badly as
    // one big message.
    for (let i = 0; i < tasks.length; i += req.chunkTasks) {
      const asked = once(req.port, 'message');
      req.port.postMessage(tasks.slice(i, i + req.chunkTasks));
      await asked;
    }
    return { ok: true, head, taskCount: tasks.length, signature: job.signature, jobId, specJson: JSON.stringify(job.spec) };
  } finally {
    // Closing after the last chunk: messages already posted are still delivered.
    req.port.close();
  }
}

/**
 * Checks a module as every node will (`inspectModule`: real WebAssembly, WASI imports only, every
 * cap of LIMITS.module) — walking a 32 MiB module takes the better part of a second, here rather
 * than on the gateway's loop. Resolves to null when it may run, or why not.
 */
export async function inspect(req: { bytes: ArrayBuffer }): Promise<{ message: string; details?: string } | null> {
  try {
    inspectModule(new Uint8Array(req.bytes));
    return null;
  } catch (err) {
    if (err instanceof InvalidModuleError) return { message: err.shortMessage, details: err.details };
    return { message: 'The module is not a usable WebAssembly module.', details: String(err) };
  }
}
