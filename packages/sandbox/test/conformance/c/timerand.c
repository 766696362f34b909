/* Clocks, sleeping, and randomness: what the sandbox derives from the task seed. */
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

static long long ns(struct timespec t) { return (long long)t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void) {
  struct timespec rt, m1, m2, m3, res;
  clock_gettime(CLOCK_REALTIME, &rt);
  time_t now = time(NULL);
  struct timeval tv;
  gettimeofday(&tv, NULL);
  clock_gettime(CLOCK_MONOTONIC, &m1);
  clock_gettime(CLOCK_MONOTONIC, &m2);
  printf("realtime=%lld.%09ld time=%lld gettimeofday=%lld.%06ld\n", (long long)rt.tv_sec, rt.tv_nsec, (long long)now,
         (long long)tv.tv_sec, (long)tv.tv_usec);
  printf("monotonic=%lld then %lld\n", ns(m1), ns(m2));
  printf("clock_getres(MONOTONIC)=%d\n", clock_getres(CLOCK_MONOTONIC, &res));
  /* Sleep 250 ms with nanosleep, then 20 ms with usleep. */
  struct timespec req = {0, 250000000L};
  nanosleep(&req, NULL);
  usleep(20000);
  clock_gettime(CLOCK_MONOTONIC, &m3);
  printf("slept_ms=%lld\n", (ns(m3) - ns(m2)) / 1000000LL);
  struct tm tm;
  gmtime_r(&now, &tm);
  char date[64];
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
  printf("date=%s\n", date);

  unsigned char buf[32];
  int r = getentropy(buf, sizeof buf);
  printf("getentropy=%d bytes=", r);
  for (size_t i = 0; i < sizeof buf; i++) printf("%02x", buf[i]);
  srand((unsigned)now ^ buf[0]);
  printf("\nrand=%d %d %d\n", rand(), rand(), rand());
  return 0;
}
