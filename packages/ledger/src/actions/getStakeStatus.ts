import { getAddress, type Address } from 'viem';
import { getBlock, getContractEvents, readContract } from 'viem/actions';
import type { LedgerClient } from '../client.js';
import { protocolConfigAbi, stakingAbi } from '../contracts.js';

export interface GetStakeStatusParameters {
  /** The staker (and provider) to describe. */
  address: Address;
}

export interface Delegation {
  provider: Address;
  /** Bonded token wei the account holds with `provider` now (after any slash). */
  amount: bigint;
}

export interface UnbondingRequestView {
  provider: Address;
  /** Token wei, valued at the unbonding pool's current share price. */
  amount: bigint;
  /** Chain time (Unix seconds) from which `withdraw` pays it out. */
  releaseAt: bigint;
  released: boolean;
}

export interface GetStakeStatusReturnType {
  address: Address;
  /** The account's own bonded stake as a provider (wei). */
  stake: bigint;
  /** Everything bonded with the account as a provider: own stake plus others' delegations (wei). */
  totalStake: bigint;
  /** Own stake reaches the protocol's minimum, so the account may serve as a provider. */
  eligible: boolean;
  minStake: bigint;
  /** The account's delegations to other providers that still hold stake (found from its Staked events). */
  delegations: Delegation[];
  /** Open unbonding requests, oldest first. */
  unbonding: UnbondingRequestView[];
  /** What `withdraw` would pay now (wei). */
  withdrawable: bigint;
  /** The chain's time (Unix seconds) the answer was read at. */
  chainTime: bigint;
}

/**
 * One account's stake: own stake and eligibility, delegations to other providers, unbonding
 * requests with their release times, and what can be withdrawn now. Delegations are the
 * providers named in the account's `Staked` events since deployment, read back through
 * `delegationOf`, so the amounts are current even after slashes.
 *
 * @example
 * const { stake, unbonding, withdrawable } = await getStakeStatus(client, { address });
 */
export async function getStakeStatus(client: LedgerClient, p: GetStakeStatusParameters): Promise<GetStakeStatusReturnType> {
  const { staking, config, deployBlock } = client.addresses;
  const address = getAddress(p.address);
  const [stake, totalStake, eligible, minStake, requests, withdrawable, block, staked] = await Promise.all([
    readContract(client, { address: staking, abi: stakingAbi, functionName: 'stakeOf', args: [address] }),
    readContract(client, { address: staking, abi: stakingAbi, functionName: 'totalStakeOf', args: [address] }),
    readContract(client, { address: staking, abi: stakingAbi, functionName: 'isEligible', args: [address] }),
    readContract(client, { address: config, abi: protocolConfigAbi, functionName: 'minStake' }),
    readContract(client, { address: staking, abi: stakingAbi, functionName: 'unbondingRequestsOf', args: [address] }),
    readContract(client, { address: staking, abi: stakingAbi, functionName: 'withdrawableOf', args: [address] }),
    getBlock(client, { blockTag: 'latest' }),
    getContractEvents(client, {
      address: staking,
      abi: stakingAbi,
      eventName: 'Staked',
      args: { staker: address },
      fromBlock: BigInt(deployBlock),
      toBlock: 'latest',
    }),
  ]);
  const providers = [...new Set(staked.map((e) => getAddress(e.args.provider!)))].filter((x) => x !== address);
  const amounts = await Promise.all(
    providers.map((provider) => readContract(client, { address: staking, abi: stakingAbi, functionName: 'delegationOf', args: [provider, address] })),
  );
  const delegations = providers.map((provider, i) => ({ provider, amount: amounts[i]! })).filter((d) => d.amount > 0n);
  // Calls run in the next block's context; its time is at least the latest block's.
  const now = BigInt(Math.floor(Date.now() / 1000));
  const chainTime = block.timestamp > now ? block.timestamp : now;
  const unbonding = requests
    .map((r) => ({ provider: getAddress(r.provider), amount: r.amount, releaseAt: BigInt(r.releaseAt), released: BigInt(r.releaseAt) <= chainTime }))
    .sort((a, b) => Number(a.releaseAt - b.releaseAt));
  return { address, stake, totalStake, eligible, minStake, delegations, unbonding, withdrawable, chainTime };
}
