/*
 * The mnist workload's training and evaluation (workloads/assembly/mnist.ts), in C, for the ML
 * benchmark's native baseline (bench/ml.bench.js compiles it with clang -O2): the same model
 * layout, files, loops and order of operations, in float32. Only expf/logf are libm's, so its
 * model bytes may differ in the last bits; it is timed, not compared.
 *
 *   mnist train ARCH EPOCHS LR_MICRO BATCH SEED DIR   (DIR/model.bin, images.bin, labels.bin → DIR/model.out.bin)
 *   mnist eval ARCH DIR
 * ARCH: H (an MLP of H hidden units) or cF (a CNN of F 5×5 filters, 2×2 max-pool, 10 outputs).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *slurp(const char *dir, const char *name, long *len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(74); }
  fseek(f, 0, SEEK_END);
  *len = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc(*len ? *len : 1);
  if (fread(b, 1, *len, f) != (size_t)*len) { perror(path); exit(74); }
  fclose(f);
  return b;
}

enum { IN = 784, OUT = 10, SIDE = 28, KS = 5, CONV = 24, POOL = 12 };
static int H, F, CNN, FEATURES;
static float *CK, *CB, *CW, *CWB, *conv, *pooled, *dPooled;
static int *argmx;
static float *W1, *B1, *W2, *B2, x[IN], *hid, out[OUT], dOut[OUT], *dHid;
static int nz[IN];
static const unsigned char *images;

static int load_image(int i) {
  const unsigned char *p = images + (size_t)i * IN;
  int c = 0;
  for (int k = 0; k < IN; k++) { x[k] = (float)p[k] / 255.0f; if (p[k]) nz[c++] = k; }
  return c;
}

static void forward_cnn(int count) {
  for (int f = 0; f < F; f++) for (int k = 0; k < CONV * CONV; k++) conv[f * CONV * CONV + k] = CB[f];
  for (int t = 0; t < count; t++) {
    int k = nz[t], iy = k / SIDE, ix = k % SIDE;
    float v = x[k];
    for (int ky = 0; ky < KS; ky++) {
      int oy = iy - ky;
      if (oy < 0 || oy >= CONV) continue;
      for (int kx = 0; kx < KS; kx++) {
        int ox = ix - kx;
        if (ox < 0 || ox >= CONV) continue;
        for (int f = 0; f < F; f++) conv[f * CONV * CONV + oy * CONV + ox] += CK[f * KS * KS + ky * KS + kx] * v;
      }
    }
  }
  for (int f = 0; f < F; f++)
    for (int py = 0; py < POOL; py++)
      for (int px = 0; px < POOL; px++) {
        int base = f * CONV * CONV, best = base + 2 * py * CONV + 2 * px;
        float max = conv[best];
        for (int d = 1; d < 4; d++) {
          int i = base + (2 * py + (d >> 1)) * CONV + 2 * px + (d & 1);
          if (conv[i] > max) { max = conv[i]; best = i; }
        }
        int o = f * POOL * POOL + py * POOL + px;
        pooled[o] = max > 0 ? max : 0;
        argmx[o] = best;
      }
  for (int o = 0; o < OUT; o++) {
    float s = CWB[o];
    for (int j = 0; j < FEATURES; j++) s += CW[o * FEATURES + j] * pooled[j];
    out[o] = s;
  }
}

static void backward_cnn(float *G, int y) {
  float *GK = G, *GB = GK + F * KS * KS, *GW = GB + F, *GWB = GW + OUT * FEATURES;
  memset(dPooled, 0, FEATURES * sizeof(float));
  for (int o = 0; o < OUT; o++) {
    float d = out[o] - (o == y ? 1.0f : 0.0f);
    GWB[o] += d;
    for (int j = 0; j < FEATURES; j++) { GW[o * FEATURES + j] += d * pooled[j]; dPooled[j] += d * CW[o * FEATURES + j]; }
  }
  for (int f = 0; f < F; f++)
    for (int p = 0; p < POOL * POOL; p++) {
      int o = f * POOL * POOL + p;
      if (pooled[o] <= 0) continue;
      float d = dPooled[o];
      GB[f] += d;
      int at = argmx[o] - f * CONV * CONV, oy = at / CONV, ox = at % CONV;
      for (int ky = 0; ky < KS; ky++)
        for (int kx = 0; kx < KS; kx++) {
          float v = x[(oy + ky) * SIDE + ox + kx];
          if (v != 0) GK[f * KS * KS + ky * KS + kx] += d * v;
        }
    }
}

static int softmax(void) {
  int best = 0;
  float max = -INFINITY;
  for (int o = 0; o < OUT; o++) if (out[o] > max) { max = out[o]; best = o; }
  float sum = 0;
  for (int o = 0; o < OUT; o++) { out[o] = expf(out[o] - max); sum += out[o]; }
  for (int o = 0; o < OUT; o++) out[o] = out[o] / sum;
  return best;
}

static int forward(int count) {
  if (CNN) { forward_cnn(count); return softmax(); }
  for (int j = 0; j < H; j++) {
    float s = B1[j];
    const float *row = W1 + (size_t)j * IN;
    for (int t = 0; t < count; t++) s += row[nz[t]] * x[nz[t]];
    hid[j] = s > 0 ? s : 0;
  }
  for (int o = 0; o < OUT; o++) {
    float s = B2[o];
    for (int j = 0; j < H; j++) s += W2[o * H + j] * hid[j];
    out[o] = s;
  }
  return softmax();
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: mnist train H E LR B SEED DIR | mnist eval H DIR\n"); return 2; }
  int train = strcmp(argv[1], "train") == 0;
  CNN = argv[2][0] == 'c';
  H = CNN ? 0 : atoi(argv[2]);
  F = CNN ? atoi(argv[2] + 1) : 0;
  FEATURES = F * POOL * POOL;
  const char *dir = argv[train ? 7 : 3];
  long ml, il, ll;
  float *model = (float *)slurp(dir, "model.bin", &ml);
  images = slurp(dir, "images.bin", &il);
  const unsigned char *labels = slurp(dir, "labels.bin", &ll);
  int n = (int)ll, size = CNN ? F * KS * KS + F + OUT * FEATURES + OUT : H * IN + H + OUT * H + OUT;
  if (ml != size * 4L || il != (long)n * IN) { fprintf(stderr, "mnist: sizes do not fit\n"); return 2; }
  W1 = model; B1 = W1 + H * IN; W2 = B1 + H; B2 = W2 + OUT * H;
  hid = malloc((H + 1) * sizeof(float)); dHid = malloc((H + 1) * sizeof(float));
  CK = model; CB = CK + F * KS * KS; CW = CB + F; CWB = CW + OUT * FEATURES;
  conv = malloc((F * CONV * CONV + 1) * sizeof(float)); pooled = malloc((FEATURES + 1) * sizeof(float));
  dPooled = malloc((FEATURES + 1) * sizeof(float)); argmx = malloc((FEATURES + 1) * sizeof(int));
  int correct = 0;
  double loss = 0;
  if (!train) {
    for (int i = 0; i < n; i++) {
      int g = forward(load_image(i));
      if (g == labels[i]) correct++;
      loss += out[labels[i]] > 1e-30f ? -logf(out[labels[i]]) : 69.0;
    }
  } else {
    int epochs = atoi(argv[3]), batch = atoi(argv[5]);
    float lr = (float)atoi(argv[4]) / 1e6f;
    uint32_t seed = (uint32_t)atoi(argv[6]);
    if (!seed) seed = 0x9e3779b9u;
    float *G = calloc(size, sizeof(float));
    float *GW1 = G, *GB1 = G + H * IN, *GW2 = GB1 + H, *GB2 = GW2 + OUT * H;
    int *order = malloc(n * sizeof(int));
    for (int i = 0; i < n; i++) order[i] = i;
    for (int e = 0; e < epochs; e++) {
      for (int i = n - 1; i > 0; i--) {
        seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5;
        int j = (int)(seed % (uint32_t)(i + 1)), t = order[i];
        order[i] = order[j]; order[j] = t;
      }
      int last = e == epochs - 1;
      if (last) { correct = 0; loss = 0; }
      for (int start = 0; start < n; start += batch) {
        int end = start + batch < n ? start + batch : n;
        memset(G, 0, size * sizeof(float));
        for (int b = start; b < end; b++) {
          int i = order[b], count = load_image(i), y = labels[i], g = forward(count);
          if (last) { if (g == y) correct++; loss += out[y] > 1e-30f ? -logf(out[y]) : 69.0; }
          if (CNN) { backward_cnn(G, y); continue; }
          for (int o = 0; o < OUT; o++) dOut[o] = out[o] - (o == y ? 1.0f : 0.0f);
          for (int j = 0; j < H; j++) dHid[j] = 0;
          for (int o = 0; o < OUT; o++) {
            float d = dOut[o];
            GB2[o] += d;
            for (int j = 0; j < H; j++) { GW2[o * H + j] += d * hid[j]; dHid[j] += d * W2[o * H + j]; }
          }
          for (int j = 0; j < H; j++) {
            if (hid[j] <= 0) continue;
            float d = dHid[j];
            GB1[j] += d;
            float *row = GW1 + (size_t)j * IN;
            for (int t = 0; t < count; t++) row[nz[t]] += d * x[nz[t]];
          }
        }
        float step = lr / (float)(end - start);
        for (int k = 0; k < size; k++) model[k] -= step * G[k];
      }
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/model.out.bin", dir);
    FILE *f = fopen(path, "wb");
    fwrite(model, 4, size, f);
    fclose(f);
  }
  printf("{\"n\":%d,\"correct\":%d,\"loss\":%.6f}\n", n, correct, loss);
  return 0;
}
