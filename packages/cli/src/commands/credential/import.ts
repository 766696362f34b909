/** `lode credential import <file>` — present another gateway's credential for a node to this one. */
import { importNodeCredential } from '@lode/sdk';
import { ReputationCredential } from '@lode/protocol';
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { clientOf, withExamples, withJson } from '../../context.js';
import { printJson } from '../../output.js';
import { UsageError } from '../../errors.js';

export function registerCredentialImport(parent: Command): void {
  const cmd = parent
    .command('import')
    .description(
      "present a node's credential from another gateway; it counts (as at most 16 right checks) when this gateway trusts the issuer (--trusted-issuer)",
    )
    .argument('<file>', 'a credential written by `lode credential export`');
  withJson(cmd);
  withExamples(cmd, 'lode credential import node.credential.json --gateway http://new-gateway:7070');
  cmd.action(async (file: string, opts: { json?: boolean }) => {
    let parsed: ReturnType<typeof ReputationCredential.safeParse>;
    try {
      parsed = ReputationCredential.safeParse(JSON.parse(await readFile(file, 'utf8')));
    } catch (err) {
      throw new UsageError(`Could not read a credential from ${file}: ${(err as Error).message}`);
    }
    if (!parsed.success) throw new UsageError(`${file} is not a credential as \`lode credential export\` writes it.`);
    const r = await importNodeCredential(await clientOf(cmd, 'none'), { credential: parsed.data });
    if (opts.json) return printJson(r);
    process.stdout.write(
      `counted ${r.counted} right check(s) for node ${r.node}: ${r.reputation.probation ? 'still on probation' : `credibility ${r.reputation.credibility.toFixed(4)}`}\n`,
    );
  });
}
