/**
 * The gateway fuzzer: fast-check generates HTTP requests for every route (valid, mutated and
 * random bodies, paths, queries and headers, with and without a session) and node WebSocket
 * frames (before and after a real hello, including results for leases the fuzzing node really
 * holds), and sends them to a live gateway. What must hold: no answer is a 500 (an error the
 * gateway did not expect), the gateway process never dies, and no promise rejection goes
 * unhandled — checked by the caller against the process's log.
 *
 * Used by `npm run attack` (100,000 messages and more), its benchmark (messages per second) and
 * test/e2e/fuzz.test.ts (a smaller count).
 */
import fc from 'fast-check';
import WebSocket from 'ws';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { PROTOCOL_VERSION, capabilitiesHash, nodeHelloTypedData, originOf, resultDigest, sha256Hex, toBase64 } from '@lode/protocol';

const HEX = '0123456789abcdef';
const hexOf = (n) => fc.string({ unit: fc.constantFrom(...HEX), minLength: n, maxLength: n });

/** Values that break parsers and columns: edges of numbers, NUL, long and odd strings. */
const nasty = fc.oneof(
  fc.constantFrom(
    0,
    -1,
    4294967295,
    4294967296,
    2 ** 31,
    2 ** 53,
    -(2 ** 53),
    Number.MAX_SAFE_INTEGER,
    1e308,
    -0,
    0.5,
    '',
    '\u0000',
    'NaN',
    'Infinity',
    '__proto__',
    'constructor',
    '../../etc/passwd',
    '%00',
    '😀'.repeat(50),
    'x'.repeat(70_000),
  ),
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);

/** A JSON value, sometimes deep, sometimes wide. */
const anyJson = fc.oneof(
  { weight: 5, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 2000 }).map((d) => JSON.parse('['.repeat(d) + ']'.repeat(d))) },
  { weight: 1, arbitrary: fc.array(nasty, { maxLength: 200 }) },
);

/** Replaces one field (at some depth) of `value` with a nasty value. */
function mutate(value) {
  return fc.tuple(fc.nat(), nasty, fc.boolean()).map(([pick, replacement, drop]) => {
    const copy = structuredClone(value);
    const paths = [];
    const walk = (v, path) => {
      if (v && typeof v === 'object')
        for (const k of Object.keys(v)) {
          paths.push([...path, k]);
          if (paths.length < 500) walk(v[k], [...path, k]);
        }
    };
    walk(copy, []);
    if (paths.length === 0) return replacement;
    const path = paths[pick % paths.length];
    let parent = copy;
    for (const k of path.slice(0, -1)) parent = parent[k];
    if (drop) delete parent[path.at(-1)];
    else parent[path.at(-1)] = replacement;
    return copy;
  });
}

const ROUTES = [
  ['GET', '/healthz'],
  ['GET', '/metrics'],
  ['GET', '/v1/identity'],
  ['GET', '/v1/nodes'],
  ['GET', '/v1/stats'],
  ['GET', '/v1/ledger'],
  ['GET', '/v1/ledger/batches'],
  ['GET', '/v1/ledger/payouts/:address'],
  ['GET', '/v1/jobs'],
  ['GET', '/v1/jobs/:id'],
  ['GET', '/v1/jobs/:id/tasks'],
  ['GET', '/v1/jobs/:id/results'],
  ['GET', '/v1/blobs/:sha'],
  ['HEAD', '/v1/blobs/:sha'],
  ['GET', '/v1/nodes/:address/credential'],
  ['GET', '/v1/nodes/:address/evidence'],
  ['GET', '/v1/evidence/:hash'],
  ['POST', '/v1/jobs'],
  ['POST', '/v1/jobs/:id/cancel'],
  ['POST', '/v1/blobs'],
  ['PUT', '/v1/blobs/:sha'],
  ['POST', '/v1/auth/nonce'],
  ['POST', '/v1/auth/session'],
  ['POST', '/v1/ledger/faucet'],
  ['POST', '/rpc'],
  ['POST', '/v1/nodes/credentials'],
  ['GET', '/:random'],
  ['POST', '/:random'],
  ['DELETE', '/v1/jobs/:id'],
  ['OPTIONS', '/v1/jobs'],
];

/**
 * An HTTP request: a route, its parameters, a query, headers and a body — built from the valid
 * examples in `seed` (a signed job, a known job id, a token) and mutated, or random.
 */
