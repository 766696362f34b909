/*
 * Symlinks and hard links: symlink/readlink/lstat/stat, O_NOFOLLOW and O_EXCL on a link, a
 * dangling link created through, loops (ELOOP), links to directories, link(2) and st_nlink,
 * rename and unlink of a link, d_type DT_LNK; and the input tree's own symlinks and empty
 * directory. What is left in out/ (links, an empty directory) is compared as a tree.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common.h"

static void put(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) { report(path, 0); return; }
  fputs(text, f);
  fclose(f);
}

static void cat(const char *label, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) { printf("%s: %s\n", label, errname(errno)); return; }
  char buf[128];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  printf("%s: [%s]\n", label, buf);
}

static void show_link(const char *label, const char *path) {
  char buf[256];
  ssize_t n = readlink(path, buf, sizeof buf - 1);
  if (n < 0) { printf("%s: %s\n", label, errname(errno)); return; }
  buf[n] = 0;
  printf("%s: -> %s\n", label, buf);
}

static const char *kind(mode_t m) { return S_ISLNK(m) ? "link" : S_ISDIR(m) ? "dir" : S_ISREG(m) ? "file" : "other"; }

static void stats(const char *label, const char *path) {
  struct stat l, s;
  int lo = lstat(path, &l) == 0;
  int lerr = errno;
  int so = stat(path, &s) == 0;
  int serr = errno;
  printf("%s: lstat %s, stat %s\n", label, lo ? kind(l.st_mode) : errname(lerr), so ? kind(s.st_mode) : errname(serr));
}

int main(int argc, char **argv) {
  const char *in = argv[1], *out = argv[2];
  char buf[64];

  /* The input tree: a symlink to a file, one to a directory, a dangling one, an empty directory. */
  show_link("in/link-to-data", join(in, "link-to-data"));
  stats("in/link-to-data", join(in, "link-to-data"));
  stats("in/link-to-notes", join(in, "link-to-notes"));
  stats("in/dangling", join(in, "dangling"));
  stats("in/empty-dir", join(in, "empty-dir"));
  cat("read in/link-to-notes/more.txt", join(in, "link-to-notes/more.txt"));
  DIR *d = opendir(join(in, "empty-dir"));
  int entries = 0;
  for (struct dirent *e; d && (e = readdir(d));) entries++;
  if (d) closedir(d);
  printf("in/empty-dir entries with dots: %d\n", entries);

  put(join(out, "target.txt"), "the target\n");
  report("symlink target.txt <- link", symlink("target.txt", join(out, "link")) == 0);
  report("symlink again (exists)", symlink("x", join(out, "link")) == 0);
  show_link("readlink link", join(out, "link"));
  report("readlink a file", readlink(join(out, "target.txt"), buf, sizeof buf) >= 0);
  report("readlink missing", readlink(join(out, "missing"), buf, sizeof buf) >= 0);
  ssize_t n = readlink(join(out, "link"), buf, 3);
  printf("readlink into 3 bytes: %d [%.3s]\n", (int)n, buf);
  stats("link", join(out, "link"));
  cat("read through link", join(out, "link"));

  report("open link O_NOFOLLOW", open(join(out, "link"), O_RDONLY | O_NOFOLLOW) >= 0);
  report("open link O_CREAT|O_EXCL", open(join(out, "link"), O_WRONLY | O_CREAT | O_EXCL, 0644) >= 0);

  report("symlink created.txt <- dangling", symlink("created.txt", join(out, "dangling")) == 0);
  stats("dangling", join(out, "dangling"));
  put(join(out, "dangling"), "made through a dangling link\n");
  cat("created.txt", join(out, "created.txt"));

  report("symlink loop-b <- loop-a", symlink("loop-b", join(out, "loop-a")) == 0);
  report("symlink loop-a <- loop-b", symlink("loop-a", join(out, "loop-b")) == 0);
  cat("open a loop", join(out, "loop-a"));
  stats("loop-a", join(out, "loop-a"));

  report("mkdir real-dir", mkdir(join(out, "real-dir"), 0755) == 0);
  report("symlink real-dir <- dir-link", symlink("real-dir", join(out, "dir-link")) == 0);
  put(join(out, "dir-link/inside.txt"), "written through a directory link\n");
  cat("real-dir/inside.txt", join(out, "real-dir/inside.txt"));
  report("rmdir a link to a directory", rmdir(join(out, "dir-link")) == 0);
  report("symlink ../target.txt <- real-dir/up", symlink("../target.txt", join(out, "real-dir/up")) == 0);
  cat("read real-dir/up", join(out, "real-dir/up"));

  report("link target.txt -> hard.txt", link(join(out, "target.txt"), join(out, "hard.txt")) == 0);
  report("link onto an existing name", link(join(out, "target.txt"), join(out, "hard.txt")) == 0);
  report("link a directory", link(join(out, "real-dir"), join(out, "dir-hard")) == 0);
  report("link missing", link(join(out, "missing"), join(out, "m2")) == 0);
  struct stat st;
  stat(join(out, "target.txt"), &st);
  printf("target.txt nlink=%d\n", (int)st.st_nlink);
  put(join(out, "hard.txt"), "changed through the hard link\n");
  cat("target.txt after", join(out, "target.txt"));
  report("unlink target.txt", unlink(join(out, "target.txt")) == 0);
  stat(join(out, "hard.txt"), &st);
  printf("hard.txt nlink=%d size=%d\n", (int)st.st_nlink, (int)st.st_size);
  cat("link now dangles", join(out, "link"));

  report("rename link -> renamed-link", rename(join(out, "link"), join(out, "renamed-link")) == 0);
  show_link("readlink renamed-link", join(out, "renamed-link"));
  report("unlink loop-a", unlink(join(out, "loop-a")) == 0);
  report("unlink loop-b", unlink(join(out, "loop-b")) == 0);

  report("mkdir left-empty", mkdir(join(out, "left-empty"), 0755) == 0);
  report("mkdir removed", mkdir(join(out, "removed"), 0755) == 0);
  report("rmdir removed", rmdir(join(out, "removed")) == 0);

  int links = 0, dirs = 0, files = 0;
  d = opendir(out);
  for (struct dirent *e; d && (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    if (e->d_type == DT_LNK) links++;
    else if (e->d_type == DT_DIR) dirs++;
    else if (e->d_type == DT_REG) files++;
  }
  if (d) closedir(d);
  printf("out: %d links, %d dirs, %d files\n", links, dirs, files);
  return 0;
}
