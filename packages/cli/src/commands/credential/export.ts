/**
 * `lode credential export [address]` — the node's record on this gateway, signed by it: the
 * EIP-712 `NodeReputation` credential (default; what another gateway imports as a prior), or with
 * `--vc` the W3C Verifiable Credential (a JWT anyone verifies offline, `lode credential verify`).
 */
import { getDeviceCredential, getNodeCredential, type LodeClient } from '@lode/sdk';
import { DeviceCredentialRefusedError, verifyDeviceCredential, verifyNodeReputation, type NodeReputationMessage, type Signed } from '@lode/protocol';
import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { clientOf, withExamples, withJson } from '../../context.js';
import { printJson } from '../../output.js';
import { UsageError } from '../../errors.js';

interface ExportOptions {
  out?: string;
  json?: boolean;
  vc?: boolean;
}

export function registerCredentialExport(parent: Command): void {
  const cmd = parent
    .command('export')
    .description(
      "fetch a node's credential signed by the gateway and check its signature: EIP-712 NodeReputation, or with --vc a W3C Verifiable Credential (JWT)",
    )
    .argument('[address]', "the node's address (default: the account in --data-dir)")
    .option('--vc', 'the W3C Verifiable Credential (a JWT signed ES256K-R by the gateway’s did:pkh) instead of the EIP-712 credential')
    .option('--out <file>', 'write the credential to this file (default: stdout; with --vc the JWT alone)');
  withJson(cmd);
  withExamples(
    cmd,
    'lode credential export --out node.credential.json --data-dir .lode/nodes/0',
    'lode credential export 0x5e47…dd29 --json',
    'lode credential export --vc 0x5e47…dd29 --out node.vc.jwt',
    'lode credential export --vc 0x5e47…dd29 | lode credential verify -',
  );
  cmd.action(async (address: string | undefined, opts: ExportOptions) => {
    if (address !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(address)) throw new UsageError(`"${address}" is not an address: expected 0x and 40 hex digits.`);
    const client = await clientOf(cmd, address ? 'none' : 'load');
    const params = address ? { address: address as `0x${string}` } : {};
    if (opts.vc) return exportDeviceCredential(client, params, opts);
    const credential = await getNodeCredential(client, params);
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

/** `--vc`: fetches the JWT, checks it offline as anyone would, then writes or prints it. */
async function exportDeviceCredential(client: LodeClient, params: { address?: `0x${string}` }, opts: ExportOptions): Promise<void> {
  const view = await getDeviceCredential(client, params);
  const v = await verifyDeviceCredential(view.jwt);
  if (!v.ok) throw new DeviceCredentialRefusedError(v.code, `The gateway answered a device credential that does not verify; do not use it. ${v.reason}`);
  if (opts.out) await writeFile(opts.out, `${view.jwt}\n`);
  if (opts.json) return printJson(opts.out ? { file: opts.out, ...view } : view);
  if (!opts.out) {
    process.stdout.write(`${view.jwt}\n`);
    return;
  }
  process.stdout.write(
    `wrote ${opts.out}: device credential for node ${v.subject.node} (${v.subject.checks.validated} right / ${v.subject.checks.invalid} wrong checked results), ` +
      `issued by ${v.issuer}, valid until ${new Date(v.expiresAt * 1000).toISOString()}\n`,
  );
}
