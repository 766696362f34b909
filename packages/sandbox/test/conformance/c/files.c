/* fopen/fread/fwrite/fseek/ftell/fflush on files under the in and out directories; POSIX read/write/lseek too. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv) {
  const char *in = argv[1], *out = argv[2];

  /* Size by seeking to the end, then read a slice from the middle. */
  FILE *f = fopen(join(in, "data.bin"), "rb");
  if (!f) { report("fopen data.bin", 0); return 1; }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  printf("data.bin size=%ld\n", size);
  fseek(f, 100, SEEK_SET);
  unsigned char mid[16];
  size_t got = fread(mid, 1, sizeof mid, f);
  printf("at 100 read %zu:", got);
  for (size_t i = 0; i < got; i++) printf(" %02x", mid[i]);
  printf("\nftell=%ld\n", ftell(f));
  fseek(f, -4, SEEK_CUR);
  long pos = ftell(f);
  printf("after SEEK_CUR -4: ftell=%ld getc=%d\n", pos, fgetc(f));
  fseek(f, -3, SEEK_END);
  unsigned char tail[8];
  got = fread(tail, 1, sizeof tail, f);
  printf("last %zu bytes: %02x %02x %02x eof=%d\n", got, tail[0], tail[1], tail[2], feof(f) != 0);
  /* Writing to a stream opened for reading fails. */
  errno = 0;
  size_t wrote = fwrite("x", 1, 1, f);
  if (wrote == 1) wrote = fflush(f) == 0;
  printf("fwrite on read-only stream: wrote=%zu ferror=%d\n", wrote, ferror(f) != 0);
  fclose(f);

  /* Text input, line by line. */
  FILE *t = fopen(join(in, "notes/lines.txt"), "r");
  if (!t) { report("fopen notes/lines.txt", 0); return 1; }
  char line[256];
  int n = 0;
  while (fgets(line, sizeof line, t)) printf("line %d: %s", ++n, line);
  fclose(t);

  /* Write, seek back, overwrite, extend past the end (a hole reads as zeros). */
  FILE *w = fopen(join(out, "result.bin"), "wb+");
  if (!w) { report("fopen result.bin", 0); return 1; }
  for (int i = 0; i < 1000; i++) fputc(i & 0xff, w);
  printf("after 1000 bytes ftell=%ld\n", ftell(w));
  fseek(w, 10, SEEK_SET);
  fwrite("OVERWRITE", 1, 9, w);
  fseek(w, 2000, SEEK_SET);
  fwrite("END", 1, 3, w);
  fflush(w);
  fseek(w, 0, SEEK_END);
  printf("size after hole=%ld\n", ftell(w));
  fseek(w, 1500, SEEK_SET);
  printf("hole byte=%d\n", fgetc(w));
  rewind(w);
  char head[20] = {0};
  fread(head, 1, 19, w);
  printf("head: %02x %02x ... %.9s\n", (unsigned char)head[0], (unsigned char)head[9], head + 10);
  fclose(w);

  /* Append mode, twice; text written with fprintf. */
  for (int round = 0; round < 2; round++) {
    FILE *a = fopen(join(out, "log.txt"), "a");
    fprintf(a, "round %d: %s\n", round, round ? "again" : "first");
    printf("append round %d ftell=%ld\n", round, ftell(a));
    fclose(a);
  }

  /* "r+": read a copy back and patch it in place. */
  FILE *c = fopen(join(out, "copy.txt"), "w");
  FILE *src = fopen(join(in, "notes/lines.txt"), "r");
  int ch;
  while ((ch = fgetc(src)) != EOF) fputc(ch, c);
  fclose(src);
  fclose(c);
  c = fopen(join(out, "copy.txt"), "r+");
  fseek(c, 0, SEEK_SET);
  fputs("LINE", c);
  fclose(c);

  /* POSIX file descriptors: open/write/lseek/read/ftruncate/fstat. */
  int fd = open(join(out, "posix.txt"), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) { report("open posix.txt", 0); return 1; }
  /* (Each call in its own statement: argument evaluation order is unspecified.) */
  ssize_t r = write(fd, "0123456789abcdef", 16);
  printf("write=%zd\n", r);
  printf("lseek=%lld\n", (long long)lseek(fd, 4, SEEK_SET));
  char buf[8] = {0};
  r = read(fd, buf, 6);
  printf("read=%zd [%.6s]\n", r, buf);
  r = pread(fd, buf, 3, 13);
  printf("pread=%zd [%.3s]\n", r, buf);
  printf("ftruncate=%d\n", ftruncate(fd, 12));
  struct stat st;
  fstat(fd, &st);
  printf("fstat size=%lld regular=%d\n", (long long)st.st_size, S_ISREG(st.st_mode) != 0);
  errno = 0;
  long long off = lseek(0, 0, SEEK_CUR);
  printf("lseek on stdin: %lld %s\n", off, errname(errno));
  close(fd);
  errno = 0;
  r = read(fd, buf, 1);
  printf("read on closed fd: %zd %s\n", r, errname(errno));
  f = fopen(join(in, "does-not-exist"), "r");
  printf("fopen missing: %s %s\n", f ? "opened" : "NULL", errname(errno));
  return 0;
}
