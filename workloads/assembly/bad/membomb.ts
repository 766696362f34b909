/**
 * bad/membomb — grows linear memory, 16 pages (1 MiB) at a time and then page by page, touching
 * each new page so the host must really provide it, until `memory.grow` fails (at the declared
 * maximum, or earlier if the host caps memory). Then prints {"pages":N} (the final size) and
 * exits with code 1.
 */
import { proc_exit } from "bindings/wasi_snapshot_preview1";
import { STDOUT, writeString } from "../lib/io";

for (let step = 16; step >= 1; step >>= 4) {
  while (true) {
    const previous = memory.grow(step);
    if (previous < 0) break;
    for (let page = 0; page < step; page++) store<u8>(<usize>(previous + page) << 16, 0xff);
  }
}
writeString(STDOUT, '{"pages":' + memory.size().toString() + "}\n");
proc_exit(1);
