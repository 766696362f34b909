/**
 * The Sandbox contract the agent codes against, re-stated structurally from
 * `packages/sandbox/src/types.ts` (the source of truth) until @lode/sandbox publishes its
 * entry point. Keep the two in step; any `Sandbox` from @lode/sandbox satisfies this.
 */
import type { Mount, SandboxErrorCode } from '@lode/protocol';

export interface SandboxFile {
  path: string;
  data: Uint8Array;
}

export interface SandboxLimits {
  memoryMiB: number;
  wallMs: number;
  maxOutputBytes: number;
}

export interface SandboxTask {
  moduleHash: string;
  args: string[];
  env: Record<string, string>;
  stdin: Uint8Array;
  files: SandboxFile[];
  mounts: Mount[];
  seed: string;
  limits: SandboxLimits;
}

export interface SandboxResult {
  status: 'ok' | 'failed';
  exitCode: number | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  files: SandboxFile[];
  deleted: string[];
  resultHash: string;
  error?: { code: SandboxErrorCode; message: string };
  durationMs: number;
}

export interface Sandbox {
  addModule(hash: string, bytes: Uint8Array): Promise<void>;
  hasModule(hash: string): boolean;
  run(task: SandboxTask): Promise<SandboxResult>;
  runBatch(tasks: SandboxTask[]): Promise<SandboxResult[]>;
  readonly concurrency: number;
  close(): Promise<void>;
}
