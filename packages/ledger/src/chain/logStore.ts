/**
 * The embedded chain's storage: in-memory maps (what @ethereumjs reads and writes through its
 * `DB` interface) made durable by an append-only log file.
 *
 * Guarantees:
 * - `flush()` appends every write since the last flush and fsyncs before it resolves; the chain
 *   flushes after each block, so an acknowledged transaction survives a crash.
 * - Replaying the log on open rebuilds exactly the maps as of the last completed flush; a torn
 *   tail record (the process died mid-append) is ignored and truncated away.
 * - Several namespaces share one file (blockchain, state trie, Lode's receipt index).
 *
 * Record: u8 op (1 put, 2 del) · u8 namespace · u32 key length · key (utf-8) ·
 *         [put only] u8 value kind (0 bytes, 1 string, 2 JSON) · u32 value length · value.
 */
import { closeSync, fdatasyncSync, ftruncateSync, openSync, readFileSync, writeSync, existsSync } from 'node:fs';
import type { BatchDBOp, DB, DBObject } from '@ethereumjs/util';
import { bytesToUnprefixedHex } from '@ethereumjs/util';

type Key = Uint8Array | string | number;
type Value = Uint8Array | string | DBObject;

const OP_PUT = 1;
const OP_DEL = 2;
const KIND_BYTES = 0;
const KIND_STRING = 1;
const KIND_JSON = 2;

export const NAMESPACES = ['chain', 'state', 'lode'] as const;
export type Namespace = (typeof NAMESPACES)[number];

export class LogStore {
  readonly maps: Record<Namespace, Map<string, Value>> = { chain: new Map(), state: new Map(), lode: new Map() };
  private pending: Buffer[] = [];
  private fd: number | undefined;

  /** `file` undefined: memory only (tests, `--ephemeral`). */
  private constructor(private readonly file: string | undefined) {}

  static open(file: string | undefined): LogStore {
    const store = new LogStore(file);
    if (file !== undefined) {
      const valid = existsSync(file) ? store.replay(readFileSync(file)) : 0;
      store.fd = openSync(file, existsSync(file) ? 'r+' : 'w+');
      ftruncateSync(store.fd, valid); // drop a torn tail record, if any
    }
    return store;
  }

  /** The @ethereumjs `DB` view of one namespace. */
  db(ns: Namespace): DB<Key, Value> {
    return new NamespaceDB(this, ns);
  }

  put(ns: Namespace, key: string, value: Value): void {
    this.maps[ns].set(key, value);
    if (this.file !== undefined) this.pending.push(encodeRecord(OP_PUT, ns, key, value));
  }

  del(ns: Namespace, key: string): void {
    this.maps[ns].delete(key);
    if (this.file !== undefined) this.pending.push(encodeRecord(OP_DEL, ns, key));
  }

  /** Appends and fsyncs everything written since the last flush. */
  flush(): void {
    if (this.fd === undefined || this.pending.length === 0) return;
    const chunk = Buffer.concat(this.pending);
    this.pending = [];
    let offset = 0;
    while (offset < chunk.length) offset += writeSync(this.fd, chunk, offset, chunk.length - offset, null);
    fdatasyncSync(this.fd);
  }

  close(): void {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Applies the log's complete records; returns the byte length they cover. */
  private replay(buf: Buffer): number {
    let at = 0;
    for (;;) {
      const record = decodeRecord(buf, at);
      if (record === undefined) return at;
      const map = this.maps[record.ns];
      if (record.op === OP_PUT) map.set(record.key, record.value as Value);
      else map.delete(record.key);
      at = record.end;
    }
  }
}

class NamespaceDB implements DB<Key, Value> {
  constructor(
    private readonly store: LogStore,
    private readonly ns: Namespace,
  ) {}
  async get(key: Key): Promise<Value | undefined> {
    return this.store.maps[this.ns].get(keyString(key));
  }
  async put(key: Key, value: Value): Promise<void> {
    this.store.put(this.ns, keyString(key), value);
  }
  async del(key: Key): Promise<void> {
    this.store.del(this.ns, keyString(key));
  }
  async batch(ops: BatchDBOp<Key, Value>[]): Promise<void> {
    for (const op of ops) {
      if (op.type === 'put') this.store.put(this.ns, keyString(op.key), op.value);
      else this.store.del(this.ns, keyString(op.key));
    }
  }
  shallowCopy(): DB<Key, Value> {
    return new NamespaceDB(this.store, this.ns);
  }
  async open(): Promise<void> {}
}

/** The same key mapping as @ethereumjs's MapDB, so behaviour matches the in-memory default. */
function keyString(key: Key): string {
  return key instanceof Uint8Array ? bytesToUnprefixedHex(key) : key.toString();
}

function encodeRecord(op: number, ns: Namespace, key: string, value?: Value): Buffer {
  const keyBytes = Buffer.from(key, 'utf8');
  const head = Buffer.alloc(6);
  head.writeUInt8(op, 0);
  head.writeUInt8(NAMESPACES.indexOf(ns), 1);
  head.writeUInt32LE(keyBytes.length, 2);
  if (op === OP_DEL) return Buffer.concat([head, keyBytes]);
  const [kind, body] =
    value instanceof Uint8Array
      ? [KIND_BYTES, Buffer.from(value.buffer, value.byteOffset, value.byteLength)]
      : typeof value === 'string'
        ? [KIND_STRING, Buffer.from(value, 'utf8')]
        : [KIND_JSON, Buffer.from(JSON.stringify(value), 'utf8')];
  const valueHead = Buffer.alloc(5);
  valueHead.writeUInt8(kind, 0);
  valueHead.writeUInt32LE(body.length, 1);
  return Buffer.concat([head, keyBytes, valueHead, body]);
}

function decodeRecord(buf: Buffer, at: number): { op: number; ns: Namespace; key: string; value?: Value; end: number } | undefined {
  if (at + 6 > buf.length) return undefined;
  const op = buf.readUInt8(at);
  const ns = NAMESPACES[buf.readUInt8(at + 1)];
  const keyLength = buf.readUInt32LE(at + 2);
  const keyEnd = at + 6 + keyLength;
  if ((op !== OP_PUT && op !== OP_DEL) || ns === undefined || keyEnd > buf.length) return undefined;
  const key = buf.toString('utf8', at + 6, keyEnd);
  if (op === OP_DEL) return { op, ns, key, end: keyEnd };
  if (keyEnd + 5 > buf.length) return undefined;
  const kind = buf.readUInt8(keyEnd);
  const valueEnd = keyEnd + 5 + buf.readUInt32LE(keyEnd + 1);
  if (valueEnd > buf.length) return undefined;
  const body = buf.subarray(keyEnd + 5, valueEnd);
  const value: Value =
    kind === KIND_BYTES ? new Uint8Array(body) : kind === KIND_STRING ? body.toString('utf8') : (JSON.parse(body.toString('utf8')) as DBObject);
  return { op, ns, key, value, end: valueEnd };
}
