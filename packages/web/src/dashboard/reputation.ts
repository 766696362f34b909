/**
 * A node's record of checked results (`NodeView.reputation`) and a job's verification
 * (`JobView.verification`) in words, for the dashboard. See docs/trust.md for what they mean.
 */
import type { JobView, NodeView } from '@lode/protocol';

export type Reputation = NonNullable<NodeView['reputation']>;

export interface ReputationText {
  /** Short: "credibility 0.9987 · 42 ✓ / 0 ✗", "probation · 0 ✓ / 0 ✗", "refused · 3 ✓ / 3 ✗". */
  text: string;
  /** Badge class: ok (trusted), waiting (probation), error (refused). */
  tone: 'ok' | 'waiting' | 'error';
  /** The longer explanation for a tooltip or the provider page. */
  explain: string;
}

/** Credibility with four decimals, never rounded up to 1 (it is below 1 by definition). */
export function formatCredibility(c: number): string {
  const floored = Math.floor(Math.max(0, Math.min(c, 0.9999)) * 10_000) / 10_000;
  return floored.toFixed(4);
}

export function reputationText(r: Reputation): ReputationText {
  const counts = `${r.validated.toLocaleString()} ✓ / ${r.invalid.toLocaleString()} ✗`;
  const checks = `${r.validated.toLocaleString()} checked result${r.validated === 1 ? '' : 's'} right, ${r.invalid.toLocaleString()} proven wrong`;
  if (r.refused) {
    return { text: `refused · ${counts}`, tone: 'error', explain: `Proven wrong too often: this gateway refuses it work. ${checks}.` };
  }
  if (r.probation) {
    return {
      text: `probation · ${counts}`,
      tone: 'waiting',
      explain: `No right checked result yet${r.invalid > 0 ? ' since its last wrong one' : ''}: its work is replicated on other nodes. ${checks}.`,
    };
  }
  return {
    text: `credibility ${formatCredibility(r.credibility)} · ${counts}`,
    tone: 'ok',
    explain: `Probability that its result is right, from its record: ${formatCredibility(r.credibility)}. ${checks}; ${r.consecutiveValid.toLocaleString()} right in a row.`,
  };
}

export type Verification = NonNullable<JobView['verification']>;

const count = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString()} ${n === 1 ? one : many}`;

/**
 * What a job's verification took so far, as phrases: "8 tasks accepted", "16 executions",
 * "1 known-answer task", … Counts that matter only when non-zero (being compared, speculative
 * copies) are left out at zero; a `none` job says its results are not checked.
 */
export function verificationSummary(v: Verification): string[] {
  if (v.policy === 'none') {
    // Its tasks are not counted; only audits (spot checks, known answers) may show up.
    const audits = [
      v.canaries > 0 && count(v.canaries, 'known-answer task'),
      v.spotChecks > 0 && count(v.spotChecks, 'spot check'),
      v.wrong > 0 && `${count(v.wrong, 'result')} proven wrong`,
    ];
    const some = audits.filter((a): a is string => typeof a === 'string');
    return some.length > 0 ? some : ['results are taken as they come, not checked'];
  }
  const out = [`${count(v.accepted, 'task')} accepted`, count(v.executions, 'execution')];
  if (v.inVerification > 0) out.push(`${count(v.inVerification, 'task')} being compared`);
  out.push(count(v.canaries, 'known-answer task'), count(v.spotChecks, 'spot check'));
  if (v.speculative > 0) out.push(count(v.speculative, 'speculative copy', 'speculative copies'));
  out.push(`${count(v.wrong, 'result')} proven wrong`, `${count(v.failed, 'task')} failed verification`);
  return out;
}
