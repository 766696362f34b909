import { describe, expect, it } from 'vitest';
import { Errno, OFlags, Rights } from './constants.js';
import { OutputLimitExceeded } from './meter.js';
import { guest } from '../../test/guest.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const R = Rights.FD_READ;
const W = Rights.FD_WRITE;

describe('Preview1 preopens', () => {
  it('names /in, /out and extra mounts as fds 3, 4, 5', () => {
    const g = guest();
    const names = [3, 4, 5].map((fd) => {
      expect(g.f.fd_prestat_get!(fd, 0)).toBe(0);
      const len = g.dv().getUint32(4, true);
      expect(g.f.fd_prestat_dir_name!(fd, 16, len)).toBe(0);
      return dec.decode(g.u8().subarray(16, 16 + len));
    });
    expect(names).toEqual(['/in', '/out', '/scratch']);
    expect(g.f.fd_prestat_get!(6, 0)).toBe(Errno.BADF);
  });
});

describe('Preview1 files', () => {
  it('creates, writes, seeks, reads back and lists a file under /out', () => {
    const g = guest();
    const fd = g.open(4, 'sub/a.txt', OFlags.CREAT, R | W);
    expect(fd).toBe(`errno ${Errno.NOENT}`); // no parent directory yet
    expect(g.f.path_create_directory!(4, ...g.put('sub'))).toBe(0);
    const file = g.open(4, 'sub/a.txt', OFlags.CREAT, R | W) as number;
    expect(g.write(file, 'hello world')).toBe(0);
    expect(g.f.fd_seek!(file, 6n, 0, 300)).toBe(0);
    expect(g.read(file)).toBe('world');
    expect(g.f.fd_tell!(file, 300)).toBe(0);
    expect(g.dv().getBigUint64(300, true)).toBe(11n);
    expect(g.f.path_filestat_get!(4, 0, ...g.put('sub/a.txt'), 400)).toBe(0);
    expect(g.dv().getBigUint64(432, true)).toBe(11n); // size
    const dir = g.open(4, 'sub', OFlags.DIRECTORY) as number;
    expect(g.f.fd_readdir!(dir, 1000, 500, 0n, 300)).toBe(0);
    const used = g.dv().getUint32(300, true);
    const names: string[] = [];
    for (let at = 1000; at < 1000 + used; ) {
      const len = g.dv().getUint32(at + 16, true);
      names.push(dec.decode(g.u8().subarray(at + 24, at + 24 + len)));
      at += 24 + len;
    }
    expect(names).toEqual(['.', '..', 'a.txt']);
    expect(g.wasi.fs.changedEntries().map((x) => [x.path, dec.decode(x.data)])).toEqual([['/out/sub/a.txt', 'hello world']]);
  });

  it("reports renamed and deleted inputs, and never changes the caller's input buffers", () => {
    const input = enc.encode('original');
    const g = guest({
      files: [
        { path: '/out/keep.txt', data: input },
        { path: '/out/gone.txt', data: enc.encode('x') },
      ],
    });
    const fd = g.open(4, 'keep.txt', 0, R | W) as number;
    expect(g.write(fd, 'CHANGED!')).toBe(0);
    expect(dec.decode(input)).toBe('original');
    expect(g.f.path_rename!(4, ...g.put('gone.txt'), 4, ...g.put('moved.txt'))).toBe(0);
    expect(g.wasi.fs.changedEntries().map((x) => x.path)).toEqual(['/out/keep.txt', '/out/moved.txt']);
    expect(g.wasi.deletedInputs()).toEqual(['/out/gone.txt']);
    expect(g.f.path_unlink_file!(4, ...g.put('moved.txt'))).toBe(0);
    expect(g.wasi.fs.changedEntries().map((x) => x.path)).toEqual(['/out/keep.txt']);
  });

  it('keeps /in read-only (EROFS) but readable', () => {
    const g = guest({ files: [{ path: '/in/data.txt', data: enc.encode('input') }] });
    expect(g.open(3, 'data.txt', 0, W)).toBe(`errno ${Errno.ROFS}`);
    expect(g.open(3, 'data.txt', OFlags.TRUNC, R)).toBe(`errno ${Errno.ROFS}`);
    expect(g.open(3, 'new.txt', OFlags.CREAT, W)).toBe(`errno ${Errno.ROFS}`);
    expect(g.f.path_create_directory!(3, ...g.put('d'))).toBe(Errno.ROFS);
    expect(g.f.path_unlink_file!(3, ...g.put('data.txt'))).toBe(Errno.ROFS);
    expect(g.f.path_rename!(3, ...g.put('data.txt'), 4, ...g.put('x'))).toBe(Errno.XDEV);
    const fd = g.open(3, 'data.txt') as number;
    expect(g.read(fd)).toBe('input');
    expect(g.write(fd, 'nope')).toBe(Errno.BADF);
  });

  it('cannot leave a mount: .. above the root and absolute paths are refused', () => {
    const g = guest({ files: [{ path: '/in/a/b.txt', data: enc.encode('b') }] });
    expect(g.open(4, '../in/a/b.txt')).toBe(`errno ${Errno.NOTCAPABLE}`);
    expect(g.open(4, '/in/a/b.txt')).toBe(`errno ${Errno.NOTCAPABLE}`);
    expect(typeof g.open(3, 'a/../a/./b.txt')).toBe('number');
  });

  it('refuses to remove a non-empty directory, then removes it once empty', () => {
    const g = guest();
    g.f.path_create_directory!(4, ...g.put('d'));
    g.open(4, 'd/f', OFlags.CREAT, W);
    expect(g.f.path_remove_directory!(4, ...g.put('d'))).toBe(Errno.NOTEMPTY);
    expect(g.f.path_unlink_file!(4, ...g.put('d'))).toBe(Errno.ISDIR);
    expect(g.f.path_unlink_file!(4, ...g.put('d/f'))).toBe(0);
    expect(g.f.path_remove_directory!(4, ...g.put('d'))).toBe(0);
  });

  it('answers unsupported calls with proper errnos', () => {
    const g = guest({ files: [{ path: '/out/x', data: enc.encode('x') }] });
    expect(g.f.path_readlink!(4, ...g.put('x'), 0, 10, 20)).toBe(Errno.INVAL); // not a symlink
    expect(g.f.proc_raise!(9)).toBe(Errno.NOSYS);
    expect(g.f.sock_recv!(1, 0, 0, 0, 0, 0)).toBe(Errno.NOTSOCK);
    expect(g.f.sock_shutdown!(77, 0)).toBe(Errno.BADF);
    expect(g.f.fd_seek!(1, 0n, 0, 0)).toBe(Errno.SPIPE);
  });

  it('turns a pointer outside memory into EFAULT', () => {
    const g = guest();
    expect(g.f.fd_write!(1, 70_000, 1, 0)).toBe(Errno.FAULT);
    expect(g.f.random_get!(65_530, 100)).toBe(Errno.FAULT);
  });
});

