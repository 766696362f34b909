import { entryFromWire, fromBase64, TaskResultView, type EntryBytes } from '@lode/protocol';
import { z } from 'zod';
import type { LodeClient } from '../client.js';
import { requestJson } from '../request.js';

export interface GetResultsParameters {
  /** The job's id. */
  id: string;
  /** Skip results before this position. @default 0 */
  offset?: number;
  /** Stop after this many results. @default all */
  limit?: number;
  /** Results fetched per request. @default 500 */
  pageSize?: number;
  signal?: AbortSignal;
}

/** A task's result with its bytes decoded. */
export interface TaskResult extends Omit<TaskResultView, 'stdout' | 'stderr' | 'files'> {
  stdout: Uint8Array;
  stderr: Uint8Array;
  /**
   * What the task created or changed under writable mounts: files, and with `kind` symlinks
   * (`data` their target) and directories it left empty.
   */
  files: EntryBytes[];
}
export type GetResultsReturnType = TaskResult[];

/** @default 500 */
export const DEFAULT_RESULTS_PAGE_SIZE = 500;

const Body = z.object({ results: z.array(TaskResultView) });

/**
 * The results of a job's finished tasks, paging through GET /v1/jobs/:id/results until the
 * gateway has no more, with stdout, stderr and files decoded from base64.
 *
 * @example
 * const [first] = await getResults(client, { id });
 * console.log(new TextDecoder().decode(first.stdout));
 */
export async function getResults(client: LodeClient, params: GetResultsParameters): Promise<GetResultsReturnType> {
  const pageSize = params.pageSize ?? DEFAULT_RESULTS_PAGE_SIZE;
  const wanted = params.limit ?? Infinity;
  const out: TaskResult[] = [];
  let offset = params.offset ?? 0;
  while (out.length < wanted) {
    const { results } = await requestJson(client, Body, {
      path: `/v1/jobs/${encodeURIComponent(params.id)}/results`,
      query: { offset, limit: Math.min(pageSize, wanted - out.length) },
      signal: params.signal,
      auth: true,
    });
    // An empty page is the end; a short page may only mean the gateway caps the page size.
    if (results.length === 0) break;
    for (const r of results) out.push(decodeResult(r));
    offset += results.length;
  }
  return out.slice(0, wanted === Infinity ? undefined : wanted);
}

/** Decodes a result view's base64 members. */
export function decodeResult(view: TaskResultView): TaskResult {
  return {
    ...view,
    stdout: fromBase64(view.stdout),
    stderr: fromBase64(view.stderr),
    files: view.files.map(entryFromWire),
  };
}
