/**
 * `GET /v1/openapi.json`: the HTTP API as an OpenAPI 3.1 document, its bodies generated from the
 * protocol's zod schemas (the same ones the gateway validates with and the SDK parses with), so
 * the document cannot drift from what is checked. Every `/v1` route the gateway serves is listed
 * here; a test fails when one is missing (test/openapi.test.ts).
 */
import { z } from 'zod';
import {
  AuthNonceView,
  BatchesView,
  BlobRef,
  DeviceCredentialView,
  EvidenceView,
  FaucetView,
  IdentityView,
  JobEvent,
  JobView,
  LedgerInfoView,
  NodeView,
  PayoutsView,
  PROTOCOL_VERSION,
  ReputationCredential,
  SessionRequest,
  SessionView,
  SignedCancel,
  SignedJob,
  StatsView,
  TaskResultView,
  TaskView,
} from '@lode/protocol';

const ErrorBody = z.object({
  error: z.object({
    code: z.string().describe('Stable code: branch on it, not on the message.'),
    message: z.string().describe('What went wrong and what to do next.'),
    details: z.string().optional(),
    retryable: z.boolean().optional(),
    meta: z.record(z.string(), z.unknown()).optional(),
  }),
});

interface Route {
  method: 'get' | 'post' | 'put';
  path: string;
  summary: string;
  /** Needs a session (`Authorization: Bearer <token>` from POST /v1/auth/session). */
  auth?: boolean;
  body?: z.ZodType | 'bytes';
  ok: z.ZodType | 'bytes' | 'events' | 'text' | 'json-rpc';
  /** Also answers with the job's event stream when asked (`Accept: text/event-stream`). */
  orEvents?: boolean;
  status?: number;
  query?: Record<string, string>;
}

const list = <T extends z.ZodType>(key: string, item: T) => z.object({ [key]: z.array(item) });

/** Every route under /v1, plus the operational ones. */
export const ROUTES: readonly Route[] = [
  {
    method: 'get',
    path: '/v1/identity',
    summary: "The gateway's account and chain: the EIP-712 domain every signature sent here is bound to.",
    ok: IdentityView,
  },
  { method: 'post', path: '/v1/auth/nonce', summary: 'A one-time nonce for a Sign-In with Ethereum (EIP-4361) message.', ok: AuthNonceView },
  {
    method: 'post',
    path: '/v1/auth/session',
    summary: 'Exchanges a signed sign-in message for a short-lived session token.',
    body: SessionRequest,
    ok: SessionView,
  },
  {
    method: 'post',
    path: '/v1/blobs',
    summary: 'Uploads raw bytes (a module or an input); the gateway computes their sha256.',
    auth: true,
    body: 'bytes',
    ok: BlobRef,
    status: 201,
  },
  {
    method: 'put',
    path: '/v1/blobs/{sha256}',
    summary: 'Uploads raw bytes under their sha256 (refused when they hash to something else).',
    auth: true,
    body: 'bytes',
    ok: BlobRef,
    status: 201,
  },
  { method: 'get', path: '/v1/blobs/{sha256}', summary: 'The bytes of a blob, by content address.', ok: 'bytes' },
  {
    method: 'post',
    path: '/v1/jobs',
    summary:
      'Submits a signed job (201; 200 when the same signed job exists). With `Accept: text/event-stream` the answer, sent once the job is stored, is its event stream (as GET /v1/jobs/{id}/events): submit and follow in one request.',
    auth: true,
    body: SignedJob,
    ok: JobView,
    orEvents: true,
    status: 201,
  },
  {
    method: 'get',
    path: '/v1/jobs',
    summary: "The caller's jobs, newest first.",
    auth: true,
    ok: list('jobs', JobView),
    query: { status: 'queued | running | completed | failed | cancelled', limit: '1–1000 (50)', before: 'Unix ms' },
  },
  { method: 'get', path: '/v1/jobs/{id}', summary: 'One of the caller’s jobs.', auth: true, ok: JobView },
  {
    method: 'get',
    path: '/v1/jobs/{id}/tasks',
    summary: 'The tasks of a job, by index.',
    auth: true,
    ok: list('tasks', TaskView),
    query: { offset: '≥ 0', limit: '1–10000 (1000)' },
  },
  {
    method: 'get',
    path: '/v1/jobs/{id}/results',
    summary: 'The results of a job, by index (base64 output).',
    auth: true,
    ok: list('results', TaskResultView),
    query: { offset: '≥ 0', limit: '1–10000 (1000)' },
  },
  { method: 'get', path: '/v1/jobs/{id}/events', summary: 'The job’s progress as a server-sent event stream of JobEvent.', auth: true, ok: 'events' },
  { method: 'post', path: '/v1/jobs/{id}/cancel', summary: 'Cancels a job with a signed cancel request.', body: SignedCancel, ok: JobView },
  { method: 'get', path: '/v1/nodes', summary: 'The nodes this gateway knows: capabilities, reputation, online or not.', ok: list('nodes', NodeView) },
  {
    method: 'get',
    path: '/v1/nodes/{address}/credential',
    summary: "The node's record here, signed by the gateway (EIP-712 NodeReputation).",
    ok: ReputationCredential,
  },
  {
    method: 'get',
    path: '/v1/nodes/{address}/device-credential',
    summary:
      "The node's record here as a W3C Verifiable Credential: a JWT signed ES256K-R by the gateway's did:pkh, verifiable offline with did-jwt-vc alone. 404 for a node never seen here.",
    ok: DeviceCredentialView,
  },
  {
    method: 'post',
    path: '/v1/nodes/credentials',
    summary: "Imports a node's credential from another gateway.",
    body: ReputationCredential,
    ok: z.object({ node: z.string(), counted: z.unknown(), reputation: z.unknown() }),
  },
  {
    method: 'get',
    path: '/v1/nodes/{address}/evidence',
    summary: 'Evidence that a node returned wrong results, newest first.',
    ok: list('evidence', EvidenceView),
  },
  { method: 'get', path: '/v1/evidence/{hash}', summary: 'One piece of evidence, by hash.', ok: EvidenceView },
  { method: 'get', path: '/v1/stats', summary: 'The network at a glance and its recent history.', ok: StatsView },
  {
    method: 'get',
    path: '/v1/ledger',
    summary: 'Where the gateway settles: chain, contracts, parameters (LEDGER_DISABLED without a ledger).',
    ok: LedgerInfoView,
  },
  {
    method: 'post',
    path: '/v1/ledger/faucet',
    summary: 'Test LODE and gas for an account (embedded chain, or --faucet).',
    body: z.object({ address: z.string() }),
    ok: FaucetView,
  },
  { method: 'get', path: '/v1/ledger/batches', summary: 'The latest settlement batches, newest first.', ok: BatchesView, query: { limit: '1–500 (20)' } },
  {
    method: 'get',
    path: '/v1/ledger/payouts/{address}',
    summary: "A provider's payouts with the Merkle proofs its claims need.",
    ok: PayoutsView,
    query: { from: 'Unix ms', to: 'Unix ms' },
  },
  {
    method: 'get',
    path: '/v1/availability',
    summary: 'The availability epoch in progress (challenges per registered device) and the last settled epochs with their rewards.',
    ok: z.object({ current: z.unknown(), settled: z.array(z.unknown()) }),
  },
  { method: 'get', path: '/v1/openapi.json', summary: 'This document.', ok: z.object({ openapi: z.string() }) },
  { method: 'post', path: '/rpc', summary: 'Ethereum JSON-RPC of the embedded chain (calls bounded in gas and time).', body: z.unknown(), ok: 'json-rpc' },
  {
    method: 'get',
    path: '/healthz',
    summary: 'Liveness, with node and queue counts; 503 with `problem` when this gateway cannot serve (in a cluster: its database is unreachable).',
    ok: z.object({
      ok: z.boolean(),
      problem: z.string().optional(),
      nodes: z.number(),
      activeJobs: z.number(),
      queued: z.number(),
      cluster: z
        .object({ incarnation: z.string(), settler: z.boolean().describe('whether this gateway sends the cluster’s chain transactions now') })
        .optional()
        .describe('present on a gateway of a cluster (--database-url)'),
    }),
  },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics.', ok: 'text' },
];

