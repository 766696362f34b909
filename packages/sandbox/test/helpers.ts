/**
 * Test helpers: WAT → wasm with wabt, task builders, and the small WASI programs the tests run.
 */
import { sha256Hex } from '@lode/protocol';
import type { SandboxTask } from '../src/types.js';

let wabt: Awaited<ReturnType<typeof import('wabt')['default']>> | undefined;

/** wabt's feature switches (`parseWat`'s third argument). */
export type WatFeatures = NonNullable<Parameters<NonNullable<typeof wabt>['parseWat']>[2]>;

/** Compiles WebAssembly text to binary (wabt's default features, plus `features`). */
export async function wat(source: string, features?: WatFeatures): Promise<Uint8Array> {
  wabt ??= await (await import('wabt')).default();
  const mod = wabt.parseWat('test.wat', source, features);
  try {
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

export const SEED_A = 'a'.repeat(64);
export const SEED_B = 'b'.repeat(64);

export function makeTask(moduleHash: string, overrides: Partial<SandboxTask> = {}): SandboxTask {
  return {
    moduleHash,
    args: [],
    env: {},
    stdin: new Uint8Array(0),
    files: [],
    mounts: [],
    seed: SEED_A,
    limits: { memoryMiB: 16, wallMs: 5_000, maxOutputBytes: 1 << 20 },
    ...overrides,
  };
}

export const hashOf = (bytes: Uint8Array) => sha256Hex(bytes);
export const text = (b: Uint8Array) => new TextDecoder().decode(b);
export const bytes = (s: string) => new TextEncoder().encode(s);

const imp = (name: string, params: string, result = '(result i32)') =>
  `(import "wasi_snapshot_preview1" "${name}" (func $${name} (param ${params}) ${result}))`;

export const IMPORTS = {
  fd_write: imp('fd_write', 'i32 i32 i32 i32'),
  fd_read: imp('fd_read', 'i32 i32 i32 i32'),
  proc_exit: imp('proc_exit', 'i32', ''),
  args_sizes_get: imp('args_sizes_get', 'i32 i32'),
  args_get: imp('args_get', 'i32 i32'),
  environ_sizes_get: imp('environ_sizes_get', 'i32 i32'),
  environ_get: imp('environ_get', 'i32 i32'),
  clock_time_get: imp('clock_time_get', 'i32 i64 i32'),
  random_get: imp('random_get', 'i32 i32'),
  path_open: imp('path_open', 'i32 i32 i32 i32 i32 i64 i64 i32 i32'),
  sock_send: imp('sock_send', 'i32 i32 i32 i32 i32'),
  sock_recv: imp('sock_recv', 'i32 i32 i32 i32 i32 i32'),
  sock_accept: imp('sock_accept', 'i32 i32 i32'),
  sock_shutdown: imp('sock_shutdown', 'i32 i32'),
};

/** `(call $write fd ptr len)`: writes one buffer with fd_write (iovec at 0, nwritten at 8). */
const WRITE_FN = `
  (func $write (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))`;

/** A WASI command: the given imports (fd_write always), one page of memory, $write, and a body. */
export function program(body: string, opts: { imports?: (keyof typeof IMPORTS)[]; data?: string; memory?: string } = {}): string {
  const imports = new Set(['fd_write', ...(opts.imports ?? [])] as (keyof typeof IMPORTS)[]);
  return `(module
  ${[...imports].map((i) => IMPORTS[i]).join('\n  ')}
  (memory (export "memory") ${opts.memory ?? '1'})
  ${opts.data ?? ''}
  ${WRITE_FN}
  (func (export "_start") ${body}))`;
}

export const MODULES = {
  hello: program('(call $write (i32.const 1) (i32.const 64) (i32.const 13))', { data: '(data (i32.const 64) "hello, world\\n")' }),

  /** Prints the argv buffer, then the environ buffer (NUL-separated). */
  argsEnv: program(
    `(drop (call $args_sizes_get (i32.const 16) (i32.const 20)))
     (drop (call $args_get (i32.const 1024) (i32.const 2048)))
     (call $write (i32.const 1) (i32.const 2048) (i32.load (i32.const 20)))
     (drop (call $environ_sizes_get (i32.const 16) (i32.const 20)))
     (drop (call $environ_get (i32.const 1024) (i32.const 8192)))
     (call $write (i32.const 1) (i32.const 8192) (i32.load (i32.const 20)))`,
    { imports: ['args_sizes_get', 'args_get', 'environ_sizes_get', 'environ_get'] },
  ),

  /** Copies stdin to stdout in 4 KiB reads. */
  echo: program(
    `(block $done (loop $more
       (i32.store (i32.const 16) (i32.const 4096))
       (i32.store (i32.const 20) (i32.const 4096))
       (drop (call $fd_read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 24)))
       (br_if $done (i32.eqz (i32.load (i32.const 24))))
       (call $write (i32.const 1) (i32.const 4096) (i32.load (i32.const 24)))
       (br $more)))`,
    { imports: ['fd_read'] },
  ),

  /** Reads /in/data.txt (fd 3 is /in) and writes it, plus "!", to /out/copy.txt (fd 4 is /out). */
  copyFile: program(
    `(if (call $path_open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 8) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 32))
       (then (call $proc_exit (i32.const 10))))
     (i32.store (i32.const 16) (i32.const 4096))
     (i32.store (i32.const 20) (i32.const 4000))
     (drop (call $fd_read (i32.load (i32.const 32)) (i32.const 16) (i32.const 1) (i32.const 24)))
     (i32.store8 (i32.add (i32.const 4096) (i32.load (i32.const 24))) (i32.const 33))
     (if (call $path_open (i32.const 4) (i32.const 0) (i32.const 110) (i32.const 8) (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 36))
       (then (call $proc_exit (i32.const 11))))
     (call $write (i32.load (i32.const 36)) (i32.const 4096) (i32.add (i32.load (i32.const 24)) (i32.const 1)))`,
    { imports: ['path_open', 'fd_read', 'proc_exit'], data: '(data (i32.const 100) "data.txt") (data (i32.const 110) "copy.txt")' },
  ),

  /** Tries to create /in/new.txt for writing; exits with the errno. */
  writeToIn: program(
    `(call $proc_exit (call $path_open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 7) (i32.const 1) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 32)))`,
    { imports: ['path_open', 'proc_exit'], data: '(data (i32.const 100) "new.txt")' },
  ),

  /** Prints realtime and monotonic clock readings (8 bytes each) and 16 random bytes. */
  clockRandom: program(
    `(drop (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 64)))
     (drop (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 72)))
     (drop (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 80)))
     (drop (call $random_get (i32.const 88) (i32.const 16)))
     (call $write (i32.const 1) (i32.const 64) (i32.const 40))`,
    { imports: ['clock_time_get', 'random_get'] },
  ),

  trap: program('(unreachable)'),

  spin: program('(loop $forever (br $forever))'),

  exit3: program('(call $proc_exit (i32.const 3))', { imports: ['proc_exit'] }),

  /** Grows memory a page at a time until refused; exits with the final page count / 16 (MiB). */
  growUntilRefused: program(
    `(block $refused (loop $grow
       (br_if $refused (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
       (br $grow)))
     (call $proc_exit (i32.div_u (memory.size) (i32.const 16)))`,
    { imports: ['proc_exit'] },
  ),

  /** Grows memory like an allocator and traps when a grow is refused. */
  growThenTrap: program(
    `(loop $grow
       (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1)) (then (unreachable)))
       (br $grow))`,
  ),

  /** Writes 1 KiB to stdout forever. */
  outputBomb: program('(loop $forever (call $write (i32.const 1) (i32.const 1024) (i32.const 1024)) (br $forever))'),

  /** Exits with sock_send(1)*10000 + sock_recv(99)*100 + sock_accept(0)... packed as errno digits. */
  sockets: program(
    `(i32.store (i32.const 200) (call $sock_send (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 40)))
     (i32.store (i32.const 204) (call $sock_recv (i32.const 99) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 40) (i32.const 44)))
     (i32.store (i32.const 208) (call $sock_accept (i32.const 3) (i32.const 0) (i32.const 40)))
     (i32.store (i32.const 212) (call $sock_shutdown (i32.const 2) (i32.const 0)))
     (call $write (i32.const 1) (i32.const 200) (i32.const 16))`,
    { imports: ['sock_send', 'sock_recv', 'sock_accept', 'sock_shutdown'] },
  ),

  foreignImport: `(module (import "env" "abort" (func $abort)) (memory (export "memory") 1) (func (export "_start") (call $abort)))`,
  reactor: `(module (memory (export "memory") 1) (func (export "_initialize")))`,
  bigInitialMemory: `(module (memory (export "memory") 512) (func (export "_start")))`,
};
