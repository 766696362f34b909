/**
 * Deterministic fuel metering: `instrumentModule` rewrites a module to count its own work in
 * fuel units (a global decremented per basic block, inside the module); the runner sets the
 * task's limit before `_start` and reads what is left after. See instrument.ts for the scheme
 * and costs.ts for what each instruction costs.
 */
export { instrumentModule } from './instrument.js';
export { DEFAULT_FUEL, MAX_FUEL, FUEL_EXHAUSTED, FUEL_EXPORT, START_EXPORT, checkFuel } from './fuel.js';
export { FUEL_COSTS, FUEL_SCHEDULE_VERSION } from './costs.js';
