/**
 * @lode/keystore — the account key of a data directory (`keystore.json`, for lode node, the
 * gateway and the CLI). The browser's IndexedDB store is `@lode/keystore/browser`; both use the
 * one format in format.ts.
 */
export {
  createAccount,
  loadAccount,
  loadOrCreateAccount,
  type CreateAccountOptions,
  type KeystoreLog,
  type LoadedAccount,
  type LoadOrCreateAccountOptions,
} from './file.js';
export { KEYSTORE_FILE, KeystoreFile, keystoreJson, parseKeystore, type KeystoreProblem } from './format.js';
export { KeystoreExistsError, KeystoreInvalidError, KeystoreMissingError } from './errors.js';
