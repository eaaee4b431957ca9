// Measures on a real `routewarden run` (the CLI, a child process in this
// network namespace) against the API double in this process: detection
// latency, /metrics scrape cost and memory after sync (the churn is
// bench/churn.ts).

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import http from 'node:http';
import type { ApiDouble } from '../tools/apidouble/index.ts';
import { addLine, delLine, NODE, serviceObject, sliceObjects, stray4, stray6, vip4, type GeneratedCluster, type ServicePlan } from './cluster.ts';
import { ipBatch } from './kernel.ts';
import { since } from './stats.ts';

const PORT = 19798;
/** Pause between two scrapes while polling for a change. */
const POLL_MS = 5;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

export function get(path: string, via: http.Agent = agent): Promise<{ status: number; body: string; ms: number }> {
  const t = performance.now();
  const once = (): Promise<{ status: number; body: string; ms: number }> =>
    new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: PORT, path, agent: via, timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: since(t) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
      req.on('error', reject);
    });
  // A kept-alive connection idle longer than the server's keep-alive timeout (5 s) may be closed
  // just as it is reused: one retry on a fresh connection (the time still counts from the first try).
  return once().catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ECONNRESET' || err.message === 'socket hang up') return once();
    throw err;
  });
}

/** Sum of a gauge over every label set given (e.g. both families). */
export function gauge(body: string, name: string, labels?: string): number {
  const re = new RegExp(`^${name}${labels ? `\\{${labels.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\}` : '(?:\\{[^}]*\\})?'} (\\S+)$`, 'gm');
  let sum = 0;
  let seen = false;
  for (const m of body.matchAll(re)) {
    sum += Number(m[1]);
    seen = true;
  }
  return seen ? sum : NaN;
}

export interface Cli {
  readonly child: ChildProcess;
  logs(): string;
  stop(): Promise<number | null>;
}

/**
 * `routewarden run` from `bin` (the shipped build), events only: the interval
 * is an hour. It logs at warn unless RW_CLI_LOG_LEVEL says otherwise;
 * RW_CLI_LOG=<file> appends its output there (to read what it logged at
 * debug, e.g. its garbage collections).
 */
export function startCli(
  bin: string,
  kubeconfig: string,
  nodeOptions = '',
  nodeFlags: readonly string[] = [],
  extraEnv: Readonly<Record<string, string>> = {},
): Cli {
  const child = spawn(
    process.execPath,
    [
      ...nodeFlags,
      bin,
      'run',
      '--listen',
      `127.0.0.1:${PORT}`,
      '--interval',
      '1h',
      '--node-name',
      NODE,
      '--kubeconfig',
      kubeconfig,
      '--log-level',
      process.env.RW_CLI_LOG_LEVEL || 'warn',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp', ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}), ...extraEnv },
    },
  );
  let logs = '';
  const file = process.env.RW_CLI_LOG ? createWriteStream(process.env.RW_CLI_LOG, { flags: 'a' }) : undefined;
  child.once('exit', () => file?.end());
  const keep = (d: Buffer): void => {
    logs = (logs + d.toString()).slice(-20_000);
    file?.write(d);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return {
    child,
    logs: () => logs,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) {
          resolve(child.exitCode);
          return;
        }
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', (code) => {
          clearTimeout(timer);
          resolve(code);
        });
        child.kill('SIGTERM');
      }),
  };
}

