/**
 * The provider agent: turns `lease` frames into sandbox runs and `results` frames — one agent
 * for `lode node` (Worker threads) and the browser contributor (Web Workers). Long because it is
 * the whole provider protocol client.
 *
 * Guarantees:
 * - At most `slots` (by default the sandbox's concurrency) task groups are in flight; each group goes to the sandbox in one
 *   `runBatch` call. Leases run as soon as a slot is free (no waiting to fill a batch), and a
 *   deep queue is split evenly over the free slots so every worker stays busy.
 * - Blobs (module, stdin, input files) are fetched hash-checked through the blob store; a
 *   module is added to the sandbox once. A task whose blob cannot be had fails with
 *   `SANDBOX_BLOB_UNAVAILABLE`; a module the sandbox rejects fails with `SANDBOX_INVALID_MODULE` (or
 *   the sandbox's own code, e.g. `SANDBOX_TIMEOUT` when preparing it ran past the budget).
 * - Outcomes that finish in the same turn go out in one `results` frame (flushed after the
 *   current I/O callbacks; a microtask in browsers). Every outcome is kept until the gateway acks it (or refuses its lease) and
 *   is sent again after a reconnect.
 * - `cancel` frees the node at once: queued leases and leases still fetching their blobs are
 *   dropped, running tasks are stopped in the sandbox (`Sandbox.cancel`; their worker is
 *   replaced), and no result is sent for any of them (the gateway has already forgotten those
 *   leases). Other leases of the same group still finish and are reported.
 * - Leases not yet started when the session is lost are dropped: the gateway requeues a
 *   departed session's leases, so running them would be wasted work.
 * - A heartbeat with the running count goes out every `heartbeatMs` of an established session.
 * - `drain()` (a node leaving, or a page changing its cores) sends `drain`, finishes what it
 *   holds and waits for the acks; `resume()` takes leases again in the next session.
 * - `release()` (a page pausing) lets go of everything at once, sending no result.
 * - `stop` cancels running tasks in the sandbox too, so a shared sandbox is free at once.
 */
import {
  BlobHashMismatchError,
  entryOf,
  entryToWire,
  fromBase64,
  InvalidModuleError,
  LodeError,
  resultDigest,
  SandboxError,
  SandboxErrorCode,
  LIMITS,
  toBase64,
  type Lease,
  type TaskOutcome,
} from '@lode/protocol';
import type { Sandbox, SandboxFile, SandboxResult, SandboxTask } from '@lode/sandbox/portable';
import type { BlobStore } from './blobs.js';
import { afterThisTurn, systemClock, type Clock } from './clock.js';
import type { GatewayConnection, SessionMessage } from './connection.js';
import { Emitter } from './emitter.js';
import { errorText, type Logger } from './log.js';

/** A lease that started running (for "current task" displays). */
export interface TaskStart {
  leaseId: string;
  jobId: string;
  taskIndex: number;
  at: number;
}

/** What the agent reports for each finished task (for the CLI's and the page's display). */
export interface TaskEvent {
  leaseId: string;
  jobId: string;
  taskIndex: number;
  status: 'ok' | 'failed';
  exitCode: number | null;
  durationMs: number;
  error?: { code: string; message: string };
}

export interface AgentEvents extends Record<string, unknown> {
  task: TaskEvent;
  start: TaskStart[];
  /** Leases dropped without a result (cancelled, or the session was lost before they started). */
  dropped: string[];
  error: Error;
}

export interface AgentOptions {
  connection: GatewayConnection;
  sandbox: Sandbox;
  blobs: BlobStore;
  /** Task groups in flight at once. @default the sandbox's `concurrency`, read again as it changes */
  slots?: number;
  log: Logger;
  clock?: Clock;
  /** Most tasks in one `runBatch` call. @default 32 */
  maxBatch?: number;
  /** Soft cap on one `results` frame's payload. @default 8 MiB */
  maxFrameBytes?: number;
}

