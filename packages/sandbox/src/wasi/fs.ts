/**
 * Long because every operation on the tree (place, resolve through symlinks, create, link,
 * unlink, rename, write) also keeps the output meter's account of it; apart, the accounting
 * would have to be repeated beside each.
 *
 * The task's in-memory filesystem: one directory tree per mount (`/in`, `/out`, `task.mounts`),
 * nothing from the host. Guarantees:
 * - Paths resolve only inside their mount: `..` cannot climb above a mount's root, absolute
 *   paths are refused (wasi-libc resolves them against the preopens before calling).
 * - Symlinks are kept as symlinks: followed inside the filesystem only (a target that is
 *   absolute or climbs out of its mount is refused with NOTCAPABLE, as wasmtime does), at most
 *   MAX_SYMLINKS per lookup (then LOOP). Hard links share one file node.
 * - Read-only mounts cannot be changed by any call (EROFS).
 * - Every byte a file under a writable mount gains is charged to the `OutputMeter` before it
 *   is stored, so memory used by files stays under the output cap.
 * - Directory listings are sorted by name and inode numbers are assigned in creation order,
 *   so what a task observes does not depend on the host.
 */
import { Errno } from './constants.js';
import type { OutputMeter } from './meter.js';

interface NodeBase {
  ino: bigint;
  mount: MountPoint;
  atim: bigint;
  mtim: bigint;
  ctim: bigint;
}

export interface FileNode extends NodeBase {
  kind: 'file';
  /** Directory entries naming this file (hard links). */
  nlink: number;
  /** Backing store; only the first `size` bytes are the file. */
  data: Uint8Array;
  size: number;
  /** Created or changed by the task (so returned as output, and charged to the meter). */
  changed: boolean;
  /** Bytes of this file currently charged to the meter. */
  charged: number;
  /** False while `data` is the caller's input buffer: copied before the first write. */
  owned: boolean;
}

export interface DirNode extends NodeBase {
  kind: 'dir';
  entries: Map<string, Node>;
  /** null for a mount's root. */
  parent: DirNode | null;
  /** Made (or moved) by the task: returned as output when it ends up empty. */
  changed: boolean;
}

export interface LinkNode extends NodeBase {
  kind: 'symlink';
  /** The link's contents, as given to `path_symlink` (resolved only when followed). */
  target: string;
  /** Made (or moved) by the task: returned as output. */
  changed: boolean;
}

export type Node = FileNode | DirNode | LinkNode;

/** An entry of a task's tree, in or out: a file's bytes, an empty directory, or a symlink's target (UTF-8). */
export interface TreeEntry {
  path: string;
  data: Uint8Array;
  kind?: 'dir' | 'symlink';
}

export interface MountPoint {
  /** Absolute guest path, e.g. `/out`. */
  guest: string;
  writable: boolean;
  root: DirNode;
}

/** Where a path leads: the directory holding the last component, its name, and the node if it exists. */
export interface Resolved {
  parent: DirNode;
  name: string;
  node: Node | undefined;
  /** The path ended with `/` (so it must name a directory). */
  trailingSlash: boolean;
}

export type Result<T> = T | Errno;
export const isErrno = (v: unknown): v is Errno => typeof v === 'number';

