/**
 * `lode earnings [address] [--from DATE] [--to DATE] [--csv]` — a provider's statement: one row
 * per settlement batch that paid it (date, gateway batch, chain batch, tasks, gross, fee, net,
 * claimed, transaction), with totals. Dates are UTC days; `--csv` is for spreadsheets and taxes.
 * For a node registered as a device, who each claimed payout went to (its owner, or its share
 * contract while split), from JobEscrow's `DevicePaid` events.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { formatEther, type Address } from 'viem';
import type { PayoutView } from '@lode/protocol';
import { getDevicePayments, toLedgerError } from '@lode/ledger/client';
import { getPayouts } from '@lode/sdk';
import { withExamples, withJson } from '../context.js';
import { UsageError } from '../errors.js';
import { formatLode } from '../ledger.js';
import { printJson, table } from '../output.js';
import { addressArg, readerOf } from './ledger/shared.js';

const DAY_MS = 86_400_000;

/** The CSV columns, in order (amounts in LODE with up to 18 decimals, times in UTC). */
export const EARNINGS_CSV_HEADER = [
  'date_utc',
  'gateway_batch',
  'chain_batch',
  'status',
  'tasks',
  'gross_lode',
  'fee_lode',
  'net_lode',
  'claimed',
  'tx_hash',
] as const;

interface Options {
  from?: number;
  to?: number;
  csv?: boolean;
  json?: boolean;
}

