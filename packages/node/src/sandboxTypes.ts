/** The Sandbox contract the agent codes against (source of truth: @lode/sandbox `types.ts`). */
export type { Sandbox, SandboxFile, SandboxLimits, SandboxResult, SandboxTask } from '@lode/sandbox';
