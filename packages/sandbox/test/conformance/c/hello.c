/* printf/puts/fputs/putchar to stdout and stderr; formatting; isatty on captured output. */
#include <unistd.h>
#include "common.h"

int main(void) {
  puts("hello from puts");
  printf("printf: %d %u %x %ld %lld %s %c %5.2f %e %g|%-6s|%06d\n", -42, 42u, 0xbeefu, -1234567L, 1LL << 40, "str", 'c', 3.14159,
         6.02e23, 0.0001, "left", 77);
  fputs("to stderr via fputs\n", stderr);
  fprintf(stderr, "fprintf to stderr: %d\n", 7);
  for (int i = 0; i < 5; i++) putchar('a' + i);
  putchar('\n');
  /* Output goes to a buffer (or a pipe), never a terminal. */
  printf("isatty(0)=%d isatty(1)=%d isatty(2)=%d\n", isatty(0), isatty(1), isatty(2));
  char big[5000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  printf("%s\n", big);
  return 0;
}