export interface Agent {
  /** Subscribes to the connection. Call before `connection.start()`. */
  start(): void;
  /**
   * Sends `drain`, runs every lease it holds (including any already on the wire), sends their
   * results and waits up to `ackTimeoutMs` for the gateway's acks. Does not close the connection.
   */
  drain(ackTimeoutMs: number): Promise<void>;
  /** Ends draining: the next session takes leases again (a paused page that resumes). */
  resume(): void;
  /**
   * Lets go of every lease at once (before closing the session to pause): queued ones are
   * dropped, running ones stopped in the sandbox; no result is sent for any of them.
   */
  release(): void;
  /** Stops at once: queued leases are dropped and running ones cancelled; their results are discarded. */
  stop(): void;
  /** Leases taken from the queue and not yet finished. */
  readonly running: number;
  readonly queued: number;
  /** Outcomes not yet acknowledged by the gateway. */
  readonly unacked: number;
  on: Emitter<AgentEvents>['on'];
  off: Emitter<AgentEvents>['off'];
}

type Prepared = { lease: Lease; task: SandboxTask } | { lease: Lease; failure: SandboxError; durationMs: number };

const EMPTY = new Uint8Array(0);

export function createAgent(options: AgentOptions): Agent {
  const { connection, sandbox, blobs, log } = options;
  const clock = options.clock ?? systemClock;
  /** Read on every pump: a page that changes its cores resizes the sandbox under the agent. */
  const slots = (): number => Math.max(1, options.slots ?? sandbox.concurrency);
  const maxBatch = Math.max(1, options.maxBatch ?? 32);
  const maxFrameBytes = options.maxFrameBytes ?? 8 * 1024 * 1024;
  const events = new Emitter<AgentEvents>();

  const queue: Lease[] = [];
  /** Lease ids queued or in flight, so a repeated lease is not run twice. */
  const held = new Set<string>();
  /** Lease ids cancelled while in flight (fetching blobs or running): their results are not sent. */
  const cancelled = new Set<string>();
  /** The sandbox task of each lease now in `runBatch`, for `Sandbox.cancel`. */
  const inSandbox = new Map<string, SandboxTask>();
  const unacked = new Map<string, TaskOutcome>();
  let unsent: string[] = [];
  const modules = new Map<string, Promise<void>>();
  let running = 0;
  let groupsInFlight = 0;
  let flushScheduled = false;
  let heartbeatTimer: unknown;
  let draining = false;
  let stopped = false;
  const waiters = new Set<() => void>();

  function notify(): void {
    for (const w of [...waiters]) w();
  }

  /** Resolves when `cond()` holds (re-checked on every state change), or on stop. */
  function until(cond: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (cond() || stopped) {
          waiters.delete(check);
          resolve();
        }
      };
      waiters.add(check);
      check();
    });
  }

  // ---- connection events

  function onWelcome(heartbeatMs: number): void {
    if (draining) connection.send({ t: 'drain' });
    unsent = [];
    if (unacked.size) {
      log.info('re-sending unacknowledged results', { results: unacked.size });
      sendOutcomes([...unacked.values()]);
    }
    startHeartbeat(heartbeatMs);
    pump();
  }

  function onDisconnected(): void {
    clock.clearTimeout(heartbeatTimer);
    heartbeatTimer = undefined;
    if (queue.length) {
      log.info('session lost; dropping leases not yet started (the gateway requeues them)', { dropped: queue.length });
      const dropped = queue.splice(0).map((l) => l.leaseId);
      for (const id of dropped) held.delete(id);
      events.emit('dropped', dropped);
      notify();
    }
  }

  function onMessage(msg: SessionMessage): void {
    switch (msg.t) {
      case 'lease':
        return onLeases(msg.leases);
      case 'cancel':
        return onCancel(msg.leaseIds);
      case 'ack':
        for (const id of msg.leaseIds) unacked.delete(id);
        notify();
        return;
      case 'error':
        if (msg.leaseId !== undefined) {
          // The gateway refused this lease's result (typically UNKNOWN_LEASE): it will never accept it.
          log.debug('gateway refused a result', { leaseId: msg.leaseId, code: msg.code });
          unacked.delete(msg.leaseId);
          notify();
        } else {
          log.warn('gateway reported an error', { code: msg.code, message: msg.message });
          events.emit('error', new GatewayReportedError(`${msg.code}: ${msg.message}`, { meta: { code: msg.code } }));
        }
        return;
    }
  }

  function onLeases(leases: Lease[]): void {
    if (stopped) return;
    for (const lease of leases) {
      const done = unacked.get(lease.leaseId);
      if (done) {
        sendOutcomes([done]);
        continue;
      }
      if (held.has(lease.leaseId)) continue;
      held.add(lease.leaseId);
      queue.push(lease);
    }
    log.debug('leases received', { received: leases.length, queued: queue.length, running });
    pump();
  }

  function onCancel(ids: string[]): void {
    const drop = new Set(ids);
    const removed: string[] = [];
    for (let i = queue.length - 1; i >= 0; i--) {
      const id = queue[i]!.leaseId;
      if (drop.has(id)) {
        held.delete(id);
        queue.splice(i, 1);
        removed.push(id);
      }
    }
    let halted = 0;
    for (const id of ids) {
      unacked.delete(id);
      if (!held.has(id)) continue;
      cancelled.add(id); // in flight: skipped if still fetching blobs, not reported if running
      const task = inSandbox.get(id);
      if (task && sandbox.cancel(task)) halted++;
    }
    log.debug('leases cancelled', { cancelled: ids.length, removedFromQueue: removed.length, stoppedRunning: halted });
    if (removed.length) events.emit('dropped', removed);
    notify();
  }

  // ---- running

  function pump(): void {
    const total = slots();
    while (!stopped && queue.length > 0 && groupsInFlight < total) {
      const freeSlots = total - groupsInFlight;
      const size = Math.min(maxBatch, Math.ceil(queue.length / freeSlots));
      void runGroup(queue.splice(0, size));
    }
  }

  async function runGroup(leases: Lease[]): Promise<void> {
    groupsInFlight++;
    running += leases.length;
    try {
      const prepared = await Promise.all(leases.map(prepare));
      const ready: Array<{ lease: Lease; task: SandboxTask }> = [];
      const skipped: string[] = [];
      for (const p of prepared) {
        if (cancelled.delete(p.lease.leaseId)) {
          held.delete(p.lease.leaseId);
          skipped.push(p.lease.leaseId);
          continue;
        }
        if ('task' in p) ready.push(p);
        else finish(p.lease, failedOutcome(p.lease.leaseId, p.failure, p.durationMs));
      }
      if (skipped.length) events.emit('dropped', skipped);
      if (ready.length === 0 || stopped) return;
      const at = clock.now();
      events.emit(
        'start',
        ready.map((r) => ({ leaseId: r.lease.leaseId, jobId: r.lease.jobId, taskIndex: r.lease.taskIndex, at })),
      );
      let results: SandboxResult[];
      for (const r of ready) inSandbox.set(r.lease.leaseId, r.task);
      try {
        results = await sandbox.runBatch(ready.map((r) => r.task));
      } catch (err) {
        if (stopped) return;
        log.error('the sandbox failed a whole batch', { err: errorText(err) });
        const failure = new SandboxError(SandboxErrorCode.WorkerCrashed, errorText(err), err);
        results = ready.map(() => failedResult(failure, 0));
      } finally {
        for (const r of ready) inSandbox.delete(r.lease.leaseId);
      }
      for (const [i, r] of ready.entries()) finish(r.lease, outcomeOf(r.lease.leaseId, results[i]!));
    } catch (err) {
      // prepare() and finish() do not throw; this is a bug guard so slots are never leaked.
      log.error('unexpected error running a task group', { err: errorText(err) });
      for (const l of leases) {
        held.delete(l.leaseId);
        cancelled.delete(l.leaseId);
      }
    } finally {
      groupsInFlight--;
      running -= leases.length;
      pump();
      notify();
    }
  }

  async function prepare(lease: Lease): Promise<Prepared> {
    const started = clock.now();
    try {
      const { input } = lease;
      const [, stdin, files] = await Promise.all([
        ensureModule(lease.module),
        input.stdin !== undefined ? fromBase64(input.stdin) : input.stdinBlob ? blob(input.stdinBlob) : EMPTY,
        Promise.all(input.files.map(async (f): Promise<SandboxFile> => ('blob' in f ? { path: f.path, data: await blob(f.blob) } : entryOf(f)))),
      ]);
      const task: SandboxTask = {
        moduleHash: lease.module,
        args: input.args,
        env: input.env,
        stdin,
        files,
        mounts: input.mounts,
        seed: lease.seed,
        limits: {
          memoryMiB: lease.limits.memoryMiB,
          wallMs: lease.limits.wallMs,
          maxOutputBytes: lease.limits.maxOutputBytes,
          fuel: lease.limits.fuel,
        },
      };
      return { lease, task };
    } catch (err) {
      const failure = err instanceof SandboxError ? err : new SandboxError(SandboxErrorCode.WorkerCrashed, errorText(err), err);
      log.warn('task cannot run', { leaseId: lease.leaseId, code: failure.code, details: failure.details });
      return { lease, failure, durationMs: clock.now() - started };
    }
  }

  function blob(sha: string): Promise<Uint8Array> {
    return blobs.get(sha).catch((err: unknown) => {
      throw new SandboxError(SandboxErrorCode.BlobUnavailable, errorText(err), err);
    });
  }

  function ensureModule(hash: string): Promise<void> {
    if (sandbox.hasModule(hash)) return Promise.resolve();
    let p = modules.get(hash);
    if (!p) {
      p = blob(hash).then(async (bytes) => {
        try {
          await sandbox.addModule(hash, bytes);
        } catch (err) {
          // The sandbox's own failures keep their code (SANDBOX_TIMEOUT: preparing the module ran
          // past its budget); a refused module is SANDBOX_INVALID_MODULE.
          if (err instanceof SandboxError) throw err;
          throw new SandboxError(addModuleFailureCode(err), errorText(err), err);
        }
      });
      // Forget failures so a later lease may try again; successes are answered by hasModule().
      p.catch(() => {}).finally(() => modules.delete(hash));
      modules.set(hash, p);
    }
    return p;
  }

  // ---- results

  function finish(lease: Lease, outcome: TaskOutcome): void {
    held.delete(lease.leaseId);
    if (cancelled.delete(lease.leaseId)) {
      events.emit('dropped', [lease.leaseId]); // the gateway has forgotten this lease
      return;
    }
    if (stopped) return;
    unacked.set(lease.leaseId, outcome);
    unsent.push(lease.leaseId);
    scheduleFlush();
    events.emit('task', {
      leaseId: lease.leaseId,
      jobId: lease.jobId,
      taskIndex: lease.taskIndex,
      status: outcome.status,
      exitCode: outcome.exitCode,
      durationMs: outcome.durationMs,
      ...(outcome.error ? { error: outcome.error } : {}),
    });
  }

  function scheduleFlush(): void {
    if (flushScheduled) return;
    flushScheduled = true;
    afterThisTurn(flush);
  }

  function flush(): void {
    flushScheduled = false;
    if (stopped || unsent.length === 0 || !connection.established) return; // re-sent on the next welcome
    const outcomes: TaskOutcome[] = [];
    for (const id of unsent) {
      const o = unacked.get(id);
      if (o) outcomes.push(o);
    }
    unsent = [];
    sendOutcomes(outcomes);
  }

  /** Sends outcomes in frames of at most ~maxFrameBytes. Unsent ones stay in `unacked`. */
  function sendOutcomes(outcomes: TaskOutcome[]): void {
    let frame: TaskOutcome[] = [];
    let bytes = 0;
    for (const o of outcomes) {
      const size = approxSize(o);
      if (frame.length > 0 && (bytes + size > maxFrameBytes || frame.length >= LIMITS.maxResultsPerFrame)) {
        if (!connection.send({ t: 'results', results: frame })) return;
        frame = [];
        bytes = 0;
      }
      frame.push(o);
      bytes += size;
    }
    if (frame.length > 0) connection.send({ t: 'results', results: frame });
  }

  function startHeartbeat(heartbeatMs: number): void {
    clock.clearTimeout(heartbeatTimer);
    if (!(heartbeatMs > 0)) return;
    const beat = (): void => {
      if (stopped || !connection.established) return;
      connection.send({ t: 'heartbeat', running });
      heartbeatTimer = clock.setTimeout(beat, heartbeatMs);
    };
    heartbeatTimer = clock.setTimeout(beat, heartbeatMs);
  }

  return {
    start() {
      connection.on('welcome', (w) => onWelcome(w.heartbeatMs));
      connection.on('disconnected', onDisconnected);
      connection.on('message', onMessage);
    },
    async drain(ackTimeoutMs) {
      if (stopped) return;
      draining = true;
      connection.send({ t: 'drain' });
      log.info('draining: finishing held leases', { queued: queue.length, running });
      await until(() => queue.length === 0 && running === 0);
      flush();
      if (unacked.size === 0) return;
      log.info('draining: waiting for the gateway to acknowledge results', { results: unacked.size, ackTimeoutMs });
      let timer: unknown;
      const timedOut = new Promise<void>((resolve) => {
        timer = clock.setTimeout(resolve, ackTimeoutMs);
      });
      await Promise.race([until(() => unacked.size === 0), timedOut]);
      clock.clearTimeout(timer);
      if (unacked.size > 0) log.warn('draining: some results were not acknowledged in time', { results: unacked.size });
    },
    resume() {
      draining = false;
    },
    release() {
      const dropped = queue.splice(0).map((l) => l.leaseId);
      for (const id of dropped) held.delete(id);
      for (const id of held) {
        cancelled.add(id); // fetching blobs: skipped; running: stopped, and its result not sent
        const task = inSandbox.get(id);
        if (task) sandbox.cancel(task);
      }
      // The session closes next; the gateway will not accept these from another one.
      unacked.clear();
      unsent = [];
      if (dropped.length) events.emit('dropped', dropped);
      notify();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clock.clearTimeout(heartbeatTimer);
      for (const l of queue.splice(0)) held.delete(l.leaseId);
      for (const task of inSandbox.values()) sandbox.cancel(task); // results are discarded anyway
      notify();
    },
    get running() {
      return running;
    },
    get queued() {
      return queue.length;
    },
    get unacked() {
      return unacked.size;
    },
    on: events.on.bind(events),
    off: events.off.bind(events),
  };
}

