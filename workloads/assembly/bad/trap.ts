/** bad/trap — writes one line to stdout, then executes `unreachable` (a WebAssembly trap). */
import { STDOUT, writeString } from "../lib/io";

writeString(STDOUT, "about to trap\n");
unreachable();
