import type { JobView } from '@lode/protocol';
import { LodeError } from '@lode/protocol';
import type { LodeClient } from '../client.js';
import { getResults, type TaskResult } from './getResults.js';
import { runJob, type RunJobParameters } from './runJob.js';

/** A stage of a pipeline did not give every output: which task, and why. */
export class PipelineStageError extends LodeError {
  readonly code = 'PIPELINE_STAGE_FAILED';
  constructor(
    message: string,
    readonly jobId: string,
    readonly index: number | undefined,
  ) {
    super(message, { meta: { jobId, index } });
  }
}

export type MapTasksParameters<T, R> = Omit<RunJobParameters, 'tasks'> & {
  /** One task per input. */
  inputs: readonly T[];
  /** The task that computes `input` (its args, files, stdin…). */
  task: (input: T, index: number) => RunJobParameters['tasks'][number];
  /**
   * What a task's result gives (decode its files, parse its stdout). Called only for results
   * that ran to exit code 0; throwing fails the stage with the message.
   */
  output: (result: TaskResult, input: T, index: number) => R;
};
export interface MapTasksReturnType<R> {
  job: JobView;
  /** `output` of each input's task, in the inputs' order. */
  outputs: R[];
}

/**
 * Maps inputs to outputs on the network: one job with a task per input, followed to its end;
 * the outputs come back in the inputs' order. The stage fails with {@link PipelineStageError}
 * (naming the task and its error) unless every task ran to exit code 0 — after the gateway's
 * own retries (`--max-attempts`) — so a pipeline never reduces partial results.
 *
 * @example
 * const { outputs } = await mapTasks(client, {
 *   module,
 *   inputs: shards,
 *   task: (s) => ({ args: ['train', '128', '2', '100000', '16', String(s.seed)], files: s.files }),
 *   output: (r) => r.files.find((f) => f.path === '/out/model.bin')!.data,
 * });
 */
export async function mapTasks<T, R>(client: LodeClient, params: MapTasksParameters<T, R>): Promise<MapTasksReturnType<R>> {
  const { inputs, task, output, ...job } = params;
  if (inputs.length === 0) throw new RangeError('mapTasks needs at least one input');
  const final = await runJob(client, { ...job, tasks: inputs.map((x, i) => task(x, i)) });
  const results = (await getResults(client, { id: final.id })).sort((a, b) => a.index - b.index);
  const byIndex = new Map(results.map((r) => [r.index, r]));
  const outputs: R[] = [];
  for (const [i, input] of inputs.entries()) {
    const r = byIndex.get(i);
    if (!r) throw new PipelineStageError(`task ${i} of job ${final.id} has no result (the job ended ${final.status})`, final.id, i);
    if (r.status !== 'done' || r.exitCode !== 0) {
      const why = r.error ? `${r.error.code}: ${r.error.message}` : `exit code ${r.exitCode}: ${new TextDecoder().decode(r.stderr).trim().slice(0, 500)}`;
      throw new PipelineStageError(`task ${i} of job ${final.id} failed (${why})`, final.id, i);
    }
    try {
      outputs.push(output(r, input, i));
    } catch (err) {
      throw new PipelineStageError(`task ${i} of job ${final.id} gave an unusable output: ${(err as Error).message}`, final.id, i);
    }
  }
  return { job: final, outputs };
}

export interface RunRoundsParameters<S> {
  /** The state before the first round (a model, say). */
  initial: S;
  rounds: number;
  /** One round: usually a `mapTasks` over shards, then a reduce of its outputs into the next state. */
  round: (state: S, round: number) => Promise<S>;
  /** After each round, with the new state: save it, report progress. A round that throws ends the run; the last state given here is the last good one. */
  onRound?: (state: S, round: number) => void | Promise<void>;
}

/**
 * Repeats a map-reduce round `rounds` times, each from the last one's state — the loop of
 * data-parallel training. Rounds run one after another; `onRound` sees every state that a round
 * completed, so a caller keeps the last good one when a later round fails.
 *
 * @example
 * const model = await runRounds({
 *   initial: initModel(128),
 *   rounds: 8,
 *   round: async (model, r) => averageModels((await mapTasks(client, { ...trainOn(model, r) })).outputs),
 *   onRound: (model, r) => saveModel(model, r),
 * });
 */
export async function runRounds<S>(params: RunRoundsParameters<S>): Promise<S> {
  if (!Number.isInteger(params.rounds) || params.rounds < 1) throw new RangeError(`rounds must be a positive integer, got ${params.rounds}`);
  let state = params.initial;
  for (let r = 1; r <= params.rounds; r++) {
    state = await params.round(state, r);
    await params.onRound?.(state, r);
  }
  return state;
}
