/**
 * The decimal format the modules parse exactly (see `parseDecimal` in assembly/lib/parse.ts):
 * at most 15 significant digits, decimal exponent within ±22 once the point is moved behind the
 * last digit. Such text converts to one correctly rounded double on every engine, so a number
 * passed this way means the same thing in the module and in JavaScript.
 */
const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** True if the module accepts `text` and will read exactly `Number(text)`. */
export function isExactDecimal(text: string): boolean {
  const m = DECIMAL.exec(text);
  if (!m) return false;
  const intPart = m[2] ?? '';
  const fracPart = m[3] ?? '';
  if (intPart.length + fracPart.length === 0) return false;
  const digits = (intPart + fracPart).replace(/^0+/, '');
  if (digits.length === 0) return true; // zero
  if (digits.length > 15) return false;
  const exponent = Number(m[4] ?? '0') - fracPart.length;
  return exponent >= -22 && exponent <= 22;
}

/**
 * Formats `value` for a module argument: the shortest text that reads back as `value`.
 * Throws if that text is outside the exactly parsed format (more than 15 significant digits);
 * choose a value with fewer digits (e.g. 0.0005 rather than 1/3000).
 */
export function formatExactDecimal(value: number, what: string): string {
  if (!Number.isFinite(value)) throw new RangeError(`${what} must be finite`);
  const text = String(value);
  if (!isExactDecimal(text)) {
    throw new RangeError(`${what} = ${text} cannot be passed exactly: use at most 15 significant digits and an exponent within ±22`);
  }
  return text;
}
