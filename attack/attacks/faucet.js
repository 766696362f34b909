/**
 * Issue 9, attack 1 — governance takeover through the faucet: take everything the faucet gives
 * (fresh addresses until it refuses), gather it, delegate, propose to grant ourselves the
 * settler role, vote for it, and see it fail: the faucet's per-IP and daily caps, its reserve
 * below the quorum, and real delegated votes against which the quorum is measured.
 */
import { encodeFunctionData, keccak256, toHex, createWalletClient, createPublicClient, http } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { governorAbi, jobEscrowAbi, lodeTokenAbi } from '@lode/ledger/client';

export const id = 'faucet-governance';
export const title = 'drain the faucet and vote ourselves the settler role';

export async function run(net) {
  const atk = net.http('10.66.0.1');
  const info = await (await atk(`${net.url}/v1/ledger`)).json();
  const chain = createPublicClient({ transport: http(`${net.url}/rpc`) });
  const wallet = (account) => createWalletClient({ account, transport: http(`${net.url}/rpc`), chain: null });
  const send = async (account, args) => chain.waitForTransactionReceipt({ hash: await wallet(account).writeContract(args) });
  const faucet = (address) =>
    atk(`${net.url}/v1/ledger/faucet`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ address }) });

  // 1. Every grant the faucet will give, to fresh addresses, gathered on the first one (which
  //    keeps its gas to act with).
  const attacker = privateKeyToAccount(generatePrivateKey());
  const first = await faucet(attacker.address);
  if (first.status !== 200) return { held: true, detail: `the faucet gave nothing (${(await first.json()).error?.code})` };
  let grants = 1;
  let refusal;
  for (let i = 0; i < 1000; i++) {
    const sybil = privateKeyToAccount(generatePrivateKey());
    const r = await faucet(sybil.address);
    if (r.status !== 200) {
      refusal = (await r.json()).error;
      if (refusal?.code === 'RATE_LIMITED') {
        await new Promise((res) => setTimeout(res, Math.min(60_000, refusal.meta?.retryAfterMs ?? 5000)));
        continue; // a limit on how fast, not how much: keep going
      }
      break;
    }
    grants++;
    const lode = await chain.readContract({ address: info.contracts.token, abi: lodeTokenAbi, functionName: 'balanceOf', args: [sybil.address] });
    await send(sybil, { address: info.contracts.token, abi: lodeTokenAbi, functionName: 'transfer', args: [attacker.address, lode] });
  }
  const votes = await chain.readContract({ address: info.contracts.token, abi: lodeTokenAbi, functionName: 'balanceOf', args: [attacker.address] });
  await send(attacker, { address: info.contracts.token, abi: lodeTokenAbi, functionName: 'delegate', args: [attacker.address] });
  const total = votes;

  // 2. Propose: grant the attacker SETTLER_ROLE on the escrow (it could then post any payout).
  const settler = keccak256(toHex('SETTLER_ROLE'));
  const calldata = encodeFunctionData({ abi: jobEscrowAbi, functionName: 'grantRole', args: [settler, attacker.address] });
  const threshold = await chain.readContract({ address: info.contracts.governor, abi: governorAbi, functionName: 'proposalThreshold' });
  await new Promise((r) => setTimeout(r, 1500)); // the delegation's checkpoint is in the past
  const description = `take over ${Date.now()}`;
  let proposalId;
  try {
    const sim = await chain.simulateContract({
      account: attacker,
      address: info.contracts.governor,
      abi: governorAbi,
      functionName: 'propose',
      args: [[info.contracts.escrow], [0n], [calldata], description],
    });
    proposalId = sim.result;
    await send(attacker, sim.request);
  } catch (err) {
    return {
      held: true,
      detail: `${grants} faucet grants → ${fmt(total)} LODE of votes < threshold ${fmt(threshold)}: propose refused (${err.shortMessage ?? err.message})`,
    };
  }
  // 3. Vote for it with everything, wait out the voting period, see its state.
  const delay = Number(await chain.readContract({ address: info.contracts.governor, abi: governorAbi, functionName: 'votingDelay' }));
  const period = Number(await chain.readContract({ address: info.contracts.governor, abi: governorAbi, functionName: 'votingPeriod' }));
  await new Promise((r) => setTimeout(r, (delay + 1) * 1000));
  await send(attacker, { address: info.contracts.governor, abi: governorAbi, functionName: 'castVote', args: [proposalId, 1] });
  const snapshot = await chain.readContract({ address: info.contracts.governor, abi: governorAbi, functionName: 'proposalSnapshot', args: [proposalId] });
  const quorum = await chain.readContract({ address: info.contracts.governor, abi: governorAbi, functionName: 'quorum', args: [snapshot] });
  await new Promise((r) => setTimeout(r, (period + 2) * 1000));
  // An empty transaction moves the chain's clock (one block per transaction).
  await send(attacker, { address: info.contracts.token, abi: lodeTokenAbi, functionName: 'delegate', args: [attacker.address] });
  const state = await chain.readContract({ address: info.contracts.governor, abi: governorAbi, functionName: 'state', args: [proposalId] });
  const STATES = ['Pending', 'Active', 'Canceled', 'Defeated', 'Succeeded', 'Queued', 'Expired', 'Executed'];
  const held = STATES[state] === 'Defeated';
  return {
    held,
    detail: `${grants} faucet grants (then ${refusal?.code ?? 'none refused'}) → ${fmt(votes)} LODE of votes; quorum ${fmt(quorum)}: the proposal is ${STATES[state]}`,
    figures: { grants, votes: votes.toString(), quorum: quorum.toString(), threshold: threshold.toString() },
  };
}

const fmt = (wei) => (Number(wei / 10n ** 15n) / 1000).toLocaleString('en-US');
