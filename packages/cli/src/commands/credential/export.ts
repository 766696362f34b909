/** `lode credential export [address]` — the node's record on this gateway, signed by it. */
import { getNodeCredential } from '@lode/sdk';
import { verifyNodeReputation, type NodeReputationMessage, type Signed } from '@lode/protocol';
import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { clientOf, withExamples, withJson } from '../../context.js';
import { printJson } from '../../output.js';
import { UsageError } from '../../errors.js';

export function registerCredentialExport(parent: Command): void {
  const cmd = parent
    .command('export')
    .description("fetch a node's reputation credential (EIP-712 NodeReputation signed by the gateway) and check its signature")
    .argument('[address]', "the node's address (default: the account in --data-dir)")
    .option('--out <file>', 'write the credential to this file (default: stdout)');
  withJson(cmd);
  withExamples(cmd, 'lode credential export --out node.credential.json --data-dir .lode/nodes/0', 'lode credential export 0x5e47…dd29 --json');
  cmd.action(async (address: string | undefined, opts: { out?: string; json?: boolean }) => {
    if (address !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(address)) throw new UsageError(`"${address}" is not an address: expected 0x and 40 hex digits.`);
    const client = await clientOf(cmd, address ? 'none' : 'load');
    const credential = await getNodeCredential(client, address ? { address: address as `0x${string}` } : {});
    if (!(await verifyNodeReputation(credential as Signed<NodeReputationMessage>)))
      throw new Error('The gateway answered a credential whose signature does not verify; do not use it.');
    const m = credential.message;
    if (opts.out) await writeFile(opts.out, `${JSON.stringify(credential, null, 2)}\n`);
    if (opts.json || !opts.out) return printJson(opts.out ? { file: opts.out, credential } : credential);
    process.stdout.write(
      `wrote ${opts.out}: node ${m.node}, ${m.validated} right / ${m.invalid} wrong checked results (streak ${m.consecutiveValid}), ` +
        `signed by gateway ${m.gateway}, valid until ${new Date(Number(m.expiresAt) * 1000).toISOString()}\n`,
    );
  });
}
