/**
 * `lode node`'s blob cache on disk (`<dataDir>/blobs/<sha256>`), below the provider's memory
 * cache, which hash-checks what it reads here. Files are written whole, then renamed into place.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobCacheStore } from '@lode/provider';

export function blobFiles(dir: string): BlobCacheStore {
  let ready: Promise<unknown> | undefined;
  return {
    async read(sha) {
      try {
        return new Uint8Array(await readFile(join(dir, sha)));
      } catch {
        return undefined;
      }
    },
    async write(sha, bytes) {
      ready ??= mkdir(dir, { recursive: true });
      await ready;
      const tmp = join(dir, `.${sha}.${randomBytes(4).toString('hex')}.tmp`);
      try {
        await writeFile(tmp, bytes);
        await rename(tmp, join(dir, sha));
      } catch (err) {
        await unlink(tmp).catch(() => {});
        throw err;
      }
    },
    async remove(sha) {
      await unlink(join(dir, sha));
    },
  };
}
