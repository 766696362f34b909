/**
 * A wall-time budget for EVM execution on the embedded chain. Gas bounds how much work a call
 * may do, but not how long it takes here: `0x5b600056` (JUMPDEST PUSH1 0 JUMP) at 30 M gas runs
 * ~2 s in @ethereumjs/evm, and some opcodes cost far more time per gas. So JUMPDEST (every loop
 * passes one) and the call and create opcodes (every call tree passes one) check a deadline;
 * past it they halt their frame exactly as running out of gas does (an EVM exceptional halt, so
 * the journal unwinds cleanly), and so does every frame above at its next check. The chain then
 * refuses the call or transaction in words (`exceeded`).
 *
 * Straight-line code between checks is bounded by the code size (24 KiB), so a frame can never
 * run long past the deadline.
 */
import type { Common } from '@ethereumjs/common';
import { EVMError, getOpcodesForHF, paramsEVM, type EVMOpts } from '@ethereumjs/evm';

type CustomOpcode = NonNullable<EVMOpts['customOpcodes']>[number];

/** JUMPDEST, CREATE, CALL, CALLCODE, DELEGATECALL, CREATE2, STATICCALL. */
const GUARDED = [0x5b, 0xf0, 0xf1, 0xf2, 0xf4, 0xf5, 0xfa] as const;
/** JUMPDESTs between two clock reads (a read is ~40 ns; a loop iteration ~0.7 µs). */
const JUMPDEST_STRIDE = 64;

export class ExecutionBudget {
  private deadline = Number.POSITIVE_INFINITY;
  private jumps = 0;
  /** The budget of the run in progress (ms), for messages. */
  private budgetMs = 0;
  /** Set when the run in progress went past its deadline. */
  exceeded = false;

  /**
   * Runs `fn` with `ms` of EVM wall time (nested runs keep the outer, earlier deadline). The
   * caller reads `exceeded` before `fn`'s result means anything.
   */
  async within<T>(ms: number, fn: () => Promise<T>): Promise<T> {
    if (this.deadline !== Number.POSITIVE_INFINITY) return fn();
    this.deadline = performance.now() + ms;
    this.budgetMs = ms;
    this.exceeded = false;
    try {
      return await fn();
    } finally {
      this.deadline = Number.POSITIVE_INFINITY;
    }
  }

  /** The budget of the current (or last) run, in ms. */
  get limitMs(): number {
    return this.budgetMs;
  }

  /** The opcodes that check the deadline, for `createVM({ evmOpts: { customOpcodes } })`. */
  customOpcodes(common: Common): CustomOpcode[] {
    const withParams = common.copy(); // the gas table needs the EVM's parameters, as the EVM loads them
    withParams.updateParams(paramsEVM);
    const { opcodeMap } = getOpcodesForHF(withParams);
    return GUARDED.map((op): CustomOpcode => {
      const { opcodeInfo, opHandler, gasHandler } = opcodeMap[op]!;
      const check = op === 0x5b ? () => this.checkJump() : () => this.check();
      return {
        opcode: op,
        opcodeName: opcodeInfo.name,
        baseFee: opcodeInfo.fee,
        // Check before the gas is charged: a dynamic-gas opcode's handler runs first.
        ...(gasHandler !== undefined
          ? {
              gasFunction: async (runState, gas, c) => {
                check();
                return gasHandler(runState, gas, c);
              },
              logicFunction: opHandler,
            }
          : {
              logicFunction: (runState, c) => {
                check();
                return opHandler(runState, c);
              },
            }),
      } as CustomOpcode;
    });
  }

  private checkJump(): void {
    if (++this.jumps % JUMPDEST_STRIDE === 0) this.check();
  }

  private check(): void {
    if (performance.now() <= this.deadline) return;
    this.exceeded = true;
    throw new EVMError(EVMError.errorMessages.OUT_OF_GAS);
  }
}
