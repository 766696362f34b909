/**
 * Messages between the pool (main thread) and its preparation worker (prepare.worker.ts), and
 * how errors cross: as data, rebuilt into the same classes on the main thread.
 */
import { InvalidModuleError, SandboxError, SandboxErrorCode, type LodeError } from '@lode/protocol';

/** Main → worker: check, meter and compile a module's bytes (`add`), or compile metered bytes for another memory cap (`compile`). */
export type PrepareRequest =
  | { type: 'add'; id: number; bytes: Uint8Array; metering: boolean; pages: number }
  | { type: 'compile'; id: number; source: Uint8Array; pages: number };

/** How a compile ended: the module, or why not (a module over the cap, for instance). */
export type CompiledData = { module: WebAssembly.Module } | { error: ErrorData };

/** Worker → main. `add`: the sha256 of the bytes, the bytes to run (metered), and the first compile. */
export type PrepareReply =
  | { id: number; ok: true; hash?: string; source?: Uint8Array; compiled: CompiledData }
  | { id: number; ok: false; hash?: string; error: ErrorData };

/** An error as data: InvalidModuleError and SandboxError survive the trip; anything else becomes an invalid module. */
export interface ErrorData {
  kind: 'invalid' | 'sandbox';
  code: string;
  message: string;
  details?: string;
}

export function toErrorData(e: unknown): ErrorData {
  if (e instanceof InvalidModuleError) return { kind: 'invalid', code: e.code, message: e.shortMessage, details: e.details };
  if (e instanceof SandboxError) return { kind: 'sandbox', code: e.code, message: e.shortMessage, details: e.details };
  // WebAssembly.CompileError and the like: the module could not be compiled.
  return { kind: 'sandbox', code: SandboxErrorCode.InvalidModule, message: '', details: e instanceof Error ? e.message : String(e) };
}

export function fromErrorData(d: ErrorData): LodeError {
  if (d.kind === 'invalid') return new InvalidModuleError(d.message, d.details ? { details: d.details } : {});
  return new SandboxError(d.code as SandboxErrorCode, d.details);
}
