// pino JSON logs. `run` logs to stdout; `check` keeps stdout for the report
// and logs to stderr.

import { pino } from 'pino';
import type { Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export function createLogger(opts: { level: string; toStderr?: boolean; name?: string }): Logger {
  return pino(
    { level: opts.level, name: opts.name ?? 'routewarden', base: undefined, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: opts.toStderr ? 2 : 1, sync: true }),
  );
}

/** A logger that drops everything, for tests and library use. */
export const silentLogger = (): Logger => pino({ level: 'silent' });
