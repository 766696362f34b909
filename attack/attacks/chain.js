/**
 * Issue 9, attack 2 — freeze the gateway with one JSON-RPC request: `eth_call` and
 * `eth_estimateGas` of contract-creation code that loops for ever (`0x5b600056`: JUMPDEST,
 * PUSH1 0, JUMP) with a huge gas limit, several at once from several "clients". Held when
 * /healthz keeps answering within 100 ms throughout and every hostile call is refused.
 */
export const id = 'rpc-freeze';
export const title = 'loop the EVM from JSON-RPC with a huge gas limit';

const LOOP = '0x5b600056';

export async function run(net) {
  const atk = net.http('10.66.0.2');
  const probe = net.probe(10);
  const rpc = (method, params) =>
    atk(`${net.url}/rpc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })
      .then(async (r) => ({ status: r.status, body: await r.json().catch(() => null) }))
      .catch((err) => ({ status: 0, body: { error: { message: String(err) } } }));
  const calls = [];
  for (let i = 0; i < 12; i++) {
    calls.push(rpc('eth_call', [{ data: LOOP, gas: '0x1000000000000000' }, 'latest']));
    calls.push(rpc('eth_estimateGas', [{ data: LOOP, gas: '0x1000000000000000' }]));
  }
  const answers = await Promise.all(calls);
  const { worstMs, samples } = await probe.stop();
  const succeeded = answers.filter((a) => a.body && a.body.result !== undefined);
  const reasons = new Set(answers.map((a) => a.body?.error?.message?.split(/[.:(]/)[0] ?? `HTTP ${a.status}`));
  const held = succeeded.length === 0 && worstMs < 100;
  return {
    held,
    detail: `${calls.length} looping calls: ${succeeded.length} answered a result; refusals: ${[...reasons].slice(0, 3).join(' | ')}; /healthz worst ${worstMs.toFixed(0)} ms over ${samples} samples`,
    figures: { calls: calls.length, healthWorstMs: worstMs },
  };
}
