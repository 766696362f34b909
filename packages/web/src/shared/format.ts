/** Small display helpers shared by both pages. */

/** `0x1234…abcd`. */
export function shortAddress(a: string | null | undefined): string {
  if (!a) return '—';
  return a.length > 12 ? `${a.slice(0, 6)}…${a.slice(-4)}` : a;
}

/** The first `n` characters of an id. */
export function shortId(id: string, n = 8): string {
  return id.length > n ? id.slice(0, n) : id;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

/** For a time to come: "in 4 s", "now" once it has passed, "—" when there is none yet. */
export function countdown(t: number | null | undefined, now = Date.now()): string {
  if (t === null || t === undefined) return '—';
  return t <= now ? 'now' : `in ${formatDuration(t - now)}`;
}

/** "5 s ago", "3 min ago", or a date for old times. */
export function ago(t: number | null | undefined, now = Date.now()): string {
  if (!t) return '—';
  const d = now - t;
  if (d < 5_000) return 'just now';
  if (d < 3_600_000) return `${formatDuration(d).replace(/ \d+ s$/, '')} ago`;
  return new Date(t).toLocaleString();
}

export function formatNumber(n: number, digits = 0): string {
  return n.toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}

/** Saves bytes or text as a file download. */
export function download(name: string, data: BlobPart, type = 'application/octet-stream'): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The text the ledger slots show until the ledger API exists. */
export const LEDGER_PENDING = 'appears once the ledger is enabled';

/** An amount in the token's smallest unit as LODE with up to `digits` decimals. */
export function formatLode(amount: bigint | string, digits = 4): string {
  const v = typeof amount === 'string' ? BigInt(amount) : amount;
  const whole = v / 10n ** 18n;
  const frac = (v % 10n ** 18n).toString().padStart(18, '0').slice(0, digits).replace(/0+$/, '');
  return `${whole.toLocaleString()}${frac ? `.${frac}` : ''} LODE`;
}

/** An amount in LODE to the last wei (trailing zeros trimmed): what a statement shows. */
export function formatLodeExact(amount: bigint | string): string {
  return formatLode(amount, 18);
}

/**
 * An amount in LODE, short but never misleading: from 1 LODE up with at most 2 decimals, below
 * that with as many decimals as `significant` digits need (0.00008 LODE, not 0 LODE).
 */
export function formatLodeShort(amount: bigint | string, significant = 3): string {
  const v = typeof amount === 'string' ? BigInt(amount) : amount;
  const abs = v < 0n ? -v : v;
  if (abs === 0n || abs >= 10n ** 18n) return formatLode(v, 2);
  const zeros = 18 - abs.toString().length;
  return formatLode(v, Math.min(18, zeros + significant));
}

/**
 * A node's asking price in LODE, exact (up to 18 decimals, so 1 wei is not shown as 0):
 * "free", "0.001 LODE/task", "0.001 LODE/task + 0.5 LODE per 10⁶ fuel".
 */
export function formatPrice(pricePerTask: string, pricePerFuel?: string): string {
  const task = BigInt(pricePerTask);
  const fuel = BigInt(pricePerFuel ?? '0');
  if (task === 0n && fuel === 0n) return 'free';
  const parts = [];
  if (task > 0n || fuel === 0n) parts.push(`${formatLode(task, 18)}/task`);
  if (fuel > 0n) parts.push(`${formatLode(fuel * 1_000_000n, 18)} per 10⁶ fuel`);
  return parts.join(' + ');
}
