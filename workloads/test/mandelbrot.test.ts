import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { assembleMandelbrot, isExactDecimal, mandelbrotTasks, reference } from '../src/index.js';
import { runWasi } from './harness.js';

describe('mandelbrot', () => {
  it('renders every tile of an image byte for byte like the reference', () => {
    const { geometry, tasks } = mandelbrotTasks({ width: 96, height: 64, tiles: 6, maxIter: 200 });
    expect(tasks).toHaveLength(6);
    const tiles = tasks.map((task) => {
      const run = runWasi('mandelbrot', { args: task.args });
      expect(run.exitCode).toBe(0);
      expect(run.stdout).toHaveLength(task.tile.w * task.tile.h);
      expect(new Uint8Array(run.stdout)).toEqual(reference.mandelbrotTile(geometry, task.tile));
      return new Uint8Array(run.stdout);
    });
    // The tiles cover the image exactly once, and the assembled PNG holds the whole render.
    expect(tasks.reduce((n, t) => n + t.tile.w * t.tile.h, 0)).toBe(96 * 64);
    const png = PNG.sync.read(Buffer.from(assembleMandelbrot(geometry, tiles)));
    expect([png.width, png.height]).toEqual([96, 64]);
    const whole = reference.mandelbrotTile(geometry, { x: 0, y: 0, w: 96, h: 64 });
    for (let i = 0; i < whole.length; i++) expect(png.data[i * 4]).toBe(whole[i]); // decoded as RGBA
    expect(new Set(whole).size).toBeGreaterThan(20); // a real picture, not a flat field
    expect(whole).toContain(0); // some points are inside the set
  });

  it('honours a zoomed view and uneven tiles', () => {
    const view = { cx: -0.743643887037151, cy: 0.13182590420533, span: 0.0025 };
    const { geometry, tasks } = mandelbrotTasks({ width: 50, height: 37, tiles: { cols: 3, rows: 2 }, maxIter: 500, view });
    for (const task of tasks) {
      expect(task.args.slice(7)).toEqual(['-0.743643887037151', '0.13182590420533', '0.0025']);
      const run = runWasi('mandelbrot', { args: task.args });
      expect(new Uint8Array(run.stdout)).toEqual(reference.mandelbrotTile(geometry, task.tile));
    }
  });

  it('writes the tile to the file named by MANDELBROT_OUT instead of stdout', () => {
    const { geometry, tasks } = mandelbrotTasks({ width: 40, height: 30, tiles: 1, maxIter: 100 });
    const run = runWasi('mandelbrot', { args: tasks[0]!.args, env: { MANDELBROT_OUT: '/out/tile.raw' } });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toHaveLength(0);
    expect(new Uint8Array(run.out['tile.raw']!)).toEqual(reference.mandelbrotTile(geometry, tasks[0]!.tile));
  });

  it('rejects bad arguments with exit code 2 and a message', () => {
    for (const args of [[], ['10', '10', '0', '0', '11', '1', '5'], ['10', '10', '0', '0', '1', '1', '5', '0', '0', '0.33333333333333331']]) {
      const run = runWasi('mandelbrot', { args });
      expect(run.exitCode).toBe(2);
      expect(run.stderr.toString()).not.toBe('');
    }
  });

  it('refuses views that cannot be passed exactly', () => {
    expect(isExactDecimal('0.0025')).toBe(true);
    expect(isExactDecimal('1e-7')).toBe(true);
    expect(isExactDecimal(String(1 / 3))).toBe(false);
    expect(() => mandelbrotTasks({ width: 10, height: 10, tiles: 1, maxIter: 10, view: { cx: 1 / 3, cy: 0, span: 1 } })).toThrow(RangeError);
  });
});
