/** `lode credential` — a node's reputation on one gateway, signed by it, carried to another. */
import type { Command } from 'commander';
import { withExamples } from '../../context.js';
import { registerCredentialExport } from './export.js';
import { registerCredentialImport } from './import.js';

export function registerCredential(program: Command): void {
  const cmd = program.command('credential').description("a node's reputation, signed by the gateway that saw it: export it, and present it to another gateway");
  withExamples(
    cmd,
    'lode credential export 0xNODE --out node.credential.json --gateway http://old-gateway:7070',
    'lode credential import node.credential.json --gateway http://new-gateway:7070',
  );
  registerCredentialExport(cmd);
  registerCredentialImport(cmd);
}
