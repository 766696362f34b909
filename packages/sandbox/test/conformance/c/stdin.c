/* Reads all of stdin (fread in odd-sized chunks), then reports its size, a hash, and its lines upper-cased. */
#include <ctype.h>
#include "common.h"

int main(void) {
  size_t cap = 1024, len = 0, n;
  unsigned char *buf = malloc(cap);
  for (;;) {
    if (len + 777 > cap) buf = realloc(buf, cap *= 2);
    n = fread(buf + len, 1, 777, stdin);
    len += n;
    if (n < 777) break;
  }
  printf("eof=%d error=%d\n", feof(stdin) != 0, ferror(stdin) != 0);
  unsigned long h = 2166136261u;
  for (size_t i = 0; i < len; i++) h = (h ^ buf[i]) * 16777619u & 0xffffffffu;
  printf("bytes=%zu fnv1a=%08lx\n", len, h);
  int lines = 0;
  for (size_t i = 0; i < len && lines < 5; i++) {
    if (buf[i] == '\n') lines++;
    putchar(toupper(buf[i]));
  }
  printf("\nread after eof: %d\n", getchar());
  return 0;
}
