/**
 * The sibling packages that only some verbs need — the gateway, the node agent, the example
 * workloads — loaded on demand: `lode job ls` should not pay for starting a database engine,
 * and a missing build should fail with a clear message instead of a stack trace.
 */
import { LodeError } from '@lode/protocol';

/** A package the verb needs is not built or not installed. */
export class MissingPackageError extends LodeError {
  readonly code = 'MISSING_PACKAGE';
  override readonly httpStatus = 500;
  constructor(name: string, cause: unknown) {
    super(`${name} is not built, so this command cannot run. Build the workspace with \`npm run build\` (or \`npx tsc -b\`) from the repository root.`, {
      cause,
      details: cause instanceof Error ? cause.message : undefined,
    });
  }
}

async function load<T>(name: string, importer: () => Promise<T>): Promise<T> {
  try {
    return await importer();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw new MissingPackageError(name, err);
    throw err;
  }
}

export const loadGateway = () => load('@lode/gateway', () => import('@lode/gateway'));
export const loadNode = () => load('@lode/node', () => import('@lode/node'));
export const loadWorkloads = () => load('@lode/workloads', () => import('@lode/workloads'));
