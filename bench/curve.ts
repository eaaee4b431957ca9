// Issue #14's curve: the cost of a change at 1k, 10k and 50k Services (=
// routes). At each scale a fresh API double and table, `routewarden run` as
// shipped, its initial sync and RSS after sync, a shorter churn
// (bench/churn.ts: CPU per change, latency probes) and the verdict against a
// from-scratch check. Also the rows both the churn phase and the curve print.

import { createApiDouble } from '../tools/apidouble/index.ts';
import { churn, compareVerdict, verdictProblems, type Churn, type Verdict } from './churn.ts';
import { addLine, generateCluster, seedApi } from './cluster.ts';
import { flushTable, ipBatch } from './kernel.ts';
import { inSync, rssMb, startCli, until } from './live.ts';
import type { Row } from './report.ts';
import { median, p99, since } from './stats.ts';

export interface Shipped {
  readonly bin: string;
  readonly nodeOptions: string;
  readonly mallocEnv: Readonly<Record<string, string>>;
}

export const shippedEnv = (s: Shipped): Record<string, string> => ({ ...(s.nodeOptions ? { NODE_OPTIONS: s.nodeOptions } : {}), ...s.mallocEnv });

export interface CurvePoint {
  readonly services: number;
  readonly routes: number;
  /** Spawn of `routewarden run` until /metrics shows the table in sync. */
  readonly syncMs: number;
  readonly rssAfterSyncMb: number;
  readonly churn: Churn;
  readonly verdict: Verdict;
}

export async function curvePoint(n: number, nodes: number, churnSeconds: number, shipped: Shipped, log: (m: string) => void): Promise<CurvePoint> {
  const cluster = generateCluster(n, n, nodes);
  const routes = cluster.placed.length;
  const api = createApiDouble();
  await api.listen({ port: 0, host: '127.0.0.1' });
  const kubeconfig = api.kubeconfig();
  try {
    let t = performance.now();
    seedApi(api, cluster);
    flushTable();
    ipBatch(cluster.placed.map((ip) => addLine(ip)));
    log(`curve ${n}: double and table ${routes} routes ready (${Math.round(since(t))} ms)`);
    const cli = startCli(shipped.bin, kubeconfig, shipped.nodeOptions, [], shipped.mallocEnv);
    try {
      t = performance.now();
      await until(inSync(routes), 600_000, `routewarden run to sync ${n} Services`, cli);
      const syncMs = since(t);
      await new Promise((r) => setTimeout(r, 2000));
      const rssAfterSyncMb = rssMb(cli.child.pid!);
      log(`curve ${n}: in sync after ${Math.round(syncMs)} ms, RSS ${Math.round(rssAfterSyncMb)} MB; churn for ${churnSeconds} s`);
      const c = await churn(api, cluster, churnSeconds, cli);
      const verdict = await compareVerdict(api, cluster, c.state, { bin: shipped.bin, kubeconfig, env: shippedEnv(shipped) });
      log(
        `curve ${n}: ${c.result.operations} changes, CPU ${c.result.cpuMsPerChange.toFixed(2)} ms per change; verdict ${verdictProblems(verdict).length === 0 ? 'equal' : 'DIFFERS'}`,
      );
      return { services: n, routes, syncMs, rssAfterSyncMb, churn: c.result, verdict };
    } catch (err) {
      // Say whether routewarden itself went away (e.g. V8's heap limit), with its last words.
      await new Promise((r) => setTimeout(r, 500));
      const code = cli.child.exitCode ?? cli.child.signalCode;
      const what = code !== null ? `routewarden run exited (${code})` : 'routewarden run still running';
      throw new Error(`${what}: ${(err as Error).message.split('\n')[0]}\nlogs:\n${cli.logs().slice(-3000)}`, { cause: err });
    } finally {
      await cli.stop();
    }
  } finally {
    flushTable();
    await api.close();
  }
}

export interface ChurnGoals {
  readonly cpuPercent?: number;
  readonly msPerChange?: number;
  readonly rssMaxMb?: number;
  readonly slopeMbPerMin?: number;
  readonly p99Ms?: number;
}

const le = (value: number, goal: number | undefined): boolean | null => (goal === undefined ? null : value <= goal);