export function httpRequest(seed) {
  const param = fc.oneof(
    fc.constantFrom(seed.jobId, seed.sha, seed.address, seed.hash),
    hexOf(32),
    hexOf(64),
    fc.string({ maxLength: 30 }).map(encodeURIComponent),
    fc.constantFrom('..', '%2e%2e%2f', 'x'.repeat(5000), `0x${'0'.repeat(40)}`),
  );
  const query = fc.dictionary(
    fc.constantFrom('offset', 'limit', 'status', 'requester', 'before', 'access_token', 'from', 'to', 'x'),
    fc.oneof(fc.string({ maxLength: 20 }), fc.integer().map(String), fc.constant(seed.token)),
    { maxKeys: 4 },
  );
  const contentType = fc.constantFrom(
    'application/json',
    'application/octet-stream',
    'text/plain',
    undefined,
    'application/json; charset=utf-16',
    'multipart/form-data; boundary=x',
  );
  const auth = fc.constantFrom(undefined, `Bearer ${seed.token}`, 'Bearer nonsense', `Bearer ${seed.token.slice(0, -3)}AAA`, 'Basic Zm9vOmJhcg==', 'Bearer');
  const body = fc.oneof(
    { weight: 3, arbitrary: mutate(seed.signedJob).map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: mutate(seed.rpc).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: mutate(seed.session).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 4096 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
  return fc.record({ route: fc.constantFrom(...ROUTES), params: fc.array(param, { minLength: 3, maxLength: 3 }), query, contentType, auth, body }).map((r) => {
    let i = 0;
    const path = r.route[1].replace(/:[a-z]+/g, () => r.params[i++]);
    const qs = new URLSearchParams(r.query).toString();
    const headers = {};
    if (r.contentType) headers['content-type'] = r.contentType;
    if (r.auth) headers.authorization = r.auth;
    const method = r.route[0];
    return { method, path: qs ? `${path}?${qs}` : path, headers, body: method === 'GET' || method === 'HEAD' ? undefined : r.body };
  });
}

/** A frame a node might send before its hello. */
export function preHelloFrame(seed) {
  return fc.oneof(
    mutate(seed.hello).map((v) => JSON.stringify(v)),
    anyJson.map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 300 }),
    fc.uint8Array({ maxLength: 300 }),
  );
}

/** A frame a node might send once welcomed, for the leases it holds. */
export function sessionFrame(leaseIds) {
  const leaseId = fc.oneof(fc.constantFrom(...(leaseIds.length ? leaseIds : ['none.0'])), fc.string({ maxLength: 80 }));
  const outcome = fc.record(
    {
      leaseId,
      status: fc.oneof(fc.constantFrom('ok', 'failed'), nasty),
      exitCode: fc.oneof(fc.constantFrom(0, 1, 4294967295, null), nasty),
      stdout: fc.oneof(
        fc.uint8Array({ maxLength: 64 }).map((b) => toBase64(b)),
        nasty,
      ),
      stderr: fc.constant(''),
      files: fc.oneof(fc.constant([]), fc.array(fc.record({ path: fc.oneof(fc.constant('/out/a'), nasty), data: fc.constant('') }), { maxLength: 3 })),
      deleted: fc.constant([]),
      resultHash: fc.oneof(hexOf(64), nasty),
      error: fc.option(fc.record({ code: fc.oneof(fc.constantFrom('SANDBOX_TRAP', 'SANDBOX_WORKER_CRASHED'), nasty), message: nasty }), { nil: undefined }),
      fuelUsed: fc.option(fc.oneof(fc.nat(), nasty), { nil: undefined }),
      durationMs: fc.oneof(fc.nat({ max: 10_000 }), nasty),
    },
    { requiredKeys: ['leaseId'] },
  );
  /** An outcome whose digest is right (it passes the hash check and reaches the store). */
  const consistent = fc
    .record({ leaseId, exitCode: fc.constantFrom(0, 3, 4294967295), out: fc.string({ maxLength: 40 }), fuelUsed: fc.option(fc.nat(), { nil: undefined }) })
    .map(({ leaseId: id, exitCode, out, fuelUsed }) => {
      const stdout = new TextEncoder().encode(out);
      return {
        leaseId: id,
        status: 'ok',
        exitCode,
        stdout: toBase64(stdout),
        stderr: '',
        files: [],
        deleted: [],
        resultHash: resultDigest({ exitCode, stdout, stderr: new Uint8Array(), files: [] }),
        durationMs: 1,
        ...(fuelUsed === undefined ? {} : { fuelUsed }),
      };
    });
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.array(fc.oneof(outcome, consistent), { minLength: 1, maxLength: 4 }).map((results) => JSON.stringify({ t: 'results', results })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ t: fc.constantFrom('heartbeat', 'drain', 'hello', 'results', 'lease', 'x'), running: nasty, results: anyJson }, { requiredKeys: ['t'] })
        .map((v) => JSON.stringify(v)),
    },
    { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  );
}

const CAPS = { cores: 1, memoryMiB: 1024, os: 'linux', arch: 'x64', kind: 'server', slots: 2, pricePerTask: '0', benchmark: 1, agent: 'fuzz' };

