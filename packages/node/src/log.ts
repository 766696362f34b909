/** pino behind the provider's log port (`log.info(msg, fields)`). */
import type { Logger as Pino } from 'pino';
import type { Logger } from '@lode/provider';

export function pinoLog(pino: Pino): Logger {
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (msg: string, fields?: Record<string, unknown>): void => {
      if (fields) pino[level](fields, msg);
      else pino[level](msg);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
