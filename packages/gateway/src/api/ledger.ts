/**
 * The ledger's HTTP routes: `POST /rpc` (the embedded chain's JSON-RPC, rate limited per client), `GET /v1/ledger`
 * (chain, contracts, parameters, settlement backlog), `POST /v1/ledger/faucet` (test funds),
 * `GET /v1/ledger/payouts/:address` (a provider's payouts with claim proofs; `from`/`to` in ms),
 * `GET /v1/ledger/batches?limit=N` (the latest settlement batches, newest first; read-only).
 * Without a ledger every route answers LEDGER_DISABLED.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Address, FaucetLimitError, ForbiddenError, InvalidRequestError, LedgerDisabledError } from '@lode/protocol';
import type { GatewayLedger } from '../settlement/ledgerService.js';
import { zodMessage } from '../zodMessage.js';
import { rateLimited } from './limits.js';
import { FAUCET_REQUESTS_PER_MINUTE } from '../settlement/faucet.js';
import { clientKey } from '../clientKey.js';

const FaucetBody = z.strictObject({ address: Address });
/** How many batches `GET /v1/ledger/batches` lists. @default 20, at most 500 */
const BatchesQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(20) });
const PayoutsQuery = z.object({
  from: z.coerce.number().int().nonnegative().optional(),
  to: z.coerce.number().int().nonnegative().optional(),
});

/** The ledger routes, as a Fastify plugin (`ledger` absent: each answers LEDGER_DISABLED). */
export async function ledgerApi(app: FastifyInstance, { ledger }: { ledger?: GatewayLedger }): Promise<void> {
  const need = (): GatewayLedger => {
    if (!ledger) throw new LedgerDisabledError();
    return ledger;
  };
  // Per client (an IPv4 address, an IPv6 /64): `rpcPerMinute` requests; each call also waits its
  // turn behind the gateway's own and other clients' (ChainWorker).
  const rpcLimit = {
    max: ledger?.rpcPerMinute ?? 600,
    timeWindow: 60_000,
    keyGenerator: (req: FastifyRequest) => clientKey(req.ip),
    errorResponseBuilder: rateLimited('JSON-RPC requests (POST /rpc) from this address'),
  };
  app.post('/rpc', { config: { rateLimit: rpcLimit } }, async (req, reply) => {
    const rpc = need().rpc;
    if (!rpc)
      throw new InvalidRequestError(
        `This gateway settles on an external chain; send JSON-RPC to ${ledger?.mode === 'rpc' ? 'its rpcUrl (GET /v1/ledger)' : 'it'}.`,
      );
    return reply.send(await rpc(req.body, { client: clientKey(req.ip) }));
  });
  app.get('/v1/ledger', async () => need().info());
  const faucetLimit = {
    max: FAUCET_REQUESTS_PER_MINUTE,
    timeWindow: 60_000,
    keyGenerator: (req: FastifyRequest) => clientKey(req.ip),
    errorResponseBuilder: rateLimited('faucet requests from this address'),
  };
  app.post('/v1/ledger/faucet', { config: { rateLimit: faucetLimit } }, async (req, reply) => {
    const l = need();
    if (!l.faucetEnabled) throw new ForbiddenError('This gateway has no faucet (it is on only with the embedded chain, or with --faucet).');
    const body = FaucetBody.safeParse(req.body);
    if (!body.success) throw new InvalidRequestError('Send { "address": "0x…" }.', { details: zodMessage(body.error) });
    if (/^0x0{40}$/.test(body.data.address)) throw new InvalidRequestError('The zero address cannot hold funds: send the address of your account.');
    try {
      return await l.faucet(body.data.address as `0x${string}`, { ip: req.ip });
    } catch (err) {
      const after = err instanceof FaucetLimitError ? err.meta?.retryAfterMs : undefined;
      if (typeof after === 'number') void reply.header('retry-after', String(Math.ceil(after / 1000)));
      throw err;
    }
  });
  app.get('/v1/ledger/batches', async (req) => {
    const l = need();
    const query = BatchesQuery.safeParse(req.query);
    if (!query.success) throw new InvalidRequestError('limit is a whole number from 1 to 500.', { details: zodMessage(query.error) });
    return l.batches(query.data.limit);
  });
  app.get<{ Params: { address: string } }>('/v1/ledger/payouts/:address', async (req) => {
    const l = need();
    const address = Address.safeParse(req.params.address);
    if (!address.success) throw new InvalidRequestError('Expected a 0x-prefixed 20-byte address.');
    const query = PayoutsQuery.safeParse(req.query);
    if (!query.success) throw new InvalidRequestError('from/to are Unix times in ms.', { details: zodMessage(query.error) });
    return l.payouts(address.data.toLowerCase() as `0x${string}`, query.data);
  });
}
