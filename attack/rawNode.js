/**
 * A node that speaks the protocol by hand, for attacks: it signs a proper hello (so the gateway
 * admits it, with its stake) and then answers leases however the attack says.
 */
import WebSocket from 'ws';
import { PROTOCOL_VERSION, capabilitiesHash, nodeHelloTypedData, originOf, resultDigest, toBase64 } from '@lode/protocol';

export const CAPS = {
  cores: 1,
  memoryMiB: 1024,
  os: 'linux',
  arch: 'x64',
  kind: 'server',
  slots: 4,
  pricePerTask: '1000000000000000',
  benchmark: 1,
  agent: 'attacker',
};

/** Connects as `account`; `answer(lease)` returns an outcome's fields (or undefined to hold the lease). */
export async function rawNode(wsUrl, account, answer, caps = CAPS) {
  const ws = new WebSocket(wsUrl);
  const errors = [];
  let welcomed;
  const welcome = new Promise((resolve, reject) => {
    welcomed = resolve;
    ws.once('close', (code, reason) => reject(new Error(`closed ${code} ${reason}`)));
  });
  ws.on('message', async (d) => {
    const msg = JSON.parse(d.toString());
    if (msg.t === 'challenge') {
      const expiresAt = Date.now() + 60_000;
      const origin = originOf(wsUrl);
      const signature = await account.signTypedData(
        nodeHelloTypedData(
          { node: account.address, challenge: msg.challenge, capabilitiesHash: capabilitiesHash(caps), origin, expiresAt: BigInt(expiresAt) },
          { gateway: msg.gateway, chainId: msg.chainId },
        ),
      );
      ws.send(JSON.stringify({ t: 'hello', protocol: PROTOCOL_VERSION, node: account.address, capabilities: caps, origin, expiresAt, signature }));
    } else if (msg.t === 'welcome') welcomed(msg);
    else if (msg.t === 'error') errors.push(msg);
    else if (msg.t === 'lease') {
      const results = [];
      for (const lease of msg.leases) {
        const o = answer(lease);
        if (o) results.push(outcome(lease, o));
      }
      if (results.length && ws.readyState === ws.OPEN) ws.send(JSON.stringify({ t: 'results', results }));
    }
  });
  const heartbeat = setInterval(() => ws.readyState === ws.OPEN && ws.send(JSON.stringify({ t: 'heartbeat', running: 0 })), 1000);
  ws.on('close', () => clearInterval(heartbeat));
  await welcome;
  return { ws, errors, close: () => ws.close() };
}

/** A well-formed outcome for `lease` with `stdout` (its true digest) and any fields overridden. */
export function outcome(lease, { stdout = '', exitCode = 0, ...over } = {}) {
  const out = new TextEncoder().encode(stdout);
  return {
    leaseId: lease.leaseId,
    status: 'ok',
    exitCode,
    stdout: toBase64(out),
    stderr: '',
    files: [],
    deleted: [],
    resultHash: resultDigest({ exitCode, stdout: out, stderr: new Uint8Array(), files: [] }),
    durationMs: 1,
    ...over,
  };
}
