/**
 * Tiny hand-written WASI modules for tests, compiled from WebAssembly text with wabt — for
 * behaviour no example workload has (for instance, writing a file under a `--dir` mount).
 */

/** Compiles WAT source to a WebAssembly binary. Throws with wabt's message on a syntax error. */
export async function watToWasm(source: string, filename = 'test.wat'): Promise<Uint8Array> {
  const wabt = await (await import('wabt')).default();
  const module = wabt.parseWat(filename, source);
  try {
    module.resolveNames();
    module.validate();
    return new Uint8Array(module.toBinary({}).buffer); // a copy: destroy() frees wabt's memory
  } finally {
    module.destroy();
  }
}

/**
 * A WASI command that copies `a.txt` to `b.txt` inside the preopened directory named `/data`
 * (found by walking the preopens with fd_prestat_get / fd_prestat_dir_name). Exit codes:
 * 0 copied, 10 no `/data` preopen, 11 cannot open a.txt, 12 cannot create b.txt, 13 read
 * failed, 14 write failed.
 */
export const COPY_DATA_A_TO_B = `
(module
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $prestat_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 16) "/data")
  (data (i32.const 32) "a.txt")
  (data (i32.const 48) "b.txt")
  ;; 64: prestat; 80: preopen name; 100: opened fd; 104: iovec; 112: byte count; 1024: buffer
  (func $find (result i32)
    (local $fd i32)
    (local.set $fd (i32.const 3))
    (block $done
      (loop $next
        (br_if $done (i32.gt_u (local.get $fd) (i32.const 31)))
        (if (i32.eqz (call $prestat_get (local.get $fd) (i32.const 64)))
          (then
            (if (i32.eq (i32.load (i32.const 68)) (i32.const 5))
              (then
                (drop (call $prestat_name (local.get $fd) (i32.const 80) (i32.const 16)))
                (if (i32.and
                      (i32.eq (i32.load (i32.const 80)) (i32.load (i32.const 16)))
                      (i32.eq (i32.load8_u (i32.const 84)) (i32.load8_u (i32.const 20))))
                  (then (return (local.get $fd))))))))
        (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
        (br $next)))
    (i32.const -1))
  (func (export "_start")
    (local $dir i32) (local $in i32) (local $out i32) (local $n i32)
    (local.set $dir (call $find))
    (if (i32.lt_s (local.get $dir) (i32.const 0)) (then (call $proc_exit (i32.const 10))))
    ;; a.txt with rights FD_READ (1 << 1)
    (if (call $path_open (local.get $dir) (i32.const 0) (i32.const 32) (i32.const 5) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 100))
      (then (call $proc_exit (i32.const 11))))
    (local.set $in (i32.load (i32.const 100)))
    ;; b.txt with O_CREAT | O_TRUNC and rights FD_WRITE (1 << 6)
    (if (call $path_open (local.get $dir) (i32.const 0) (i32.const 48) (i32.const 5) (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 100))
      (then (call $proc_exit (i32.const 12))))
    (local.set $out (i32.load (i32.const 100)))
    (block $eof
      (loop $copy
        (i32.store (i32.const 104) (i32.const 1024))
        (i32.store (i32.const 108) (i32.const 4096))
        (if (call $fd_read (local.get $in) (i32.const 104) (i32.const 1) (i32.const 112))
          (then (call $proc_exit (i32.const 13))))
        (local.set $n (i32.load (i32.const 112)))
        (br_if $eof (i32.eqz (local.get $n)))
        (i32.store (i32.const 108) (local.get $n))
        (if (call $fd_write (local.get $out) (i32.const 104) (i32.const 1) (i32.const 112))
          (then (call $proc_exit (i32.const 14))))
        (br $copy)))
    (drop (call $fd_close (local.get $out)))
    (call $proc_exit (i32.const 0))))
`;
