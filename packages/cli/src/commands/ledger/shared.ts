/**
 * What the ledger verbs (`lode wallet`, `lode stake`, `lode gov`, `lode earnings`, `lode ledger`)
 * share: the signing account (the keystore in --data-dir) on the gateway's chain, parsers for
 * addresses, amounts and durations, chain times in words, and the failures only they have.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { formatEther, getAddress, isAddress, type Address } from 'viem';
import { LodeError, TransactionRevertedError } from '@lode/protocol';
import type { LedgerClient } from '@lode/ledger/client';
import type { GetLedgerInfoReturnType, LodeClient } from '@lode/sdk';
import { clientOf } from '../../context.js';
import { ledgerOf } from '../../ledger.js';
import { formatDuration, formatTime } from '../../output.js';

/** The account cannot pay for gas on the ledger's chain. */
export class NoGasError extends LodeError {
  readonly code = 'NO_GAS';
  override readonly httpStatus = 402;
  constructor(address: string, chainId: number, options: { cause?: unknown } = {}) {
    super(
      `The account ${address} has too little ETH to pay for gas on chain ${chainId}. On a local network get some with \`lode wallet faucet\`; elsewhere send ETH to it.`,
      { meta: { address, chainId }, cause: options.cause },
    );
  }
}

/** `lode wallet claim` found no final, unclaimed payout. */
export class NothingToClaimError extends LodeError {
  readonly code = 'NOTHING_TO_CLAIM';
  override readonly httpStatus = 404;
}

/** The gateway serves no faucet (an external chain, or turned off). */
export class NoFaucetError extends LodeError {
  readonly code = 'NO_FAUCET';
  override readonly httpStatus = 403;
}

/** A `lode ledger deploy` transaction failed. */
export class DeployFailedError extends LodeError {
  readonly code = 'DEPLOY_FAILED';
  override readonly httpStatus = 502;
}

export interface Signer {
  client: LodeClient;
  info: GetLedgerInfoReturnType;
  ledger: LedgerClient;
  address: Address;
}

/**
 * The --data-dir account on the gateway's chain. `'create'` makes the key on first use (the
 * faucet), `'load'` needs it to exist (NO_ACCOUNT says how to make one).
 */
export async function signerOf(cmd: Command, account: 'load' | 'create' = 'load'): Promise<Signer> {
  const client = await clientOf(cmd, account);
  const { info, ledger } = await ledgerOf(client);
  return { client, info, ledger, address: client.account!.address };
}

/**
 * The account a read-only verb describes: `address` when given, else the --data-dir account
 * (which must exist). The ledger client has no signer.
 */
export async function readerOf(
  cmd: Command,
  address: Address | undefined,
): Promise<{ client: LodeClient; info: GetLedgerInfoReturnType; ledger: LedgerClient; address: Address }> {
  if (address) {
    const client = await clientOf(cmd, 'none');
    const { info, ledger } = await ledgerOf(client);
    return { client, info, ledger, address };
  }
  return signerOf(cmd, 'load');
}

/**
 * Runs the transactions of a verb, turning a chain's "insufficient funds" (no ETH for gas) into
 * NO_GAS with what to do. Contract refusals already arrive in words (TX_REVERTED); for a short
 * balance or stake the amounts are added as details.
 */
export async function sending<T>(signer: Pick<Signer, 'address' | 'info'>, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof LodeError) && /insufficient funds|exceeds balance|sender doesn't have enough funds/i.test(messageChain(err))) {
      throw new NoGasError(signer.address, signer.info.chainId, { cause: err });
    }
    throw withAmounts(err);
  }
}

/** TX_REVERTED for a short balance or stake, with the amounts the contract reported as details. */
function withAmounts(err: unknown): unknown {
  if (!(err instanceof TransactionRevertedError) || err.details) return err;
  const args = (err.meta?.args ?? []) as string[];
  const lode = (wei: string | undefined) => `${formatEther(BigInt(wei ?? '0'))} LODE`;
  let details: string | undefined;
  if (err.meta?.errorName === 'ERC20InsufficientBalance') details = `It holds ${lode(args[1])}; this needs ${lode(args[2])}.`;
  if (err.meta?.errorName === 'InsufficientStake') details = `Its stake with ${args[0]} is ${lode(args[1])}; this asks for ${lode(args[2])}.`;
  return details ? new TransactionRevertedError(err.shortMessage, { details, meta: err.meta, cause: err }) : err;
}

function messageChain(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 8; e = e.cause) parts.push(e.message);
  return parts.join('\n');
}

/** A parser for 0x addresses; returns the checksummed form. */
export function addressArg(name: string): (value: string) => Address {
  return (value) => {
    if (!isAddress(value, { strict: false })) throw new InvalidArgumentError(`${name} must be an address (0x and 40 hex digits), got "${value}".`);
    return getAddress(value);
  };
}

/** `60`, `90s`, `5m`, `2h`, `14d` → seconds. */
export function durationArg(name: string): (value: string) => bigint {
  return (value) => {
    const m = /^([0-9]{1,12})(s|m|h|d)?$/.exec(value.trim());
    if (!m) throw new InvalidArgumentError(`${name} must be a duration like 60, 90s, 5m, 2h or 14d, got "${value}".`);
    const unit = { s: 1n, m: 60n, h: 3600n, d: 86_400n }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
    return BigInt(m[1]!) * unit;
  };
}

/** A parser for whole numbers (basis points, percent). */
export function wholeArg(name: string, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^[0-9]+$/.test(value) || n > max) throw new InvalidArgumentError(`${name} must be a whole number from 0 to ${max}, got "${value}".`);
    return n;
  };
}

/** A governor proposal id: a decimal (as `lode gov propose` prints it) or 0x-hex uint256. */
export function proposalIdArg(value: string): bigint {
  if (!/^([0-9]{1,78}|0x[0-9a-fA-F]{1,64})$/.test(value)) {
    throw new InvalidArgumentError(`the proposal id must be the number \`lode gov propose\` printed, got "${value}".`);
  }
  return BigInt(value);
}

/** Chain seconds → `2025-11-25 16:04:05 (in 1m 00s)` in local time. */
export function when(seconds: bigint | number, now = Date.now()): string {
  const ms = Number(seconds) * 1000;
  const delta = ms - now;
  const rel = Math.abs(delta) < 1000 ? 'now' : delta > 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
  return `${formatTime(ms)} (${rel})`;
}

/** Chain seconds → ISO 8601 UTC, for --json. */
export function iso(seconds: bigint | number): string {
  return new Date(Number(seconds) * 1000).toISOString().replace('.000Z', 'Z');
}

/** A short transaction line: `tx 0x1234…abcd`. */
export function txLine(hash: string): string {
  return `tx ${hash}`;
}
