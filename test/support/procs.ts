/** Finding processes by their command line, to check that nothing was left running. */
import { readdirSync, readFileSync } from 'node:fs';

/** Pids of live processes whose command line contains `needle` (Linux /proc). */
export function pidsWithArg(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    if (cmdline.split('\0').some((arg) => arg.includes(needle))) pids.push(Number(entry));
  }
  return pids;
}