/** An `error` frame from the gateway that concerns the session rather than one lease. */
export class GatewayReportedError extends LodeError {
  readonly code = 'GATEWAY_REPORTED';
}

function outcomeOf(leaseId: string, r: SandboxResult): TaskOutcome {
  return {
    leaseId,
    status: r.status,
    exitCode: r.exitCode,
    stdout: toBase64(r.stdout),
    stderr: toBase64(r.stderr),
    files: r.files.map(entryToWire),
    deleted: r.deleted,
    resultHash: r.resultHash,
    ...(r.error ? { error: { code: r.error.code, message: r.error.message } } : {}),
    ...(r.fuelUsed !== undefined ? { fuelUsed: r.fuelUsed } : {}),
    durationMs: r.durationMs,
  };
}

/** Why `sandbox.addModule` refused: a bad module, bytes that are not the module, or a broken sandbox. */
function addModuleFailureCode(err: unknown): SandboxErrorCode {
  if (err instanceof BlobHashMismatchError) return SandboxErrorCode.BlobUnavailable;
  if (err instanceof InvalidModuleError || !(err instanceof LodeError)) return SandboxErrorCode.InvalidModule;
  return SandboxErrorCode.WorkerCrashed;
}

function failedResult(failure: SandboxError, durationMs: number): SandboxResult {
  return {
    status: 'failed',
    exitCode: null,
    stdout: EMPTY,
    stderr: EMPTY,
    files: [],
    deleted: [],
    resultHash: resultDigest({ exitCode: null, stdout: EMPTY, stderr: EMPTY, files: [], deleted: [] }),
    error: { code: failure.code, message: failureMessage(failure) },
    durationMs,
  };
}

function failedOutcome(leaseId: string, failure: SandboxError, durationMs: number): TaskOutcome {
  return outcomeOf(leaseId, failedResult(failure, durationMs));
}

function failureMessage(e: SandboxError): string {
  return e.details ? `${e.shortMessage} ${e.details}` : e.shortMessage;
}

function approxSize(o: TaskOutcome): number {
  let n = 256 + o.stdout.length + o.stderr.length;
  for (const f of o.files) n += f.path.length + f.data.length + 32;
  return n;
}
