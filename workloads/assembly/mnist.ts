/**
 * mnist — trains and evaluates a small neural network on MNIST-shaped data, in float32. ARCH
 * names it: a number H is a multilayer perceptron (784 inputs, H hidden ReLU units, 10 softmax
 * outputs); `cF` a convolutional network (F 5×5 filters over the 28×28 image, ReLU, 2×2 max-pool
 * to F×12×12, then 10 softmax outputs).
 *
 *   mnist train ARCH EPOCHS LR_MICRO BATCH SEED
 *       /in/model.bin, /in/images.bin, /in/labels.bin → /out/model.bin
 *       Minibatch SGD over the shard: EPOCHS passes in an order shuffled from SEED, step
 *       LR_MICRO / 1e6, gradients averaged over BATCH samples (the last batch may be smaller).
 *   mnist eval ARCH
 *       /in/model.bin, /in/images.bin, /in/labels.bin → /out/predictions.bin (one byte per image)
 *
 * Both print one JSON line: {"n":images,"correct":right answers,"loss":summed cross-entropy}
 * (train: measured during its last epoch, before each step; eval: of the model as given).
 *
 * Files: model.bin is float32 little-endian — MLP: W1[H][784], b1[H], W2[10][H], b2[10]; CNN:
 * K[F][25], bK[F], W[10][F·144], b[10]; images.bin is 784 bytes per image (0–255, row-major
 * 28×28); labels.bin one byte (0–9) each.
 *
 * Deterministic: the same files and arguments give the same bytes out on every engine — float32
 * operations are IEEE-754 exact in WebAssembly, sums run in one fixed order, the shuffle is a
 * seeded xorshift, and exp/log are AssemblyScript's own (software) Mathf. The sandbox
 * canonicalizes NaNs, so even a diverging run answers alike everywhere.
 */
import { args, fail, readFile, STDOUT, writeFile, writeString } from "./lib/io";

const INPUTS: i32 = 784;
const OUTPUTS: i32 = 10;

function parsePositive(text: string, what: string): i32 {
  const v = I32.parseInt(text);
  if (!(v > 0)) fail("mnist: " + what + " must be a positive integer, got " + text);
  return v;
}

const argv = args();
if (argv.length < 2) fail("usage: mnist train ARCH EPOCHS LR_MICRO BATCH SEED | mnist eval ARCH (ARCH: 128 for an MLP, c8 for a CNN)");
const mode = argv[0];
const CNN = argv[1].startsWith("c");
// MLP: H hidden units. CNN: F filters (H is unused).
const H = CNN ? 0 : parsePositive(argv[1], "ARCH (hidden units)");
const F = CNN ? parsePositive(argv[1].slice(1), "ARCH (filters)") : 0;
if (H > 4096) fail("mnist: an MLP has at most 4096 hidden units");
if (F > 64) fail("mnist: a CNN has at most 64 filters");

const SIDE: i32 = 28;
const KS: i32 = 5; // kernel side
const CONV: i32 = SIDE - KS + 1; // 24
const POOL: i32 = CONV / 2; // 12
const FEATURES = F * POOL * POOL;

const sizeW1 = H * INPUTS;
const sizeModel = CNN ? F * KS * KS + F + OUTPUTS * FEATURES + OUTPUTS : sizeW1 + H + OUTPUTS * H + OUTPUTS;

const modelBytes = readFile("/in/model.bin");
if (modelBytes.length != sizeModel * 4) {
  fail("mnist: /in/model.bin has " + modelBytes.length.toString() + " bytes; ARCH " + argv[1] + " needs " + (sizeModel * 4).toString());
}
const images = readFile("/in/images.bin");
const labels = readFile("/in/labels.bin");
const n = labels.length;
if (images.length != n * INPUTS) fail("mnist: images.bin must hold 784 bytes for each of the " + n.toString() + " labels");
for (let i = 0; i < n; i++) if (labels[i] > 9) fail("mnist: label " + labels[i].toString() + " at " + i.toString() + " is not a digit");

