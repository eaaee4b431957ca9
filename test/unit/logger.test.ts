// --log-format: JSON lines with level names, and logfmt text carrying the same
// fields. Through the real pino logger into a captured stream, and through the
// CLI's configuration.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/cli/config.ts';
import { createLogger, toLogfmt, type LogFormat } from '../../src/surface/logger.ts';

function capture(format: LogFormat | undefined, level = 'trace'): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const logger = createLogger({ level, ...(format ? { format } : {}), destination: { write: (s: string) => void lines.push(s) } });
  return { lines, logger };
}

/** A logfmt line parsed back: bare words, or JSON-quoted strings. */
function parseLogfmt(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([\w.-]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)(?:\s|$)/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(line)) !== null) {
    out[m[1]!] = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
    consumed = re.lastIndex;
  }
  expect(consumed, `unparsed logfmt from ${consumed}: ${line}`).toBe(line.length);
  return out;
}

describe('JSON logs', () => {
  it('carry the level as its name, for every level, with time, name and msg', () => {
    const { lines, logger } = capture('json');
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const) logger[level]({ table: 198 }, `a ${level} line`);
    expect(lines).toHaveLength(6);
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.map((e) => e.level)).toEqual(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
    for (const e of entries) {
      expect(e.name).toBe('routewarden');
      expect(e.table).toBe(198);
      expect(Number.isNaN(Date.parse(e.time as string))).toBe(false);
    }
  });

  it('are the default format, and the level still filters', () => {
    const { lines, logger } = capture(undefined, 'warn');
    logger.info('hidden');
    logger.warn('shown');
    expect(lines.map((l) => JSON.parse(l) as { level: string; msg: string })).toMatchObject([{ level: 'warn', msg: 'shown' }]);
  });
});

describe('text logs (logfmt)', () => {
  it('one line an entry: time, level, name and msg first, then the fields', () => {
    const { lines, logger } = capture('text');
    logger.warn({ orphan: 2, node: 'node-a' }, 'drift found');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^time=\S+ level=warn name=routewarden msg="drift found" orphan=2 node=node-a\n$/);
  });

  it('quotes what would be ambiguous, keeps an error with its stack on one line, and parses back to the same fields', () => {
    const { lines, logger } = capture('text');
    const err = new Error('netlink said "no"\nsecond line');
    logger.error({ err, empty: '', eq: 'a=b', nested: { table: 198, ok: true }, nothing: null }, 'repair failed');
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    const f = parseLogfmt(line.slice(0, -1));
    expect(f.level).toBe('error');
    expect(f.msg).toBe('repair failed');
    expect(f.empty).toBe('');
    expect(f.eq).toBe('a=b');
    expect(JSON.parse(f.nested!)).toEqual({ table: 198, ok: true });
    expect(f.nothing).toBe('null');
    const e = JSON.parse(f.err!) as { type: string; message: string; stack: string };
    expect(e.type).toBe('Error');
    expect(e.message).toBe(err.message);
    expect(e.stack).toContain('second line');
  });

  it('passes a line that is not a JSON object through unchanged', () => {
    expect(toLogfmt('not json\n')).toBe('not json\n');
    expect(toLogfmt('[1,2]\n')).toBe('[1,2]\n');
  });
});

describe('--log-format', () => {
  const ctx = (env: NodeJS.ProcessEnv = {}) => ({ env, hostname: 'node-a' });

  it('defaults to json, takes text from the flag or ROUTEWARDEN_LOG_FORMAT (flag wins), and refuses anything else', () => {
    expect(loadConfig('run', {}, ctx()).logFormat).toBe('json');
    expect(loadConfig('check', { logFormat: 'text' }, ctx()).logFormat).toBe('text');
    expect(loadConfig('run', {}, ctx({ ROUTEWARDEN_LOG_FORMAT: 'text' })).logFormat).toBe('text');
    expect(loadConfig('run', { logFormat: 'json' }, ctx({ ROUTEWARDEN_LOG_FORMAT: 'text' })).logFormat).toBe('json');
    expect(() => loadConfig('run', { logFormat: 'logfmt' }, ctx())).toThrow(ConfigError);
    expect(() => loadConfig('run', { logFormat: 'logfmt' }, ctx())).toThrow('invalid --log-format "logfmt": must be one of json, text');
  });

  it('a bad value on the command line is one line and exit 2', () => {
    const bin = fileURLToPath(new URL('../../bin/routewarden.js', import.meta.url));
    const r = spawnSync(process.execPath, [bin, 'run', '--log-format', 'xml'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('routewarden: invalid --log-format "xml": must be one of json, text\n');
  });
});
