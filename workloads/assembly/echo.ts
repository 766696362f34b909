/**
 * echo — the smallest useful task, for benchmarks: writes its arguments joined by single
 * spaces, then copies stdin, to stdout. Nothing is added (no newline). Uses raw WASI calls and
 * the stub runtime; no strings are decoded.
 */
import { args_get, args_sizes_get } from "bindings/wasi_snapshot_preview1";
import { readSome, STDIN, STDOUT, writeAll } from "./lib/io";

const sizes = memory.data(8);
args_sizes_get(sizes, sizes + 4);
const argc = load<u32>(sizes);
const argBytes = <usize>load<u32>(sizes, 4);
if (argc > 1) {
  const ptrs = heap.alloc(<usize>argc << 2);
  const data = heap.alloc(argBytes);
  args_get(ptrs, data);
  // Arguments lie back to back, each NUL-terminated: turn the NULs between them into spaces.
  const start = <usize>load<u32>(ptrs, 4);
  const end = data + argBytes - 1; // drop the last NUL
  for (let p = start; p < end; p++) {
    if (load<u8>(p) == 0) store<u8>(p, 32);
  }
  writeAll(STDOUT, start, end - start);
}

const CHUNK: usize = 64 * 1024;
const chunk = memory.data(<i32>CHUNK);
while (true) {
  const n = readSome(STDIN, chunk, CHUNK);
  if (n == 0) break;
  writeAll(STDOUT, chunk, n);
}