// The model, in place in the buffer read: offsets in bytes.
const model = modelBytes.dataStart;
const W1 = model;
const B1 = W1 + <usize>sizeW1 * 4;
const W2 = B1 + <usize>H * 4;
const B2 = W2 + <usize>(OUTPUTS * H) * 4;
// The CNN's parts.
const CK = model;
const CB = CK + <usize>(F * KS * KS) * 4;
const CW = CB + <usize>F * 4;
const CWB = CW + <usize>(OUTPUTS * FEATURES) * 4;

// Work buffers.
const x = new StaticArray<f32>(INPUTS);
const nz = new StaticArray<i32>(INPUTS); // indices of the nonzero inputs of the current image
const hidden = new StaticArray<f32>(H);
const out = new StaticArray<f32>(OUTPUTS);
const dOut = new StaticArray<f32>(OUTPUTS);
const dHidden = new StaticArray<f32>(H);
const conv = new StaticArray<f32>(F * CONV * CONV); // before ReLU (applied after pooling: the same)
const pooled = new StaticArray<f32>(FEATURES);
const argmax = new StaticArray<i32>(FEATURES); // where in `conv` each pooled value came from
const scratch = new StaticArray<f32>(FEATURES); // the gradient at the pooled features

/** Loads image `i` into x; returns how many inputs are nonzero (listed in nz). */
function loadImage(i: i32): i32 {
  const base = images.dataStart + <usize>i * <usize>INPUTS;
  let count = 0;
  for (let k = 0; k < INPUTS; k++) {
    const p = load<u8>(base + <usize>k);
    const v = <f32>p / <f32>255.0;
    unchecked((x[k] = v));
    if (p != 0) unchecked((nz[count++] = k));
  }
  return count;
}

/**
 * The CNN's forward pass up to the logits in `out`. The convolution scatters each nonzero pixel
 * into the outputs it touches (a fixed order, so the same sums everywhere), skipping the ~80 %
 * of MNIST pixels that are 0.
 */
function forwardCnn(count: i32): void {
  for (let f = 0; f < F; f++) {
    const bias = load<f32>(CB + <usize>f * 4);
    const base = f * CONV * CONV;
    for (let k = 0; k < CONV * CONV; k++) unchecked((conv[base + k] = bias));
  }
  for (let t = 0; t < count; t++) {
    const k = unchecked(nz[t]);
    const v = unchecked(x[k]);
    const iy = k / SIDE;
    const ix = k % SIDE;
    for (let ky = 0; ky < KS; ky++) {
      const oy = iy - ky;
      if (oy < 0 || oy >= CONV) continue;
      for (let kx = 0; kx < KS; kx++) {
        const ox = ix - kx;
        if (ox < 0 || ox >= CONV) continue;
        const at = oy * CONV + ox;
        const w = ky * KS + kx;
        for (let f = 0; f < F; f++) {
          const i = f * CONV * CONV + at;
          unchecked((conv[i] += load<f32>(CK + <usize>(f * KS * KS + w) * 4) * v));
        }
      }
    }
  }
  for (let f = 0; f < F; f++) {
    const base = f * CONV * CONV;
    for (let py = 0; py < POOL; py++) {
      for (let px = 0; px < POOL; px++) {
        // Max of the 2×2 window after ReLU; the first of equal values wins.
        let best = base + 2 * py * CONV + 2 * px;
        let max: f32 = unchecked(conv[best]);
        for (let d = 1; d < 4; d++) {
          const i = base + (2 * py + (d >> 1)) * CONV + 2 * px + (d & 1);
          if (unchecked(conv[i]) > max) {
            max = unchecked(conv[i]);
            best = i;
          }
        }
        const o = f * POOL * POOL + py * POOL + px;
        unchecked((pooled[o] = max > 0 ? max : 0));
        unchecked((argmax[o] = best));
      }
    }
  }
  for (let o = 0; o < OUTPUTS; o++) {
    let s: f32 = load<f32>(CWB + <usize>o * 4);
    const row = CW + <usize>(o * FEATURES) * 4;
    for (let j = 0; j < FEATURES; j++) s += load<f32>(row + <usize>j * 4) * unchecked(pooled[j]);
    unchecked((out[o] = s));
  }
}

