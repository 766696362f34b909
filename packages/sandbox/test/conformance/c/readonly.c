/* Every way of changing the read-only input directory fails, and the input is unchanged; nothing
 * outside the mounts can be reached. (Sandbox only: as root, a native read-only directory is writable.) */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv) {
  const char *in = argv[1], *out = argv[2];
  errno = 0;
  report("fopen new file w", fopen(join(in, "new.txt"), "w") != NULL);
  report("fopen existing w", fopen(join(in, "data.bin"), "w") != NULL);
  report("fopen existing a", fopen(join(in, "data.bin"), "a") != NULL);
  report("fopen existing r+", fopen(join(in, "data.bin"), "r+") != NULL);
  report("open O_RDONLY|O_TRUNC", open(join(in, "data.bin"), O_RDONLY | O_TRUNC) >= 0);
  report("mkdir", mkdir(join(in, "dir"), 0755) == 0);
  report("unlink", unlink(join(in, "data.bin")) == 0);
  report("rmdir", rmdir(join(in, "notes")) == 0);
  report("rename within in", rename(join(in, "data.bin"), join(in, "moved.bin")) == 0);
  report("rename in -> out", rename(join(in, "data.bin"), join(out, "moved.bin")) == 0);
  report("truncate", truncate(join(in, "data.bin"), 0) == 0);
  report("fopen r (reading is fine)", fopen(join(in, "data.bin"), "r") != NULL);
  /* No way out of the mounts: no other host paths, no climbing above a mount's root. */
  report("fopen /etc/passwd", fopen("/etc/passwd", "r") != NULL);
  report("fopen in/../../etc/passwd", fopen(join(in, "../../etc/passwd"), "r") != NULL);
  report("fopen in/../out/x.txt for writing", fopen(join(in, "../out/x.txt"), "w") != NULL);
  report("opendir /", opendir("/") != NULL);
  struct stat st;
  stat(join(in, "data.bin"), &st);
  printf("data.bin still %lld bytes\n", (long long)st.st_size);
  return 0;
}
