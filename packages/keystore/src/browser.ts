/**
 * The browser's account key, kept in IndexedDB (through idb-keyval). It is
 * created on first use and never leaves the page unless the person exports it. The same key
 * signs the node's hello on the contributor page and job submissions on the dashboard.
 *
 * Anyone with access to this browser profile can read the key: it is a convenience identity
 * for contributing, not a wallet for large sums. Export it to keep it.
 */
import { get, set } from 'idb-keyval';
import { isHex, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { keystoreJson } from './format.js';

/** Where the key lives in IndexedDB (idb-keyval's default store). */
export const KEY_NAME = 'lode.account.v1';

export interface StoredKey {
  privateKey: Hex;
  createdAt: number;
}

/** The part of idb-keyval used here (a Map-backed one in tests). */
export interface KeyValueStore {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
}

export const idbStore: KeyValueStore = { get: (k) => get(k), set: (k, v) => set(k, v) };

export interface LoadedKey extends StoredKey {
  account: PrivateKeyAccount;
  /** True when this call created the key. */
  created: boolean;
}

function isStoredKey(v: unknown): v is StoredKey {
  const k = v as StoredKey | undefined;
  return !!k && typeof k === 'object' && isHex(k.privateKey) && k.privateKey.length === 66 && typeof k.createdAt === 'number';
}

/** The stored key, or undefined when there is none yet. */
export async function loadKey(store: KeyValueStore = idbStore): Promise<LoadedKey | undefined> {
  const stored = await store.get(KEY_NAME);
  if (!isStoredKey(stored)) return undefined;
  return { ...stored, account: privateKeyToAccount(stored.privateKey), created: false };
}

/** The stored key, created (and stored) if there is none. */
export async function loadOrCreateKey(store: KeyValueStore = idbStore, now: () => number = Date.now): Promise<LoadedKey> {
  const existing = await loadKey(store);
  if (existing) return existing;
  const key: StoredKey = { privateKey: generatePrivateKey(), createdAt: now() };
  await store.set(KEY_NAME, key);
  // Read back: if another tab created one at the same moment, both use the one that was kept.
  const kept = await loadKey(store);
  if (!kept) return { ...key, account: privateKeyToAccount(key.privateKey), created: true };
  return { ...kept, created: kept.privateKey === key.privateKey };
}

/**
 * The export file, in the keystore format (format.ts): saved as `keystore.json` in a data
 * directory, it makes `lode node` or `lode run` use this account.
 */
export function exportKey(key: StoredKey): string {
  return keystoreJson(key.privateKey);
}