/** CPU, memory, latency and verdict rows of one churn. */
export function churnRows(section: string, c: Churn, v: Verdict, goals: ChurnGoals, memory: boolean): Row[] {
  const rows: Row[] = [];
  const row = (
    metric: string,
    value: number,
    unit: string,
    goal: string,
    met: boolean | null,
    baseline: number | null = null,
    baselineLabel?: string,
  ): void => {
    rows.push({ section, metric, value, unit, baseline, ...(baselineLabel ? { baselineLabel } : {}), goal, met });
  };
  const q = c.quiet;
  // The schedule is ten a second; a busy machine (an `ip` process per route change) can fall behind it.
  row('changes a second, as made (schedule: 10)', c.operations / c.seconds, '', '≥ 9.5', c.operations / c.seconds >= 9.5);
  row(
    `CPU of routewarden run, ${q.operations} changes in ${Math.round(q.seconds)} s without probes`,
    c.cpuPercent,
    '% of a core',
    goals.cpuPercent === undefined ? '' : `≤ ${goals.cpuPercent} %`,
    le(c.cpuPercent, goals.cpuPercent),
  );
  row('  CPU per change', c.cpuMsPerChange, 'ms', goals.msPerChange === undefined ? '' : `≤ ${goals.msPerChange} ms`, le(c.cpuMsPerChange, goals.msPerChange));
  row(`  CPU over the whole churn, probes' scrapes included (${c.operations} changes)`, c.cpuPercentTotal, '% of a core', '', null);
  if (memory) {
    row(
      `RSS max after ${Math.round(c.warmupSeconds)} s warm-up`,
      c.rssMaxMb,
      'MB',
      goals.rssMaxMb === undefined ? '' : `≤ ${goals.rssMaxMb} MB`,
      le(c.rssMaxMb, goals.rssMaxMb),
    );
    row(
      'RSS slope after warm-up',
      c.rssSlopeMbPerMin,
      'MB/min',
      goals.slopeMbPerMin === undefined ? '' : `< ${goals.slopeMbPerMin} MB/min`,
      goals.slopeMbPerMin === undefined ? null : c.rssSlopeMbPerMin < goals.slopeMbPerMin,
    );
    row('  JS heap slope after warm-up', c.heapSlopeMbPerMin, 'MB/min', '', null);
    row('  V8 heap reserved (total) slope after warm-up', c.heapTotalSlopeMbPerMin, 'MB/min', '', null);
  }
  const p99Goal = goals.p99Ms === undefined ? '' : `p99 ≤ ${goals.p99Ms} ms`;
  for (const [label, xs] of [
    ['Service change → /metrics', c.serviceLatency],
    ['route change → /metrics', c.routeLatency],
  ] as const) {
    row(`${label} median (n=${xs.length})`, median(xs), 'ms', '', null);
    row(`${label} p99`, p99(xs), 'ms', p99Goal, le(p99(xs), goals.p99Ms));
  }
  row('probe changes not seen within 10 s', c.probeTimeouts, '', '0', c.probeTimeouts === 0);
  row(
    `verdict after the churn = from-scratch check (orphan ${v.scratch.orphan ?? NaN}, missing ${v.scratch.missing ?? NaN}, unjudged ${v.scratch.unjudged ?? 0}): parts that differ`,
    v.differences.length,
    '',
    'equal, planted drift seen',
    verdictProblems(v).length === 0,
  );
  return rows;
}

/** The 50,000-Service goals of the issue; informational below that scale. */
export function curveRows(points: readonly CurvePoint[]): Row[] {
  const rows: Row[] = [];
  const first = points[0];
  for (const p of points) {
    const big = p.services >= 50_000;
    const section = `9. Curve, ${p.services} Services / ${p.routes} routes, ${Math.round(p.churn.seconds)} s of churn`;
    rows.push({
      section,
      metric: 'initial sync of routewarden run',
      value: p.syncMs / 1000,
      unit: 's',
      baseline: null,
      goal: big ? '≤ 15 s' : '',
      met: big ? p.syncMs <= 15_000 : null,
    });
    rows.push({
      section,
      metric: 'RSS after sync',
      value: p.rssAfterSyncMb,
      unit: 'MB',
      baseline: null,
      goal: big ? '≤ 400 MB' : '',
      met: big ? p.rssAfterSyncMb <= 400 : null,
    });
    const churn = churnRows(section, p.churn, p.verdict, big ? { cpuPercent: 10 } : {}, false);
    // Cost per change against the smallest scale: flat is the goal.
    const perChange = churn.findIndex((r) => r.metric === '  CPU per change');
    if (first && p !== first && perChange >= 0)
      churn[perChange] = { ...churn[perChange]!, baseline: first.churn.cpuMsPerChange, baselineLabel: `at ${first.services}`, goal: 'flat' };
    rows.push(...churn);
  }
  return rows;
}

/** The "cost per change" table of the generated section: one line per scale. */
export function curveMarkdown(points: readonly CurvePoint[]): string {
  const f = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
  return [
    '| Services = routes | initial sync | RSS after sync | CPU during churn | CPU per change | Service change → /metrics p99 | route change → /metrics p99 | verdict |',
    '|---|---|---|---|---|---|---|---|',
    ...points.map(
      (p) =>
        `| ${p.services} | ${f(p.syncMs / 1000)} s | ${f(p.rssAfterSyncMb, 0)} MB | ${f(p.churn.cpuPercent)} % | ${f(p.churn.cpuMsPerChange, 2)} ms | ${f(p99(p.churn.serviceLatency), 0)} ms | ${f(p99(p.churn.routeLatency), 0)} ms | ${verdictProblems(p.verdict).length === 0 ? 'equal' : 'DIFFERS'} |`,
    ),
  ].join('\n');
}
