/**
 * Regression tests for the WASI gaps the C conformance suite found. They call `Preview1` directly
 * (playing the guest's part, as wasi-libc does), so they run without a C toolchain.
 */
import { describe, expect, it } from 'vitest';
import { Errno, Filetype, OFlags, Rights } from '../../src/wasi/constants.js';
import { guest as sharedGuest } from '../guest.js';

const dec = new TextDecoder();

/** The shared guest, with `open` for paths that must open (the file's tests expect success). */
function guest() {
  const g = sharedGuest();
  const open = (dir: number, path: string, oflags = 0, rights = Rights.FD_READ): number => {
    const fd = g.open(dir, path, oflags, rights);
    expect(fd, `path_open ${path}`).toBeTypeOf('number');
    return fd as number;
  };
  return { ...g, open };
}

describe('WASI regressions found by the C conformance suite', () => {
  it('stdio is not a terminal: wasi-libc isatty() is 0, so stdout is fully buffered', () => {
    // wasi-libc's isatty: a character device without fd_seek/fd_tell rights is a tty. Captured
    // stdio must not look like one (it made stdout line-buffered and isatty(1) == 1).
    const { f, dv } = guest();
    for (const fd of [0, 1, 2]) {
      expect(f.fd_fdstat_get!(fd, 200)).toBe(Errno.SUCCESS);
      expect(dv().getUint8(200)).toBe(Filetype.UNKNOWN);
      expect(f.fd_filestat_get!(fd, 300)).toBe(Errno.SUCCESS);
      expect(dv().getUint8(316)).toBe(Filetype.UNKNOWN);
    }
  });

  it('fd_readdir cookies stay valid while entries are deleted (readdir + unlink sees every entry)', () => {
    const { f, dv, u8, put, open } = guest();
    const names = Array.from({ length: 60 }, (_, i) => `entry-${String(i).padStart(2, '0')}-${'x'.repeat(40)}`);
    for (const name of names) {
      const fd = open(4, name, OFlags.CREAT, Rights.FD_WRITE);
      expect(f.fd_close!(fd)).toBe(Errno.SUCCESS);
    }
    const dir = open(4, '.', OFlags.DIRECTORY);
    // As wasi-libc's readdir does: fill a small buffer, hand out whole entries, continue from the
    // last entry's d_next cookie; here each entry is unlinked as soon as it is seen.
    const seen: string[] = [];
    let cookie = 0n;
    for (;;) {
      expect(f.fd_readdir!(dir, 1000, 512, cookie, 200)).toBe(Errno.SUCCESS);
      const used = dv().getUint32(200, true);
      let at = 0;
      let progressed = false;
      while (at + 24 <= used) {
        const next = dv().getBigUint64(1000 + at, true);
        const len = dv().getUint32(1000 + at + 16, true);
        if (at + 24 + len > used) break; // truncated: read again from `cookie`
        const name = dec.decode(u8().slice(1000 + at + 24, 1000 + at + 24 + len));
        at += 24 + len;
        cookie = next;
        progressed = true;
        if (name === '.' || name === '..') continue;
        seen.push(name);
        expect(f.path_unlink_file!(4, ...put(name))).toBe(Errno.SUCCESS);
      }
      if (used < 512 && !progressed) break;
      if (used < 512 && at === used) break;
    }
    expect(seen).toEqual(names);
    // A fresh listing (cookie 0) sees the directory as it is now: empty.
    expect(f.fd_readdir!(dir, 1000, 512, 0n, 200)).toBe(Errno.SUCCESS);
    expect(dv().getUint32(200, true)).toBe(2 * 24 + 1 + 2);
  });
});
