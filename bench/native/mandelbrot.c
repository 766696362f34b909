/*
 * mandelbrot — the same kernel as workloads/assembly/mandelbrot.ts, in C, for the fuel
 * benchmark's native and C-to-WebAssembly comparisons (bench/fuel.bench.js).
 *
 *   mandelbrot width height maxIter
 *
 * Renders the whole width × height image centred on -0.5 + 0i, 3 units wide, and writes the
 * width·height grayscale bytes to stdout — byte for byte what the workload writes for
 * `mandelbrot width height 0 0 width height maxIter`.
 */
#include <math.h>
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

static uint32_t isqrt(uint32_t v) {
  uint32_t r = (uint32_t)sqrt((double)v);
  while ((uint64_t)r * r > v) r--;
  while ((uint64_t)(r + 1) * (r + 1) <= v) r++;
  return r;
}

static uint32_t iterations(double x0, double y0, uint32_t maxIter) {
  double zr = 0, zi = 0, zr2 = 0, zi2 = 0;
  uint32_t n = 0;
  while (n < maxIter) {
    zr2 = zr * zr;
    zi2 = zi * zi;
    if (zr2 + zi2 > 4.0) break;
    zi = 2.0 * zr * zi + y0;
    zr = zr2 - zi2 + x0;
    n++;
  }
  return n;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: mandelbrot width height maxIter\n");
    return 2;
  }
  int32_t width = atoi(argv[1]), height = atoi(argv[2]);
  uint32_t maxIter = (uint32_t)strtoul(argv[3], NULL, 10);
  if (width < 1 || height < 1 || maxIter < 1) return 2;
  const double cx = -0.5, cy = 0.0, span = 3.0;
  const double step = span / (double)width;
  uint8_t *pixels = malloc((size_t)width * height);
  if (!pixels) return 1;
  for (int32_t py = 0; py < height; py++) {
    const double y0 = cy - (double)(2 * py + 1 - height) * 0.5 * step;
    for (int32_t px = 0; px < width; px++) {
      const double x0 = cx + (double)(2 * px + 1 - width) * 0.5 * step;
      uint32_t n = iterations(x0, y0, maxIter);
      uint32_t shade = n >= maxIter ? 0 : 1 + isqrt((uint32_t)(((uint64_t)n * 64516) / maxIter));
      pixels[(size_t)py * width + px] = (uint8_t)shade;
    }
  }
  fwrite(pixels, 1, (size_t)width * height, stdout);
  free(pixels);
  REPORT_CPU();
  return 0;
}
