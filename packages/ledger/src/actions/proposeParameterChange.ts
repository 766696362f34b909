import { InvalidRequestError } from '@lode/protocol';
import { readContract } from 'viem/actions';
import { decodeFunctionData, encodeFunctionData, getAddress, isAddress, parseEventLogs, type Address, type Hex } from 'viem';
import type { LedgerClient } from '../client.js';
import { protocolConfigAbi } from '../contracts.js';
import { write } from './errors.js';
import { governanceAbi } from './proposalState.js';

/** Each governed ProtocolConfig parameter, its setter and the kind of value it takes. */
export const PROTOCOL_PARAMETERS = {
  feeBps: { setter: 'setFeeBps', kind: 'uint16', unit: 'basis points' },
  slashBps: { setter: 'setSlashBps', kind: 'uint16', unit: 'basis points' },
  minStake: { setter: 'setMinStake', kind: 'uint256', unit: 'token wei' },
  unbondingPeriod: { setter: 'setUnbondingPeriod', kind: 'uint64', unit: 'seconds' },
  settlementPeriod: { setter: 'setSettlementPeriod', kind: 'uint64', unit: 'seconds' },
  challengeWindow: { setter: 'setChallengeWindow', kind: 'uint64', unit: 'seconds' },
  treasury: { setter: 'setTreasury', kind: 'address', unit: 'address' },
  epochLength: { setter: 'setEpochLength', kind: 'uint64', unit: 'seconds' },
  availabilityPool: { setter: 'setAvailabilityPool', kind: 'uint256', unit: 'token wei' },
  challengeRate: { setter: 'setChallengeRate', kind: 'uint16', unit: 'challenges per device per epoch' },
} as const;
export type ProtocolParameter = keyof typeof PROTOCOL_PARAMETERS;
export const PROTOCOL_PARAMETER_NAMES = Object.keys(PROTOCOL_PARAMETERS) as ProtocolParameter[];

/** A parameter's new value: an address for `treasury`, an integer for the others. */
export type ParameterValue = bigint | number | Address;

const MAX = { uint16: 2n ** 16n - 1n, uint64: 2n ** 64n - 1n, uint256: 2n ** 256n - 1n } as const;

/** The ProtocolConfig setter call for `parameter = value`. Throws InvalidRequestError for a value of the wrong kind or size. */
export function encodeParameterChange(parameter: ProtocolParameter, value: ParameterValue): Hex {
  const spec = PROTOCOL_PARAMETERS[parameter];
  if (!spec) throw new InvalidRequestError(`Unknown parameter "${parameter}"; one of ${PROTOCOL_PARAMETER_NAMES.join(', ')}.`);
  if (spec.kind === 'address') {
    if (typeof value !== 'string' || !isAddress(value, { strict: false }))
      throw new InvalidRequestError(`${parameter} takes an address, got ${String(value)}.`);
    return encodeFunctionData({ abi: protocolConfigAbi, functionName: spec.setter, args: [getAddress(value)] } as never);
  }
  const n = typeof value === 'string' ? NaN : value;
  if ((typeof n === 'number' && !Number.isSafeInteger(n)) || BigInt(n) < 0n || BigInt(n) > MAX[spec.kind]) {
    throw new InvalidRequestError(`${parameter} takes a whole number of ${spec.unit} (${spec.kind}), got ${String(value)}.`);
  }
  const arg = spec.kind === 'uint16' ? Number(n) : BigInt(n);
  return encodeFunctionData({ abi: protocolConfigAbi, functionName: spec.setter, args: [arg] } as never);
}

/** The parameter change a ProtocolConfig call makes, or undefined for any other call. */
export function decodeParameterChange(calldata: Hex): { parameter: ProtocolParameter; value: string } | undefined {
  try {
    const { functionName, args } = decodeFunctionData({ abi: protocolConfigAbi, data: calldata });
    const parameter = PROTOCOL_PARAMETER_NAMES.find((name) => PROTOCOL_PARAMETERS[name].setter === functionName);
    return parameter && args?.length === 1 ? { parameter, value: String(args[0]) } : undefined;
  } catch {
    return undefined;
  }
}

export interface ProposeParameterChangeParameters {
  parameter: ProtocolParameter;
  value: ParameterValue;
  /** What voters read. @default "Set <parameter> to <value>" with the proposer and time, so that it is unique */
  description?: string;
}

export interface ProposeParameterChangeReturnType {
  proposalId: bigint;
  description: string;
  target: Address;
  calldata: Hex;
  /** Voting snapshot (Unix seconds); voting opens after it. */
  voteStart: bigint;
  /** Voting closes after this time (Unix seconds). */
  voteEnd: bigint;
  txHash: Hex;
}