const schema = (s: z.ZodType) => z.toJSONSchema(s, { unrepresentable: 'any', io: 'output' });

/** The OpenAPI 3.1 document for ROUTES. */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const error = {
    description: 'A Lode error: the status names its class (400, 401, 402, 403, 404, 409, 413, 429, 5xx).',
    content: { 'application/json': { schema: schema(ErrorBody) } },
  };
  for (const r of ROUTES) {
    const events = { 'text/event-stream': { schema: { description: 'Each `data:` line is a JobEvent.', ...schema(JobEvent) } } };
    const content =
      r.ok === 'bytes'
        ? { 'application/octet-stream': {} }
        : r.ok === 'events'
          ? events
          : r.ok === 'text'
            ? { 'text/plain': {} }
            : r.ok === 'json-rpc'
              ? { 'application/json': {} }
              : { 'application/json': { schema: schema(r.ok) }, ...(r.orEvents ? events : {}) };
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    for (const [name, description] of Object.entries(r.query ?? {}))
      params.push({ name, in: 'query', required: false, schema: { type: 'string' }, description } as never);
    paths[r.path] ??= {};
    paths[r.path]![r.method] = {
      summary: r.summary,
      ...(r.auth ? { security: [{ session: [] }] } : {}),
      ...(params.length ? { parameters: params } : {}),
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content: r.body === 'bytes' ? { 'application/octet-stream': {} } : { 'application/json': { schema: schema(r.body) } },
            },
          }
        : {}),
      responses: { [String(r.status ?? 200)]: { description: 'OK', content }, default: error },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Lode gateway',
      version: `protocol ${PROTOCOL_VERSION}`,
      description: 'Submit signed jobs, follow them, fetch results; the network-wide views are public. Errors are { error: { code, message } }.',
    },
    components: {
      securitySchemes: { session: { type: 'http', scheme: 'bearer', description: 'A token from POST /v1/auth/session (Sign-In with Ethereum).' } },
    },
    paths,
  };
}
