/* argv (past the two directory arguments), getenv, and environ sorted by the program. */
#include "common.h"

extern char **environ;

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  printf("argc=%d (past the directories)\n", argc - 3);
  for (int i = 3; i < argc; i++) printf("argv[%d]=[%s] len=%zu\n", i - 2, argv[i], strlen(argv[i]));
  const char *g = getenv("GREETING");
  printf("GREETING=%s\n", g ? g : "(unset)");
  printf("MISSING=%s\n", getenv("MISSING") ? "set" : "(unset)");
  int n = 0;
  while (environ[n]) n++;
  char **sorted = malloc(sizeof *sorted * (n + 1));
  memcpy(sorted, environ, sizeof *sorted * n);
  qsort(sorted, n, sizeof *sorted, cmp);
  printf("environ has %d entries\n", n);
  for (int i = 0; i < n; i++) printf("  %s\n", sorted[i]);
  setenv("ADDED", "yes", 1);
  printf("after setenv ADDED=%s\n", getenv("ADDED"));
  return 0;
}
