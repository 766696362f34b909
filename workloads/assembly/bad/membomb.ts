/**
 * bad/membomb — grows linear memory one 64 KiB page at a time, touching each new page so the
 * host must really provide it, until `memory.grow` fails (at the declared maximum, or earlier
 * if the host caps memory). Then prints {"pages":N} (the final size) and exits with code 1.
 */
import { proc_exit } from "bindings/wasi_snapshot_preview1";
import { STDOUT, writeString } from "../lib/io";

while (true) {
  const previous = memory.grow(1);
  if (previous < 0) break;
  store<u8>(<usize>previous << 16, 0xff);
}
writeString(STDOUT, '{"pages":' + memory.size().toString() + "}\n");
proc_exit(1);
