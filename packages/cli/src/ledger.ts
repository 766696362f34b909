/**
 * The CLI's way to the ledger: ask the gateway where it settles (`GET /v1/ledger`), then talk to
 * that chain with @lode/ledger's client, signing with the `--data-dir` account. Amounts of LODE
 * are typed and printed in whole tokens with decimals ("100", "0.25"); prices per task stay in
 * the token's smallest unit (wei), as the protocol carries them.
 */
import { InvalidArgumentError } from 'commander';
import { formatEther, parseEther } from 'viem';
import { createLedgerClient, ledgerAddressesSchema, type LedgerClient } from '@lode/ledger/client';
import { getLedgerInfo, type GetLedgerInfoReturnType, type LodeClient } from '@lode/sdk';

export interface LedgerContext {
  info: GetLedgerInfoReturnType;
  ledger: LedgerClient;
}

/** The gateway's ledger, with the client's account (if any) as signer. */
export async function ledgerOf(client: LodeClient): Promise<LedgerContext> {
  const info = await getLedgerInfo(client);
  const ledger = createLedgerClient({
    rpcUrl: info.resolvedRpcUrl,
    addresses: ledgerAddressesSchema.parse({ ...info.contracts, chainId: info.chainId }),
    account: client.account,
  });
  return { info, ledger };
}

/** A parser for LODE amounts in whole tokens (`100`, `0.5`), returning wei. */
export function lodeAmount(name: string): (value: string) => bigint {
  return (value) => {
    if (!/^(0|[1-9][0-9]{0,59})(\.[0-9]{1,18})?$/.test(value)) {
      throw new InvalidArgumentError(`${name} must be an amount of LODE like 100 or 0.25, got "${value}".`);
    }
    const wei = parseEther(value);
    if (wei === 0n) throw new InvalidArgumentError(`${name} must be more than 0.`);
    return wei;
  };
}

/** wei → "12.5 LODE". */
export function formatLode(wei: bigint | string): string {
  return `${formatEther(BigInt(wei))} LODE`;
}
