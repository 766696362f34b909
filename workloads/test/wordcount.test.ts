import { describe, expect, it } from 'vitest';
import { reference } from '../src/index.js';
import { runWasi } from './harness.js';

/** Deterministic text of `words` words drawn from a small vocabulary with punctuation. */
function corpus(words: number): string {
  const vocab = ['The', 'quick', 'brown', 'fox', "don't", "'quoted'", 'naïve', '42', 'x9', "rock'n'roll", 'É', 'a', 'ZEBRA', 'zebra'];
  const seps = [' ', ', ', '.\n', ' -- ', '\t', '!? '];
  let state = 12345;
  const parts: string[] = [];
  for (let i = 0; i < words; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    parts.push(vocab[state % vocab.length]! + seps[(state >>> 8) % seps.length]!);
    if (state % 97 === 0) parts.push(`w${i} `); // a long tail of unique words
  }
  return parts.join('');
}

describe('wordcount', () => {
  it('follows the word definition on tricky input', () => {
    const text = "Don't stop -- DON'T! 'Tis ''' x'' naïve café 3.14 e-mail O'Neil's\n";
    const run = runWasi('wordcount', { stdin: text });
    expect(run.exitCode).toBe(0);
    expect(run.stdout.toString()).toBe(reference.formatWordcount(reference.wordcount(text)));
    expect(run.stdout.toString()).toBe(`{"14":1,"3":1,"caf":1,"don't":2,"e":1,"mail":1,"na":1,"o'neil's":1,"stop":1,"tis":1,"ve":1,"x":1}\n`);
  });

  it('prints {} for empty input', () => {
    expect(runWasi('wordcount', { stdin: '' }).stdout.toString()).toBe('{}\n');
  });

  it('matches the reference byte for byte on a large input', () => {
    const text = corpus(200_000); // ~1.3 MB, ~2,000 distinct words
    const run = runWasi('wordcount', { stdin: text });
    expect(run.exitCode).toBe(0);
    const expected = reference.wordcount(text);
    expect(expected.size).toBeGreaterThan(1000);
    expect(run.stdout.toString()).toBe(reference.formatWordcount(expected));
    expect(reference.parseWordcount(run.stdout.toString())).toEqual(expected);
  });

  it('reads files under /in when given paths, counting them together', () => {
    const a = corpus(500);
    const b = 'Second file, second words.';
    const run = runWasi('wordcount', { args: ['/in/a.txt', '/in/b.txt'], inFiles: { 'a.txt': a, 'b.txt': b } });
    expect(run.exitCode).toBe(0);
    expect(run.stdout.toString()).toBe(reference.formatWordcount(reference.wordcount(a, b)));
  });

  it('fails with exit code 74 for a missing file', () => {
    const run = runWasi('wordcount', { args: ['/in/missing.txt'] });
    expect(run.exitCode).toBe(74);
    expect(run.stderr.toString()).toMatch(/missing\.txt/);
  });
});

describe('echo', () => {
  it('writes its arguments joined by spaces, then stdin, unchanged', () => {
    const stdin = new Uint8Array(200_000).map((_, i) => (i * 7) & 0xff);
    const run = runWasi('echo', { args: ['hello', 'wörld', '', 'x'], stdin });
    expect(run.exitCode).toBe(0);
    const expected = Buffer.concat([Buffer.from('hello wörld  x'), stdin]);
    expect(run.stdout.length).toBe(expected.length);
    expect(run.stdout.equals(expected)).toBe(true); // (deep-equal on 200 kB is needlessly slow)
  });

  it('writes nothing for no arguments and empty stdin', () => {
    expect(runWasi('echo').stdout).toHaveLength(0);
  });
});
