/** The network view's data: `GET /v1/stats` through the SDK (schema: the protocol's `StatsView`). */
import { DeviceKind, type StatsView } from '@lode/protocol';
import { getStats as sdkGetStats } from '@lode/sdk';
import { readClient } from '../shared/client.js';

export type { DeviceKind };
export type NetworkStats = StatsView;
export const DEVICE_KINDS: DeviceKind[] = [...DeviceKind.options];

export function getStats(signal?: AbortSignal): Promise<NetworkStats> {
  return sdkGetStats(readClient, { signal });
}
