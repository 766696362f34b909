import type { SessionView } from '@lode/protocol';
import type { LodeClient } from '../client.js';
import { sessionToken } from '../session.js';

export interface SignInParameters {
  signal?: AbortSignal;
}
export type SignInReturnType = Pick<SessionView, 'token' | 'expiresAt'>;

/**
 * Signs in to the gateway with the client's account (EIP-4361, one signature) and keeps the
 * session for the client's later requests. Actions that need a session do this by themselves;
 * call it to get a token to hand on (a dashboard link, `?access_token=` for an EventSource).
 * Throws `AccountRequiredError` on a client without an account.
 *
 * @example
 * const { token } = await signIn(client);
 */
export async function signIn(client: LodeClient, params: SignInParameters = {}): Promise<SignInReturnType> {
  const token = await sessionToken(client, params.signal);
  return { token, expiresAt: client.session.expiresAt ?? 0 };
}