/** Adds the CNN's gradient for label y (given `out` holds its probabilities) into the buffer at G. */
function backwardCnn(G: usize, y: i32): void {
  const GK = G;
  const GB = GK + <usize>(F * KS * KS) * 4;
  const GW = GB + <usize>F * 4;
  const GWB = GW + <usize>(OUTPUTS * FEATURES) * 4;
  const dPooled = changetype<usize>(scratch);
  memory.fill(dPooled, 0, <usize>FEATURES * 4);
  for (let o = 0; o < OUTPUTS; o++) {
    const d = unchecked(out[o]) - (o == y ? <f32>1 : <f32>0);
    store<f32>(GWB + <usize>o * 4, load<f32>(GWB + <usize>o * 4) + d);
    const row = CW + <usize>(o * FEATURES) * 4;
    const grow = GW + <usize>(o * FEATURES) * 4;
    for (let j = 0; j < FEATURES; j++) {
      store<f32>(grow + <usize>j * 4, load<f32>(grow + <usize>j * 4) + d * unchecked(pooled[j]));
      store<f32>(dPooled + <usize>j * 4, load<f32>(dPooled + <usize>j * 4) + d * load<f32>(row + <usize>j * 4));
    }
  }
  // Through the pool (to the max) and the ReLU (active units only), into the filters.
  for (let f = 0; f < F; f++) {
    for (let p = 0; p < POOL * POOL; p++) {
      const o = f * POOL * POOL + p;
      if (unchecked(pooled[o]) <= 0) continue;
      const d = load<f32>(dPooled + <usize>o * 4);
      store<f32>(GB + <usize>f * 4, load<f32>(GB + <usize>f * 4) + d);
      const at = unchecked(argmax[o]) - f * CONV * CONV;
      const oy = at / CONV;
      const ox = at % CONV;
      for (let ky = 0; ky < KS; ky++) {
        for (let kx = 0; kx < KS; kx++) {
          const v = unchecked(x[(oy + ky) * SIDE + ox + kx]);
          if (v == 0) continue;
          const g = GK + <usize>(f * KS * KS + ky * KS + kx) * 4;
          store<f32>(g, load<f32>(g) + d * v);
        }
      }
    }
  }
}

/** Softmax of the logits in `out`, in place; returns the index of the largest. */
function softmax(): i32 {
  let best = 0;
  let max: f32 = -Infinity;
  for (let o = 0; o < OUTPUTS; o++) {
    const s = unchecked(out[o]);
    if (s > max) {
      max = s;
      best = o;
    }
  }
  let sum: f32 = 0;
  for (let o = 0; o < OUTPUTS; o++) {
    const e = Mathf.exp(unchecked(out[o]) - max);
    unchecked((out[o] = e));
    sum += e;
  }
  for (let o = 0; o < OUTPUTS; o++) unchecked((out[o] = out[o] / sum));
  return best;
}

/** Forward pass of the image in x; leaves softmax probabilities in `out`; returns the predicted digit. */
function forward(count: i32): i32 {
  if (CNN) {
    forwardCnn(count);
    return softmax();
  }
  for (let j = 0; j < H; j++) {
    let s: f32 = load<f32>(B1 + <usize>j * 4);
    const row = W1 + <usize>(j * INPUTS) * 4;
    for (let t = 0; t < count; t++) {
      const k = unchecked(nz[t]);
      s += load<f32>(row + <usize>k * 4) * unchecked(x[k]);
    }
    unchecked((hidden[j] = s > 0 ? s : 0));
  }
  for (let o = 0; o < OUTPUTS; o++) {
    let s: f32 = load<f32>(B2 + <usize>o * 4);
    const row = W2 + <usize>(o * H) * 4;
    for (let j = 0; j < H; j++) s += load<f32>(row + <usize>j * 4) * unchecked(hidden[j]);
    unchecked((out[o] = s));
  }
  return softmax();
}

/** Cross-entropy of the probabilities in `out` for label y (capped for a probability of 0). */
function lossOf(y: i32): f64 {
  const p = unchecked(out[y]);
  return p > <f32>1e-30 ? -<f64>Mathf.log(p) : 69.0;
}

let correct = 0;
let loss: f64 = 0;