export function registerEarnings(program: Command): void {
  const cmd = program
    .command('earnings')
    .description("a provider's earnings statement: one row per settlement batch (gross, fee, net, claimed), with totals — for accounting and taxes")
    .argument('[address]', 'the provider (default: the --data-dir account)', addressArg('address'))
    .option('--from <date>', 'first day included, YYYY-MM-DD (UTC)', utcDay('--from'))
    .option('--to <date>', 'last day included, YYYY-MM-DD (UTC)', utcDay('--to'))
    .option('--csv', 'print CSV with a header row instead of a table');
  withJson(cmd);
  withExamples(
    cmd,
    'lode --data-dir .lode/nodes/0 earnings',
    'lode earnings 0x8ba1f109551bD432803012645Ac136ddd64DBA72 --from 2025-01-01 --to 2025-12-31 --csv > earnings-2025.csv',
    'lode earnings --from 2025-11-01 --json',
  );
  cmd.action(async (address: Address | undefined, opts: Options) => {
    if (opts.csv && opts.json) throw new UsageError('--csv and --json cannot be used together.', 'Pick one output format.');
    if (opts.from !== undefined && opts.to !== undefined && opts.from > opts.to) {
      throw new UsageError(`--from (${day(opts.from)}) is after --to (${day(opts.to)}).`, 'Give the first day with --from and the last with --to.');
    }
    const r = await readerOf(cmd, address);
    const view = await getPayouts(r.client, { address: r.address, from: opts.from, to: opts.to === undefined ? undefined : opts.to + DAY_MS });
    // Where each claimed payout went: a registered device's claims pay its owner (or share contract).
    const device = await getDevicePayments(r.ledger, { node: r.address }).catch((err: unknown) => {
      throw toLedgerError(err, 'Reading where the payouts went');
    });
    const paidTo = new Map(device.payments.map((p) => [p.batchId.toString(), p.paidTo]));
    const paidToOf = (p: PayoutView) => (p.chainBatchId === null ? null : (paidTo.get(p.chainBatchId) ?? null));
    const rows = [...view.payouts].sort((a, b) => a.createdAt - b.createdAt || a.batch - b.batch);
    const totals = {
      batches: rows.length,
      tasks: rows.reduce((n, p) => n + p.tasks, 0),
      gross: sum(rows, (p) => p.gross),
      fee: sum(rows, (p) => p.fee),
      net: sum(rows, (p) => p.amount),
      claimed: sum(
        rows.filter((p) => p.claimed),
        (p) => p.amount,
      ),
    };
    const range = { from: opts.from === undefined ? null : day(opts.from), to: opts.to === undefined ? null : day(opts.to) };

    if (opts.csv) {
      const lines = [EARNINGS_CSV_HEADER.join(','), ...rows.map((p) => csvRow(p).map(csvCell).join(','))];
      process.stdout.write(`${lines.join('\n')}\n`);
      return;
    }
    if (opts.json) {
      return printJson({
        provider: r.address,
        device: device.registered ? { payee: device.payee } : null,
        ...range,
        rows: rows.map((p) => ({
          date: new Date(p.createdAt).toISOString(),
          batch: p.batch,
          chainBatchId: p.chainBatchId,
          status: p.status,
          tasks: p.tasks,
          gross: p.gross,
          fee: p.fee,
          net: p.amount,
          claimed: p.claimed,
          paidTo: paidToOf(p),
          txHash: p.txHash,
        })),
        totals: { ...totals, gross: totals.gross.toString(), fee: totals.fee.toString(), net: totals.net.toString(), claimed: totals.claimed.toString() },
      });
    }
    const title = `Earnings of ${r.address}${range.from || range.to ? `, ${range.from ?? 'start'} to ${range.to ?? 'today'}` : ''} (UTC)`;
    const body = table(
      rows,
      [
        { header: 'date (utc)', value: (p) => utcTime(p.createdAt) },
        { header: 'batch', value: (p) => p.batch, align: 'right' },
        { header: 'chain batch', value: (p) => p.chainBatchId ?? '-', align: 'right' },
        { header: 'tasks', value: (p) => p.tasks, align: 'right' },
        { header: 'gross', value: (p) => formatEther(BigInt(p.gross)), align: 'right' },
        { header: 'fee', value: (p) => formatEther(BigInt(p.fee)), align: 'right' },
        { header: 'net', value: (p) => formatEther(BigInt(p.amount)), align: 'right' },
        { header: 'claimed', value: (p) => (p.claimed ? 'yes' : 'no') },
        // Shown only when some payout went elsewhere than the provider (a registered device's owner).
        ...(rows.some((p) => (paidToOf(p) ?? r.address) !== r.address) ? [{ header: 'paid to', value: (p: PayoutView) => paidToOf(p) ?? '-' }] : []),
        { header: 'tx', value: (p) => p.txHash ?? '-' },
      ],
      '(no settled payouts in this range)',
    );
    const owned = device.registered
      ? `A registered device: its claims are paid to ${device.payee}${device.payee === r.address ? '' : ' (its owner, or its share contract while split)'}\n\n`
      : '';
    process.stdout.write(
      `${title}\n\n${owned}${body}\n\n` +
        `Total: ${totals.batches} batch(es), ${totals.tasks} task(s): gross ${formatLode(totals.gross)}, fee ${formatLode(totals.fee)}, net ${formatLode(totals.net)} (claimed ${formatLode(totals.claimed)})\n`,
    );
  });
}

function csvRow(p: PayoutView): Array<string | number> {
  return [
    new Date(p.createdAt).toISOString(),
    p.batch,
    p.chainBatchId ?? '',
    p.status,
    p.tasks,
    formatEther(BigInt(p.gross)),
    formatEther(BigInt(p.fee)),
    formatEther(BigInt(p.amount)),
    p.claimed ? 'yes' : 'no',
    p.txHash ?? '',
  ];
}

/** RFC 4180: quote a cell holding a comma, quote or line break. */
function csvCell(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function sum(rows: PayoutView[], f: (p: PayoutView) => string): bigint {
  return rows.reduce((n, p) => n + BigInt(f(p)), 0n);
}

/** A parser for YYYY-MM-DD (a real calendar day), returning the start of that day in UTC (ms). */
function utcDay(name: string): (value: string) => number {
  return (value) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
    const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
    if (!m || Number.isNaN(ms) || day(ms) !== value)
      throw new InvalidArgumentError(`${name} must be a date like 2025-01-31 (YYYY-MM-DD, UTC), got "${value}".`);
    return ms;
  };
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function utcTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}
