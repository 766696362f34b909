import { describe, expect, it } from 'vitest';
import { formatCredibility, reputationText, verificationSummary, type Reputation } from './reputation.js';

const base: Reputation = { validated: 42, invalid: 0, consecutiveValid: 42, credibility: 0.99874, probation: false, refused: false, uptimeMs: 60_000 };

describe("a node's reputation in words", () => {
  it("shows a trusted node's credibility and its checks", () => {
    expect(reputationText(base)).toMatchObject({ text: 'credibility 0.9987 · 42 ✓ / 0 ✗', tone: 'ok' });
    expect(reputationText(base).explain).toContain('42 right in a row');
  });

  it('never shows a credibility of 1, which the record cannot reach', () => {
    expect(formatCredibility(0.99999)).toBe('0.9999');
    expect(formatCredibility(0)).toBe('0.0000');
  });

  it('says probation for a newcomer and refused for a node proven wrong too often, whatever its credibility', () => {
    expect(reputationText({ ...base, validated: 0, consecutiveValid: 0, probation: true })).toMatchObject({ text: 'probation · 0 ✓ / 0 ✗', tone: 'waiting' });
    expect(reputationText({ ...base, invalid: 1, consecutiveValid: 0, probation: true }).explain).toContain('since its last wrong one');
    expect(reputationText({ ...base, invalid: 3, refused: true, probation: true })).toMatchObject({ text: 'refused · 42 ✓ / 3 ✗', tone: 'error' });
  });
});

describe("a job's verification in words", () => {
  it('says what the policy took, leaving out counts that only matter when non-zero', () => {
    const v = { policy: 'replicate(2)', inVerification: 0, accepted: 8, executions: 16, canaries: 1, spotChecks: 0, speculative: 0, wrong: 0, failed: 0 };
    expect(verificationSummary(v)).toEqual([
      '8 tasks accepted',
      '16 executions',
      '1 known-answer task',
      '0 spot checks',
      '0 results proven wrong',
      '0 tasks failed verification',
    ]);
    expect(verificationSummary({ ...v, inVerification: 2, speculative: 1, wrong: 1 })).toEqual(
      expect.arrayContaining(['2 tasks being compared', '1 speculative copy', '1 result proven wrong']),
    );
  });

  it("says a `none` job's results are not checked instead of listing zeros, unless an audit caught something", () => {
    const none = { policy: 'none', inVerification: 0, accepted: 0, executions: 0, canaries: 0, spotChecks: 0, speculative: 0, wrong: 0, failed: 0 };
    expect(verificationSummary(none)).toEqual(['results are taken as they come, not checked']);
    expect(verificationSummary({ ...none, spotChecks: 2, wrong: 1 })).toEqual(['2 spot checks', '1 result proven wrong']);
  });
});
