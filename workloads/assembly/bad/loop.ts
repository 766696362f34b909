/**
 * bad/loop — never returns and never calls the host: only a fuel limit or wall-time limit
 * (terminating the worker) can stop it. The state is kept in a global so the loop has an
 * observable effect and cannot be optimized away.
 */
let state: u64 = 1;
while (true) {
  state = state * 6364136223846793005 + 1442695040888963407;
}
