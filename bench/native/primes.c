/*
 * primes — the same kernel as workloads/assembly/primes.ts, in C (bench/fuel.bench.js): counts
 * the primes p with lo <= p < hi by trial division (6k ± 1 divisors up to √n, 32-bit division
 * below 2^32) and prints {"lo":L,"hi":H,"count":C} — what the workload prints.
 *
 *   primes lo hi
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

static int isPrime32(uint32_t n) {
  if (n < 4) return n >= 2;
  if (n % 2 == 0 || n % 3 == 0) return 0;
  for (uint32_t d = 5; (uint64_t)d * d <= (uint64_t)n; d += 6) {
    if (n % d == 0 || n % (d + 2) == 0) return 0;
  }
  return 1;
}

static int isPrime64(uint64_t n) {
  if (n < 0x100000000ull) return isPrime32((uint32_t)n);
  if (n % 2 == 0 || n % 3 == 0) return 0;
  for (uint64_t d = 5; d * d <= n; d += 6) {
    if (n % d == 0 || n % (d + 2) == 0) return 0;
  }
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: primes lo hi\n");
    return 2;
  }
  uint64_t lo = strtoull(argv[1], NULL, 10), hi = strtoull(argv[2], NULL, 10);
  uint64_t count = 0;
  for (uint64_t n = lo; n < hi; n++) count += isPrime64(n);
  printf("{\"lo\":%" PRIu64 ",\"hi\":%" PRIu64 ",\"count\":%" PRIu64 "}\n", lo, hi, count);
  REPORT_CPU();
  return 0;
}