describe('Preview1 trees: symlinks, hard links, empty directories, a root mount', () => {
  const FOLLOW = 1;
  const readlink = (g: ReturnType<typeof guest>, fd: number, path: string, bufLen = 100): string | number => {
    const err = g.f.path_readlink!(fd, ...g.put(path), 50_000, bufLen, 300);
    return err === 0 ? dec.decode(g.u8().subarray(50_000, 50_000 + g.dv().getUint32(300, true))) : err;
  };
  const filetype = (g: ReturnType<typeof guest>, fd: number, path: string, flags: number): number => {
    const err = g.f.path_filestat_get!(fd, flags, ...g.put(path), 400);
    return err === 0 ? g.dv().getUint8(416) : -err;
  };

  it('makes, reads, follows and lists symlinks; returns them as symlinks, never their targets', () => {
    const g = guest({ files: [{ path: '/out/d/real.txt', data: enc.encode('real') }] });
    expect(g.f.path_symlink!(...g.put('d/real.txt'), 4, ...g.put('link'))).toBe(0);
    expect(g.f.path_symlink!(...g.put('d'), 4, ...g.put('dirlink'))).toBe(0);
    expect(g.f.path_symlink!(...g.put('x'), 4, ...g.put('link'))).toBe(Errno.EXIST);
    expect(readlink(g, 4, 'link')).toBe('d/real.txt');
    expect(readlink(g, 4, 'link', 3)).toBe('d/r'); // truncated to the buffer, as readlink(2)
    expect(readlink(g, 4, 'd/real.txt')).toBe(Errno.INVAL);
    expect(g.read(g.open(4, 'link') as number)).toBe('real');
    expect(g.read(g.open(4, 'dirlink/real.txt') as number)).toBe('real');
    expect(g.open(4, 'link', 0, R, 0, 0)).toBe(`errno ${Errno.LOOP}`); // O_NOFOLLOW
    expect(filetype(g, 4, 'link', 0)).toBe(7); // lstat: SYMBOLIC_LINK
    expect(filetype(g, 4, 'link', FOLLOW)).toBe(4); // stat: REGULAR_FILE
    expect(filetype(g, 4, 'dirlink/', 0)).toBe(3); // a trailing slash follows
    expect(g.wasi.fs.changedEntries().map((e) => [e.path, e.kind, dec.decode(e.data)])).toEqual([
      ['/out/dirlink', 'symlink', 'd'],
      ['/out/link', 'symlink', 'd/real.txt'],
    ]);
    expect(g.f.path_unlink_file!(4, ...g.put('link'))).toBe(0); // removes the link, not its target
    expect(g.read(g.open(4, 'd/real.txt') as number)).toBe('real');
  });

  it('refuses links that leave the mount (absolute, or .. above the root) and loops, with NOTCAPABLE and LOOP', () => {
    const g = guest({ files: [{ path: '/in/secret', data: enc.encode('s') }] });
    g.f.path_symlink!(...g.put('/in/secret'), 4, ...g.put('abs'));
    g.f.path_symlink!(...g.put('../in/secret'), 4, ...g.put('up'));
    g.f.path_symlink!(...g.put('b'), 4, ...g.put('a'));
    g.f.path_symlink!(...g.put('a'), 4, ...g.put('b'));
    expect(g.open(4, 'abs')).toBe(`errno ${Errno.NOTCAPABLE}`);
    expect(g.open(4, 'up')).toBe(`errno ${Errno.NOTCAPABLE}`);
    expect(g.open(4, 'a')).toBe(`errno ${Errno.LOOP}`);
    expect(g.open(4, 'a/x', OFlags.CREAT, W)).toBe(`errno ${Errno.LOOP}`);
    expect(readlink(g, 4, 'abs')).toBe('/in/secret'); // kept as written
    expect(g.f.path_symlink!(...g.put('x'), 3, ...g.put('ro'))).toBe(Errno.ROFS);
  });

  it('creates a file through a dangling symlink, as open(O_CREAT) does', () => {
    const g = guest();
    g.f.path_symlink!(...g.put('target.txt'), 4, ...g.put('link'));
    const fd = g.open(4, 'link', OFlags.CREAT, W) as number;
    expect(g.write(fd, 'via link')).toBe(0);
    expect(g.wasi.fs.changedEntries().map((e) => [e.path, e.kind ?? 'file'])).toEqual([
      ['/out/link', 'symlink'],
      ['/out/target.txt', 'file'],
    ]);
  });

  it('hard-links files (one node, nlink counted, output by every name), not directories', () => {
    const g = guest({ files: [{ path: '/out/a', data: enc.encode('A') }] });
    expect(g.f.path_link!(4, 0, ...g.put('a'), 4, ...g.put('b'))).toBe(0);
    expect(g.f.path_filestat_get!(4, 0, ...g.put('a'), 400)).toBe(0);
    expect(g.dv().getBigUint64(424, true)).toBe(2n); // nlink
    expect(g.write(g.open(4, 'b', OFlags.TRUNC, W) as number, 'B')).toBe(0);
    expect(g.read(g.open(4, 'a') as number)).toBe('B');
    expect(g.f.path_link!(4, 0, ...g.put('a'), 3, ...g.put('x'))).toBe(Errno.XDEV);
    g.f.path_create_directory!(4, ...g.put('d'));
    expect(g.f.path_link!(4, 0, ...g.put('d'), 4, ...g.put('d2'))).toBe(Errno.PERM);
    expect(g.wasi.fs.changedEntries().map((e) => e.path)).toEqual(['/out/a', '/out/b', '/out/d']);
    expect(g.f.path_unlink_file!(4, ...g.put('a'))).toBe(0);
    expect(g.read(g.open(4, 'b') as number)).toBe('B'); // the other name keeps the file
    expect(g.wasi.deletedInputs()).toEqual(['/out/a']);
  });

  it('charges a hard-linked file once per name, as the result carries it (a link cannot multiply output past the cap)', () => {
    const g = guest({ maxOutputBytes: 100 });
    const fd = g.open(4, 'a', OFlags.CREAT, W) as number;
    expect(g.write(fd, 'x'.repeat(40))).toBe(0);
    expect(g.f.path_link!(4, 0, ...g.put('a'), 4, ...g.put('b'))).toBe(0); // 80 bytes of output
    expect(() => g.f.path_link!(4, 0, ...g.put('a'), 4, ...g.put('c'))).toThrow(OutputLimitExceeded); // 120
    expect(g.f.path_unlink_file!(4, ...g.put('b'))).toBe(0); // back to 40
    expect(g.write(fd, 'y'.repeat(50))).toBe(0); // 90 bytes under one name
    expect(g.wasi.fs.changedEntries().map((e) => [e.path, e.data.length])).toEqual([['/out/a', 90]]);
  });

  it('places input directories and symlinks, and reports them deleted', () => {
    const g = guest({
      files: [
        { path: '/out/empty', data: new Uint8Array(0), kind: 'dir' },
        { path: '/out/l', data: enc.encode('empty'), kind: 'symlink' },
        { path: '/in/ro', data: new Uint8Array(0), kind: 'dir' },
      ],
    });
    expect(filetype(g, 4, 'empty', 0)).toBe(3);
    expect(filetype(g, 4, 'l', FOLLOW)).toBe(3);
    expect(filetype(g, 3, 'ro', 0)).toBe(3);
    expect(g.wasi.fs.changedEntries()).toEqual([]); // inputs left alone are not output
    expect(g.f.path_remove_directory!(4, ...g.put('empty'))).toBe(0);
    expect(g.f.path_unlink_file!(4, ...g.put('l'))).toBe(0);
    expect(g.wasi.deletedInputs()).toEqual(['/out/empty', '/out/l']);
  });

  it('mounts a directory at the guest root beside /in and /out', () => {
    const g = guest({
      mounts: [
        { guest: '/in', writable: false },
        { guest: '/out', writable: true },
        { guest: '/', writable: true },
      ],
      files: [
        { path: '/data/x.txt', data: enc.encode('x') },
        { path: '/in/y', data: enc.encode('y') },
      ],
    });
    expect(g.f.fd_prestat_get!(5, 0)).toBe(0);
    expect(g.read(g.open(5, 'data/x.txt') as number)).toBe('x');
    expect(g.open(5, 'in/y')).toBe(`errno ${Errno.NOENT}`); // /in is its own mount
    g.f.path_create_directory!(5, ...g.put('made'));
    expect(g.wasi.fs.changedEntries().map((e) => [e.path, e.kind])).toEqual([['/made', 'dir']]);
  });
});