/** Polls /metrics until `pred` holds; returns performance.now() when it was first seen. */
export async function until(pred: (body: string) => boolean, timeoutMs: number, what: string, cli?: Cli): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    let body = '';
    try {
      body = (await get('/metrics')).body;
    } catch {
      // not listening yet
    }
    if (body && pred(body)) return performance.now();
    if (cli && cli.child.exitCode !== null)
      throw new Error(`routewarden run exited (code ${cli.child.exitCode}) while waiting for ${what}\nlogs:\n${cli.logs()}`);
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}${cli ? `\nroutewarden logs:\n${cli.logs()}` : ''}`);
    await sleep(POLL_MS);
  }
}

export const inSync =
  (routes: number) =>
  (b: string): boolean =>
    gauge(b, 'routewarden_expected_routes') === routes &&
    gauge(b, 'routewarden_kernel_routes') === routes &&
    gauge(b, 'routewarden_orphan_routes') === 0 &&
    gauge(b, 'routewarden_missing_routes') === 0;

/** VmRSS of a process, in MB. */
export function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const ip = (args: string[]): void => {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
};

const orphanGauge =
  (family: 'ipv4' | 'ipv6') =>
  (b: string): number =>
    gauge(b, 'routewarden_orphan_routes', `family="${family}"`);
const missingGauge =
  (family: 'ipv4' | 'ipv6') =>
  (b: string): number =>
    gauge(b, 'routewarden_missing_routes', `family="${family}"`);

export interface Detection {
  readonly routeAdd: number[];
  readonly routeDel: number[];
  readonly serviceAdd: number[];
  readonly serviceDelete: number[];
}

/**
 * Clock starts before the change is made (an `ip` process, or an upsert in
 * the double) and stops at the first scrape that shows it: an upper bound.
 */
export async function measureDetection(api: ApiDouble, cluster: GeneratedCluster, trials: number, cli: Cli): Promise<Detection> {
  const out: Detection = { routeAdd: [], routeDel: [], serviceAdd: [], serviceDelete: [] };
  const gap = (): Promise<void> => sleep(20 + Math.random() * 100);
  for (let t = 0; t < trials; t++) {
    const family = t % 2 === 0 ? 'ipv4' : 'ipv6';
    const dst = family === 'ipv4' ? `${stray4(60_000 + t)}/32` : `${stray6(60_000 + t)}/128`;
    const read = orphanGauge(family);
    const base = read((await get('/metrics')).body);
    let t0 = performance.now();
    ip(['route', 'add', dst, 'dev', 'lo', 'table', '198', 'proto', '248', 'scope', 'global']);
    out.routeAdd.push((await until((b) => read(b) === base + 1, 10_000, `orphan ${dst} to show`, cli)) - t0);
    await gap();
    t0 = performance.now();
    ip(['route', 'del', dst, 'table', '198', 'proto', '248']);
    out.routeDel.push((await until((b) => read(b) === base, 10_000, `orphan ${dst} to clear`, cli)) - t0);
    await gap();
  }
  for (let t = 0; t < trials; t++) {
    const family = t % 2 === 0 ? 'ipv4' : 'ipv6';
    const index = cluster.plans.length + 30_000 + t;
    const plan: ServicePlan = {
      index,
      namespace: 'bench',
      name: `detect-${t}`,
      stack: family,
      policy: 'Cluster',
      localHere: true,
      ips: [family === 'ipv4' ? vip4(index) : `fd00:5::${(index >> 16).toString(16)}:${(index & 0xffff).toString(16)}`],
    };
    const read = missingGauge(family);
    const base = read((await get('/metrics')).body);
    for (const s of sliceObjects(plan, cluster.nodes)) api.upsert(s);
    await sleep(150); // let the check the slice triggered pass; it changes nothing
    let t0 = performance.now();
    api.upsert(serviceObject(plan));
    out.serviceAdd.push((await until((b) => read(b) === base + 1, 10_000, `Service ${plan.name} to show as missing`, cli)) - t0);
    await gap();
    t0 = performance.now();
    api.delete('Service', plan.namespace, plan.name);
    out.serviceDelete.push((await until((b) => read(b) === base, 10_000, `Service ${plan.name} deletion to show`, cli)) - t0);
    for (const s of sliceObjects(plan, cluster.nodes)) api.delete('EndpointSlice', plan.namespace, s.metadata!.name!);
    await gap();
  }
  return out;
}

export interface Scrape {
  readonly drifted: number;
  readonly latency: number[];
  readonly bytes: number;
  /** routewarden_drifted_route_info series in the exposition. */
  readonly series: number;
  readonly dropped: number;
}

const driftedSeries = (body: string): number => body.split('\n').filter((l) => l.startsWith('routewarden_drifted_route_info{')).length;

/** /metrics with `orphans` + `missing` drifted routes (half each), scraped `reps` times. */
export async function measureScrape(cluster: GeneratedCluster, drifted: number, reps: number, cli: Cli): Promise<Scrape> {
  const missing = Math.min(Math.floor(drifted / 2), Math.floor(cluster.placed.length / 2));
  const orphans = drifted - missing;
  const gone = cluster.placed.slice(0, missing);
  const strays = Array.from({ length: orphans }, (_, i) => (i % 2 === 0 ? stray4(40_000 + i) : stray6(40_000 + i)));
  ipBatch([...gone.map((d) => delLine(d)), ...strays.map((d) => addLine(d))]);
  await until(
    (b) => gauge(b, 'routewarden_orphan_routes') === orphans && gauge(b, 'routewarden_missing_routes') === missing,
    30_000,
    `${drifted} drifted routes`,
    cli,
  );
  const latency: number[] = [];
  let body = '';
  for (let i = 0; i < reps; i++) {
    const r = await get('/metrics');
    latency.push(r.ms);
    body = r.body;
  }
  const result = {
    drifted,
    latency,
    bytes: Buffer.byteLength(body),
    series: driftedSeries(body),
    dropped: gauge(body, 'routewarden_drifted_route_series_dropped'),
  };
  ipBatch([...strays.map((d) => delLine(d)), ...gone.map((d) => addLine(d))]);
  await until(inSync(cluster.placed.length), 30_000, 'back in sync after the scrape measure', cli);
  return result;
}
