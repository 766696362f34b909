/*
 * Sockets and poll: no descriptor in a task is a socket, so socket calls on an open one fail
 * with ENOTSOCK and on a closed one with EBADF (as on Linux for a file or pipe); poll(2) finds a
 * regular file ready at once and sleeps on a timeout.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv) {
  const char *in = argv[1];
  char buf[8];
  int fd = open(join(in, "data.bin"), O_RDONLY);
  report("open data.bin", fd >= 0);
  report("shutdown a file", shutdown(fd, SHUT_RDWR) == 0);
  report("shutdown a closed fd", shutdown(77, SHUT_RDWR) == 0);
  report("recv on a file", recv(fd, buf, sizeof buf, 0) >= 0);
  report("recv on a closed fd", recv(77, buf, sizeof buf, 0) >= 0);
  report("send on a file", send(fd, "x", 1, 0) >= 0); /* not stdout: the test harness hands the native build a socketpair */
  report("send on a closed fd", send(77, "x", 1, 0) >= 0);
  report("accept on a file", accept(fd, NULL, NULL) >= 0);
  report("accept on a closed fd", accept(77, NULL, NULL) >= 0);

  struct pollfd p = {.fd = fd, .events = POLLIN};
  int ready = poll(&p, 1, 1000);
  printf("poll a file for reading: %d ready, in=%d\n", ready, (p.revents & POLLIN) != 0);
  int w = open(join(argv[2], "polled.txt"), O_WRONLY | O_CREAT, 0644);
  struct pollfd q = {.fd = w, .events = POLLOUT};
  ready = poll(&q, 1, 1000);
  printf("poll a file for writing: %d ready, out=%d\n", ready, (q.revents & POLLOUT) != 0);
  printf("poll nothing for 30 ms: %d\n", poll(NULL, 0, 30));
  close(w);
  close(fd);
  return 0;
}
