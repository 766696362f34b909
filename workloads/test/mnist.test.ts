import { describe, expect, it } from 'vitest';
import { averageModels, initModel, MnistFormatError, modelBytes, modelFromBytes, modelSize, parseArch, parseIdx, readMnist } from '../src/index.js';

describe('MNIST data and models', () => {
  it('reads the packaged data set whole: 60,000 and 10,000 images of 28×28 with digit labels', () => {
    const train = readMnist('train');
    const test = readMnist('test');
    expect([train.count, test.count]).toEqual([60_000, 10_000]);
    expect(train.images.length).toBe(60_000 * 784);
    expect(test.labels.every((l) => l <= 9)).toBe(true);
    // Every digit appears in both sets, in the proportions MNIST is known for (each 9–12 %).
    for (const set of [train, test]) {
      const counts = new Array(10).fill(0);
      for (const l of set.labels) counts[l]++;
      for (const c of counts) expect(c / set.count).toBeGreaterThan(0.08);
    }
    expect(readMnist('test', 5).count).toBe(5);
  });

  it('refuses malformed IDX files and models, saying what is wrong', () => {
    const header = (magic: number, ...dims: number[]) => {
      const b = new Uint8Array(4 + 4 * dims.length);
      const v = new DataView(b.buffer);
      v.setUint32(0, magic);
      for (const [i, d] of dims.entries()) v.setUint32(4 + 4 * i, d);
      return b;
    };
    expect(() => parseIdx(new Uint8Array(3), 1, 'x')).toThrow(MnistFormatError);
    expect(() => parseIdx(header(0x0803, 2, 28, 28), 1, 'labels')).toThrow(/magic 0x00000803, expected 0x00000801/);
    expect(() => parseIdx(new Uint8Array([...header(0x0801, 3), 1, 2]), 1, 'labels')).toThrow(/header says 3 = 3 bytes, the file holds 2/);
    expect(parseIdx(new Uint8Array([...header(0x0801, 2), 7, 9]), 1, 'labels').data).toEqual(new Uint8Array([7, 9]));
    expect(() => modelFromBytes(new Uint8Array(12), 128)).toThrow(/a model of 128 hidden units is 407080 bytes; this one is 12/);
    const nan = initModel(4);
    nan[5] = Number.NaN;
    expect(() => modelFromBytes(modelBytes(nan), 4)).toThrow(/weight 5 is NaN/);
  });

  it('initialises deterministically and averages shards by their sizes, exactly', () => {
    expect(modelBytes(initModel(16, 3))).toEqual(modelBytes(initModel(16, 3)));
    expect(modelBytes(initModel(16, 3))).not.toEqual(modelBytes(initModel(16, 4)));
    expect(initModel(16).length).toBe(modelSize(16));
    const a = new Float32Array([1, 2, 4]);
    const b = new Float32Array([3, 2, 0]);
    expect(
      averageModels([
        { model: a, weight: 1 },
        { model: b, weight: 3 },
      ]),
    ).toEqual(new Float32Array([2.5, 2, 1]));
    expect(() => averageModels([])).toThrow();
  });

  it('names two architectures — an MLP by its hidden units, a CNN by its filters — and refuses any other', () => {
    expect(parseArch(128)).toMatchObject({ kind: 'mlp', hidden: 128 });
    expect(parseArch('c8')).toMatchObject({ kind: 'cnn', filters: 8 });
    // 8 5×5 filters and their biases, 10 outputs over 8×12×12 pooled features, 10 biases.
    expect(modelSize('c8')).toBe(8 * 25 + 8 + 10 * 8 * 144 + 10);
    expect(modelSize(4)).toBe(4 * 784 + 4 + 10 * 4 + 10);
    for (const bad of ['c0', 'c65', '0', '4097', 'cnn', '12x', '', 'c8 ']) expect(() => parseArch(bad), bad).toThrow(MnistFormatError);
    expect(() => modelFromBytes(new Uint8Array(12), 'c8')).toThrow(/a CNN of 8 filters is 46952 bytes; this one is 12/);
    expect(modelBytes(initModel('c8', 3))).toEqual(modelBytes(initModel('c8', 3)));
    expect(modelBytes(initModel('c8', 3))).not.toEqual(modelBytes(initModel('c8', 4)));
  });
});
