/** `lode account show` — the address and did:pkh of the account in --data-dir. */
import { didPkh } from '@lode/protocol';
import type { Command } from 'commander';
import { globalsOf, withExamples, withJson } from '../../context.js';
import { loadAccount } from '@lode/keystore';
import { printJson } from '../../output.js';

export function registerAccountShow(parent: Command): void {
  const cmd = parent.command('show').description("show the account's address and did:pkh (never the private key)");
  withJson(cmd);
  withExamples(cmd, 'lode account show', 'lode --data-dir .lode/nodes/0 account show --json');
  cmd.action(async (opts: { json?: boolean }) => {
    const { dataDir } = globalsOf(cmd);
    const { address, path } = await loadAccount(dataDir);
    const summary = { address, did: didPkh(address), keystore: path };
    if (opts.json) return printJson(summary);
    process.stdout.write(`${address}\n  did:      ${summary.did}\n  keystore: ${path}\n`);
  });
}
