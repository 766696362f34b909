/** `lode wallet faucet` — test ETH and LODE from the gateway's faucet (local networks). */
import type { Command } from 'commander';
import { formatEther } from 'viem';
import { ForbiddenError } from '@lode/protocol';
import { requestFaucet } from '@lode/sdk';
import { clientOf, withExamples, withJson } from '../../context.js';
import { formatLode } from '../../ledger.js';
import { printJson } from '../../output.js';
import { NoFaucetError } from '../ledger/shared.js';

export function registerWalletFaucet(parent: Command): void {
  const cmd = parent
    .command('faucet')
    .description("get test ETH (gas) and LODE from the gateway's faucet — local networks only; creates the --data-dir account if needed");
  withJson(cmd);
  withExamples(cmd, 'lode wallet faucet', 'lode --data-dir .lode/nodes/0 wallet faucet --json');
  cmd.action(async (opts: { json?: boolean }) => {
    const client = await clientOf(cmd, 'create');
    const got = await requestFaucet(client).catch((err: unknown) => {
      if (err instanceof ForbiddenError) {
        throw new NoFaucetError(
          `The gateway at ${client.gateway} has no faucet: it hands out test funds only on a local network (its embedded chain). Ask a LODE holder for a transfer (\`lode wallet transfer\`) and get ETH for gas the way that chain provides it.`,
          { cause: err },
        );
      }
      throw err;
    });
    if (opts.json) return printJson(got);
    process.stdout.write(
      `Received ${formatEther(BigInt(got.eth))} ETH (for gas) and ${formatLode(got.lode)} on ${got.address}\n  next: \`lode wallet balance\`; a provider node stakes with \`lode stake add <amount>\`\n`,
    );
  });
}
