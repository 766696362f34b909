/*
 * Shared by the conformance programs. Each program runs twice: compiled to wasm32-wasi inside
 * the Lode sandbox (argv[1] = "/in", argv[2] = "/out"), and compiled natively on the host
 * (argv[1], argv[2] = temporary directories laid out the same way). Programs print nothing that
 * depends on which: no host paths, errno by name (values differ between libcs), no timestamps.
 */
#ifndef CONFORMANCE_COMMON_H
#define CONFORMANCE_COMMON_H
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline const char *errname(int e) {
  switch (e) {
    case 0: return "OK";
    case EACCES: return "EACCES";
    case EBADF: return "EBADF";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case EISDIR: return "EISDIR";
    case ENOENT: return "ENOENT";
    case ENOMEM: return "ENOMEM";
    case ENOTDIR: return "ENOTDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EPERM: return "EPERM";
    case EROFS: return "EROFS";
    case ESPIPE: return "ESPIPE";
    case EXDEV: return "EXDEV";
    case ENOTTY: return "ENOTTY";
    case ELOOP: return "ELOOP";
    case ENOTSOCK: return "ENOTSOCK";
    case ENAMETOOLONG: return "ENAMETOOLONG";
#ifdef ENOTCAPABLE
    case ENOTCAPABLE: return "ENOTCAPABLE";
#endif
    default: return "E?";
  }
}

/* "<dir>/<name>" in a static buffer (one of four, so a call can take two). */
static inline const char *join(const char *dir, const char *name) {
  static char bufs[4][1024];
  static int next;
  char *b = bufs[next++ & 3];
  snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
  return b;
}

/* Prints "<what>: OK" when ok is true, else "<what>: <errno name>". */
static inline void report(const char *what, int ok) {
  printf("%s: %s\n", what, ok ? "OK" : errname(errno));
}
#endif
