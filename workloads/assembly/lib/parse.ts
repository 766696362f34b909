/**
 * Argument parsing with exactly specified results, so the TypeScript reference implementations
 * can reproduce every value bit for bit.
 */
import { fail } from "./io";

/**
 * Parses an unsigned decimal integer (digits only, no sign, no spaces) that fits in a u64.
 * Exits with a usage error naming `what` otherwise.
 */
export function parseU64(text: string, what: string): u64 {
  const n = text.length;
  if (n == 0 || n > 20) fail("invalid " + what + ": '" + text + "' (expected an unsigned integer)");
  let value: u64 = 0;
  for (let i = 0; i < n; i++) {
    const c = <u32>text.charCodeAt(i) - 48;
    if (c > 9) fail("invalid " + what + ": '" + text + "' (expected an unsigned integer)");
    // value * 10 + c must not exceed 2^64 - 1
    if (value > (u64.MAX_VALUE - c) / 10) fail("invalid " + what + ": '" + text + "' (larger than 2^64 - 1)");
    value = value * 10 + c;
  }
  return value;
}

/** Like `parseU64`, but the value must lie in [min, max]. */
export function parseU64In(text: string, what: string, min: u64, max: u64): u64 {
  const v = parseU64(text, what);
  if (v < min || v > max) {
    fail("invalid " + what + ": " + text + " (must be between " + min.toString() + " and " + max.toString() + ")");
  }
  return v;
}

// 10^0 .. 10^22: every one is exactly representable as an f64.
const POW10: StaticArray<f64> = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/**
 * Parses a decimal number `[+-]?digits[.digits][(e|E)[+-]?digits]` with at most 15 significant
 * digits whose decimal exponent, after moving the point behind the last digit, is within ±22.
 *
 * Inside that range the result is one exact integer times or divided by one exact power of ten,
 * a single correctly rounded IEEE operation (Clinger's fast path), so it equals what any correct
 * parser — JavaScript's `Number(text)` included — returns. Inputs outside it are refused rather
 * than parsed approximately.
 */
export function parseDecimal(text: string, what: string): f64 {
  const n = text.length;
  let i = 0;
  let negative = false;
  if (i < n && (text.charCodeAt(i) == 43 || text.charCodeAt(i) == 45)) {
    negative = text.charCodeAt(i) == 45;
    i++;
  }
  let mantissa: u64 = 0;
  let digits = 0; // significant digits kept in the mantissa
  let seen = 0; // digits of any kind before the exponent
  let exponent: i32 = 0;
  let inFraction = false;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c == 46 /* . */) {
      if (inFraction) break;
      inFraction = true;
      continue;
    }
    const d = <u32>c - 48;
    if (d > 9) break;
    seen++;
    if (mantissa == 0 && d == 0) {
      if (inFraction) exponent--;
      continue; // leading zeros are not significant
    }
    mantissa = mantissa * 10 + d;
    digits++;
    if (inFraction) exponent--;
  }
  if (seen == 0) fail("invalid " + what + ": '" + text + "' (expected a decimal number)");
  if (i < n && (text.charCodeAt(i) == 101 || text.charCodeAt(i) == 69)) {
    i++;
    let expNegative = false;
    if (i < n && (text.charCodeAt(i) == 43 || text.charCodeAt(i) == 45)) {
      expNegative = text.charCodeAt(i) == 45;
      i++;
    }
    let e: i32 = 0;
    let expDigits = 0;
    for (; i < n; i++) {
      const d = <u32>text.charCodeAt(i) - 48;
      if (d > 9) break;
      if (e < 10000) e = e * 10 + <i32>d;
      expDigits++;
    }
    if (expDigits == 0) fail("invalid " + what + ": '" + text + "' (exponent has no digits)");
    exponent += expNegative ? -e : e;
  }
  if (i != n) fail("invalid " + what + ": '" + text + "' (expected a decimal number)");
  if (digits > 15) fail("invalid " + what + ": '" + text + "' (more than 15 significant digits)");
  let value: f64 = 0;
  if (mantissa != 0) {
    if (exponent < -22 || exponent > 22) {
      fail("invalid " + what + ": '" + text + "' (decimal exponent outside ±22)");
    }
    const m = <f64>mantissa;
    value = exponent >= 0 ? m * unchecked(POW10[exponent]) : m / unchecked(POW10[-exponent]);
  }
  return negative ? -value : value;
}
