/**
 * Issue 9, attack 7 — no quotas anywhere: free jobs as fast as one can sign them, blobs until
 * the disk fills, hundreds of sockets each sending 64 MiB before its hello, event streams by the
 * hundred, and a 15 MB job of 100,000 tasks meant to stall the event loop until every node is
 * dropped as silent. Held when each is refused with 413/429 naming its limit, /healthz stays under
 * 100 ms, and every node stays connected.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { JobSpec, sha256Hex, signJob } from '@lode/protocol';
import { getIdentity, putBlob, signIn, submitJob } from '@lode/sdk';
import { readWorkload } from '@lode/workloads';

export const id = 'quota-flood';
export const title = 'free jobs, blobs, sockets, 64 MiB frames, streams and a 100k-task job';

export async function run(net) {
  const atk = net.http('10.66.0.7');
  const { client } = await net.requester('flood', '10.66.0.7');
  const probe = net.probe(10);
  await net.loopLagMs(); // from here on
  const lines = [];
  let held = true;
  const nodesBefore = await net.onlineNodes();

  // Free jobs as fast as they can be signed: refused after the per-account limit.
  const { sha256 } = await putBlob(client, { data: readWorkload('echo') });
  const codes = {};
  let firstJob;
  for (let i = 0; i < 150; i++) {
    const code = await submitJob(client, { module: sha256, tasks: [{ args: ['x'] }] }).then(
      (j) => ((firstJob ??= j), 'accepted'),
      (e) => e.code,
    );
    codes[code] = (codes[code] ?? 0) + 1;
  }
  const lags = {};
  lags.jobs = await net.loopLagMs();
  lines.push(
    `150 free jobs: ${Object.entries(codes)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ')}`,
  );
  if (!codes.RATE_LIMITED && !codes.QUOTA_EXCEEDED) held = false;

  // Blobs until the account's quota (64 MiB each, the largest blob; stop at the first refusal).
  let blobs = 0;
  let blobRefusal;
  for (let i = 0; i < 64 && !blobRefusal; i++) {
    const data = new Uint8Array(64 * 1024 * 1024);
    data[0] = i;
    data[1] = Math.random() * 255;
    blobRefusal = await putBlob(client, { data }).then(
      () => (blobs++, undefined),
      (e) => e.code,
    );
  }
  lags.blobs = await net.loopLagMs();
  lines.push(`64 MiB blobs: ${blobs} stored, then ${blobRefusal ?? 'none refused'}`);
  if (!blobRefusal) held = false;

  // Sockets: 100 at once, each announcing a 64 MiB frame before its hello (a raw frame header:
  // the gateway must close the socket on reading it, not after buffering 64 MiB).
  const sockets = await Promise.all(Array.from({ length: 100 }, () => bigFrame(net.wsUrl, '10.66.0.7', 64 * 1024 * 1024)));
  const closes = {};
  for (const code of sockets) closes[code] = (closes[code] ?? 0) + 1;
  lags.sockets = await net.loopLagMs();
  lines.push(
    `100 sockets announcing 64 MiB before hello: closed ${Object.entries(closes)
      .map(([k, v]) => `${v}× ${k}`)
      .join(', ')}`,
  );
  // Each refused: the frame too big (1009) or the address over its sockets (4008).
  if (sockets.some((c) => c !== 1009 && c !== 4008)) held = false;

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
    lags.streams = await net.loopLagMs();
    lines.push(
      `100 event streams: ${Object.entries(statuses)
        .map(([k, v]) => `${v}× HTTP ${k}`)
        .join(', ')}`,
    );
    if (!statuses[429]) held = false;
  }

  // One huge job (a 60 MB body: refused by size), then a 100,000-task job (taken, off the loop),
  // from an account that has not used its submissions up.
  const fresh = await net.requester('flood-2', '10.66.0.10');
  const identity = await getIdentity(fresh.client);
  const domain = { gateway: identity.gateway, chainId: identity.chainId };
  const spec = (tasks) =>
    JobSpec.parse({
      version: 1,
      requester: fresh.account.address,
      module: sha256,
      deadline: Date.now() + 3_600_000,
      nonce: `0x${sha256Hex(String(Math.random()))}`,
      tasks,
    });
  const freshToken = (await signIn(fresh.client)).token;
  const post = async (signed) =>
    atk(`${net.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${freshToken}` },
      body: JSON.stringify(signed),
    });
  // Past the size limit the gateway answers 413 as soon as it sees the length, and may close the
  // connection while the body is still being sent: the client sees either.
  const huge = await post(
    await signJob(fresh.account, spec(Array.from({ length: 100_000 }, (_, i) => ({ args: [String(i), 'y'.repeat(600)] }))), domain),
  ).catch((err) => ({ status: 413, json: async () => ({ error: { code: `connection closed (${err.cause?.code ?? err.message})` } }) }));
  const hugeCode = (await huge.json()).error?.code ?? huge.status;
  const large = await post(await signJob(fresh.account, spec(Array.from({ length: 100_000 }, (_, i) => ({ args: [String(i), 'z'.repeat(100)] }))), domain));
  lines.push(`a 60 MB job: ${hugeCode}; a 15 MB job of 100,000 tasks: HTTP ${large.status}`);
  if (huge.status !== 413 || large.status !== 201) held = false;

  const { worstMs } = await probe.stop();
  lags.bigJobs = await net.loopLagMs();
  const lagMs = Math.max(...Object.values(lags));
  const nodesAfter = await net.onlineNodes();
  lines.push(
    `the gateway's event loop held at most ${lagMs.toFixed(0)} ms (${Object.entries(lags)
      .map(([k, v]) => `${k} ${v.toFixed(0)}`)
      .join(', ')}); /healthz worst ${worstMs.toFixed(0)} ms (a 2-core machine running every process of the attack); nodes online ${nodesAfter}/${nodesBefore}`,
  );
  // What must hold: the gateway's loop is never held long (no request stalls the others), every
  // node stays connected, and /healthz always answers.
  if (!(lagMs < 100) || !Number.isFinite(worstMs) || nodesAfter < nodesBefore) held = false;
  return { held, detail: lines.join('; '), figures: { healthWorstMs: worstMs, loopLagMaxMs: lagMs } };
}

/**
 * Opens a WebSocket by hand (the upgrade, then a frame header announcing `bytes` of text, masked,
 * with a few of them), and resolves to the close code the gateway sends — or 'no close' after 10 s.
 */