/** Opens a node session as a fresh account; resolves once welcomed (or refused). */
function session(wsUrl, wsOptions = {}) {
  return new Promise((resolve) => {
    const account = privateKeyToAccount(generatePrivateKey());
    const ws = new WebSocket(wsUrl, wsOptions);
    const leases = [];
    let settled = false;
    const done = (ok) => {
      if (!settled) {
        settled = true;
        resolve({ ws, ok, leases });
      }
    };
    ws.on('message', async (d) => {
      let msg;
      try {
        msg = JSON.parse(d.toString());
      } catch {
        return;
      }
      if (msg.t === 'challenge') {
        const expiresAt = Date.now() + 60_000;
        const origin = originOf(wsUrl);
        const signature = await account.signTypedData(
          nodeHelloTypedData(
            { node: account.address, challenge: msg.challenge, capabilitiesHash: capabilitiesHash(CAPS), origin, expiresAt: BigInt(expiresAt) },
            { gateway: msg.gateway, chainId: msg.chainId },
          ),
        );
        if (ws.readyState === ws.OPEN)
          ws.send(JSON.stringify({ t: 'hello', protocol: PROTOCOL_VERSION, node: account.address, capabilities: CAPS, origin, expiresAt, signature }));
      } else if (msg.t === 'welcome') done(true);
      else if (msg.t === 'lease') for (const l of msg.leases) leases.push(l.leaseId);
    });
    ws.on('error', () => done(false));
    ws.on('close', () => done(false));
    setTimeout(() => done(false), 10_000);
  });
}

/**
 * Sends `messages` generated messages to the gateway at `url` (`concurrency` at a time): about
 * 70 % HTTP requests, 30 % node frames (sessions opened and re-opened as the gateway closes
 * them). Resolves to what came back.
 */
export async function fuzzGateway({ url, wsUrl, seed, messages = 10_000, concurrency = 16, fcSeed = Date.now(), fetchAs = fetch, ip }) {
  const wsOptions = ip ? { headers: { 'x-forwarded-for': ip } } : {};
  const requests = fc.sample(httpRequest(seed), { numRuns: Math.ceil(messages * 0.7), seed: fcSeed });
  const statuses = {};
  const internal = [];
  let sent = 0;
  let transportErrors = 0;
  const t0 = performance.now();

  // HTTP, `concurrency` in flight.
  let next = 0;
  const http = async () => {
    while (next < requests.length) {
      const r = requests[next++];
      sent++;
      try {
        const res = await fetchAs(url + r.path, { method: r.method, headers: r.headers, body: r.body, signal: AbortSignal.timeout(20_000) });
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        const text = await res.text();
        if (res.status >= 500 && res.status !== 503) internal.push(`${r.method} ${r.path.slice(0, 120)} → ${res.status} ${text.slice(0, 300)}`);
      } catch (err) {
        transportErrors++;
        if (transportErrors < 5) internal.push(`${r.method} ${r.path.slice(0, 120)} → transport: ${err.cause?.code ?? err.message}`);
      }
    }
  };

  // WebSocket frames: half before a hello, half in welcomed sessions.
  const frames = Math.floor(messages * 0.3);
  const pre = fc.sample(preHelloFrame(seed), { numRuns: Math.ceil(frames / 2), seed: fcSeed + 1 });
  let framesSent = 0;
  const ws = async () => {
    for (let i = 0; i < pre.length; ) {
      const s = new WebSocket(wsUrl, wsOptions);
      await new Promise((r) => (s.once('open', r), s.once('error', r)));
      // A few frames per socket: the gateway closes it after three protocol errors.
      for (let k = 0; k < 4 && i < pre.length && s.readyState === s.OPEN; k++, i++) {
        s.send(pre[i]);
        framesSent++;
      }
      await new Promise((r) => setTimeout(r, 5));
      s.terminate();
    }
    let left = frames - pre.length;
    let salt = 0;
    let refused = 0;
    while (left > 0) {
      const { ws: s, ok, leases } = await session(wsUrl, wsOptions);
      if (!ok) {
        s.terminate();
        // A gateway that admits no stranger (one with a ledger asks for stake) takes no session frames.
        if (++refused >= 5) break;
        continue;
      }
      const batch = fc.sample(sessionFrame(leases), { numRuns: Math.min(left, 50), seed: fcSeed + 2 + salt++ });
      for (const f of batch) {
        if (s.readyState !== s.OPEN) break;
        s.send(f);
        framesSent++;
        left--;
      }
      await new Promise((r) => setTimeout(r, 20));
      s.terminate();
    }
  };

  await Promise.all([...Array.from({ length: concurrency }, http), ws()]);
  const seconds = (performance.now() - t0) / 1000;
  const total = sent + framesSent;
  return { messages: total, http: sent, frames: framesSent, seconds, perSecond: total / seconds, statuses, internal, transportErrors };
}

/** The valid examples fuzzing starts from: a signed job, a session token, a JSON-RPC call, a sign-in body. */
export async function fuzzSeed({ url, client, account, jobId, signedJob }) {
  const { signIn } = await import('@lode/sdk');
  const { token } = await signIn(client);
  return {
    token,
    jobId,
    sha: sha256Hex('x'),
    address: account.address,
    hash: `0x${'ab'.repeat(32)}`,
    signedJob,
    rpc: { jsonrpc: '2.0', id: 1, method: 'eth_call', params: [{ to: account.address, data: '0x' }, 'latest'] },
    session: { message: 'example.org wants you to sign in', signature: `0x${'00'.repeat(65)}` },
    hello: {
      t: 'hello',
      protocol: PROTOCOL_VERSION,
      node: account.address,
      capabilities: CAPS,
      origin: new URL(url).host,
      expiresAt: Date.now() + 60_000,
      signature: `0x${'11'.repeat(65)}`,
    },
  };
}
