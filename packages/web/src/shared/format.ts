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
