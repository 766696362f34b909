/**
 * JobSpec: what a requester asks the network to run. One schema, used by the SDK to build,
 * by the gateway to validate, and (via `jobSubmissionTypedData`) as what the requester signs.
 */
import { z } from 'zod';
import { DEFAULTS, LIMITS } from './limits.js';

export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits (sha256)');
export const Address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'expected a 0x-prefixed 20-byte address');
export const HexSignature = z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'expected a 65-byte 0x-prefixed signature');
export const Bytes32Hex = z.string().regex(/^0x[0-9a-f]{64}$/, 'expected 0x and 64 lowercase hex digits');
/** A non-negative integer amount in the token's smallest unit, as a decimal string. */
export const Amount = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'expected a non-negative integer as a decimal string');

/**
 * Text without NUL: a WASI argument or environment value is a C string (it cannot hold one), and
 * PostgreSQL text cannot store one.
 */
const Text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((v) => !v.includes('\0'), 'must not contain NUL (\\0)');

/** An absolute guest path: `/name/...`, no `.` or `..` parts, no empty parts. */
export const GuestPath = z
  .string()
  .max(1024)
  .regex(/^(\/[^/\0]+)+$/, 'expected an absolute path like /in/data.txt')
  .refine((p) => !p.split('/').some((s) => s === '.' || s === '..'), 'path must not contain . or ..');

/**
 * A directory the task sees, preopened at `guest` — any absolute path, or `/` itself (`wasmtime
 * run --dir HOST::/`; /in and /out stay their own mounts beside it). `/in` (read-only) and `/out`
 * (writable) always exist.
 */
export const Mount = z.strictObject({
  guest: z.union([GuestPath, z.literal('/')]),
  writable: z.boolean(),
});
export type Mount = z.infer<typeof Mount>;

/**
 * A symlink's contents: any text without NUL, up to PATH_MAX. The sandbox follows it only inside
 * its mount (an absolute target, or one that climbs out, answers NOTCAPABLE when followed).
 */
export const LinkTarget = Text(4096).min(1);

/** One entry of a task's input tree: a file (its bytes by blob), a directory, or a symlink. */
export const TreeEntry = z.union([
  z.strictObject({ path: GuestPath, blob: Sha256Hex }),
  z.strictObject({ path: GuestPath, kind: z.literal('dir') }),
  z.strictObject({ path: GuestPath, kind: z.literal('symlink'), target: LinkTarget }),
]);
export type TreeEntry = z.infer<typeof TreeEntry>;

/**
 * Why entries cannot form one tree, or undefined: a path given twice, or an entry under a file
 * or symlink (`/in/a` a file and `/in/a/b` too). Linear in the paths' length (a trie of their
 * components), whatever their depth.
 */
export function treeProblem(entries: readonly { path: string; kind?: string }[]): string | undefined {
  type TrieNode = { kind?: string; children?: Map<string, TrieNode> };
  const root: TrieNode = {};
  for (const e of entries) {
    let node = root;
    let at = '';
    for (const part of e.path.slice(1).split('/')) {
      if (node.kind && node.kind !== 'dir') return `${e.path} lies under ${at}, which is a ${node.kind}, not a directory`;
      at += `/${part}`;
      node.children ??= new Map();
      let next = node.children.get(part);
      if (!next) node.children.set(part, (next = {}));
      node = next;
    }
    if (node.kind) return `${e.path} is given twice: each path of a task's tree appears once`;
    node.kind = e.kind ?? 'file';
    if (node.kind !== 'dir' && node.children)
      return `${[...node.children.keys()].map((c) => `${e.path}/${c}`)[0]} lies under ${e.path}, which is a ${node.kind}, not a directory`;
  }
  return undefined;
}

