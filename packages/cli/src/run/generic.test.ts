import { describe, expect, it } from 'vitest';
import { parseDir } from './generic.js';

describe('--dir', () => {
  it("takes wasmtime's forms: HOST::GUEST, and HOST alone for the same path", () => {
    expect(parseDir('./data::/data')).toEqual({ host: './data', guest: '/data' });
    expect(parseDir('/srv/in::/work/in/')).toEqual({ host: '/srv/in', guest: '/work/in' });
    expect(parseDir('/srv/data')).toEqual({ host: '/srv/data', guest: '/srv/data' });
    expect(parseDir('data')).toEqual({ host: 'data', guest: '/data' });
    expect(parseDir('./data/sub/')).toEqual({ host: './data/sub/', guest: '/data/sub' });
    expect(parseDir('C::D::/x')).toEqual({ host: 'C::D', guest: '/x' }); // the last :: splits
  });

  it('mounts at the guest root for HOST::/ and for . alone, as wasmtime does', () => {
    for (const spec of ['./data::/', './data::/.', './data:://']) expect(parseDir(spec), spec).toEqual({ host: './data', guest: '/' });
    expect(parseDir('.')).toEqual({ host: '.', guest: '/' });
    expect(parseDir('./')).toEqual({ host: './', guest: '/' });
  });

  it('refuses an empty or relative guest path, or .., with what to give instead', () => {
    expect(() => parseDir('data::')).toThrow(/absolute guest path/);
    expect(() => parseDir('./data::rel')).toThrow(/absolute guest path/);
    expect(() => parseDir('../up')).toThrow(/absolute guest path/);
    expect(() => parseDir('::/x')).toThrow(/absolute guest path/);
  });
});
