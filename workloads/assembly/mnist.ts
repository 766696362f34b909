/**
 * mnist — trains and evaluates a small neural network (a multilayer perceptron: 784 inputs, one
 * hidden layer of HIDDEN ReLU units, 10 softmax outputs) on MNIST-shaped data, in float32.
 *
 *   mnist train HIDDEN EPOCHS LR_MICRO BATCH SEED
 *       /in/model.bin, /in/images.bin, /in/labels.bin → /out/model.bin
 *       Minibatch SGD over the shard: EPOCHS passes in an order shuffled from SEED, step
 *       LR_MICRO / 1e6, gradients averaged over BATCH samples (the last batch may be smaller).
 *   mnist eval HIDDEN
 *       /in/model.bin, /in/images.bin, /in/labels.bin → /out/predictions.bin (one byte per image)
 *
 * Both print one JSON line: {"n":images,"correct":right answers,"loss":summed cross-entropy}
 * (train: measured during its last epoch, before each step; eval: of the model as given).
 *
 * Files: model.bin is float32 little-endian W1[HIDDEN][784], b1[HIDDEN], W2[10][HIDDEN], b2[10];
 * images.bin is 784 bytes per image (0–255, row-major 28×28); labels.bin one byte (0–9) each.
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
if (argv.length < 2) fail("usage: mnist train HIDDEN EPOCHS LR_MICRO BATCH SEED | mnist eval HIDDEN");
const mode = argv[0];
const H = parsePositive(argv[1], "HIDDEN");
if (H > 4096) fail("mnist: HIDDEN is at most 4096");

const sizeW1 = H * INPUTS;
const sizeModel = sizeW1 + H + OUTPUTS * H + OUTPUTS;

const modelBytes = readFile("/in/model.bin");
if (modelBytes.length != sizeModel * 4) {
  fail("mnist: /in/model.bin has " + modelBytes.length.toString() + " bytes; HIDDEN " + H.toString() + " needs " + (sizeModel * 4).toString());
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

// Work buffers.
const x = new StaticArray<f32>(INPUTS);
const nz = new StaticArray<i32>(INPUTS); // indices of the nonzero inputs of the current image
const hidden = new StaticArray<f32>(H);
const out = new StaticArray<f32>(OUTPUTS);
const dOut = new StaticArray<f32>(OUTPUTS);
const dHidden = new StaticArray<f32>(H);

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

/** Forward pass of the image in x; leaves softmax probabilities in `out`; returns the predicted digit. */
function forward(count: i32): i32 {
  for (let j = 0; j < H; j++) {
    let s: f32 = load<f32>(B1 + <usize>j * 4);
    const row = W1 + <usize>(j * INPUTS) * 4;
    for (let t = 0; t < count; t++) {
      const k = unchecked(nz[t]);
      s += load<f32>(row + <usize>k * 4) * unchecked(x[k]);
    }
    unchecked((hidden[j] = s > 0 ? s : 0));
  }
  let best = 0;
  let max: f32 = -Infinity;
  for (let o = 0; o < OUTPUTS; o++) {
    let s: f32 = load<f32>(B2 + <usize>o * 4);
    const row = W2 + <usize>(o * H) * 4;
    for (let j = 0; j < H; j++) s += load<f32>(row + <usize>j * 4) * unchecked(hidden[j]);
    unchecked((out[o] = s));
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
  if (argv.length < 6) fail("usage: mnist train HIDDEN EPOCHS LR_MICRO BATCH SEED");
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
