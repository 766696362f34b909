/**
 * The requester's account: a secp256k1 key in `<dataDir>/keystore.json` (mode 0600), in the same
 * format as the provider's keystore in @lode/node — `{ version: 1, address, privateKey }` — so
 * one data directory holds one identity whichever role uses it.
 *
 * Guarantees: the file is written whole (temporary file, fsync, then rename) with mode 0600 in a
 * 0700 directory; an existing key is never replaced unless asked (`force`).
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { PrivateKeyAccount } from 'viem/accounts';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { AccountExistsError, KeystoreError, NoAccountError } from './errors.js';

export const KEYSTORE_FILE = 'keystore.json';

export interface Keystore {
  account: PrivateKeyAccount;
  address: `0x${string}`;
  path: string;
  /** True when this call generated the key. */
  created: boolean;
}

export function keystorePath(dataDir: string): string {
  return join(dataDir, KEYSTORE_FILE);
}

/** Loads the account; throws `NoAccountError` if there is none. */
export async function loadAccount(dataDir: string): Promise<Keystore> {
  const path = keystorePath(dataDir);
  const found = await readKeystore(path);
  if (!found) throw new NoAccountError(path);
  return { ...found, path, created: false };
}

/** Loads the account, creating one on first use. */
export async function loadOrCreateAccount(dataDir: string): Promise<Keystore> {
  const path = keystorePath(dataDir);
  const found = await readKeystore(path);
  if (found) return { ...found, path, created: false };
  return createAccount(dataDir, { force: false });
}

/** Creates a new account; throws `AccountExistsError` if one exists and `force` is not set. */
export async function createAccount(dataDir: string, options: { force: boolean }): Promise<Keystore> {
  const path = keystorePath(dataDir);
  if (!options.force) {
    const existing = await readKeystore(path).catch(() => undefined);
    if (existing) throw new AccountExistsError(path, existing.address);
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const privateKey = generatePrivateKey();
  const account = privateKeyToAccount(privateKey);
  const tmp = join(dataDir, `.${KEYSTORE_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify({ version: 1, address: account.address, privateKey }, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw new KeystoreError(`Cannot write the keystore at ${path}. Check that the directory is writable.`, { cause: err });
  }
  return { account, address: account.address, path, created: true };
}

async function readKeystore(path: string): Promise<Omit<Keystore, 'path' | 'created'> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KeystoreError(`Cannot read the keystore at ${path}. Check its owner and permissions.`, { cause: err });
  }
  let parsed: { address?: unknown; privateKey?: unknown };
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new KeystoreError(`The keystore at ${path} is not JSON. Restore it from a backup, or move it away and run \`lode account new\`.`, { cause: err });
  }
  if (typeof parsed.privateKey !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(parsed.privateKey)) {
    throw new KeystoreError(`The keystore at ${path} has no valid private key. Restore it from a backup, or move it away and run \`lode account new\`.`);
  }
  const account = privateKeyToAccount(parsed.privateKey as `0x${string}`);
  if (typeof parsed.address === 'string' && parsed.address.toLowerCase() !== account.address.toLowerCase()) {
    throw new KeystoreError(`The keystore at ${path} is inconsistent: its key belongs to ${account.address}, not ${parsed.address}. Restore it from a backup.`);
  }
  await tightenMode(path);
  return { account, address: account.address };
}

/** A key readable by others is made private rather than refused: the user's intent is clear. */
async function tightenMode(path: string): Promise<void> {
  if (process.platform === 'win32') return;
  const { mode } = await stat(path);
  if ((mode & 0o077) !== 0) await chmod(path, 0o600).catch(() => {});
}
