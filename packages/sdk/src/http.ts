/**
 * One HTTP round trip to the gateway, below sign-in: builds the URL, applies the client's time
 * limit, turns transport failures into `GatewayUnavailableError`, error bodies into protocol
 * errors, and validates success bodies with the API's zod schema. `request.ts` adds the session.
 */
import type { z } from 'zod';
import type { LodeClient } from './client.js';
import { errorFromResponse, unexpectedBody, unreachable } from './errors.js';

export interface RequestOptions {
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT';
  path: string;
  query?: Record<string, string | number | undefined>;
  /** A JSON value, or raw bytes (sent as application/octet-stream). */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Leave the time limit off (event streams). */
  noTimeout?: boolean;
  /** Apply the time limit until the response's headers only (a stream that starts with the answer). */
  timeoutUntilHeaders?: boolean;
  /** Send the client's session (signing in first when needed): the route reads or acts for an account. */
  auth?: boolean;
}

/** The URL of an API path with its query (undefined members dropped). */
export function urlOf(client: LodeClient, path: string, query: RequestOptions['query'] = {}): string {
  const url = new URL(path, client.gateway);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
  return url.toString();
}

/** Sends a request with `token` (if any) as its bearer; resolves to the Response if it is 2xx, throws the mapped LodeError otherwise. */
export async function sendOnce(client: LodeClient, options: RequestOptions, token: string | undefined): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (token) headers.authorization = `Bearer ${token}`;
  let body: BodyInit | undefined;
  if (options.body instanceof Uint8Array) {
    body = options.body as Uint8Array<ArrayBuffer>;
    headers['content-type'] = 'application/octet-stream';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  let response: Response;
  // A gateway that cannot be reached: the next one of the client's cluster, each once.
  for (let tried = 1; ; tried++) {
    const origin = client.gateway;
    const url = urlOf(client, options.path, options.query);
    const untilHeaders = options.timeoutUntilHeaders && !options.noTimeout ? new AbortController() : undefined;
    const limit = options.noTimeout ? undefined : (untilHeaders?.signal ?? AbortSignal.timeout(client.timeoutMs));
    const timer = untilHeaders && setTimeout(() => untilHeaders.abort(new DOMException('no answer in time', 'TimeoutError')), client.timeoutMs);
    const signals = [options.signal, limit].filter((s): s is AbortSignal => s !== undefined);
    try {
      response = await client.fetch(url, {
        method: options.method ?? (body === undefined ? 'GET' : 'POST'),
        headers,
        body,
        signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0],
      });
      break;
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason ?? err;
      if (tried >= client.gateways.length) throw unreachable(url, err);
      client.nextGateway(origin);
    } finally {
      clearTimeout(timer);
    }
  }
  const url = response.url || urlOf(client, options.path, options.query);
  if (!response.ok) throw errorFromResponse(response.status, await readBody(response), url);
  return response;
}

/** Parses a 2xx response's JSON with `schema`. */
export async function parseJson<S extends z.ZodType>(client: LodeClient, response: Response, options: RequestOptions, schema: S): Promise<z.infer<S>> {
  const url = response.url || urlOf(client, options.path, options.query);
  let json: unknown;
  try {
    json = await response.json();
  } catch (err) {
    throw unexpectedBody(url, `not JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw unexpectedBody(url, parsed.error.message);
  return parsed.data;
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text().catch(() => '');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
