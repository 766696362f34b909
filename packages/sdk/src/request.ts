/**
 * A request as an account: `auth` sends the client's session, signing in first when needed
 * (session.ts) and once more when the gateway no longer takes the session. Everything below
 * sign-in is http.ts.
 */
import type { z } from 'zod';
import { UnauthorizedError } from '@lode/protocol';
import type { LodeClient } from './client.js';
import { parseJson, sendOnce, type RequestOptions } from './http.js';
import { sessionToken } from './session.js';

export { urlOf, type RequestOptions } from './http.js';

/**
 * Sends a request; resolves to the Response if it is 2xx, throws the mapped LodeError otherwise.
 * With `auth`, the session goes along; a session the gateway no longer takes (expired, the
 * gateway's key changed) is renewed once when the client has an account.
 */
export async function send(client: LodeClient, options: RequestOptions): Promise<Response> {
  if (!options.auth) return sendOnce(client, options, undefined);
  const token = await sessionToken(client, options.signal);
  try {
    return await sendOnce(client, options, token);
  } catch (err) {
    if (!(err instanceof UnauthorizedError) || !client.account || client.session.token !== token) throw err;
    client.session.token = undefined;
    return sendOnce(client, options, await sessionToken(client, options.signal));
  }
}

/** Sends a request and parses the JSON answer with `schema`. */
export async function requestJson<S extends z.ZodType>(client: LodeClient, schema: S, options: RequestOptions): Promise<z.infer<S>> {
  return parseJson(client, await send(client, options), options, schema);
}
