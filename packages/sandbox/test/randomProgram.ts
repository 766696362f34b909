/**
 * Random WASI programs for the metering property tests: valid, always ending (loops count down
 * bounded counters; functions call only higher-numbered ones, so nothing recurses), and
 * deterministic, yet with the control flow compilers emit — nested blocks left by br_if and
 * br_table, if/else with and without results, loops in loops, calls direct and indirect, early
 * returns, multi-value blocks, bulk memory, memory.grow, and (rarely) proc_exit or a trap.
 * `_start` prints its locals and the first KiB of memory at the end.
 */

/** A small seeded generator (xorshift32), so a failing case is reproduced from its seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let s = this.s;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.s = s >>> 0;
    return this.s;
  }
  int(n: number): number {
    return this.next() % n;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() / 2 ** 32 < p;
  }
}

const BINOPS = ['i32.add', 'i32.sub', 'i32.mul', 'i32.and', 'i32.or', 'i32.xor', 'i32.shl', 'i32.shr_u', 'i32.shr_s', 'i32.rotl'];
const CMPS = ['i32.eq', 'i32.ne', 'i32.lt_u', 'i32.gt_s', 'i32.le_s', 'i32.ge_u'];
const UNOPS = ['i32.eqz', 'i32.clz', 'i32.popcnt', 'i32.extend8_s', 'i32.extend16_s'];

interface Ctx {
  rng: Rng;
  /** Index of the function being written (helpers 1..n; `_start` is 0 and may call any). */
  fn: number;
  helpers: number;
  /** Open labels a branch may leave to (forward exits only; never a loop's back edge). */
  exits: string[];
  loopDepth: number;
  labels: number;
  /** The function returns an i32 (helpers) or nothing (`_start`). */
  returns: boolean;
}

const VARS = ['$a', '$b', '$c'];

function expr(c: Ctx, depth: number): string {
  const r = c.rng;
  if (depth <= 0 || r.chance(0.25)) {
    switch (r.int(4)) {
      case 0:
        return `(i32.const ${r.chance(0.5) ? r.int(100) : r.next() | 0})`;
      case 1:
        return `(global.get $g)`;
      default:
        return `(local.get ${r.pick(VARS)})`;
    }
  }
  const d = depth - 1;
  switch (r.int(14)) {
    case 0:
    case 1:
      return `(${r.pick(BINOPS)} ${expr(c, d)} ${expr(c, d)})`;
    case 2:
      return `(${r.pick(CMPS)} ${expr(c, d)} ${expr(c, d)})`;
    case 3:
      return `(${r.pick(UNOPS)} ${expr(c, d)})`;
    case 4:
      return `(i32.div_u ${expr(c, d)} (i32.or ${expr(c, d)} (i32.const 1)))`;
    case 5:
      return `(${r.pick(['i32.load', 'i32.load8_u', 'i32.load16_s'])} offset=${r.int(4)} (i32.and ${expr(c, d)} (i32.const 1020)))`;
    case 6:
      if (c.fn < c.helpers) return `(call $f${c.fn + 1 + r.int(c.helpers - c.fn)} ${expr(c, d)})`;
      return `(local.get $a)`;
    case 7:
      if (c.fn === 0) return `(call_indirect (type $t) ${expr(c, d)} (i32.and ${expr(c, d)} (i32.const 3)))`;
      return `(local.get $b)`;
    case 8:
      return `(if (result i32) ${expr(c, d)} (then ${expr(c, d)}) (else ${expr(c, d)}))`;
    case 9: {
      const l = `$e${c.labels++}`;
      return `(block ${l} (result i32) (drop (br_if ${l} ${expr(c, d)} ${expr(c, d)})) ${expr(c, d)})`;
    }
    case 10:
      return `(select ${expr(c, d)} ${expr(c, d)} ${expr(c, d)})`;
    case 11:
      return `(local.tee ${r.pick(VARS)} ${expr(c, d)})`;
    case 12:
      // A multi-value block: two values in, one out (folded operands are just instructions in order).
      return `${expr(c, d)} ${expr(c, d)} (block (param i32 i32) (result i32) (${r.pick(BINOPS)}))`;
    default:
      return r.chance(0.5) ? `(memory.size)` : `(memory.grow (i32.const ${r.int(2)}))`;
  }
}

function stmts(c: Ctx, depth: number, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(stmt(c, depth));
  return out.join(' ');
}

