/**
 * Gateway routes the dashboard reads that the SDK does not wrap (yet): settlement batches
 * (`GET /v1/ledger/batches`), a node's reputation credential and the evidence against it
 * (`GET /v1/nodes/:address/credential`, `…/evidence`). Every answer is checked with a schema
 * here, as the SDK checks its own; errors come back as the SDK's error classes.
 */
import { z } from 'zod';
import { errorFromResponse } from '@lode/sdk';

const Amount = z.string().regex(/^(0|[1-9][0-9]{0,77})$/);
const Address = z.string().regex(/^0x[0-9a-fA-F]{40}$/);
const Uint = z.string().regex(/^[0-9]{1,20}$/);

/** `GET /v1/ledger/batches?limit=N` (packages/gateway/src/ledger/ledgerService.ts `batches`). */
export const BatchesView = z.object({
  batches: z.array(
    z.object({
      id: z.number().int(),
      status: z.enum(['prepared', 'posted', 'failed']),
      receipts: z.number().int(),
      /** Debited from the jobs' escrows: providers' gross plus the fee. */
      total: Amount,
      fee: Amount,
      jobs: z.number().int().optional(),
      createdAt: z.number().int(),
      txHash: z.string().nullable(),
      chainBatchId: z.string().nullable(),
      /** When claims pass (ms); null until posted. */
      finalAt: z.number().int().nullable(),
      error: z.string().nullable().optional(),
    }),
  ),
  count: z.number().int().optional(),
});
export type BatchesView = z.infer<typeof BatchesView>;
export type BatchView = BatchesView['batches'][number];

/** One piece of evidence against a node (packages/gateway/src/trust/routes.ts `evidenceView`). */
export const EvidenceView = z.object({
  hash: z.string(),
  node: z.string(),
  jobId: z.string(),
  index: z.number().int(),
  kind: z.enum(['quorum', 'canary']),
  createdAt: z.number().int(),
  /** none: no ledger to slash on; pending: to be sent; slashed; failed (see error). */
  slash: z.enum(['none', 'pending', 'slashed', 'failed']),
  slashed: Amount.nullable(),
  txHash: z.string().nullable(),
  error: z.string().nullable(),
  /** The signed statements themselves, checkable with `checkEvidence` from @lode/protocol. */
  evidence: z.unknown(),
});
export type EvidenceView = z.infer<typeof EvidenceView>;

/** `GET /v1/nodes/:address/credential`: an EIP-712 `NodeReputation` signed by the gateway. */
export const ReputationCredential = z.object({
  message: z.object({
    gateway: Address,
    node: Address,
    validated: Uint,
    invalid: Uint,
    consecutiveValid: Uint,
    uptimeSeconds: Uint,
    firstSeenAt: Uint,
    issuedAt: Uint,
    expiresAt: Uint,
  }),
  signature: z.string().regex(/^0x[0-9a-fA-F]+$/),
});
export type ReputationCredential = z.infer<typeof ReputationCredential>;

/** Origin of the gateway: the page's own (it serves the page); tests pass one. */
const here = (): string => globalThis.location?.origin ?? 'http://127.0.0.1:7070';

async function getJson<S extends z.ZodType>(path: string, schema: S, opts: { gateway?: string; signal?: AbortSignal }): Promise<z.infer<S>> {
  const url = new URL(path, opts.gateway ?? here()).toString();
  const res = await fetch(url, { headers: { accept: 'application/json' }, signal: opts.signal });
  const body: unknown = await res.json().catch(() => undefined);
  if (!res.ok) throw errorFromResponse(res.status, body, url);
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new Error(`GET ${path}: the gateway's answer is not what this page expects (${parsed.error.issues[0]?.message ?? 'invalid'}).`);
  return parsed.data;
}

/** The latest `limit` settlement batches, newest first. LEDGER_DISABLED without a ledger. */
export function getBatches(opts: { limit?: number; gateway?: string; signal?: AbortSignal } = {}): Promise<BatchesView> {
  return getJson(`/v1/ledger/batches?limit=${opts.limit ?? 20}`, BatchesView, opts);
}

/** Evidence against `address`, newest first (at most 100). */
export async function getEvidence(address: string, opts: { gateway?: string; signal?: AbortSignal } = {}): Promise<EvidenceView[]> {
  return (await getJson(`/v1/nodes/${encodeURIComponent(address)}/evidence`, z.object({ evidence: z.array(EvidenceView) }), opts)).evidence;
}

/** The node's record on this gateway, signed by it: what the node carries to another gateway. */
export function getCredential(address: string, opts: { gateway?: string; signal?: AbortSignal } = {}): Promise<ReputationCredential> {
  return getJson(`/v1/nodes/${encodeURIComponent(address)}/credential`, ReputationCredential, opts);
}