const MAX_NAME = 255;
/** Symlinks one lookup may follow (Linux's limit); more is LOOP. */
export const MAX_SYMLINKS = 40;
/** Longest symlink target (Linux's PATH_MAX). */
const MAX_TARGET = 4096;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class MemoryFs {
  readonly mounts: MountPoint[] = [];
  private nextIno = 1n;

  /** `now` gives the virtual realtime clock, for timestamps. */
  constructor(
    private readonly meter: OutputMeter,
    private readonly now: () => bigint,
  ) {}

  /** Adds a mount (a preopened directory). A guest path mounted twice keeps its first mount. */
  mount(guest: string, writable: boolean): MountPoint | undefined {
    if (this.mounts.some((m) => m.guest === guest)) return undefined;
    const mount = { guest, writable } as MountPoint;
    mount.root = this.newDir(mount, null);
    this.mounts.push(mount);
    return mount;
  }

  /** The mount a guest path lies under (the longest matching prefix; `/` holds every path), or undefined. */
  mountOf(path: string): MountPoint | undefined {
    let best: MountPoint | undefined;
    for (const m of this.mounts) {
      const under = m.guest === '/' ? path.startsWith('/') : path === m.guest || path.startsWith(`${m.guest}/`);
      if (under && (!best || m.guest.length > best.guest.length)) best = m;
    }
    return best;
  }

  /**
   * Places an input entry before the task starts — a file, a directory, or a symlink (kept as
   * one, never followed here) — creating parent directories. It does not count as output unless
   * the task changes it. Returns false if the path lies under no mount or crosses a file.
   */
  place(entry: TreeEntry): boolean {
    const mount = this.mountOf(entry.path);
    if (!mount || entry.path === mount.guest) return false;
    const parts = relativePath(mount, entry.path).split('/');
    const name = parts.pop()!;
    let dir = mount.root;
    for (const part of parts) {
      let next = dir.entries.get(part);
      if (!next) dir.entries.set(part, (next = this.newDir(mount, dir)));
      if (next.kind !== 'dir') return false;
      dir = next;
    }
    const existing = dir.entries.get(name);
    if (entry.kind === 'dir') {
      if (!existing) dir.entries.set(name, this.newDir(mount, dir));
      return !existing || existing.kind === 'dir';
    }
    if (existing?.kind === 'dir') return false;
    if (entry.kind === 'symlink') {
      dir.entries.set(name, this.newLink(mount, decoder.decode(entry.data)));
      return true;
    }
    const file = this.newFile(mount);
    file.data = entry.data;
    file.size = entry.data.length;
    file.owned = false;
    dir.entries.set(name, file);
    return true;
  }

  /** Looks up an absolute guest path, following no symlink at its end (used to find deleted inputs). */
  lookup(path: string): Node | undefined {
    const mount = this.mountOf(path);
    if (!mount) return undefined;
    if (path === mount.guest) return mount.root;
    const r = this.resolve(mount.root, relativePath(mount, path));
    return isErrno(r) ? undefined : r.node;
  }

  /**
   * Resolves `path` relative to `dir` without leaving the mount. Intermediate components must be
   * existing directories (symlinks to them are followed); the last need not exist, and a symlink
   * there is followed only when `follow` is set or the path ends with `/`.
   */
  resolve(dir: DirNode, path: string, follow = false): Result<Resolved> {
    if (path.length === 0) return Errno.NOENT;
    if (path.startsWith('/')) return Errno.NOTCAPABLE;
    const parts = path.split('/');
    const trailingSlash = parts.length > 1 && parts[parts.length - 1] === '';
    const names = parts.filter((p) => p !== '' && p !== '.');
    let cur = dir;
    let links = 0;
    // The last real component is looked up in `cur`; `..` components walk up; a followed
    // symlink's components take its place, resolved from the directory holding it.
    while (names.length > 0) {
      const name = names.shift()!;
      if (name.length > MAX_NAME) return Errno.NAMETOOLONG;
      if (name === '..') {
        if (!cur.parent) return Errno.NOTCAPABLE;
        cur = cur.parent;
        if (names.length === 0) return this.resolvedDir(cur);
        continue;
      }
      const node = cur.entries.get(name);
      const last = names.length === 0;
      if (node?.kind === 'symlink' && (!last || follow || trailingSlash)) {
        if (++links > MAX_SYMLINKS) return Errno.LOOP;
        if (node.target.startsWith('/')) return Errno.NOTCAPABLE;
        if (node.target === '') return Errno.NOENT;
        const more = node.target.split('/').filter((p) => p !== '' && p !== '.');
        if (more.length === 0 && last) return this.resolvedDir(cur);
        names.unshift(...more);
        continue;
      }
      if (last) return { parent: cur, name, node, trailingSlash };
      if (!node) return Errno.NOENT;
      if (node.kind !== 'dir') return Errno.NOTDIR;
      cur = node;
    }
    return this.resolvedDir(cur);
  }

  /** A directory reached by `.` or `..`: named through its parent where it has one. */
  private resolvedDir(d: DirNode): Resolved {
    if (!d.parent) return { parent: d, name: '.', node: d, trailingSlash: true };
    for (const [name, node] of d.parent.entries) if (node === d) return { parent: d.parent, name, node: d, trailingSlash: true };
    return { parent: d, name: '.', node: d, trailingSlash: true };
  }

  createFile(parent: DirNode, name: string): Result<FileNode> {
    if (!parent.mount.writable) return Errno.ROFS;
    if (name === '.' || name === '..') return Errno.EXIST;
    const file = this.newFile(parent.mount);
    this.markChanged(file);
    parent.entries.set(name, file);
    this.touchDir(parent);
    return file;
  }

  createDir(parent: DirNode, name: string): Result<DirNode> {
    if (!parent.mount.writable) return Errno.ROFS;
    if (name === '.' || name === '..' || parent.entries.has(name)) return Errno.EXIST;
    const dir = this.newDir(parent.mount, parent);
    dir.changed = true;
    parent.entries.set(name, dir);
    this.touchDir(parent);
    return dir;
  }

  /** A symlink holding `target` (any text: it is resolved only when followed). */
  createLink(parent: DirNode, name: string, target: string): Result<LinkNode> {
    if (!parent.mount.writable) return Errno.ROFS;
    if (name === '.' || name === '..' || parent.entries.has(name)) return Errno.EXIST;
    const bytes = encoder.encode(target).length;
    if (bytes > MAX_TARGET) return Errno.NAMETOOLONG;
    this.meter.charge(bytes);
    const link = this.newLink(parent.mount, target);
    link.changed = true;
    parent.entries.set(name, link);
    this.touchDir(parent);
    return link;
  }

  /** A second name for a file (POSIX link(2)): same node, one more link. */
  link(file: FileNode, parent: DirNode, name: string): Errno {
    if (file.mount !== parent.mount) return Errno.XDEV;
    if (!parent.mount.writable) return Errno.ROFS;
    if (name === '.' || name === '..' || parent.entries.has(name)) return Errno.EXIST;
    // Output by every name it has, so charged once more (past the cap this throws, and nothing changed).
    file.nlink++;
    try {
      this.markChanged(file);
    } catch (e) {
      file.nlink--;
      throw e;
    }
    parent.entries.set(name, file);
    this.touchDir(parent);
    file.ctim = this.now();
    return Errno.SUCCESS;
  }

  unlink(parent: DirNode, name: string): Errno {
    if (!parent.mount.writable) return Errno.ROFS;
    const node = parent.entries.get(name);
    if (!node) return Errno.NOENT;
    if (node.kind === 'dir') return Errno.ISDIR;
    parent.entries.delete(name);
    this.release(node);
    this.touchDir(parent);
    return Errno.SUCCESS;
  }

  removeDir(parent: DirNode, name: string): Errno {
    if (!parent.mount.writable) return Errno.ROFS;
    if (name === '.') return Errno.INVAL;
    const node = parent.entries.get(name);
    if (!node) return Errno.NOENT;
    if (node.kind !== 'dir') return Errno.NOTDIR;
    if (node.entries.size > 0) return Errno.NOTEMPTY;
    parent.entries.delete(name);
    this.touchDir(parent);
    return Errno.SUCCESS;
  }

  /** POSIX rename semantics within one mount; across mounts EXDEV. */
  rename(from: DirNode, fromName: string, to: DirNode, toName: string): Errno {
    if (from.mount !== to.mount) return Errno.XDEV;
    if (!from.mount.writable) return Errno.ROFS;
    const node = from.entries.get(fromName);
    if (!node) return Errno.NOENT;
    if (toName === '.' || toName === '..' || fromName === '.' || fromName === '..') return Errno.INVAL;
    const existing = to.entries.get(toName);
    if (existing === node) return Errno.SUCCESS;
    if (node.kind === 'dir') {
      for (let d: DirNode | null = to; d; d = d.parent) if (d === node) return Errno.INVAL;
      if (existing && existing.kind !== 'dir') return Errno.NOTDIR;
      if (existing && existing.kind === 'dir' && existing.entries.size > 0) return Errno.NOTEMPTY;
      node.parent = to;
    } else {
      if (existing && existing.kind === 'dir') return Errno.ISDIR;
      if (existing) this.release(existing);
    }
    from.entries.delete(fromName);
    to.entries.set(toName, node);
    this.touchDir(from);
    this.touchDir(to);
    // The entry now lives at a new path, so it is output there.
    this.markTreeChanged(node);
    return Errno.SUCCESS;
  }

  /** Writes `src` at `offset`, growing the file (zero-filled) as needed. */
  write(file: FileNode, offset: number, src: Uint8Array): Errno {
    if (!file.mount.writable) return Errno.ROFS;
    const end = offset + src.length;
    this.markChanged(file, Math.max(file.size, end));
    this.reserve(file, end);
    file.data.set(src, offset);
    if (end > file.size) file.size = end;
    file.mtim = this.now();
    return Errno.SUCCESS;
  }

  /** Truncates or zero-extends a file. */
  setSize(file: FileNode, size: number): Errno {
    if (!file.mount.writable) return Errno.ROFS;
    this.markChanged(file, size);
    if (size > file.size) {
      this.reserve(file, size);
    } else {
      this.reserve(file, 0);
      file.data.fill(0, size, file.size);
    }
    file.size = size;
    file.mtim = this.now();
    return Errno.SUCCESS;
  }

  read(file: FileNode, offset: number, dst: Uint8Array): number {
    if (offset >= file.size) return 0;
    const n = Math.min(dst.length, file.size - offset);
    dst.set(file.data.subarray(offset, offset + n));
    return n;
  }

  /**
   * What the task created or changed under writable mounts, sorted by guest path: changed files
   * (by every name they have), symlinks it made or moved, and directories it made or moved that
   * ended up empty (a non-empty one is implied by what it holds).
   */
  changedEntries(): TreeEntry[] {
    const out: TreeEntry[] = [];
    const walk = (dir: DirNode, prefix: string) => {
      for (const [name, node] of dir.entries) {
        const path = `${prefix}/${name}`;
        if (node.kind === 'dir') {
          if (node.changed && node.entries.size === 0) out.push({ path, data: new Uint8Array(0), kind: 'dir' });
          walk(node, path);
        } else if (node.kind === 'symlink') {
          if (node.changed) out.push({ path, data: encoder.encode(node.target), kind: 'symlink' });
        } else if (node.changed) out.push({ path, data: node.data.slice(0, node.size) });
      }
    };
    for (const m of this.mounts) if (m.writable) walk(m.root, m.guest === '/' ? '' : m.guest);
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /**
   * Charges the file at its new size once per name (a result carries its bytes under every
   * name; an unlinked file still open counts once, so its bytes stay bounded), throwing past the
   * cap, and marks it as output.
   */
  private markChanged(file: FileNode, newSize = file.size): void {
    const want = newSize * Math.max(file.nlink, 1);
    if (want !== file.charged || !file.changed) {
      this.meter.charge(want - file.charged);
      file.charged = want;
    }
    file.changed = true;
  }

  private markTreeChanged(node: Node): void {
    if (node.kind === 'file') this.markChanged(node);
    else if (node.kind === 'symlink' && !node.changed) this.meter.charge(encoder.encode(node.target).length);
    if (node.kind !== 'file') node.changed = true;
    if (node.kind === 'dir') for (const child of node.entries.values()) this.markTreeChanged(child);
  }

  /**
   * A name left the tree. A file whose last name it was is no longer output (an open fd may
   * still grow it, charged again); a symlink gives back its target's bytes.
   */
  private release(node: Node): void {
    if (node.kind === 'file') {
      node.nlink--;
      const want = node.nlink > 0 && node.changed ? node.size * node.nlink : 0;
      this.meter.charge(want - node.charged);
      node.charged = want;
    } else if (node.kind === 'symlink' && node.changed) {
      this.meter.charge(-encoder.encode(node.target).length);
    }
  }

  private reserve(file: FileNode, size: number): void {
    if (size <= file.data.length && file.owned) return;
    // Grow geometrically (bounded), so appends stay linear; a copied input keeps its length.
    const need = Math.max(size, file.size);
    const doubled = need > file.data.length ? Math.min(file.data.length * 2, need + (16 << 20)) : file.data.length;
    const grown = new Uint8Array(Math.max(need, doubled, 64));
    grown.set(file.data.subarray(0, file.size));
    file.data = grown;
    file.owned = true;
  }

  private touchDir(dir: DirNode): void {
    dir.mtim = dir.ctim = this.now();
  }

  private newFile(mount: MountPoint): FileNode {
    const t = this.now();
    return {
      kind: 'file',
      ino: this.nextIno++,
      mount,
      nlink: 1,
      data: new Uint8Array(0),
      size: 0,
      changed: false,
      charged: 0,
      owned: true,
      atim: t,
      mtim: t,
      ctim: t,
    };
  }

  private newDir(mount: MountPoint, parent: DirNode | null): DirNode {
    const t = this.now();
    return { kind: 'dir', ino: this.nextIno++, mount, entries: new Map(), parent, changed: false, atim: t, mtim: t, ctim: t };
  }

  private newLink(mount: MountPoint, target: string): LinkNode {
    const t = this.now();
    return { kind: 'symlink', ino: this.nextIno++, mount, target, changed: false, atim: t, mtim: t, ctim: t };
  }
}

/** `path` relative to its mount's root (`/in/a/b` → `a/b`; under `/`, `/a/b` → `a/b`). */
function relativePath(mount: MountPoint, path: string): string {
  return path.slice(mount.guest === '/' ? 1 : mount.guest.length + 1);
}
