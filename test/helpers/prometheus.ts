// Runs a real Prometheus server (Debian's `prometheus` package) for end-to-end
// tests: on a free 127.0.0.1 port, with a generated config (given scrape
// targets, 1 s scrape and evaluation intervals, given rule files) and a
// throw-away storage directory. Nothing listens beyond loopback.
//
//   const prom = await startPrometheus({ targets: ['127.0.0.1:9798'], ruleFiles: [rules] });
//   await prom.waitFor('missing routes scraped', async () => (await prom.query('routewarden_missing_routes')).length > 0);
//   const alerts = await prom.alerts();
//   await prom.stop();

import { PATIENCE_MS } from './patience.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { stringify } from 'yaml';

export interface ScrapeTarget {
  /** host:port, on loopback. */
  readonly address: string;
  /** Extra target labels (e.g. `node`). */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface PrometheusOptions {
  readonly targets: readonly (string | ScrapeTarget)[];
  readonly ruleFiles?: readonly string[];
  /** The scrape job's name, i.e. the `job` label (default `routewarden`). */
  readonly job?: string;
  readonly scrapeInterval?: string;
  readonly evaluationInterval?: string;
  readonly metricsPath?: string;
  /** More keys for the scrape job (scheme, tls_config, basic_auth…). */
  readonly scrape?: Readonly<Record<string, unknown>>;
  /** Further scrape jobs, as written in prometheus.yml (their targets are not checked: keep them on loopback). */
  readonly extraJobs?: readonly Readonly<Record<string, unknown>>[];
  /** Path or name of the binary; default $PROMETHEUS_BIN, else `prometheus` on PATH. */
  readonly binary?: string;
  readonly readyTimeoutMs?: number;
}

export interface Sample {
  readonly metric: Readonly<Record<string, string>>;
  /** The value as Prometheus renders it ("1", "NaN", "+Inf"). */
  readonly value: string;
}

export interface PromAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly state: 'pending' | 'firing' | 'inactive';
  readonly activeAt?: string;
  readonly value: string;
}

export interface PromRule {
  readonly type: 'alerting' | 'recording';
  readonly name: string;
  readonly query: string;
  readonly health: string;
  readonly lastError?: string;
}

export interface Prometheus {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** Evaluates an instant query now; throws with Prometheus's error on a bad query. */
  query(promql: string): Promise<Sample[]>;
  /** Every pending and firing alert (`/api/v1/alerts`). */
  alerts(): Promise<PromAlert[]>;
  /** Every loaded rule with its health (`/api/v1/rules`). */
  rules(): Promise<PromRule[]>;
  /** Polls `check` until it returns a value other than undefined/false, or fails after the deadline. */
  waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs?: number): Promise<T>;
  /** The server's log so far, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

/** The binary's path, or null when it is not installed (tests then skip). */
export function findBinary(name: string, envOverride?: string): string | null {
  const explicit = envOverride === undefined ? undefined : process.env[envOverride];
  if (explicit) return isExecutable(explicit) ? explicit : null;
  if (name.includes('/')) return isExecutable(name) ? name : null;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    if (dir !== '' && isExecutable(candidate)) return candidate;
  }
  return null;
}

