/**
 * Trust over HTTP:
 * - `GET /v1/nodes/:address/credential`: the node's record on this gateway, signed by it
 *   (EIP-712 `NodeReputation`), for the node to carry to another gateway.
 * - `GET /v1/nodes/:address/device-credential`: the same record with the node's declared
 *   capabilities, offences and availability, as a W3C Verifiable Credential (JWT, ES256K-R,
 *   did:pkh) that anyone verifies offline with did-jwt-vc alone; 404 for a node never seen here.
 * - `POST /v1/nodes/credentials`: another gateway's credential for a node; counted as a prior
 *   (up to `priorCap` checks) when its issuer is trusted here. Anyone may post one: it only
 *   speaks for the node it names.
 * - `GET /v1/nodes/:address/evidence`: evidence against a node, newest first (with its slash).
 * - `GET /v1/evidence/:hash`: one piece of evidence — what `Staking.slash` names on chain —
 *   checkable by anyone with `checkEvidence` from @lode/protocol.
 */
import type { FastifyInstance } from 'fastify';
import {
  Address,
  InvalidRequestError,
  NotFoundError,
  ReputationCredential,
  type Capabilities,
  type DeviceAvailability,
  type EvidenceView,
} from '@lode/protocol';
import type { NodeReputationMessage, Signed } from '@lode/protocol';
import type { Store, EvidenceRecord } from '../store/types.js';
import type { TrustService } from '../trust/trustService.js';
import { zodMessage } from '../zodMessage.js';

function address(value: string): string {
  const a = Address.safeParse(value);
  if (!a.success) throw new InvalidRequestError('Expected a 0x-prefixed 20-byte address.');
  return a.data.toLowerCase();
}

export function evidenceView(e: EvidenceRecord): EvidenceView {
  return {
    hash: e.hash,
    node: e.node,
    jobId: e.jobId,
    index: e.index,
    kind: e.kind,
    createdAt: e.createdAt,
    slash: e.slash,
    slashed: e.slashed?.toString() ?? null,
    txHash: e.txHash,
    error: e.error,
    evidence: e.body,
  };
}

export interface TrustApiDeps {
  trust: TrustService;
  store: Store;
  /** What a node declared in its hello (the node registry); undefined for a node never seen here. */
  capabilitiesOf(address: string): Capabilities | undefined;
}

/** The reputation and evidence routes, as a Fastify plugin. */
export async function trustApi(app: FastifyInstance, { trust, store, capabilitiesOf }: TrustApiDeps): Promise<void> {
  app.get<{ Params: { address: string } }>('/v1/nodes/:address/credential', async (req) => trust.credential(address(req.params.address)));

  app.get<{ Params: { address: string } }>('/v1/nodes/:address/device-credential', async (req) => {
    const node = address(req.params.address);
    const capabilities = capabilitiesOf(node);
    if (!capabilities) throw new NotFoundError('node', node);
    // Its record over the availability epochs scored (none: never challenged, or availability off).
    const r = await store.availability.recordOf(node);
    const availability: DeviceAvailability | null = r && r.challenges > 0 ? { epochs: r.epochs, score: r.passed / r.challenges } : null;
    return trust.deviceCredential(node, { capabilities, availability });
  });

  app.post('/v1/nodes/credentials', async (req) => {
    const c = ReputationCredential.safeParse(req.body);
    if (!c.success) throw new InvalidRequestError('Send a credential as GET /v1/nodes/:address/credential returns it.', { details: zodMessage(c.error) });
    const r = await trust.importCredential(c.data as Signed<NodeReputationMessage>);
    if ('refused' in r) throw new InvalidRequestError(`The credential was not counted: ${r.refused}.`);
    return { node: c.data.message.node.toLowerCase(), counted: r.counted, reputation: trust.reputationOf(c.data.message.node.toLowerCase()) };
  });

  app.get<{ Params: { address: string } }>('/v1/nodes/:address/evidence', async (req) => ({
    evidence: (await store.listEvidence({ node: address(req.params.address), limit: 100 })).map(evidenceView),
  }));

  app.get<{ Params: { hash: string } }>('/v1/evidence/:hash', async (req) => {
    if (!/^0x[0-9a-f]{64}$/.test(req.params.hash)) throw new InvalidRequestError('Expected 0x and 64 lowercase hex digits.');
    const e = await store.getEvidence(req.params.hash);
    if (!e) throw new NotFoundError('evidence', req.params.hash);
    return evidenceView(e);
  });
}
