/**
 * WASI preview1 (`wasi_snapshot_preview1`) numeric constants, as the witx definitions give them.
 * Only values Lode's layer uses are named; the numbers are part of the ABI and never change.
 */

/** errno values. */
export const Errno = {
  SUCCESS: 0,
  TOOBIG: 1,
  ACCES: 2,
  AGAIN: 6,
  BADF: 8,
  EXIST: 20,
  FAULT: 21,
  FBIG: 22,
  INVAL: 28,
  IO: 29,
  ISDIR: 31,
  LOOP: 32,
  MFILE: 33,
  NAMETOOLONG: 37,
  NOENT: 44,
  NOSYS: 52,
  NOTCONN: 53,
  NOTDIR: 54,
  NOTEMPTY: 55,
  NOTSOCK: 57,
  NOTSUP: 58,
  NOTTY: 59,
  OVERFLOW: 61,
  PERM: 63,
  ROFS: 69,
  SPIPE: 70,
  XDEV: 75,
  NOTCAPABLE: 76,
} as const;
export type Errno = (typeof Errno)[keyof typeof Errno];

export const Filetype = {
  UNKNOWN: 0,
  CHARACTER_DEVICE: 2,
  DIRECTORY: 3,
  REGULAR_FILE: 4,
  SYMBOLIC_LINK: 7,
} as const;

export const ClockId = { REALTIME: 0, MONOTONIC: 1, PROCESS_CPUTIME: 2, THREAD_CPUTIME: 3 } as const;

export const Whence = { SET: 0, CUR: 1, END: 2 } as const;

export const OFlags = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;

export const FdFlags = { APPEND: 1, DSYNC: 2, NONBLOCK: 4, RSYNC: 8, SYNC: 16 } as const;

export const FstFlags = { ATIM: 1, ATIM_NOW: 2, MTIM: 4, MTIM_NOW: 8 } as const;

export const EventType = { CLOCK: 0, FD_READ: 1, FD_WRITE: 2 } as const;

export const SubClockFlags = { ABSTIME: 1 } as const;

/** Rights bits (u64). Lode grants all rights and enforces read-only mounts itself. */
export const Rights = {
  FD_READ: 1n << 1n,
  FD_WRITE: 1n << 6n,
  ALL: (1n << 30n) - 1n,
} as const;

/** Rights on a regular file: everything but the directory-only `path_*` and `fd_readdir` rights. */
export const FILE_RIGHTS = 0x1ffn /* fd_datasync..fd_allocate */ | (0b111n << 21n) /* fd_filestat_* */ | (1n << 27n);
/** Rights on stdio: read/write, fdstat flags, and poll. */
export const STDIO_RIGHTS = Rights.FD_READ | Rights.FD_WRITE | (1n << 3n) | (1n << 27n);
