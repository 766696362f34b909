#!/usr/bin/env node
/**
 * Attack load for benchmarks, in a process of its own (so that the honest requester being
 * measured shares no CPU time with it in one event loop): JSON-RPC loops at a huge gas limit, a
 * flood of free jobs, sockets announcing 64 MiB frames before their hello, 64 MiB blobs, and the
 * fuzzer — each from its own client address (X-Forwarded-For; the gateway trusts 127.0.0.1) —
 * until a line arrives on stdin; then it prints what it sent as JSON.
 *
 *   node attack/load.js <gateway url> [fuzz messages]
 */
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { JobSpec, signJob } from '@lode/protocol';
import { createLodeClient, getIdentity, putBlob, submitJob } from '@lode/sdk';
import { readWorkload } from '@lode/workloads';
import { fuzzGateway, fuzzSeed } from './fuzz.js';

const [url, fuzzMessages = '20000'] = process.argv.slice(2);
const wsUrl = `${url.replace(/^http/, 'ws')}/v1/nodes/ws`;
const from =
  (ip) =>
  (input, init = {}) =>
    fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init.headers ?? {})), 'x-forwarded-for': ip } });
const client = (ip) => createLodeClient({ gateway: url, account: privateKeyToAccount(generatePrivateKey()), fetch: from(ip) });

let running = true;
process.stdin.once('data', () => (running = false));
const counts = { rpcCalls: 0, floodSubmissions: 0, preHelloSockets: 0, blobUploads: 0 };
const forever = (fn) =>
  (async () => {
    while (running) await fn().catch(() => {});
  })();

const flooder = client('10.66.1.2');
const { sha256 } = await putBlob(flooder, { data: readWorkload('echo') });
let n = 0;
const loops = [
  forever(async () => {
    await from('10.66.1.1')(`${url}/rpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_call', params: [{ data: '0x5b600056', gas: '0x1000000000000000' }, 'latest'] }),
    });
    counts.rpcCalls++;
  }),
  forever(async () => {
    counts.floodSubmissions++;
    await submitJob(flooder, { module: sha256, tasks: [{ args: ['flood'] }] });
  }),
  forever(async () => {
    counts.preHelloSockets++;
    await bigFrame('10.66.1.3');
  }),
  forever(async () => {
    counts.blobUploads++;
    await putBlob(client(`10.66.2.${++n % 250}`), { data: randomBytes(64 * 1024 * 1024) });
  }),
];

// The fuzzer, once (its figure is messages per second under all of the above).
const fz = client('10.66.1.9');
const { sha256: echo } = await putBlob(fz, { data: readWorkload('echo') });
const identity = await getIdentity(fz);
const signedJob = await signJob(
  fz.account,
  JobSpec.parse({
    version: 1,
    requester: fz.account.address,
    module: echo,
    deadline: Date.now() + 600_000,
    nonce: `0x${'6'.repeat(64)}`,
    tasks: [{ args: ['x'] }],
  }),
  { gateway: identity.gateway, chainId: identity.chainId },
);
const seed = await fuzzSeed({ url, client: fz, account: fz.account, jobId: '0'.repeat(32), signedJob });
const fuzz = await fuzzGateway({ url, wsUrl, seed, messages: Number(fuzzMessages), fetchAs: from('10.66.1.9'), ip: '10.66.1.9' });
while (running) await new Promise((r) => setTimeout(r, 100));
await Promise.all(loops);
process.stdout.write(
  `${JSON.stringify({ ...counts, fuzz: { messages: fuzz.messages, perSecond: fuzz.perSecond, seconds: fuzz.seconds, statuses: fuzz.statuses, unexpected: fuzz.internal } })}\n`,
);
process.exit(0);

function bigFrame(ip) {
  const u = new URL(wsUrl);
  return new Promise((resolve) => {
    const s = connect(Number(u.port), u.hostname);
    const done = () => (s.destroy(), resolve());
    setTimeout(done, 5000);
    s.on('error', done);
    s.on('close', done);
    s.on('connect', () =>
      s.write(
        `GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nX-Forwarded-For: ${ip}\r\n\r\n`,
      ),
    );
    let sent = false;
    s.on('data', () => {
      if (sent) return;
      sent = true;
      const h = Buffer.alloc(14);
      h[0] = 0x81;
      h[1] = 0x80 | 127;
      h.writeBigUInt64BE(64n * 1024n * 1024n, 2);
      randomBytes(4).copy(h, 10);
      s.write(Buffer.concat([h, Buffer.alloc(4096, 0x78)]));
    });
  });
}