export function prometheusBinary(): string | null {
  return findBinary('prometheus', 'PROMETHEUS_BIN');
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A free TCP port on 127.0.0.1 (free now; the caller binds it soon after). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Polls until `check` yields a value; the deadline, not a sleep, is the assertion. */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = PATIENCE_MS,
  intervalMs = 100,
  context: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      const ctx = context();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}${ctx ? `\n${ctx}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

const running = new Set<ChildProcess>();
// A test that crashes must not leave a server behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Renders the server's config file. */
export function prometheusConfig(opts: PrometheusOptions): string {
  const targets = opts.targets.map((t) => (typeof t === 'string' ? { address: t } : t));
  for (const t of targets) {
    if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/.test(t.address)) {
      throw new Error(`scrape target ${t.address} is not on loopback`);
    }
  }
  return stringify({
    global: {
      scrape_interval: opts.scrapeInterval ?? '1s',
      scrape_timeout: opts.scrapeInterval ?? '1s',
      evaluation_interval: opts.evaluationInterval ?? '1s',
    },
    rule_files: [...(opts.ruleFiles ?? [])],
    scrape_configs: [
      {
        job_name: opts.job ?? 'routewarden',
        metrics_path: opts.metricsPath ?? '/metrics',
        static_configs: targets.map((t) => ({ targets: [t.address], labels: { ...(t.labels ?? {}) } })),
        ...opts.scrape,
      },
      ...(opts.extraJobs ?? []),
    ],
  });
}

export async function startPrometheus(opts: PrometheusOptions): Promise<Prometheus> {
  const binary = opts.binary ?? prometheusBinary();
  if (binary === null) throw new Error('prometheus is not installed (apt-get install prometheus), or set PROMETHEUS_BIN');
  const dir = mkdtempSync(join(tmpdir(), 'routewarden-prom-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, prometheusConfig(opts));
  let server: LoopbackServer;
  try {
    server = await startLoopbackServer({
      name: 'prometheus',
      binary,
      args: (port) => [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=1h',
        '--log.level=info',
      ],
      readyTimeoutMs: opts.readyTimeoutMs,
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${server.url}${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string; errorType?: string };
    if (body.status !== 'success') throw new Error(`${path}: ${body.errorType ?? res.status}: ${body.error ?? 'failed'}`);
    return body.data;
  };

  return {
    url: server.url,
    port: server.port,
    async query(promql) {
      const data = await api<{ resultType: string; result: unknown }>(`/api/v1/query?query=${encodeURIComponent(promql)}`);
      if (data.resultType === 'scalar' || data.resultType === 'string') {
        const [, value] = data.result as [number, string];
        return [{ metric: {}, value }];
      }
      if (data.resultType !== 'vector') throw new Error(`query returned a ${data.resultType}, not an instant vector: ${promql}`);
      return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((s) => ({ metric: s.metric, value: s.value[1] }));
    },
    async alerts() {
      return (await api<{ alerts: PromAlert[] }>('/api/v1/alerts')).alerts;
    },
    async rules() {
      const data = await api<{ groups: { rules: PromRule[] }[] }>('/api/v1/rules');
      return data.groups.flatMap((g) => g.rules);
    },
    waitFor: server.waitFor,
    logs: server.logs,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface LoopbackServerOptions {
  /** For messages. */
  readonly name: string;
  readonly binary: string;
  /** The command line, given the port to listen on (127.0.0.1 only). */
  readonly args: (port: number) => string[];
  /** GET path that answers 200 once the server is ready. */
  readonly readyPath?: string;
  readonly readyTimeoutMs?: number | undefined;
}

export interface LoopbackServer {
  readonly url: string;
  readonly port: number;
  waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs?: number): Promise<T>;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Starts a server binary (Prometheus, Alertmanager) on a free 127.0.0.1 port
 * and waits until its ready endpoint answers. The port is free when picked but
 * may be taken before the server binds it: a few ports are tried.
 */
export async function startLoopbackServer(opts: LoopbackServerOptions): Promise<LoopbackServer> {
  let lastFailure: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await launch(opts, await freePort());
    } catch (err) {
      lastFailure = err as Error;
      if (!/address already in use/i.test(lastFailure.message)) break;
    }
  }
  throw lastFailure ?? new Error(`${opts.name} did not start`);
}

async function launch(opts: LoopbackServerOptions, port: number): Promise<LoopbackServer> {
  const url = `http://127.0.0.1:${port}`;
  const log: string[] = [];
  const child = spawn(opts.binary, opts.args(port), { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const keep = (chunk: Buffer): void => {
    log.push(chunk.toString());
    if (log.length > 500) log.splice(0, log.length - 500);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code;
      running.delete(child);
      resolve();
    }),
  );
  const logs = (): string => log.join('');

  const stop = async (): Promise<void> => {
    if (exitCode !== undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const waitFor = <T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = PATIENCE_MS): Promise<T> =>
    pollUntil(what, check, timeoutMs, 100, () => `${opts.name} log (tail):\n${logs().slice(-3000)}`);

  try {
    await pollUntil(
      `${opts.name} at ${url} to be ready`,
      async () => {
        if (exitCode !== undefined) throw new Error(`${opts.name} exited with ${exitCode}: ${logs().slice(-2000)}`);
        const res = await fetch(`${url}${opts.readyPath ?? '/-/ready'}`).catch(() => undefined);
        return res?.status === 200;
      },
      opts.readyTimeoutMs ?? 30_000,
    );
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${logs().slice(-2000)}`);
  }
  return { url, port, waitFor, logs, stop };
}
