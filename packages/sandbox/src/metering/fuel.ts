/**
 * Fuel limits as the runner sees them: the default, the bounds, and the error code of a task
 * that runs out. No imports, so sandbox workers and browsers load nothing more for it.
 */

/** The export holding the fuel left (a mutable i64 global) in a metered module. */
export const FUEL_EXPORT = 'lode_fuel';
/** The export of a metered module's former start function, which the runner calls before `_start`. */
export const START_EXPORT = 'lode_start';
/**
 * The export of a metered module's limit flag (a mutable i32 global): 0, or why the module
 * stopped itself (`unreachable`) at a cap — `LIMIT_MEMORY`, or else the cap on table elements
 * (LIMITS.module.maxTableElements) that a `table.grow` would have passed. The runner then fails
 * the task with SANDBOX_MEMORY_LIMIT.
 */
export const LIMIT_EXPORT = 'lode_limit';
/**
 * `LIMIT_EXPORT`'s value after a `memory.grow` that the engine refused although the module's own
 * maximum allowed it: the grow went past the task's memory cap (and its headroom).
 */
export const LIMIT_MEMORY = 1;

/**
 * Fuel a task may use when its limits name none: 20 billion units. The workloads run 1.5–13
 * billion units a second on this project's 2-core machine (division-heavy code at the low end,
 * see docs/benchmarks.md), so a runaway loop stops by fuel after ~1.5–15 s, inside the default
 * wall-time limit of 30 s. Same value as @lode/protocol's DEFAULTS.fuel.
 * @default 20_000_000_000
 */
export const DEFAULT_FUEL = 20_000_000_000;

/** The largest fuel limit: results carry `fuelUsed` as a JavaScript number, exact up to 2^53 − 1. */
export const MAX_FUEL = Number.MAX_SAFE_INTEGER;

/**
 * The error code of a task that used all of its fuel. To be added to `SandboxErrorCode` in
 * @lode/protocol (as `FuelExhausted`); until then the sandbox defines it here.
 */
export const FUEL_EXHAUSTED = 'SANDBOX_FUEL_EXHAUSTED' as const;

/** Describes what is wrong with a fuel limit, or returns undefined if it is usable. */
export function checkFuel(fuel: unknown): string | undefined {
  if (fuel === undefined) return undefined;
  const ok = typeof fuel === 'bigint' ? fuel >= 0n && fuel <= BigInt(MAX_FUEL) : typeof fuel === 'number' && Number.isSafeInteger(fuel) && fuel >= 0;
  return ok ? undefined : `limits.fuel must be an integer from 0 to ${MAX_FUEL}, got ${typeof fuel === 'bigint' ? `${fuel}n` : JSON.stringify(fuel)}`;
}

/** The task's fuel limit as the bigint the fuel global takes. */
export function fuelLimit(fuel: number | bigint | undefined): bigint {
  return BigInt(fuel ?? DEFAULT_FUEL);
}

/** The message of a task that ran out of fuel. */
export function fuelExhaustedMessage(limit: bigint): string {
  return `The task used all of its ${limit} fuel and was stopped. Raise limits.fuel, or look for a loop that never ends.`;
}
