/** `GET /v1/stats` (served by the gateway's webRoutes.ts; documented in docs/api.md). */
import type { Capabilities } from '@lode/protocol';

export type DeviceKind = Capabilities['kind'];
export const DEVICE_KINDS: DeviceKind[] = ['server', 'laptop', 'board', 'browser', 'unknown'];

export interface StatsSample {
  t: number;
  online: number;
  slots: number;
  busy: number;
  queued: number;
  tasksPerSecond: number;
}

export interface NetworkStats {
  now: number;
  nodes: { online: number; known: number; byKind: Record<DeviceKind, number>; slots: number; busy: number };
  tasks: { queued: number; running: number; finished: number; perSecond: number };
  jobs: { active: number };
  ledger: { enabled: boolean };
  sampleMs: number;
  history: StatsSample[];
}

export async function getStats(signal?: AbortSignal): Promise<NetworkStats> {
  const res = await fetch('/v1/stats', { signal, headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`GET /v1/stats answered ${res.status}`);
  const body = (await res.json()) as NetworkStats;
  if (!body || typeof body !== 'object' || !Array.isArray(body.history)) throw new Error('GET /v1/stats: unexpected answer');
  return body;
}
