import type { LodeClient } from '../client.js';
import { send } from '../request.js';

export interface HealthParameters {
  signal?: AbortSignal;
}
/** What GET /healthz says; gateways may add members (version, database, uptime). */
export type HealthReturnType = { ok: boolean } & Record<string, unknown>;

/**
 * Whether the gateway is up. Resolves when it answers 2xx (with its JSON body, if any);
 * throws `GatewayUnavailableError` when it cannot be reached (the error says how to start one).
 *
 * @example
 * await health(client); // throws if no gateway listens there
 */
export async function health(client: LodeClient, params: HealthParameters = {}): Promise<HealthReturnType> {
  const response = await send(client, { path: '/healthz', signal: params.signal });
  const text = await response.text();
  try {
    const body: unknown = JSON.parse(text);
    if (body && typeof body === 'object' && !Array.isArray(body)) {
      const ok = (body as { ok?: unknown }).ok;
      return { ...(body as Record<string, unknown>), ok: typeof ok === 'boolean' ? ok : true };
    }
  } catch {
    // A plain-text "ok" is as good an answer as JSON.
  }
  return { ok: true };
}
