/**
 * bad/clock — reports what a task can observe of time and entropy, for determinism tests:
 * {"realtime":"<ns>","monotonic":"<ns>","random":"<32 hex digits>"} and a newline.
 * Nanosecond values are strings because they exceed 2^53. Under a deterministic host the
 * output depends only on the task's seed; under a real one it differs on every run.
 */
import { clock_time_get, clockid, errno, random_get } from "bindings/wasi_snapshot_preview1";
import { EXIT_IO, fail, STDOUT, writeString } from "../lib/io";

const buf = memory.data(16);

function now(id: u32): u64 {
  if (clock_time_get(id, 1, buf) != errno.SUCCESS) fail("clock_time_get failed", EXIT_IO);
  return load<u64>(buf);
}

const realtime = now(clockid.REALTIME);
const monotonic = now(clockid.MONOTONIC);
if (random_get(buf, 16) != errno.SUCCESS) fail("random_get failed", EXIT_IO);
let hex = "";
for (let i = 0; i < 16; i++) {
  const b = load<u8>(buf + <usize>i);
  hex += (b < 16 ? "0" : "") + (<u32>b).toString(16);
}
writeString(
  STDOUT,
  '{"realtime":"' + realtime.toString() + '","monotonic":"' + monotonic.toString() + '","random":"' + hex + '"}\n',
);
