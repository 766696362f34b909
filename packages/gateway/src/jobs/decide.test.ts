import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { resultDigest, SandboxErrorCode, type TaskOutcome } from '@lode/protocol';
import { describe, expect, it } from 'vitest';
import { TaskState } from './activeJob.js';
import { checkOutput, decideLost, decideResult, RetryPolicy, type OutputCheck } from './decide.js';

const sha256 = (d: Uint8Array | string) => createHash('sha256').update(d).digest('hex');
const retry = new RetryPolicy(5);

function outcome(over: Partial<TaskOutcome> & { out?: string } = {}): TaskOutcome {
  const stdout = new TextEncoder().encode(over.out ?? 'hi');
  const hash = resultDigest({ exitCode: 0, stdout, stderr: new Uint8Array(0), files: [], deleted: [] }, sha256);
  return {
    leaseId: 'n.1',
    status: 'ok',
    exitCode: 0,
    stdout: Buffer.from(stdout).toString('base64'),
    stderr: '',
    files: [],
    deleted: [],
    resultHash: hash,
    durationMs: 1,
    fuelUsed: 10,
    ...over,
  };
}
const limits = { fuel: 1000, maxOutputBytes: 1024 };

describe('checkOutput', () => {
  it('accepts an outcome whose hash it recomputes', () => {
    const c = checkOutput(outcome(), limits, sha256);
    expect(c.ok && new TextDecoder().decode(c.output.stdout)).toBe('hi');
  });
  it('refuses more fuel than the lease allows, more output than the task allows, and a wrong hash', () => {
    expect(checkOutput(outcome({ fuelUsed: 1001 }), limits, sha256)).toMatchObject({ ok: false, refusal: { code: 'INVALID_RESULT' } });
    expect(checkOutput(outcome({ out: 'x'.repeat(1025) }), limits, sha256)).toMatchObject({ ok: false, refusal: { code: 'INVALID_RESULT' } });
    expect(checkOutput(outcome({ resultHash: 'f'.repeat(64) }), limits, sha256)).toMatchObject({ ok: false, refusal: { code: 'RESULT_HASH_MISMATCH' } });
  });
});

const states = fc.constantFrom(TaskState.Queued, TaskState.Leased, TaskState.Done, TaskState.Failed, TaskState.Cancelled);
const attempts = fc.integer({ min: 1, max: 255 });
const codes = fc.constantFrom(SandboxErrorCode.WorkerCrashed, SandboxErrorCode.BlobUnavailable, 'SANDBOX_TRAP', 'SANDBOX_FUEL_EXHAUSTED', 'SANDBOX_TIMEOUT');
const outcomes = fc.oneof(
  fc.constant(outcome()),
  codes.map((code) => outcome({ status: 'failed', exitCode: null, error: { code, message: 'm' } })),
);
const checks: fc.Arbitrary<OutputCheck> = fc.oneof(
  fc.constant({ ok: true as const, output: { stdout: new Uint8Array(0), stderr: new Uint8Array(0), files: [] } }),
  fc
    .constantFrom('INVALID_RESULT' as const, 'RESULT_HASH_MISMATCH' as const)
    .map((code) => ({ ok: false as const, refusal: { code, message: 'm', offence: 'o', meta: {} } })),
);

describe('decideResult and decideLost', () => {
  it('never end a task that is not leased, retry only with attempts left, never keep or pay a refused answer', () => {
    fc.assert(
      fc.property(states, attempts, outcomes, checks, (state, n, o, c) => {
        const plan = decideResult({ state, attempts: n }, o, () => c, retry);
        if (state !== TaskState.Leased) {
          expect(plan).toEqual({ ack: 'now', requeue: false });
          return;
        }
        expect(plan.requeue && plan.end).toBeFalsy(); // one or the other
        expect(plan.requeue || plan.end).toBeTruthy(); // a leased task's answer always does something
        if (plan.requeue) expect(n).toBeLessThan(retry.maxAttempts);
        if (!c.ok) {
          expect(plan.reject?.code).toBe(c.refusal.code);
          expect(plan.ack).toBe('no');
          if (plan.end) {
            expect(plan.end).toMatchObject({ state: TaskState.Failed, paid: false });
            expect(plan.end.output).toBeUndefined();
          }
          return;
        }
        const infra = o.status === 'failed' && retry.retryable(o.error!.code);
        if (plan.end) {
          expect(plan.ack).toBe('after-commit');
          expect(plan.end.output).toBe(c.output);
          expect(plan.end.paid).toBe(!infra); // the module's own failures are paid, infrastructure is not
          expect(plan.end.state).toBe(o.status === 'ok' ? TaskState.Done : TaskState.Failed);
          if (!infra) expect(plan.requeue).toBe(false);
        } else {
          expect(infra).toBe(true);
          expect(plan.ack).toBe('now');
        }
      }),
    );
    fc.assert(
      fc.property(states, attempts, fc.constantFrom('expired' as const, 'node-left' as const), (state, n, reason) => {
        const plan = decideLost({ state, attempts: n }, reason, retry);
        if (state !== TaskState.Leased) {
          expect(plan).toEqual({ ack: 'no', requeue: false });
          return;
        }
        expect(plan.requeue).toBe(n < retry.maxAttempts);
        if (!plan.requeue)
          expect(plan.end).toMatchObject({ state: TaskState.Failed, paid: false, error: { code: reason === 'expired' ? 'LEASE_EXPIRED' : 'NODE_LEFT' } });
      }),
    );
  });

  it('says how many attempts were made when it gives up', () => {
    const plan = decideLost({ state: TaskState.Leased, attempts: 5 }, 'node-left', retry);
    expect(plan.end?.error?.message).toBe('The node disconnected while holding the task. Gave up after 5 attempts.');
  });
});
