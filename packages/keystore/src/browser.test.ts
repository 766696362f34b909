import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOrCreateAccount } from './file.js';
import { exportKey, KEY_NAME, loadKey, loadOrCreateKey, type KeyValueStore } from './browser.js';

function memoryStore(): KeyValueStore & { map: Map<string, unknown> } {
  const map = new Map<string, unknown>();
  return { map, get: async (k) => map.get(k), set: async (k, v) => void map.set(k, v) };
}

describe('the browser account key', () => {
  it('is created once, then the same key is loaded', async () => {
    const store = memoryStore();
    expect(await loadKey(store)).toBeUndefined();
    const first = await loadOrCreateKey(store, () => 1000);
    expect(first.created).toBe(true);
    expect(first.createdAt).toBe(1000);
    const again = await loadOrCreateKey(store);
    expect(again.created).toBe(false);
    expect(again.account.address).toBe(first.account.address);
    expect(store.map.get(KEY_NAME)).toEqual({ privateKey: first.privateKey, createdAt: 1000 });
  });

  it('ignores a malformed stored value instead of using it', async () => {
    const store = memoryStore();
    await store.set(KEY_NAME, { privateKey: '0x1234', createdAt: 1 });
    expect(await loadKey(store)).toBeUndefined();
  });

  it('exports a keystore.json that `lode` loads as the same account', async () => {
    const key = await loadOrCreateKey(memoryStore());
    const dir = await mkdtemp(join(tmpdir(), 'lode-web-key-'));
    try {
      await writeFile(join(dir, 'keystore.json'), exportKey(key), { mode: 0o600 });
      const loaded = await loadOrCreateAccount(dir, { create: false });
      expect(loaded.address).toBe(key.account.address);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
