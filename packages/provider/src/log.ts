/**
 * The provider's log port: `log.info(msg, fields)`. `lode node` plugs pino into it
 * (packages/node/src/log.ts); the contributor page uses `createLog` below, which keeps lines a
 * person can read on the page and writes, from `warn` up, to the console. Nothing is logged
 * with console.error: an expected condition (a lost connection) is not a page error.
 */
import { LodeError } from '@lode/protocol';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogLine {
  at: number;
  level: LogLevel;
  msg: string;
  fields?: Record<string, unknown>;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface LogOptions {
  /** Lines below this level are dropped. @default 'info' */
  level?: LogLevel;
  /** Called for every kept line. */
  sink?: (line: LogLine) => void;
  /** Also write warn and error lines to the console (as console.warn). @default true */
  console?: boolean;
}

export function createLog(options: LogOptions = {}): Logger {
  const min = ORDER[options.level ?? 'info'];
  const toConsole = options.console ?? true;
  const write = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const line: LogLine = { at: Date.now(), level, msg, ...(fields ? { fields } : {}) };
    options.sink?.(line);
    if (toConsole && ORDER[level] >= ORDER.warn) console.warn(`[lode] ${msg}`, fields ?? '');
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** A logger that drops everything (tests). */
export const silentLog: Logger = createLog({ level: 'error', console: false });

/** A line as text: `msg key=value …`. */
export function formatLine(line: LogLine): string {
  const extra = line.fields
    ? Object.entries(line.fields)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ')
    : '';
  return extra ? `${line.msg} ${extra}` : line.msg;
}

/** An error as one line for a log field (stack traces are for bugs, not lost connections). */
export function errorText(err: unknown): string {
  if (err instanceof LodeError) return err.shortMessage;
  return err instanceof Error ? err.message : String(err);
}
