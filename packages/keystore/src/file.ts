/**
 * The account of a data directory: a secp256k1 key kept in `<dataDir>/keystore.json`
 * (`{ version: 1, address, privateKey }`, mode 0600). One file, one identity, whichever role
 * uses it: the provider node, the gateway and the `lode` CLI (requester) all read and write it
 * through this module (the format: format.ts; the browser's store: browser.ts).
 *
 * @example
 * import { createAccount, loadAccount } from '@lode/keystore';
 * const { address, path } = await createAccount('./.lode', { force: false });
 * const { account } = await loadAccount('./.lode'); // a viem LocalAccount, for signing
 *
 * Guarantees:
 * - The file is only ever seen complete: it is written to a temporary file (mode 0600,
 *   fsync'd) and linked into place, so a crash leaves either no keystore or a whole one.
 * - Two processes creating at once end up with the same account (the loser loads the winner's).
 * - A keystore readable by group or others is fixed to 0600 with a warning (POSIX only).
 * - The stored address must match the key; a mismatch is refused rather than silently "fixed".
 * - A key is never replaced unless asked (`createAccount` with `force`); replacing is atomic too.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { KeystoreExistsError, KeystoreInvalidError, KeystoreMissingError } from './errors.js';
import { KEYSTORE_FILE, keystoreJson, parseKeystore } from './format.js';

/** Where a keystore reports that it tightened a file's mode (pino's `warn(fields, msg)` fits). */
export interface KeystoreLog {
  warn(fields: Record<string, unknown>, msg: string): void;
}

export interface LoadOrCreateAccountOptions {
  /** Create a new account when none exists. When false, a missing keystore throws `KeystoreMissingError`. */
  create: boolean;
  /** Receives the warning when a keystore's permissions had to be tightened. */
  log?: KeystoreLog;
}

export interface LoadedAccount {
  account: PrivateKeyAccount;
  /** Checksummed address. */
  address: `0x${string}`;
  /** Absolute or dataDir-relative path of the keystore file. */
  path: string;
  /** True when this call generated the key. */
  created: boolean;
}

/**
 * Loads the account in `<dataDir>/keystore.json`, creating it (and `dataDir`) when absent and
 * `create` is set. Throws `KeystoreMissingError` or `KeystoreInvalidError`.
 */
export async function loadOrCreateAccount(dataDir: string, options: LoadOrCreateAccountOptions): Promise<LoadedAccount> {
  const path = join(dataDir, KEYSTORE_FILE);
  const existing = await readKeystore(path, options.log);
  if (existing) return { ...existing, path, created: false };
  if (!options.create) throw new KeystoreMissingError(path);
  const created = await writeNewKey(dataDir, path, false);
  if (created) return created;
  // Someone else created the keystore meanwhile: use theirs.
  const winner = await readKeystore(path, options.log);
  if (!winner) throw new KeystoreInvalidError(`The keystore at ${path} vanished while it was being created. Try again.`);
  return { ...winner, path, created: false };
}

/** Loads the account in `<dataDir>/keystore.json`. Throws `KeystoreMissingError` or `KeystoreInvalidError`. */
export function loadAccount(dataDir: string, options: Omit<LoadOrCreateAccountOptions, 'create'> = {}): Promise<LoadedAccount> {
  return loadOrCreateAccount(dataDir, { ...options, create: false });
}

export interface CreateAccountOptions {
  /** Replace an existing keystore (its key is lost unless backed up). */
  force: boolean;
  log?: KeystoreLog;
}

/**
 * Generates a new account in `<dataDir>/keystore.json`. Without `force`, an existing keystore is
 * left alone: `KeystoreExistsError` if it holds an account, `KeystoreInvalidError` if it is
 * unusable (move it away first).
 */
export async function createAccount(dataDir: string, options: CreateAccountOptions): Promise<LoadedAccount> {
  const path = join(dataDir, KEYSTORE_FILE);
  if (!options.force) {
    const existing = await readKeystore(path, options.log);
    if (existing) throw new KeystoreExistsError(path, existing.address);
  }
  const created = await writeNewKey(dataDir, path, options.force);
  if (created) return created;
  const winner = await readKeystore(path, options.log);
  throw new KeystoreExistsError(path, winner?.address ?? 'unknown');
}

/**
 * Writes a fresh key to `path` through a fsync'd temporary file. Without `replace`, the file is
 * linked into place, which fails if a keystore appeared meanwhile: then nothing is written and
 * the result is undefined. With `replace`, it is renamed over any existing file.
 */
async function writeNewKey(dataDir: string, path: string, replace: boolean): Promise<LoadedAccount | undefined> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const privateKey = generatePrivateKey();
  const account = privateKeyToAccount(privateKey);
  const body = keystoreJson(privateKey);
  const tmp = join(dataDir, `.${KEYSTORE_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(body, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  const created: LoadedAccount = { account, address: account.address, path, created: true };
  if (!replace) {
    try {
      // link() fails with EEXIST if someone else created the keystore meanwhile: never overwrite a key.
      await link(tmp, path);
      await unlink(tmp).catch(() => {});
      return created;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        await unlink(tmp).catch(() => {});
        return undefined;
      }
      // File systems without hard links: rename is still atomic (last writer wins).
    }
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw new KeystoreInvalidError(`Cannot write the keystore at ${path}. Check that the directory is writable.`, { cause: err, meta: { path } });
  }
  return created;
}

async function readKeystore(path: string, log: KeystoreLog | undefined): Promise<{ account: PrivateKeyAccount; address: `0x${string}` } | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KeystoreInvalidError(`Cannot read the keystore at ${path}. Check its owner and permissions.`, { cause: err });
  }
  await ensurePrivateMode(path, log);

  const notLode = (cause: unknown) =>
    new KeystoreInvalidError(
      `The keystore at ${path} is not a Lode keystore (expected { version: 1, address, privateKey }). Restore it from a backup or move it away and run \`lode account new\`.`,
      { cause, meta: { path } },
    );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw notLode(err);
  }
  const read = parseKeystore(json);
  if ('account' in read) return { account: read.account, address: read.account.address };
  const { problem } = read;
  if (problem.kind === 'format') throw notLode(problem.cause);
  throw new KeystoreInvalidError(
    `The keystore at ${path} is inconsistent: its key belongs to ${problem.derived}, not ${problem.stored}. Restore it from a backup.`,
    { meta: { path, stored: problem.stored, derived: problem.derived } },
  );
}

/** The key must not be readable by anyone but the owner; tighten the mode if it is. */
async function ensurePrivateMode(path: string, log: KeystoreLog | undefined): Promise<void> {
  if (process.platform === 'win32') return;
  const { mode } = await stat(path);
  if ((mode & 0o077) === 0) return;
  log?.warn({ path, mode: (mode & 0o777).toString(8) }, 'keystore was readable by other users; changing its mode to 0600');
  try {
    await chmod(path, 0o600);
  } catch (err) {
    throw new KeystoreInvalidError(`The keystore at ${path} is readable by other users and its mode could not be changed. Run \`chmod 600 ${path}\`.`, {
      cause: err,
      meta: { path },
    });
  }
}
