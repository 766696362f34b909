/**
 * bad/outbomb — writes to stdout forever, 64 KiB at a time. Only an output cap (the host
 * answering fd_write with an error, after which it exits with code 74) or a time limit stops it.
 */
import { STDOUT, writeAll } from "../lib/io";

const SIZE: usize = 64 * 1024;
const block = memory.data(<i32>SIZE);
const line = "outbomb: this never ends\n";
for (let i: usize = 0; i < SIZE; i++) {
  store<u8>(block + i, <u8>line.charCodeAt(<i32>(i % <usize>line.length)));
}
while (true) writeAll(STDOUT, block, SIZE);
