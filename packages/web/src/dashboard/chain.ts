/**
 * What the dashboard reads from the chain itself, through the gateway's JSON-RPC (`/rpc`, or the
 * external chain `GET /v1/ledger` names): token balances of the ledger's accounts, the governor's
 * proposals with their votes, and a node's device token with its share holders. Loaded on demand
 * (a dynamic import), like the contributor page's ledger code, so a gateway without a ledger
 * never loads it.
 *
 * Guarantees: read-only (no key, no transaction); amounts are the chain's integers in the
 * token's smallest unit; proposals come from the governor's `ProposalCreated` events (one
 * `eth_getLogs` from the deployment block), their state and votes from the governor at the
 * latest block.
 */
import { createClient, erc20Abi, http, type Client, type Hex } from 'viem';
// Single actions on a bare client: createPublicClient would pull every viem action into the page.
import { getContractEvents, readContract } from 'viem/actions';
import {
  decodeParameterChange,
  getDevice,
  governorAbi,
  ledgerAddressesSchema,
  PROPOSAL_STATES,
  withAddresses,
  type GetDeviceReturnType,
  type ProposalStateName,
} from '@lode/ledger/client';
import type { LedgerInfo } from '../agent/ledger.js';

function reader(info: LedgerInfo): Client {
  return createClient({ transport: http(info.resolvedRpcUrl, { retryCount: 1, timeout: 20_000 }) });
}

export interface LedgerBalances {
  /** LODE the treasury holds (protocol fees land there). */
  treasury: bigint;
  /** LODE in JobEscrow: deposits not yet paid out, refunded or claimed. */
  escrow: bigint;
  /** LODE in Staking: bonded and unbonding stake. */
  staked: bigint;
  totalSupply: bigint;
}

/** Token balances of the treasury, JobEscrow and Staking, and the total supply. */
export async function ledgerBalances(info: LedgerInfo): Promise<LedgerBalances> {
  const client = reader(info);
  const token = info.contracts.token as Hex;
  const balanceOf = (owner: string) => readContract(client, { address: token, abi: erc20Abi, functionName: 'balanceOf', args: [owner as Hex] });
  const [treasury, escrow, staked, totalSupply] = await Promise.all([
    balanceOf(info.params.treasury),
    balanceOf(info.contracts.escrow),
    balanceOf(info.contracts.staking),
    readContract(client, { address: token, abi: erc20Abi, functionName: 'totalSupply' }),
  ]);
  return { treasury, escrow, staked, totalSupply };
}

export interface ProposalSummary {
  /** The governor's proposal id (a uint256, in decimal). */
  id: string;
  proposer: Hex;
  description: string;
  state: ProposalStateName;
  /** Token wei of votes, by side. */
  votes: { for: bigint; against: bigint; abstain: bigint };
  /** Votes (for plus abstain) needed; null while the snapshot is in the future. */
  quorum: bigint | null;
  /** Voting opens after `voteStart` and closes after `voteEnd` (Unix seconds). */
  voteStart: number;
  voteEnd: number;
  /** When a queued proposal can be executed (Unix seconds); null unless queued. */
  eta: number | null;
  /** The ProtocolConfig changes it makes; other calls are counted in `otherCalls`. */
  changes: Array<{ parameter: string; value: string }>;
  otherCalls: number;
  txHash: Hex;
}

/** The newest `limit` proposals (newest first) and how many were made in all. */
export async function listProposals(info: LedgerInfo, limit = 10): Promise<{ proposals: ProposalSummary[]; count: number }> {
  const client = reader(info);
  const governor = info.contracts.governor as Hex;
  const events = await getContractEvents(client, {
    address: governor,
    abi: governorAbi,
    eventName: 'ProposalCreated',
    fromBlock: BigInt(info.contracts.deployBlock),
    toBlock: 'latest',
  });
  const newest = events.slice(-limit).reverse();
  const proposals = await Promise.all(
    newest.map(async (e): Promise<ProposalSummary> => {
      const a = e.args;
      const id = a.proposalId!;
      const at = { address: governor, abi: governorAbi, args: [id] } as const;
      const [stateCode, [against, forVotes, abstain], eta] = await Promise.all([
        readContract(client, { ...at, functionName: 'state' }),
        readContract(client, { ...at, functionName: 'proposalVotes' }),
        readContract(client, { ...at, functionName: 'proposalEta' }),
      ]);
      // quorum(t) needs t in the past (ERC5805FutureLookup otherwise): unknown while pending.
      const quorum = await readContract(client, { address: governor, abi: governorAbi, functionName: 'quorum', args: [a.voteStart!] }).catch(() => null);
      const calls = (a.calldatas ?? []).map((data, i) =>
        a.targets?.[i]?.toLowerCase() === info.contracts.config.toLowerCase() ? decodeParameterChange(data) : undefined,
      );
      const changes = calls.filter((c) => c !== undefined);
      return {
        id: id.toString(),
        proposer: a.proposer!,
        description: a.description ?? '',
        state: PROPOSAL_STATES[stateCode] ?? 'Pending',
        votes: { for: forVotes, against, abstain },
        quorum,
        voteStart: Number(a.voteStart),
        voteEnd: Number(a.voteEnd),
        eta: eta === 0n ? null : Number(eta),
        changes,
        otherCalls: calls.length - changes.length,
        txHash: e.transactionHash,
      };
    }),
  );
  return { proposals, count: events.length };
}

/**
 * A node as a device (DeviceRegistry): its token, owner, kind, join time and, when split, the
 * share holders with their claimable income (`getDevice`, the CLI's own action). Null when the
 * node is not registered.
 */
export async function deviceOf(info: LedgerInfo, node: Hex): Promise<GetDeviceReturnType | null> {
  const client = withAddresses(reader(info), ledgerAddressesSchema.parse({ ...info.contracts, chainId: info.chainId }));
  return getDevice(client, { node });
}