/** One task's input. The module runs once per task input. */
export const TaskInput = z.strictObject({
  /** argv[1..]; argv[0] is the module name. */
  args: z.array(Text(4096)).max(1024).default([]),
  env: z
    .record(
      z
        .string()
        .max(1024)
        .regex(/^[^=\0]+$/),
      Text(4096),
    )
    .refine((e) => Object.keys(e).length <= 256, 'at most 256 environment variables')
    .default({}),
  /** stdin carried inline, base64 (small inputs). */
  stdin: z
    .string()
    .max(Math.ceil((LIMITS.maxInlineStdinBytes * 4) / 3) + 4)
    .optional(),
  /** stdin by blob address (large inputs). */
  stdinBlob: Sha256Hex.optional(),
  /**
   * The task's tree before it starts (each entry under a mount, usually /in): files by blob,
   * directories (so empty ones arrive too) and symlinks (kept as links in the sandbox).
   */
  files: z
    .array(TreeEntry)
    .max(10_000)
    .default([])
    .superRefine((entries, ctx) => {
      const problem = treeProblem(entries);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  /** Extra directories beyond /in and /out (for `lode run --dir HOST::GUEST`). */
  mounts: z.array(Mount).max(64).default([]),
});
export type TaskInput = z.infer<typeof TaskInput>;
export type TaskInputInit = z.input<typeof TaskInput>;

/**
 * How much assurance the job buys (see docs/trust.md):
 * - `none`: the first result is the result.
 * - `replicate(k)`: k agreeing results (status, error code, result hash and fuel) from k distinct
 *   accounts; on disagreement more replicas, up to 2k + 1 results, then VERIFICATION_FAILED.
 * - `target(errorRate)`: the gateway chooses replication per task from the nodes' records so
 *   that an accepted result is wrong with probability at most errorRate, and audits results
 *   taken from one node with spot-check replicas and hidden known-answer tasks.
 */
export const Verification = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('none') }),
  z.strictObject({ kind: z.literal('replicate'), k: z.number().int().min(1).max(LIMITS.maxReplicationK) }),
  z.strictObject({ kind: z.literal('target'), errorRate: z.number().min(LIMITS.minTargetErrorRate).max(0.5) }),
]);
export type Verification = z.infer<typeof Verification>;

/** Most executions a `target(errorRate)` task may take (replicas and known-answer runs). */
export const TARGET_MAX_REPLICAS = 9;

/**
 * The most paid executions one task may take under a verification (replicas, then known-answer
 * checks): what the escrow must cover per task.
 */
export function maxReplicasOf(v: Verification): number {
  switch (v.kind) {
    case 'none':
      return 1;
    case 'replicate':
      return v.k <= 1 ? 1 : 2 * v.k + 1;
    case 'target':
      return TARGET_MAX_REPLICAS;
  }
}

/** `none`, `replicate(3)`, `target(0.0001)`: how the CLI and views write a verification. */
export function verificationName(v: Verification): string {
  return v.kind === 'none' ? 'none' : v.kind === 'replicate' ? `replicate(${v.k})` : `target(${v.errorRate})`;
}

export const Resources = z.strictObject({
  memoryMiB: z.number().int().min(1).max(LIMITS.maxMemoryMiB).default(DEFAULTS.memoryMiB),
});

export const TaskLimits = z.strictObject({
  wallMs: z.number().int().min(1).max(LIMITS.maxWallMs).default(DEFAULTS.wallMs),
  maxOutputBytes: z.number().int().min(0).max(LIMITS.maxOutputBytes).default(DEFAULTS.maxOutputBytes),
  /** Fuel per task: the module counts its work inside itself and stops, deterministically, at this much. */
  fuel: z.number().int().min(1).max(LIMITS.maxFuel).default(DEFAULTS.fuel),
});

/**
 * What the job pays, at most: per task, and per unit of fuel the task used (both in the token's
 * smallest unit). A task costs the node's price per task + fuelUsed × its price per fuel, each
 * capped by these ceilings.
 */
export const Price = z.strictObject({
  maxPerTask: Amount.default('0'),
  maxPerFuel: Amount.default('0'),
});

export const JobSpec = z.strictObject({
  version: z.literal(1),
  /** Human label, shown in listings. */
  name: Text(200).default(''),
  /** The account that pays and owns the job. */
  requester: Address,
  /** Content address of the WASI module. */
  module: Sha256Hex,
  tasks: z.array(TaskInput).min(1).max(LIMITS.maxTasksPerJob),
  resources: Resources.default({ memoryMiB: DEFAULTS.memoryMiB }),
  limits: TaskLimits.default({ wallMs: DEFAULTS.wallMs, maxOutputBytes: DEFAULTS.maxOutputBytes, fuel: DEFAULTS.fuel }),
  price: Price.default({ maxPerTask: '0', maxPerFuel: '0' }),
  verification: Verification.default({ kind: 'none' }),
  /** Unix time (ms) by which the job must finish; unfinished tasks then fail. */
  deadline: z.number().int().positive(),
  /** Random 32 bytes; makes each submission unique. */
  nonce: Bytes32Hex,
});
export type JobSpec = z.infer<typeof JobSpec>;
export type JobSpecInit = z.input<typeof JobSpec>;

export const SignedJob = z.strictObject({
  spec: JobSpec,
  signature: HexSignature,
});
export type SignedJob = z.infer<typeof SignedJob>;
