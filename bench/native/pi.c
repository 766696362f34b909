/*
 * pi — the same kernel as workloads/assembly/pi.ts, in C (bench/fuel.bench.js): a Monte Carlo
 * count of points of splitmix64 inside the quarter circle, printed as
 * {"inside":N,"samples":M} — what the workload prints.
 *
 *   pi seed samples
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef __wasi__
#include <time.h>
/* CPU time of this process so far, in ms (the benchmark reads it from stderr: it is shared). */
static double cpu_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
#define REPORT_CPU() fprintf(stderr, "cpu_ms=%.3f\n", cpu_ms())
#else
#define REPORT_CPU() ((void)0)
#endif

static uint64_t state;

static inline uint64_t next(void) {
  state += 0x9e3779b97f4a7c15ull;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: pi seed samples\n");
    return 2;
  }
  state = strtoull(argv[1], NULL, 10);
  uint64_t samples = strtoull(argv[2], NULL, 10), inside = 0;
  const uint64_t radiusSquared = 1ull << 62;
  for (uint64_t i = 0; i < samples; i++) {
    uint64_t x = next() >> 33, y = next() >> 33;
    if (x * x + y * y < radiusSquared) inside++;
  }
  printf("{\"inside\":%" PRIu64 ",\"samples\":%" PRIu64 "}\n", inside, samples);
  REPORT_CPU();
  return 0;
}