function bigFrame(wsUrl, ip, bytes) {
  const url = new URL(wsUrl);
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    let buf = Buffer.alloc(0);
    let upgraded = false;
    const done = (code) => {
      socket.destroy();
      resolve(code);
    };
    setTimeout(() => done('no close'), 10_000);
    socket.on('error', () => done('reset'));
    socket.on('connect', () => {
      socket.write(
        `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nX-Forwarded-For: ${ip}\r\n\r\n`,
      );
    });
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!buf.subarray(0, 12).toString().includes('101')) return done(`HTTP ${buf.subarray(9, 12)}`);
        upgraded = true;
        buf = buf.subarray(end + 4);
        const header = Buffer.alloc(14);
        header[0] = 0x81; // FIN, text
        header[1] = 0x80 | 127; // masked, 64-bit length
        header.writeBigUInt64BE(BigInt(bytes), 2);
        randomBytes(4).copy(header, 10);
        socket.write(Buffer.concat([header, Buffer.alloc(1024, 0x78)]));
      }
      // Frames from the gateway: a text frame (a refusal) may come first, then the close frame.
      while (buf.length >= 2) {
        const op = buf[0] & 0x0f;
        let len = buf[1] & 0x7f;
        let at = 2;
        if (len === 126) (len = buf.readUInt16BE(2)), (at = 4);
        if (buf.length < at + len) return;
        if (op === 0x8) return done(len >= 2 ? buf.readUInt16BE(at) : 1005);
        buf = buf.subarray(at + len);
      }
    });
    socket.on('close', () => done('closed without a close frame'));
  });
}
