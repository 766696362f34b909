/**
 * The result digest, from `@lode/protocol/result` — the light entry point that loads no zod or
 * viem (~0.6 s) into sandbox workers. Workers pass node:crypto's sha256.
 */
export { resultDigest as digestResult, MAX_RESULT_ENTRIES, portableSha256Hex, type Sha256Fn as Sha256Hex } from '@lode/protocol/result';
