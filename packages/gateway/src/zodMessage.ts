import type { ZodError } from 'zod';

/** A short, readable summary of zod issues: `tasks.3.args: expected array`. At most 5 issues. */
export function zodMessage(err: ZodError): string {
  const issues = err.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  const more = err.issues.length > 5 ? ` (+${err.issues.length - 5} more)` : '';
  return issues.join('; ') + more;
}
