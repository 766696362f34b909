/** bad/exit3 — prints a line to stdout and one to stderr, then exits with code 3. */
import { proc_exit } from "bindings/wasi_snapshot_preview1";
import { STDERR, STDOUT, writeString } from "../lib/io";

writeString(STDOUT, "exiting with code 3\n");
writeString(STDERR, "exit3: failing on purpose\n");
proc_exit(3);
