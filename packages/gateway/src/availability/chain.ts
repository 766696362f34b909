/** The chain as the availability service reads it: ProtocolConfig, DeviceRegistry and Staking. */
import type { Address, PublicClient } from 'viem';
import { deviceRegistryAbi, jobEscrowAbi, lodeTokenAbi, protocolConfigAbi, stakingAbi, type LedgerAddresses } from '@lode/ledger';
import type { AvailabilityChain } from './availability.js';

export function availabilityChain(client: PublicClient, addresses: LedgerAddresses): AvailabilityChain {
  const config = { address: addresses.config, abi: protocolConfigAbi } as const;
  const registry = { address: addresses.registry, abi: deviceRegistryAbi } as const;
  return {
    async params() {
      const [epochLength, pool, rate] = await Promise.all([
        client.readContract({ ...config, functionName: 'epochLength' }),
        client.readContract({ ...config, functionName: 'availabilityPool' }),
        client.readContract({ ...config, functionName: 'challengeRate' }),
      ]);
      return { epochLength: Number(epochLength), pool, rate: Number(rate) };
    },
    async devices(limit) {
      const count = Number(await client.readContract({ ...registry, functionName: 'totalSupply' }));
      const ids = await Promise.all(
        Array.from({ length: Math.min(count, limit) }, (_, i) => client.readContract({ ...registry, functionName: 'tokenByIndex', args: [BigInt(i)] })),
      );
      return ids.map((id) => `0x${id.toString(16).padStart(40, '0')}`);
    },
    async available() {
      const [unallocated, releasable, pool] = await Promise.all([
        client.readContract({ address: addresses.escrow, abi: jobEscrowAbi, functionName: 'rewardsUnallocated' }),
        client.readContract({ address: addresses.token, abi: lodeTokenAbi, functionName: 'releasable' }),
        client.readContract({ address: addresses.token, abi: lodeTokenAbi, functionName: 'rewardPool' }),
      ]);
      return unallocated + (pool.toLowerCase() === addresses.escrow.toLowerCase() ? releasable : 0n);
    },
    eligible: (node) => client.readContract({ address: addresses.staking, abi: stakingAbi, functionName: 'isEligible', args: [node as Address] }),
  };
}
