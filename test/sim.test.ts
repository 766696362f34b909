/**
 * The verification model (`sim/model.js`, the gateway's own verifier, reputation book and
 * lone-result audits in a discrete-event loop) still runs end to end: docs/trust.md quotes it.
 * Deterministic (seeded); a small job where two of twenty nodes lie once they have a record.
 */
import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { ROOT } from './support/cluster.js';

it('sim/model.js finishes a job with liars that turn, accepting none of their wrong results and refusing only liars', () => {
  const out = execFileSync(process.execPath, ['sim/model.js', '--tasks', '2000', '--runs', '1', '--mode', 'turn=50'], { cwd: ROOT, encoding: 'utf8' });
  const m = /done (\d+)\/(\d+) wrong-accepted (\d+) .* refused (\[.*\])/.exec(out);
  expect(m, out).not.toBeNull();
  const [, done, tasks, wrong, refused] = m!;
  expect(Number(done)).toBe(Number(tasks));
  expect(Number(wrong)).toBe(0);
  const who = JSON.parse(refused!) as string[];
  expect(who.length).toBeGreaterThan(0);
  expect(who.every((w) => w === 'liar')).toBe(true);
}, 60_000);
