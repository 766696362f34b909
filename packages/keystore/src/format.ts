/**
 * The one keystore format Lode reads and writes, wherever the key lives: `{ version: 1, address,
 * privateKey }` (a data directory's `keystore.json`, and the file the contributor page exports).
 * A key is accepted only when the address is the key's own.
 */
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { z } from 'zod';

export const KEYSTORE_FILE = 'keystore.json';

export const KeystoreFile = z.object({
  version: z.literal(1),
  address: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  privateKey: z.string().regex(/^0x[0-9a-fA-F]{64}$/),
});
export type KeystoreFile = z.infer<typeof KeystoreFile>;

/** The keystore text of `privateKey`, as written to disk and exported from the page. */
export function keystoreJson(privateKey: `0x${string}`): string {
  const account = privateKeyToAccount(privateKey);
  return `${JSON.stringify({ version: 1, address: account.address, privateKey }, null, 2)}\n`;
}

/** Why a keystore cannot be used: not the format, or an address that is not the key's. */
export type KeystoreProblem = { kind: 'format'; cause: unknown } | { kind: 'mismatch'; stored: string; derived: string };

/** The account a keystore's JSON holds, or what is wrong with it. */
export function parseKeystore(json: unknown): { account: PrivateKeyAccount } | { problem: KeystoreProblem } {
  const parsed = KeystoreFile.safeParse(json);
  if (!parsed.success) return { problem: { kind: 'format', cause: parsed.error } };
  const account = privateKeyToAccount(parsed.data.privateKey as `0x${string}`);
  if (account.address.toLowerCase() !== parsed.data.address.toLowerCase()) {
    return { problem: { kind: 'mismatch', stored: parsed.data.address, derived: account.address } };
  }
  return { account };
}
