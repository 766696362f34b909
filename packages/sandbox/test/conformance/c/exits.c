/* Exit paths: return, exit() with buffered output, traps, abort, and malloc under a memory cap. */
#include <stdint.h>
#include "common.h"

/* Where allocations go, so that the compiler cannot elide a malloc whose result is unused
 * (clang folds `malloc(n) != NULL` to true when the block is never used). */
void *volatile sink;

int main(int argc, char **argv) {
  const char *mode = argc > 3 ? argv[3] : "return0";
  if (!strcmp(mode, "return0")) {
    printf("returning 0");
    return 0;
  }
  if (!strcmp(mode, "return3")) return 3;
  if (!strcmp(mode, "exit7")) {
    printf("exiting with 7, buffered");
    fprintf(stderr, "stderr before exit\n");
    exit(7);
  }
  if (!strcmp(mode, "trap")) {
    printf("flushed before trap\n");
    fflush(stdout);
    printf("still buffered at the trap\n");
    __builtin_trap();
  }
  if (!strcmp(mode, "abort")) {
    fprintf(stderr, "aborting\n");
    abort();
  }
  if (!strcmp(mode, "huge-malloc")) {
    /* More than any address space can hold: malloc returns NULL, the program carries on. */
    void *p = sink = malloc(SIZE_MAX / 2);
    printf("huge malloc: %s %s\n", p ? "succeeded" : "NULL", p ? "" : errname(errno));
    void *small = sink = malloc(1000);
    printf("small malloc after: %s\n", small ? "ok" : "NULL");
    return p ? 1 : 0;
  }
  if (!strcmp(mode, "exhaust")) {
    /* Allocates and touches 1 MiB blocks until malloc gives up. */
    size_t total = 0;
    for (;;) {
      char *p = sink = malloc(1 << 20);
      if (!p) break;
      memset(p, 1, 1 << 20);
      total += 1 << 20;
    }
    printf("malloc gave up after %zu MiB\n", total >> 20);
    return 0;
  }
  if (!strcmp(mode, "many-files")) {
    /* One entry more than a result may list: 10,001 empty files (each costs no output bytes). */
    char path[64];
    for (int i = 0; i <= 10000; i++) {
      snprintf(path, sizeof path, "%s/f%05d", argv[2], i);
      FILE *f = fopen(path, "w");
      if (!f) { perror(path); return 1; }
      fclose(f);
    }
    puts("made 10001 files");
    return 0;
  }
  fprintf(stderr, "unknown mode %s\n", mode);
  return 2;
}
