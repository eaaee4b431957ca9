// Logs through pino. `run` logs to stdout; `check` keeps stdout for the report
// and logs to stderr.
//
// --log-format json (the default): one JSON object a line, with the level as
// its name ("level":"warn"), not pino's number, so that a log pipeline can
// filter on it without a lookup table.
//
// --log-format text: logfmt, one line an entry (`time=… level=info msg="…"
// key=value`), what node_exporter's --log.format=logfmt writes and what Loki,
// Vector and `kubectl logs | grep` read. Written here rather than with
// pino-pretty: pino-pretty prints a multi-line, coloured layout for a
// developer's terminal, not logfmt, and would add about 80 kB to the bundle
// and a dozen packages to the image. The formatter takes pino's finished JSON
// line, so both formats carry exactly the same fields.

import { pino } from 'pino';
import type { DestinationStream, Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  readonly level: string;
  readonly format?: LogFormat;
  readonly toStderr?: boolean;
  readonly name?: string;
  /** Where the lines go instead of stdout/stderr (tests). */
  readonly destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  const dest = opts.destination ?? pino.destination({ dest: opts.toStderr ? 2 : 1, sync: true });
  return pino(
    {
      level: opts.level,
      name: opts.name ?? 'routewarden',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.format === 'text' ? logfmt(dest) : dest,
  );
}

/** A logger that drops everything, for tests and library use. */
export const silentLogger = (): Logger => pino({ level: 'silent' });

/** Keys written first, in this order; the rest follow as pino wrote them. */
const LEADING = ['time', 'level', 'name', 'msg'];

/** A stream that turns each of pino's JSON lines into one logfmt line before `dest`. */
export function logfmt(dest: DestinationStream): DestinationStream {
  return { write: (line: string) => dest.write(toLogfmt(line)) };
}

/** One pino JSON line as one logfmt line (with its newline); a line that is not JSON passes unchanged. */
export function toLogfmt(line: string): string {
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return line;
  const fields = entry as Record<string, unknown>;
  const keys = [...LEADING.filter((k) => k in fields), ...Object.keys(fields).filter((k) => !LEADING.includes(k))];
  return keys.map((k) => `${logfmtKey(k)}=${logfmtValue(fields[k])}`).join(' ') + '\n';
}

function logfmtKey(key: string): string {
  // logfmt keys are bare words: anything else becomes "_".
  return key.replace(/[^\w.-]/g, '_') || '_';
}

function logfmtValue(value: unknown): string {
  const text = typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value);
  // Bare when unambiguous; quoted (JSON string escapes: \" \\ \n) when it is
  // empty or holds a space, '=', a quote or a control character.
  return text !== '' && /^[^\s="\\\u0000-\u001f\u007f]+$/.test(text) ? text : JSON.stringify(text);
}
