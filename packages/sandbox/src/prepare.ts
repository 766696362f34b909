/**
 * Module preparation as messages, for a worker of either kind (Node's worker_threads or a
 * browser's Web Worker): hash, check (`inspectModule`), meter (`instrumentModule`) and compile
 * (`prepareModule` + `WebAssembly.compile`). `handlePrepare` is the worker's side; `Preparer`
 * (preparer.ts) the caller's. Errors cross as data and are rebuilt into the same classes.
 */
import { InvalidModuleError, SandboxError, SandboxErrorCode, type LodeError } from '@lode/protocol';
import { instrumentModule } from './metering/instrument.js';
import { inspectModule, prepareModule } from './module.js';

/** Caller → worker: check, meter and compile a module's bytes (`prepare`), or compile metered bytes for another memory cap (`compile`). */
export type PrepareRequest =
  | { t: 'prepare'; id: number; bytes: Uint8Array; metering: boolean; pages: number }
  | { t: 'compile'; id: number; source: Uint8Array; pages: number };

/** How a compile ended: the module, or why not (a module over the cap, for instance). */
export type CompiledData = { module: WebAssembly.Module } | { error: ErrorData };

/** Worker → caller. `prepare`: the sha256 of the bytes, the bytes to run (metered), and the first compile. */
export type PrepareReply =
  | { t: 'prepared'; id: number; ok: true; hash?: string; source?: Uint8Array; compiled: CompiledData }
  | { t: 'prepared'; id: number; ok: false; hash?: string; error: ErrorData };

/** What a preparation worker says once it has loaded. */
export const PREPARE_READY = { t: 'ready' } as const;

/** An error as data: InvalidModuleError and SandboxError survive the trip; anything else is a module that cannot compile. */
export interface ErrorData {
  kind: 'invalid' | 'sandbox';
  code: string;
  message: string;
  details?: string;
}

export function toErrorData(e: unknown): ErrorData {
  if (e instanceof InvalidModuleError) return { kind: 'invalid', code: e.code, message: e.shortMessage, details: e.details };
  if (e instanceof SandboxError) return { kind: 'sandbox', code: e.code, message: e.shortMessage, details: e.details };
  // WebAssembly.CompileError and the like.
  return { kind: 'sandbox', code: SandboxErrorCode.InvalidModule, message: '', details: e instanceof Error ? e.message : String(e) };
}

export function fromErrorData(d: ErrorData): LodeError {
  if (d.kind === 'invalid') return new InvalidModuleError(d.message, d.details ? { details: d.details } : {});
  return new SandboxError(d.code as SandboxErrorCode, d.details);
}

async function compile(source: Uint8Array, pages: number): Promise<CompiledData> {
  try {
    return { module: await WebAssembly.compile(prepareModule(source, pages) as Uint8Array<ArrayBuffer>) };
  } catch (e) {
    return { error: toErrorData(e) };
  }
}

/**
 * The worker's side: answers one request. Never rejects for anything the module is or does;
 * `transfer` lists the buffers the reply may move instead of copying.
 */
export async function handlePrepare(
  msg: PrepareRequest,
  sha256Hex: (bytes: Uint8Array) => string | Promise<string>,
): Promise<{ reply: PrepareReply; transfer: ArrayBuffer[] }> {
  try {
    if (msg.t === 'compile') return { reply: { t: 'prepared', id: msg.id, ok: true, compiled: await compile(msg.source, msg.pages) }, transfer: [] };
    const hash = await sha256Hex(msg.bytes);
    let source: Uint8Array;
    try {
      inspectModule(msg.bytes);
      source = msg.metering ? instrumentModule(msg.bytes) : msg.bytes;
    } catch (e) {
      return { reply: { t: 'prepared', id: msg.id, ok: false, hash, error: toErrorData(e) }, transfer: [] };
    }
    const compiled = await compile(source, msg.pages);
    const whole = source.byteOffset === 0 && source.byteLength === source.buffer.byteLength && source.buffer instanceof ArrayBuffer;
    return { reply: { t: 'prepared', id: msg.id, ok: true, hash, source, compiled }, transfer: whole ? [source.buffer as ArrayBuffer] : [] };
  } catch (e) {
    return { reply: { t: 'prepared', id: msg.id, ok: false, error: toErrorData(e) }, transfer: [] };
  }
}