/**
 * Proposes, through LodeGovernor, one ProtocolConfig setter call (`setFeeBps(250)`…). The new
 * value is checked first against ProtocolConfig's bounds and current values (see
 * `checkParameterValue`), so an out-of-range value is refused in words before anything is sent
 * rather than failing at execution. The proposer needs votes at least the proposal threshold
 * (see `delegateVotes`).
 *
 * @example
 * const { proposalId, voteEnd } = await proposeParameterChange(client, { parameter: 'feeBps', value: 250 });
 */
export async function proposeParameterChange(client: LedgerClient, p: ProposeParameterChangeParameters): Promise<ProposeParameterChangeReturnType> {
  const { config, governor } = client.addresses;
  const calldata = encodeParameterChange(p.parameter, p.value);
  const action = `Proposing ${p.parameter} = ${String(p.value)}`;
  await checkParameterValue(client, p.parameter, p.value);
  const description = p.description ?? `Set ${p.parameter} to ${String(p.value)} (proposed by ${client.account?.address} at ${new Date().toISOString()})`;
  const receipt = await write(client, action, {
    address: governor,
    abi: governanceAbi,
    functionName: 'propose',
    args: [[config], [0n], [calldata], description],
  });
  const [event] = parseEventLogs({ abi: governanceAbi, eventName: 'ProposalCreated', logs: receipt.logs });
  if (!event) throw new Error(`${action}: transaction ${receipt.transactionHash} emitted no ProposalCreated event`);
  return {
    proposalId: event.args.proposalId,
    description,
    target: config,
    calldata,
    voteStart: event.args.voteStart,
    voteEnd: event.args.voteEnd,
    txHash: receipt.transactionHash,
  };
}

/**
 * Refuses (InvalidRequestError, with the contract's error name in `meta.errorName`) a value the
 * ProtocolConfig setter would revert on, checked against the contract's constants and the other
 * parameters' current values — the same checks, in the same order, as ProtocolConfig's setters.
 * (Calling the setter from the timelock's address with eth_call would be exact, but not every
 * chain accepts a call from a contract account: EIP-3607.)
 */
export async function checkParameterValue(client: LedgerClient, parameter: ProtocolParameter, value: ParameterValue): Promise<void> {
  const address = client.addresses.config;
  const read = <const name extends 'MAX_FEE_BPS' | 'BPS' | 'MAX_PERIOD' | 'MAX_CHALLENGE_RATE' | 'unbondingPeriod' | 'challengeWindow'>(functionName: name) =>
    readContract(client, { address, abi: protocolConfigAbi, functionName });
  const refuse = (errorName: string, words: string): never => {
    throw new InvalidRequestError(`${parameter} cannot be set to ${String(value)}: ${words}`, { meta: { errorName, parameter, value: String(value) } });
  };
  const n = typeof value === 'string' ? 0n : BigInt(value);
  const period = async (min: bigint) => {
    const max = await read('MAX_PERIOD');
    if (n < min || n > max) refuse('PeriodOutOfRange', `a period is ${min} to ${max} seconds (365 days).`);
  };
  switch (parameter) {
    case 'feeBps': {
      const max = await read('MAX_FEE_BPS');
      if (n > BigInt(max)) refuse('FeeTooHigh', `the protocol fee is at most ${max} basis points (${max / 100} %).`);
      return;
    }
    case 'slashBps': {
      const bps = await read('BPS');
      if (n === 0n || n > BigInt(bps)) refuse('BpsOutOfRange', `the slash fraction is 1 to ${bps} basis points.`);
      return;
    }
    case 'minStake':
      if (n === 0n) refuse('ZeroMinStake', 'the minimum stake cannot be zero (every account would be eligible).');
      return;
    case 'unbondingPeriod': {
      await period(0n);
      const window = await read('challengeWindow');
      if (n < window)
        refuse(
          'UnbondingShorterThanChallengeWindow',
          `the unbonding period must be at least the challenge window (${window} s), so that stake behind a batch stays slashable while it can be challenged.`,
        );
      return;
    }
    case 'settlementPeriod':
      return period(1n);
    case 'challengeWindow': {
      await period(1n);
      const unbonding = await read('unbondingPeriod');
      if (n > unbonding)
        refuse(
          'UnbondingShorterThanChallengeWindow',
          `the challenge window must not be longer than the unbonding period (${unbonding} s); lengthen that first.`,
        );
      return;
    }
    case 'treasury':
      if (typeof value === 'string' && /^0x0{40}$/i.test(value)) refuse('ZeroTreasury', 'the treasury cannot be the zero address.');
      return;
    case 'epochLength':
      // Epochs are numbered from time zero: a change renumbers them (change it between reward batches).
      return period(1n);
    case 'availabilityPool':
      return; // any amount; 0 turns availability rewards off
    case 'challengeRate': {
      const max = await read('MAX_CHALLENGE_RATE');
      if (n > BigInt(max)) refuse('ChallengeRateTooHigh', `the challenge rate is at most ${max} challenges per device per epoch (0 turns challenges off).`);
      return;
    }
  }
}
