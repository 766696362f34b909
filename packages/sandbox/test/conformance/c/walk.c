/* Bigger directories (readdir past one buffer, rewinddir, scandir), chdir and relative paths,
 * getcwd, a 1 MiB file through stdio, and a recursive tree walk. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common.h"

static int count(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  while (readdir(d)) n++;
  closedir(d);
  return n;
}

static int only_txt(const struct dirent *e) { return strstr(e->d_name, ".txt") != NULL; }

/* Prints every path under `dir` (relative to `root`), sorted, with file sizes. */
static void tree(const char *root, const char *rel, int depth) {
  char path[2100];
  snprintf(path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel);
  struct dirent **list;
  int n = scandir(path, &list, NULL, alphasort);
  if (n < 0) { printf("scandir %s: %s\n", rel, errname(errno)); return; }
  for (int i = 0; i < n; i++) {
    const char *name = list[i]->d_name;
    if (strcmp(name, ".") && strcmp(name, "..")) {
      char sub[1024];
      snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", name);
      struct stat st;
      snprintf(path, sizeof path, "%s/%s", root, sub);
      stat(path, &st);
      printf("%*s%s%s", depth * 2, "", name, S_ISDIR(st.st_mode) ? "/\n" : "");
      if (S_ISDIR(st.st_mode)) tree(root, sub, depth + 1);
      else printf(" %lld\n", (long long)st.st_size);
    }
    free(list[i]);
  }
  free(list);
}

int main(int argc, char **argv) {
  const char *in = argv[1], *out = argv[2];
  char name[300];

  /* 300 files with long names: more than one fd_readdir buffer. */
  report("mkdir many", mkdir(join(out, "many"), 0755) == 0);
  for (int i = 0; i < 300; i++) {
    snprintf(name, sizeof name, "many/file-%03d-%s.txt", i, "a-rather-long-name-to-fill-the-readdir-buffer-quickly");
    FILE *f = fopen(join(out, name), "w");
    if (!f) { report(name, 0); return 1; }
    fprintf(f, "%d\n", i);
    fclose(f);
  }
  printf("many: %d entries with dots\n", count(join(out, "many")));

  /* rewinddir restarts a listing part way through. */
  DIR *d = opendir(join(out, "many"));
  int first = 0, second = 0;
  for (int i = 0; i < 150 && readdir(d); i++) first++;
  rewinddir(d);
  while (readdir(d)) second++;
  closedir(d);
  printf("rewinddir: %d then %d\n", first, second);

  /* Deleting while listing: every file seen once at most, all gone afterwards. */
  d = opendir(join(out, "many"));
  struct dirent *e;
  int removed = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    int i = atoi(e->d_name + 5);
    if (i % 3 != 0) {
      snprintf(name, sizeof name, "many/%s", e->d_name);
      if (unlink(join(out, name)) == 0) removed++;
    }
  }
  closedir(d);
  printf("removed %d, left %d with dots\n", removed, count(join(out, "many")));

  /* scandir with a filter and alphasort. */
  struct dirent **list;
  int n = scandir(join(in, "notes"), &list, only_txt, alphasort);
  printf("scandir notes/*.txt: %d:", n);
  for (int i = 0; i < n; i++) printf(" %s", list[i]->d_name), free(list[i]);
  free(list);
  printf("\n");

  /* chdir into the output directory; then relative paths work there. */
  report("chdir out", chdir(out) == 0);
  char cwd[1024];
  report("getcwd", getcwd(cwd, sizeof cwd) != NULL);
  printf("cwd is out: %d\n", strcmp(cwd, out) == 0);
  report("mkdir rel", mkdir("rel", 0755) == 0);
  FILE *f = fopen("rel/relative.txt", "w");
  report("fopen rel/relative.txt", f != NULL);
  if (f) fputs("written through a relative path\n", f), fclose(f);
  report("chdir rel", chdir("rel") == 0);
  report("stat ../many", access("../many", F_OK) == 0);
  report("fopen ./relative.txt", (f = fopen("./relative.txt", "r")) != NULL);
  if (f) fclose(f);
  report("chdir in", chdir(in) == 0);
  report("open notes/more.txt from in", (f = fopen("notes/more.txt", "r")) != NULL);
  if (f) fclose(f);
  report("chdir missing", chdir("no-such-dir") == 0);
  report("chdir to a file", chdir("notes/more.txt") == 0);

  /* 1 MiB through stdio, then read back with a checksum. */
  f = fopen(join(out, "big.bin"), "wb");
  for (int i = 0; i < (1 << 20); i++) putc((i * 31 + (i >> 12)) & 0xff, f);
  fclose(f);
  f = fopen(join(out, "big.bin"), "rb");
  unsigned long sum = 0;
  int ch;
  long len = 0;
  while ((ch = getc(f)) != EOF) sum = sum * 33 + ch, len++;
  fclose(f);
  printf("big.bin %ld bytes sum=%08lx\n", len, sum & 0xffffffffUL);

  printf("tree of in:\n");
  tree(in, "", 1);
  return 0;
}