if (mode == "eval") {
  const predictions = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const guess = forward(loadImage(i));
    predictions[i] = <u8>guess;
    const y = <i32>labels[i];
    if (guess == y) correct++;
    loss += lossOf(y);
  }
  writeFile("/out/predictions.bin", predictions.dataStart, <usize>n);
} else if (mode == "train") {
  if (argv.length < 6) fail("usage: mnist train ARCH EPOCHS LR_MICRO BATCH SEED");
  const epochs = parsePositive(argv[2], "EPOCHS");
  const lr = <f32>parsePositive(argv[3], "LR_MICRO") / <f32>1e6;
  const batch = parsePositive(argv[4], "BATCH");
  let seed = <u32>I32.parseInt(argv[5]);
  if (seed == 0) seed = 0x9e3779b9;

  // Gradients, summed over a batch.
  const grad = new StaticArray<f32>(sizeModel);
  const G = changetype<usize>(grad);
  const GW1 = G;
  const GB1 = GW1 + <usize>sizeW1 * 4;
  const GW2 = GB1 + <usize>H * 4;
  const GB2 = GW2 + <usize>(OUTPUTS * H) * 4;

  const order = new StaticArray<i32>(n);
  for (let i = 0; i < n; i++) unchecked((order[i] = i));

  for (let epoch = 0; epoch < epochs; epoch++) {
    // Fisher–Yates with xorshift32: the same order on every engine.
    for (let i = n - 1; i > 0; i--) {
      seed ^= seed << 13;
      seed ^= seed >> 17;
      seed ^= seed << 5;
      const j = <i32>(seed % <u32>(i + 1));
      const t = unchecked(order[i]);
      unchecked((order[i] = order[j]));
      unchecked((order[j] = t));
    }
    const last = epoch == epochs - 1;
    if (last) {
      correct = 0;
      loss = 0;
    }
    for (let start = 0; start < n; start += batch) {
      const end = min(start + batch, n);
      memory.fill(G, 0, <usize>sizeModel * 4);
      for (let b = start; b < end; b++) {
        const i = unchecked(order[b]);
        const count = loadImage(i);
        const guess = forward(count);
        const y = <i32>labels[i];
        if (last) {
          if (guess == y) correct++;
          loss += lossOf(y);
        }
        if (CNN) {
          backwardCnn(G, y);
          continue;
        }
        // Output layer: dL/dz = p − onehot(y).
        for (let o = 0; o < OUTPUTS; o++) unchecked((dOut[o] = out[o] - (o == y ? <f32>1 : <f32>0)));
        for (let j = 0; j < H; j++) unchecked((dHidden[j] = 0));
        for (let o = 0; o < OUTPUTS; o++) {
          const d = unchecked(dOut[o]);
          store<f32>(GB2 + <usize>o * 4, load<f32>(GB2 + <usize>o * 4) + d);
          const row = W2 + <usize>(o * H) * 4;
          const grow = GW2 + <usize>(o * H) * 4;
          for (let j = 0; j < H; j++) {
            const h = unchecked(hidden[j]);
            store<f32>(grow + <usize>j * 4, load<f32>(grow + <usize>j * 4) + d * h);
            unchecked((dHidden[j] += d * load<f32>(row + <usize>j * 4)));
          }
        }
        // Hidden layer (ReLU): only active units pass a gradient; only nonzero inputs get one.
        for (let j = 0; j < H; j++) {
          if (unchecked(hidden[j]) <= 0) continue;
          const d = unchecked(dHidden[j]);
          store<f32>(GB1 + <usize>j * 4, load<f32>(GB1 + <usize>j * 4) + d);
          const grow = GW1 + <usize>(j * INPUTS) * 4;
          for (let t = 0; t < count; t++) {
            const k = unchecked(nz[t]);
            store<f32>(grow + <usize>k * 4, load<f32>(grow + <usize>k * 4) + d * unchecked(x[k]));
          }
        }
      }
      // One step: w -= lr · (summed gradient / batch size).
      const step = lr / <f32>(end - start);
      for (let k = 0; k < sizeModel; k++) {
        const at = model + <usize>k * 4;
        store<f32>(at, load<f32>(at) - step * load<f32>(G + <usize>k * 4));
      }
    }
  }
  writeFile("/out/model.bin", model, <usize>sizeModel * 4);
} else {
  fail("mnist: unknown mode " + mode + " (train or eval)");
}

writeString(STDOUT, '{"n":' + n.toString() + ',"correct":' + correct.toString() + ',"loss":' + loss.toString() + "}\n");
