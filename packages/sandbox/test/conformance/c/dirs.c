/* opendir/readdir (sorted by the program), mkdir/rename/unlink/rmdir/stat, and their errors. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common.h"

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Lists a directory: names sorted, "/" after directories, sizes of files. */
static void list(const char *label, const char *dir) {
  DIR *d = opendir(dir);
  if (!d) { printf("%s: opendir %s\n", label, errname(errno)); return; }
  char *names[64];
  int n = 0, dots = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 64) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) { dots++; continue; }
    char entry[300];
    struct stat st;
    if (stat(join(dir, e->d_name), &st) != 0) {
      snprintf(entry, sizeof entry, "%s (stat: %s)", e->d_name, errname(errno));
      names[n++] = strdup(entry);
      continue;
    }
    int isdir = e->d_type == DT_DIR;
    if (isdir != (S_ISDIR(st.st_mode) != 0)) printf("d_type and stat disagree on %s\n", e->d_name);
    if (isdir) snprintf(entry, sizeof entry, "%s/", e->d_name);
    else snprintf(entry, sizeof entry, "%s (%lld bytes)", e->d_name, (long long)st.st_size);
    names[n++] = strdup(entry);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp);
  printf("%s: %d entries (+%d dot entries)\n", label, n, dots);
  for (int i = 0; i < n; i++) printf("  %s\n", names[i]);
}

static void put(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) { report(path, 0); return; }
  fputs(text, f);
  fclose(f);
}

int main(int argc, char **argv) {
  const char *in = argv[1], *out = argv[2];
  char path[1024];
  list("in", in);
  list("in/notes", join(in, "notes"));

  report("mkdir sub", mkdir(join(out, "sub"), 0755) == 0);
  report("mkdir sub again", mkdir(join(out, "sub"), 0755) == 0);
  report("mkdir sub/deep/er (missing parent)", mkdir(join(out, "sub/deep/er"), 0755) == 0);
  report("mkdir sub/deep", mkdir(join(out, "sub/deep"), 0755) == 0);
  put(join(out, "sub/a.txt"), "alpha\n");
  put(join(out, "sub/deep/b.txt"), "bravo bravo\n");
  put(join(out, "gone.txt"), "to be removed\n");
  put(join(out, "old-name.txt"), "renamed content\n");
  put(join(out, "victim.txt"), "overwritten by rename\n");

  report("rename old-name -> sub/new-name", rename(join(out, "old-name.txt"), join(out, "sub/new-name.txt")) == 0);
  report("rename a.txt over victim.txt", rename(join(out, "sub/a.txt"), join(out, "victim.txt")) == 0);
  report("rename missing", rename(join(out, "nope.txt"), join(out, "nope2.txt")) == 0);
  report("rename dir sub/deep -> moved", rename(join(out, "sub/deep"), join(out, "moved")) == 0);
  report("unlink gone.txt", unlink(join(out, "gone.txt")) == 0);
  report("unlink gone.txt again", unlink(join(out, "gone.txt")) == 0);
  report("unlink a directory", unlink(join(out, "sub")) == 0);
  report("rmdir non-empty", rmdir(join(out, "moved")) == 0);
  report("mkdir empty", mkdir(join(out, "empty"), 0755) == 0);
  report("rmdir empty", rmdir(join(out, "empty")) == 0);
  report("rmdir a file", rmdir(join(out, "victim.txt")) == 0);
  report("opendir a file", opendir(join(out, "victim.txt")) != NULL);
  report("opendir missing", opendir(join(out, "missing")) != NULL);
  report("open dir/ as file path with slash", open(join(out, "victim.txt/"), O_RDONLY) >= 0);
  report("creat exclusive (exists)", open(join(out, "victim.txt"), O_WRONLY | O_CREAT | O_EXCL, 0644) >= 0);
  report("open directory for writing", open(join(out, "sub"), O_WRONLY) >= 0);

  struct stat st;
  report("stat moved/b.txt", stat(join(out, "moved/b.txt"), &st) == 0);
  printf("  size=%lld regular=%d dir=%d\n", (long long)st.st_size, S_ISREG(st.st_mode) != 0, S_ISDIR(st.st_mode) != 0);
  report("stat sub", stat(join(out, "sub"), &st) == 0);
  printf("  dir=%d\n", S_ISDIR(st.st_mode) != 0);
  report("stat missing", stat(join(out, "missing"), &st) == 0);
  report("stat through a file", stat(join(out, "victim.txt/x"), &st) == 0);
  report("access victim.txt", access(join(out, "victim.txt"), F_OK) == 0);
  report("access gone.txt", access(join(out, "gone.txt"), F_OK) == 0);
  snprintf(path, sizeof path, "%s/sub/../moved/./b.txt", out);
  report("stat with .. and .", stat(path, &st) == 0);

  list("out", out);
  list("out/sub", join(out, "sub"));
  list("out/moved", join(out, "moved"));
  return 0;
}
