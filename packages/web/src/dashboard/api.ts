/**
 * Gateway routes the dashboard reads that the SDK does not wrap (yet): settlement batches
 * (`GET /v1/ledger/batches`), a node's reputation credential and the evidence against it
 * (`GET /v1/nodes/:address/credential`, `…/evidence`). Every answer is checked with a schema
 * here, as the SDK checks its own; errors come back as the SDK's error classes.
 */
import { z } from 'zod';
import { errorFromResponse } from '@lode/sdk';
import { BatchesView, EvidenceView, ReputationCredential } from '@lode/protocol';

export { BatchesView, EvidenceView, ReputationCredential };
export type BatchView = BatchesView['batches'][number];

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
