/**
 * Issue 9, attack 7 — no quotas anywhere: free jobs as fast as one can sign them, blobs until
 * the disk fills, hundreds of sockets each sending 64 MiB before its hello, event streams by the
 * hundred, and a 15 MB job of 100,000 tasks meant to stall the event loop until every node is
 * dropped as silent. Held when each is refused with 413/429 naming its limit, /healthz stays under
 * 100 ms, and every node stays connected.
 */
import WebSocket from 'ws';
import { JobSpec, sha256Hex, signJob } from '@lode/protocol';
import { getIdentity, putBlob, signIn, submitJob } from '@lode/sdk';
import { readWorkload } from '@lode/workloads';

export const id = 'quota-flood';
export const title = 'free jobs, blobs, sockets, 64 MiB frames, streams and a 100k-task job';

export async function run(net) {
  const atk = net.http('10.66.0.7');
  const { client, account } = await net.requester('flood', '10.66.0.7');
  const probe = net.probe(10);
  const lines = [];
  let held = true;
  const nodesBefore = await net.onlineNodes();

  // Free jobs as fast as they can be signed: refused after the per-account limit.
  const { sha256 } = await putBlob(client, { data: readWorkload('echo') });
  const codes = {};
  let firstJob;
  for (let i = 0; i < 150; i++) {
    const code = await submitJob(client, { module: sha256, tasks: [{ args: ['x'] }] }).then((j) => ((firstJob ??= j), 'accepted'), (e) => e.code);
    codes[code] = (codes[code] ?? 0) + 1;
  }
  lines.push(`150 free jobs: ${Object.entries(codes).map(([k, v]) => `${v} ${k}`).join(', ')}`);
  if (!codes.RATE_LIMITED && !codes.QUOTA_EXCEEDED) held = false;

  // Blobs until the account's quota (64 MiB each, the largest blob; stop at the first refusal).
  let blobs = 0;
  let blobRefusal;
  const blobProbe = net.probe(10);
  for (let i = 0; i < 64 && !blobRefusal; i++) {
    const data = new Uint8Array(64 * 1024 * 1024);
    data[0] = i;
    data[1] = Math.random() * 255;
    blobRefusal = await putBlob(client, { data }).then(() => (blobs++, undefined), (e) => e.code);
  }
  const blobLoop = await blobProbe.stop();
  lines.push(`64 MiB blobs: ${blobs} stored, then ${blobRefusal ?? 'none refused'} (/healthz worst ${blobLoop.worstMs.toFixed(0)} ms meanwhile)`);
  if (!blobRefusal) held = false;

  // Sockets: 100 at once, each sending 64 MiB before its hello.
  const big = Buffer.alloc(64 * 1024 * 1024, 'x');
  const sockets = await Promise.all(Array.from({ length: 100 }, () => new Promise((resolve) => {
    const ws = new WebSocket(net.wsUrl, { headers: { 'x-forwarded-for': '10.66.0.7' } });
    let first;
    ws.on('message', (d) => (first ??= JSON.parse(d.toString())));
    ws.on('open', () => ws.send(big, { binary: false }, () => {}));
    ws.on('error', () => {});
    ws.on('close', (code) => resolve({ code, first }));
    setTimeout(() => ws.terminate(), 15_000);
  })));
  const closes = {};
  for (const s of sockets) {
    const why = s.first?.t === 'error' ? s.first.code : `close ${s.code}`;
    closes[why] = (closes[why] ?? 0) + 1;
  }
  lines.push(`100 sockets × 64 MiB before hello: ${Object.entries(closes).map(([k, v]) => `${v}× ${k}`).join(', ')}`);
  // Each refused: the frame too big (1009) or the address over its sockets (4008).
  if (sockets.some((s) => s.code !== 1009 && s.code !== 4008)) held = false;

  // Event streams by the hundred (all on one account).
  const { token } = await signIn(client);
  const job = firstJob;
  if (job) {
    const controllers = [];
    const statuses = {};
    for (let i = 0; i < 100; i++) {
      const c = new AbortController();
      controllers.push(c);
      const r = await atk(`${net.url}/v1/jobs/${job.id}/events?access_token=${token}`, { signal: c.signal }).catch(() => undefined);
      statuses[r?.status ?? 0] = (statuses[r?.status ?? 0] ?? 0) + 1;
    }
    for (const c of controllers) c.abort();
    lines.push(`100 event streams: ${Object.entries(statuses).map(([k, v]) => `${v}× HTTP ${k}`).join(', ')}`);
    if (!statuses[429]) held = false;
  }

  // One huge job (a 60 MB body: refused by size), then a 100,000-task job (taken, off the loop),
  // from an account that has not used its submissions up.
  const fresh = await net.requester('flood-2', '10.66.0.10');
  const identity = await getIdentity(fresh.client);
  const domain = { gateway: identity.gateway, chainId: identity.chainId };
  const spec = (tasks) => JobSpec.parse({ version: 1, requester: fresh.account.address, module: sha256, deadline: Date.now() + 3_600_000, nonce: `0x${sha256Hex(String(Math.random()))}`, tasks });
  const freshToken = (await signIn(fresh.client)).token;
  const post = async (signed) => atk(`${net.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${freshToken}` }, body: JSON.stringify(signed) });
  // Past the size limit the gateway answers 413 as soon as it sees the length, and may close the
  // connection while the body is still being sent: the client sees either.
  const huge = await post(await signJob(fresh.account, spec(Array.from({ length: 100_000 }, (_, i) => ({ args: [String(i), 'y'.repeat(600)] }))), domain)).catch((err) => ({ status: 413, json: async () => ({ error: { code: `connection closed (${err.cause?.code ?? err.message})` } }) }));
  const hugeCode = (await huge.json()).error?.code ?? huge.status;
  const large = await post(await signJob(fresh.account, spec(Array.from({ length: 100_000 }, (_, i) => ({ args: [String(i), 'z'.repeat(100)] }))), domain));
  lines.push(`a 60 MB job: ${hugeCode}; a 15 MB job of 100,000 tasks: HTTP ${large.status}`);
  if (huge.status !== 413 || large.status !== 201) held = false;

  const { worstMs } = await probe.stop();
  const nodesAfter = await net.onlineNodes();
  lines.push(`/healthz worst ${worstMs.toFixed(0)} ms; nodes online ${nodesAfter}/${nodesBefore}`);
  if (worstMs >= 100 || nodesAfter < nodesBefore) held = false;
  return { held, detail: lines.join('; '), figures: { healthWorstMs: worstMs } };
}
