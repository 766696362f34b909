/**
 * `lode credential` — a node's reputation on one gateway, signed by it: carried to another gateway
 * (EIP-712, `export` / `import`), or shown to anyone as a W3C Verifiable Credential (`export --vc`,
 * `verify`, offline).
 */
import type { Command } from 'commander';
import { withExamples } from '../../context.js';
import { registerCredentialExport } from './export.js';
import { registerCredentialImport } from './import.js';
import { registerCredentialVerify } from './verify.js';

export function registerCredential(program: Command): void {
  const cmd = program
    .command('credential')
    .description("a node's reputation, signed by the gateway that saw it: export it, present it to another gateway, or verify it offline as a W3C VC");
  withExamples(
    cmd,
    'lode credential export 0xNODE --out node.credential.json --gateway http://old-gateway:7070',
    'lode credential import node.credential.json --gateway http://new-gateway:7070',
    'lode credential export --vc 0xNODE --out node.vc.jwt && lode credential verify node.vc.jwt --issuer 0xGATEWAY',
  );
  registerCredentialExport(cmd);
  registerCredentialImport(cmd);
  registerCredentialVerify(cmd);
}
