import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KeystoreExistsError, KeystoreInvalidError, KeystoreMissingError } from './errors.js';
import { createAccount, loadAccount, loadOrCreateAccount } from './file.js';

describe('keystore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lode-keystore-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a keystore readable only by its owner and reloads the same address', async () => {
    const dataDir = join(dir, 'nested', 'data');
    const first = await loadOrCreateAccount(dataDir, { create: true });
    expect(first.created).toBe(true);
    expect(first.address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect((await stat(first.path)).mode & 0o777).toBe(0o600);
    const body = JSON.parse(await readFile(first.path, 'utf8'));
    expect(body).toMatchObject({ version: 1, address: first.address });

    const again = await loadOrCreateAccount(dataDir, { create: false });
    expect(again.created).toBe(false);
    expect(again.address).toBe(first.address);
    expect(again.account.address).toBe(first.account.address);
  });

  it('refuses to run without a keystore when asked not to create one', async () => {
    const err = await loadOrCreateAccount(dir, { create: false }).catch((e) => e);
    expect(err).toBeInstanceOf(KeystoreMissingError);
    expect(err.code).toBe('NO_ACCOUNT');
    expect(err.message).toContain('lode account new');
  });

  it('tightens a world-readable keystore to 0600 with a warning', async () => {
    const { path, address } = await loadOrCreateAccount(dir, { create: true });
    await chmod(path, 0o644);
    const warn = vi.fn();
    const loaded = await loadOrCreateAccount(dir, { create: false, log: { warn } as never });
    expect(loaded.address).toBe(address);
    expect(warn).toHaveBeenCalledOnce();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('refuses a keystore whose address does not match its key', async () => {
    const { path } = await loadOrCreateAccount(dir, { create: true });
    const body = JSON.parse(await readFile(path, 'utf8'));
    body.address = `0x${'11'.repeat(20)}`;
    await writeFile(path, JSON.stringify(body), { mode: 0o600 });
    await expect(loadOrCreateAccount(dir, { create: true })).rejects.toBeInstanceOf(KeystoreInvalidError);
  });

  it('refuses a file that is not a keystore', async () => {
    await writeFile(join(dir, 'keystore.json'), 'not json', { mode: 0o600 });
    await expect(loadOrCreateAccount(dir, { create: true })).rejects.toBeInstanceOf(KeystoreInvalidError);
  });

  it('gives concurrent creators the same account', async () => {
    const all = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateAccount(dir, { create: true })));
    expect(new Set(all.map((a) => a.address)).size).toBe(1);
    expect(all.filter((a) => a.created)).toHaveLength(1);
  });

  it('creates an account but never replaces one unless forced', async () => {
    const first = await createAccount(dir, { force: false });
    expect(first.created).toBe(true);
    const refused = await createAccount(dir, { force: false }).catch((e) => e);
    expect(refused).toBeInstanceOf(KeystoreExistsError);
    expect(refused.code).toBe('ACCOUNT_EXISTS');
    expect(refused.message).toContain('--force');
    expect((await loadAccount(dir)).address).toBe(first.address);

    const second = await createAccount(dir, { force: true });
    expect(second.address).not.toBe(first.address);
    expect((await stat(second.path)).mode & 0o777).toBe(0o600);
    expect((await loadAccount(dir)).address).toBe(second.address);
    expect(await readdir(dir)).toEqual(['keystore.json']); // no temporary files left
  });

  it('does not replace an unusable keystore unless forced', async () => {
    await writeFile(join(dir, 'keystore.json'), 'not json', { mode: 0o600 });
    await expect(createAccount(dir, { force: false })).rejects.toBeInstanceOf(KeystoreInvalidError);
    expect(await readFile(join(dir, 'keystore.json'), 'utf8')).toBe('not json');
    await expect(createAccount(dir, { force: true })).resolves.toMatchObject({ created: true });
  });
});
