/**
 * Issue 9, attack 8 — read others' jobs and replay signatures across gateways: list and read
 * another requester's job and results; submit to gateway B a job signed for gateway A; relay
 * gateway A's node challenge through B's address. Held when every read is refused (401/404)
 * and every replay is refused by the signature's domain or origin.
 */
import { join } from 'node:path';
import WebSocket from 'ws';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { JobSpec, PROTOCOL_VERSION, capabilitiesHash, nodeHelloTypedData, sha256Hex, signJob } from '@lode/protocol';
import { createLodeClient, getJob, getResults, getIdentity, listJobs, signIn } from '@lode/sdk';
import { readWorkload } from '@lode/workloads';
import { honestJob } from '../honest.js';
import { freePort, lodeProcess, waitFor } from '../network.js';
import { CAPS } from '../rawNode.js';

export const id = 'read-and-replay';
export const title = "read another's jobs, replay signatures on another gateway, relay a hello";

export async function run(net) {
  const atk = net.http('10.66.0.8');
  const lines = [];
  let held = true;
  const victim = await net.requester('victim');
  const job = await honestJob(victim, { tasks: 2 });
  const snoop = createLodeClient({ gateway: net.url, account: privateKeyToAccount(generatePrivateKey()), fetch: atk });
  const reads = await Promise.all([
    getJob(snoop, { id: job.jobId }).then(
      () => 'read!',
      (e) => e.code,
    ),
    getResults(snoop, { id: job.jobId }).then(
      () => 'read!',
      (e) => e.code,
    ),
    listJobs(snoop).then(
      (jobs) => (jobs.some((j) => j.id === job.jobId) ? 'listed!' : 'not listed'),
      (e) => e.code,
    ),
    atk(`${net.url}/v1/jobs/${job.jobId}/results`).then((r) => `HTTP ${r.status}`),
  ]);
  lines.push(`another account reading the job: ${reads.join(', ')}`);
  if (reads.includes('read!') || reads.includes('listed!') || reads[3] !== 'HTTP 401') held = false;

  // A second gateway, B: a job and a hello signed for A are refused there.
  const port = await freePort();
  const other = lodeProcess(['gateway', '--port', String(port), '--data-dir', join(net.dir, 'gateway-b'), '--ledger', 'off']);
  net.adopt(other);
  const bUrl = `http://127.0.0.1:${port}`;
  await waitFor('gateway B', async () => (await atk(`${bUrl}/healthz`)).ok, 60_000);
  const b = createLodeClient({ gateway: bUrl, account: victim.account });
  const { token } = await signIn(b);
  const module = readWorkload('echo');
  await atk(`${bUrl}/v1/blobs/${sha256Hex(module)}`, {
    method: 'PUT',
    body: module,
    headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${token}` },
  });
  const a = await getIdentity(victim.client);
  const spec = JobSpec.parse({
    version: 1,
    requester: victim.account.address,
    module: sha256Hex(module),
    deadline: Date.now() + 60_000,
    nonce: `0x${sha256Hex(`replay${Math.random()}`)}`,
    tasks: [{ args: ['x'] }],
  });
  const signedForA = await signJob(victim.account, spec, { gateway: a.gateway, chainId: a.chainId });
  const replay = await atk(`${bUrl}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(signedForA),
  });
  const replayCode = (await replay.json()).error?.code ?? `HTTP ${replay.status}`;
  lines.push(`a job signed for A sent to B: ${replayCode}`);
  if (replayCode !== 'INVALID_SIGNATURE') held = false;

  // A relay: B's challenge, signed by a node that dialed A's address (it thinks it talks to A).
  const node = privateKeyToAccount(generatePrivateKey());
  const relayed = await new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/nodes/ws`);
    const frames = [];
    ws.on('message', async (d) => {
      const msg = JSON.parse(d.toString());
      frames.push(msg);
      if (msg.t !== 'challenge') return;
      const origin = new URL(net.wsUrl).host; // the address the node dialed: the relay's
      const expiresAt = Date.now() + 60_000;
      const signature = await node.signTypedData(
        nodeHelloTypedData(
          { node: node.address, challenge: msg.challenge, capabilitiesHash: capabilitiesHash(CAPS), origin, expiresAt: BigInt(expiresAt) },
          { gateway: msg.gateway, chainId: msg.chainId },
        ),
      );
      ws.send(JSON.stringify({ t: 'hello', protocol: PROTOCOL_VERSION, node: node.address, capabilities: CAPS, origin, expiresAt, signature }));
    });
    ws.on('close', (code) => resolve({ code, error: frames.find((f) => f.t === 'error') }));
  });
  lines.push(`a hello relayed from another address: closed ${relayed.code} ${relayed.error?.code ?? ''}`);
  if (relayed.code !== 4004) held = false;
  other.child.kill('SIGTERM');
  return { held, detail: lines.join('; ') };
}
