/** `lode account new` — generate a key in `<data-dir>/keystore.json`. */
import { didPkh } from '@lode/protocol';
import type { Command } from 'commander';
import { globalsOf, withExamples, withJson } from '../../context.js';
import { createAccount } from '@lode/keystore';
import { printJson } from '../../output.js';

export function registerAccountNew(parent: Command): void {
  const cmd = parent
    .command('new')
    .description('create a new account (a secp256k1 key, stored with mode 0600); the private key is never printed')
    .option('--force', 'replace an existing account (its key is lost unless backed up)');
  withJson(cmd);
  withExamples(cmd, 'lode account new', 'lode --data-dir ~/.lode account new --force --json');
  cmd.action(async (opts: { force?: boolean; json?: boolean }) => {
    const { dataDir } = globalsOf(cmd);
    const { address, path } = await createAccount(dataDir, { force: opts.force === true });
    const summary = { address, did: didPkh(address), keystore: path };
    if (opts.json) return printJson(summary);
    process.stdout.write(`Created account ${address}\n  did:      ${summary.did}\n  keystore: ${path} (back it up; it holds the private key)\n`);
  });
}