describe('Preview1 limits and time', () => {
  it('counts file bytes against the output cap as they are written', () => {
    const g = guest({ maxOutputBytes: 10 });
    const fd = g.open(4, 'big', OFlags.CREAT, W) as number;
    expect(g.write(fd, '12345')).toBe(0);
    expect(() => g.write(fd, '1234567')).toThrow(OutputLimitExceeded);
    expect(() => g.f.fd_filestat_set_size!(fd, 1_000_000n)).toThrow(OutputLimitExceeded);
    expect(g.f.fd_filestat_set_size!(fd, 0n)).toBe(0);
    expect(g.f.fd_seek!(fd, 0n, 0, 300)).toBe(0);
    expect(g.write(fd, '1234567')).toBe(0); // shrinking gave the bytes back
  });

  it('sleeps in virtual time: a 1 s poll_oneoff clock subscription moves the clock 1 s', () => {
    const g = guest();
    g.f.clock_time_get!(1, 0n, 0);
    const before = g.dv().getBigUint64(0, true);
    const sub = 1000;
    g.u8().fill(0, sub, sub + 48);
    g.dv().setBigUint64(sub, 42n, true); // userdata
    g.dv().setUint8(sub + 8, 0); // clock
    g.dv().setUint32(sub + 16, 1, true); // monotonic
    g.dv().setBigUint64(sub + 24, 1_000_000_000n, true);
    expect(g.f.poll_oneoff!(sub, 2000, 1, 8)).toBe(0);
    expect(g.dv().getUint32(8, true)).toBe(1);
    expect(g.dv().getBigUint64(2000, true)).toBe(42n);
    g.f.clock_time_get!(1, 0n, 0);
    expect(g.dv().getBigUint64(0, true) - before).toBeGreaterThanOrEqual(1_000_000_000n);
  });
});