function stmt(c: Ctx, depth: number): string {
  const r = c.rng;
  const d = depth - 1;
  const e = () => expr(c, 2 + r.int(2));
  const choice = depth <= 0 ? r.int(4) : r.int(16);
  switch (choice) {
    case 0:
      return `(local.set ${r.pick(VARS)} ${e()})`;
    case 1:
      return `(global.set $g ${e()})`;
    case 2:
      return `(i32.store (i32.and ${e()} (i32.const 1020)) ${e()})`;
    case 3:
      return `(i32.store8 offset=${r.int(8)} (i32.and ${e()} (i32.const 1023)) ${e()})`;
    case 4:
      return `(if ${e()} (then ${stmts(c, d, 1 + r.int(3))}) (else ${stmts(c, d, r.int(3))}))`;
    case 5:
      return `(if ${e()} (then ${stmts(c, d, 1 + r.int(3))}))`;
    case 6:
    case 7: {
      if (c.loopDepth >= 2) return `(local.set $a ${e()})`;
      const k = c.labels++;
      const i = `$i${c.loopDepth}`;
      c.loopDepth++;
      let s: string;
      if (r.chance(0.5)) {
        // while (i != 0) { body; i-- }, with the body free to leave through $x.
        c.exits.push(`$x${k}`);
        const body = stmts(c, d, 1 + r.int(3));
        c.exits.pop();
        s = `(local.set ${i} (i32.const ${r.int(5)})) (block $x${k} (loop $l${k} (br_if $x${k} (i32.eqz (local.get ${i}))) ${body} (local.set ${i} (i32.sub (local.get ${i}) (i32.const 1))) (br $l${k})))`;
      } else {
        // do { body } while (--i)
        const body = stmts(c, d, 1 + r.int(3));
        s = `(local.set ${i} (i32.const ${1 + r.int(4)})) (loop $l${k} ${body} (br_if $l${k} (local.tee ${i} (i32.sub (local.get ${i}) (i32.const 1)))))`;
      }
      c.loopDepth--;
      return s;
    }
    case 8: {
      const k = c.labels++;
      c.exits.push(`$b${k}`);
      const s = `(block $b${k} ${stmts(c, d, 1 + r.int(2))} (br_if $b${k} ${e()}) ${stmts(c, d, 1 + r.int(2))})`;
      c.exits.pop();
      return s;
    }
    case 9: {
      // br_table over three nested blocks, each end doing something different.
      const k = c.labels++;
      return `(block $t2_${k} (block $t1_${k} (block $t0_${k} (br_table $t0_${k} $t1_${k} $t2_${k} (i32.and ${e()} (i32.const 3)))) ${stmts(c, d, 1)} (br $t2_${k})) ${stmts(c, d, 1)})`;
    }
    case 10:
      if (c.exits.length > 0) return `(br_if ${r.pick(c.exits)} ${e()})`;
      return `(drop ${e()})`;
    case 11:
      return r.chance(0.5)
        ? `(memory.fill (i32.and ${e()} (i32.const 511)) ${e()} (i32.and ${e()} (i32.const 511)))`
        : `(memory.copy (i32.and ${e()} (i32.const 511)) (i32.and ${e()} (i32.const 511)) (i32.and ${e()} (i32.const 511)))`;
    case 12:
      return c.returns ? `(if ${e()} (then (return ${e()})))` : `(if (i32.eq ${e()} (i32.const 7)) (then (return)))`;
    case 13:
      return `(drop ${e()})`;
    case 14:
      if (r.chance(0.3)) return `(if (i32.eq (i32.and ${e()} (i32.const 7)) (i32.const 5)) (then (call $exit (i32.const 3))))`;
      if (r.chance(0.3)) return `(if (i32.eq (i32.and ${e()} (i32.const 7)) (i32.const 6)) (then (unreachable)))`;
      return `(local.set $b ${e()})`;
    default:
      return `(local.set $c ${e()})`;
  }
}

const LOCALS = '(local $a i32) (local $b i32) (local $c i32) (local $i0 i32) (local $i1 i32)';

/** A random program (WAT) for `seed`. */
export function randomProgram(seed: number): string {
  const rng = new Rng(seed);
  const helpers = 1 + rng.int(3);
  const funcs: string[] = [];
  for (let fn = helpers; fn >= 1; fn--) {
    const c: Ctx = { rng, fn, helpers, exits: [], loopDepth: 0, labels: 0, returns: true };
    funcs.push(`(func $f${fn} (type $t) (param $p i32) (result i32) ${LOCALS}
      (local.set $a (local.get $p)) ${stmts(c, 3, 1 + rng.int(4))} ${expr(c, 3)})`);
  }
  const c: Ctx = { rng, fn: 0, helpers, exits: [], loopDepth: 0, labels: 0, returns: false };
  const elems = [1, 2, 3, 4].map((i) => `$f${1 + ((i - 1) % helpers)}`).join(' ');
  return `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (type $t (func (param i32) (result i32)))
  (memory (export "memory") 1 4)
  (global $g (mut i32) (i32.const ${rng.int(1000)}))
  (table 4 funcref)
  (elem (i32.const 0) ${elems})
  ${funcs.join('\n  ')}
  (func (export "_start") ${LOCALS}
    ${stmts(c, 3, 2 + rng.int(6))}
    (i32.store (i32.const 2048) (local.get $a)) (i32.store (i32.const 2052) (local.get $b))
    (i32.store (i32.const 2056) (local.get $c)) (i32.store (i32.const 2060) (global.get $g))
    (i32.store (i32.const 2064) (i32.const 2048)) (i32.store (i32.const 2068) (i32.const 16))
    (i32.store (i32.const 2072) (i32.const 0)) (i32.store (i32.const 2076) (i32.const 1024))
    (drop (call $fd_write (i32.const 1) (i32.const 2064) (i32.const 2) (i32.const 2080)))))`;
}
