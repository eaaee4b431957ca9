// Issue #14's churn on a real `routewarden run`: ten changes a second against
// the API double and kube-vip's table, with
//
// - CPU of routewarden's process from /proc/<pid>/stat (utime + stime),
//   counted only over the quiet windows (no latency probes: the probes poll
//   /metrics every few milliseconds and every scrape costs the process CPU);
// - RSS every 2 s from /proc/<pid>/status, the JS heap every 10 s from
//   /metrics; slopes fitted after the warm-up;
// - latency probes in the other windows: a Service's VIP moves in the API
//   (clock until /metrics shows the new VIP missing), then kube-vip's route
//   follows (clock until neither address is drifted any more); each clock
//   starts before the change and stops at the first scrape that shows it;
// - the final verdict against a from-scratch computation: a known drift is
//   planted, and once the running process shows it, its /drift is compared
//   with `routewarden check --output json` run in a fresh process (same bundle,
//   same namespace, same double).

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { ApiDouble } from '../tools/apidouble/index.ts';
import { addLine, delLine, NODE, serviceObject, sliceObjects, stray4, stray6, vip4, type GeneratedCluster, type ServicePlan } from './cluster.ts';
import { ipBatch } from './kernel.ts';
import { gauge, get, rssMb, type Cli } from './live.ts';
import { since, slope } from './stats.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** The probes' own connection: the memory samples' scrapes do not queue in front of them. */
const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
/** Pause between two scrapes while a probe waits for its change to show. */
const PROBE_POLL_MS = 5;
/** A probe's change not shown after this long is counted as never seen. */
const PROBE_TIMEOUT_MS = 10_000;

/**
 * `ip -batch -` without blocking this process's event loop (which also serves
 * the API double and runs the probes' clocks); a failed line is an error.
 */
function ip(lines: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ip -batch (${lines.join('; ')}): ${err.trim() || `exit ${code}`}`))));
    child.stdin.end(`${lines.join('\n')}\n`);
  });
}

/** utime + stime of a process, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export interface Sample {
  readonly t: number;
  readonly rssMb: number;
  /** NaN where the heap was not scraped (every fifth sample is, in runs of a minute and more). */
  readonly heapMb: number;
  readonly heapTotalMb: number;
}

export interface Churn {
  readonly seconds: number;
  /** Every change made: rotation changes and both steps of each probe. */
  readonly operations: number;
  readonly samples: Sample[];
  readonly warmupSeconds: number;
  readonly rssSlopeMbPerMin: number;
  readonly heapSlopeMbPerMin: number;
  /** V8's heap as reserved from the OS (used + free pages): tells page retention from a leak outside V8. */
  readonly heapTotalSlopeMbPerMin: number;
  readonly rssMaxMb: number;
  /** Over the quiet windows only (no probes polling /metrics). */
  readonly quiet: { readonly seconds: number; readonly operations: number; readonly cpuSeconds: number };
  /** Over the whole churn, probes' scrapes included. */
  readonly cpuSecondsTotal: number;
  /** % of a core over the quiet windows. */
  readonly cpuPercent: number;
  /** ms of CPU per change over the quiet windows. */
  readonly cpuMsPerChange: number;
  readonly cpuPercentTotal: number;
  /** Service change (VIP moved in the API) → /metrics, ms. */
  readonly serviceLatency: number[];
  /** Route change (kube-vip's route follows) → /metrics, ms. */
  readonly routeLatency: number[];
  /** Probe steps whose change did not show within PROBE_TIMEOUT_MS. */
  readonly probeTimeouts: number;
  readonly windowSeconds: number;
}

const driftedLines = (body: string): string[] => body.split('\n').filter((l) => l.startsWith('routewarden_drifted_route_info{'));
/** As routewarden prints it: IPv6 in its canonical (compressed) form. */
const cidr = (ip: string): string => (ip.includes(':') ? `${new URL(`http://[${ip}]`).hostname.slice(1, -1)}/128` : `${ip}/32`);
const shows = (body: string, kind: 'missing' | 'orphan', ip: string): boolean =>
  driftedLines(body).some((l) => l.includes(`kind="${kind}"`) && l.includes(`destination="${cidr(ip)}"`));
/** Neither address drifted, and no drifted route left out by the series cap (or "absent" could be the cap). */
const clear = (body: string, ips: readonly string[]): boolean =>
  !(gauge(body, 'routewarden_drifted_route_series_dropped') > 0) && !driftedLines(body).some((l) => ips.some((ip) => l.includes(`destination="${cidr(ip)}"`)));

/** Polls /metrics on the probes' connection until `pred`; ms from `t0`, or NaN after the timeout. */
async function seen(t0: number, pred: (body: string) => boolean, cli: Cli): Promise<number> {
  for (;;) {
    const body = (await get('/metrics', probeAgent)).body;
    if (pred(body)) return since(t0);
    if (cli.child.exitCode !== null) throw new Error(`routewarden run exited (code ${cli.child.exitCode}) during the churn\nlogs:\n${cli.logs()}`);
    if (since(t0) > PROBE_TIMEOUT_MS) return NaN;
    await sleep(PROBE_POLL_MS);
  }
}

/** What the churn changed, to be undone or judged afterwards. */
export interface ChurnState {
  /** Service index -> its VIP now (rotation and probes), when moved. */
  readonly moved: Map<number, string>;
  /** Services the churn created (with their route). */
  readonly created: ServicePlan[];
  /** Stray routes in the table now. */
  readonly strays: Set<string>;
}

/**
 * `seconds` of churn at ten changes a second, on a fixed schedule (a change
 * late because of a slow step is made as soon as possible, so the rate holds).
 * The rotation: a Service's VIP moves and kube-vip's route follows; an
 * EndpointSlice's endpoints move; a stray route comes (and goes the next
 * time round); a Service is created with its route (and deleted with it the
 * next time round). Time is cut into windows, alternately quiet and probing;
 * in a probing window every tenth change is a probe (above), one at a time.
 */
export async function churn(api: ApiDouble, cluster: GeneratedCluster, seconds: number, cli: Cli): Promise<{ result: Churn; state: ChurnState }> {
  const pid = cli.child.pid!;
  const v4Cluster = cluster.plans.filter((p) => p.stack === 'ipv4' && p.policy === 'Cluster');
  // Rotation and probes move disjoint Services' VIPs.
  const rotating = v4Cluster.filter((_, i) => i % 2 === 0);
  const probing = v4Cluster.filter((_, i) => i % 2 === 1);
  if (probing.length === 0) throw new Error('churn needs two IPv4 Cluster Services');
  const state: ChurnState = { moved: new Map(), created: [], strays: new Set() };
  // The heap from /metrics every 10 s (every sample, 2 s, in runs too short for a slope otherwise).
  const heapEvery = seconds >= 60 ? 5 : 1;
  const windowMs = Math.min(10_000, Math.max(1000, (seconds * 1000) / 6));
  const samples: Sample[] = [];
  const serviceLatency: number[] = [];
  const routeLatency: number[] = [];
  let probeTimeouts = 0;
  let ops = 0;
  let probe: Promise<void> | null = null;
  let probes = 0;
  const quiet = { seconds: 0, operations: 0, cpuSeconds: 0 };

  const moveVip = (p: ServicePlan, away: number): { from: string; to: string } => {
    const from = state.moved.get(p.index) ?? p.ips[0]!;
    const to = state.moved.has(p.index) ? p.ips[0]! : vip4(p.index + away);
    if (to === p.ips[0]) state.moved.delete(p.index);
    else state.moved.set(p.index, to);
    return { from, to };
  };

  const runProbe = async (p: ServicePlan): Promise<void> => {
    // A Service change: its VIP moves in the API; the kernel still has the old route.
    let t0 = performance.now();
    const { from, to } = moveVip(p, 300_000);
    api.upsert(serviceObject(p, [to]));
    ops++;
    const a = await seen(t0, (b) => shows(b, 'missing', to), cli);
    if (Number.isNaN(a)) probeTimeouts++;
    else serviceLatency.push(a);
    // A route change: kube-vip's route follows.
    t0 = performance.now();
    await ip([delLine(from), addLine(to)]);
    ops++;
    const b = await seen(t0, (body) => clear(body, [from, to]), cli);
    if (Number.isNaN(b)) probeTimeouts++;
    else routeLatency.push(b);
  };

  const rotation = { vip: 0, slice: 0, stray: 0, service: 0 };
  const change = async (kind: number): Promise<void> => {
    if (kind === 0) {
      const p = rotating[rotation.vip++ % rotating.length]!;
      const { from, to } = moveVip(p, 200_000);
      api.upsert(serviceObject(p, [to]));
      await ip([delLine(from), addLine(to)]);
    } else if (kind === 1) {
      const p = rotating[rotation.slice % rotating.length]!;
      for (const s of sliceObjects(p, cluster.nodes, ++rotation.slice)) api.upsert(s);
    } else if (kind === 2) {
      // Round r adds stray r/2; round r + 1 removes it again.
      const r = rotation.stray++;
      const d = stray4(50_000 + (Math.floor(r / 2) % 512));
      if (r % 2 === 0) {
        state.strays.add(d);
        await ip([addLine(d)]);
      } else {
        state.strays.delete(d);
        await ip([delLine(d)]);
      }
    } else {
      const c = rotation.service++;
      const index = cluster.plans.length + 40_000 + (c % 250);
      const existing = state.created.findIndex((x) => x.index === index);
      if (existing >= 0) {
        const plan = state.created[existing]!;
        api.delete('Service', plan.namespace, plan.name);
        for (const s of sliceObjects(plan, cluster.nodes)) api.delete('EndpointSlice', plan.namespace, s.metadata!.name!);
        state.created.splice(existing, 1);
        await ip([delLine(plan.ips[0]!)]);
      } else {
        const plan: ServicePlan = { index, namespace: 'churn', name: `churn-${index}`, stack: 'ipv4', policy: 'Cluster', localHere: true, ips: [vip4(index)] };
        for (const s of sliceObjects(plan, cluster.nodes)) api.upsert(s);
        api.upsert(serviceObject(plan));
        state.created.push(plan);
        await ip([addLine(plan.ips[0]!)]);
      }
    }
    ops++;
  };

  const start = performance.now();
  const cpuStart = cpuSeconds(pid);
  let windowStart = start;
  let windowCpu = cpuStart;
  let windowOps = 0;
  let window = 0;
  let nextSample = 0;
  let k = 0;
  const endWindow = (now: number): void => {
    const cpu = cpuSeconds(pid);
    if (window % 2 === 0) {
      quiet.seconds += (now - windowStart) / 1000;
      quiet.operations += ops - windowOps;
      quiet.cpuSeconds += cpu - windowCpu;
    }
    window++;
    windowStart = now;
    windowCpu = cpu;
    windowOps = ops;
  };
  for (;;) {
    const due = start + k * 100;
    let now = performance.now();
    if (due > now) {
      await sleep(due - now);
      now = performance.now();
    }
    if (now - start >= seconds * 1000) break;
    if (now - windowStart >= windowMs) endWindow(now);
    const elapsed = now - start;
    if (elapsed >= nextSample) {
      const heap = samples.length % heapEvery === 0 ? (await get('/metrics')).body : '';
      samples.push({
        t: elapsed / 1000,
        rssMb: rssMb(pid),
        heapMb: heap ? gauge(heap, 'nodejs_heap_size_used_bytes') / 2 ** 20 : NaN,
        heapTotalMb: heap ? gauge(heap, 'nodejs_heap_size_total_bytes') / 2 ** 20 : NaN,
      });
      nextSample += 2000;
    }
    if (window % 2 === 1 && k % 10 === 9 && probe === null) {
      const p = probing[probes++ % probing.length]!;
      probe = runProbe(p).finally(() => {
        probe = null;
      });
    } else {
      await change(k % 4);
    }
    k++;
  }
  const end = performance.now();
  // The last window counts only if it is a quiet one.
  endWindow(end);
  const cpuTotal = cpuSeconds(pid) - cpuStart;
  const wall = (end - start) / 1000;
  if (probe) await probe;
  // A quarter of the run, at least 10 s when the run is long enough to spare it.
  const warmupSeconds = seconds >= 40 ? Math.max(10, seconds * 0.25) : seconds * 0.25;
  const after = samples.filter((s) => s.t >= warmupSeconds);
  const perMin = (key: 'rssMb' | 'heapMb' | 'heapTotalMb'): number =>
    slope(after.filter((s) => Number.isFinite(s[key])).map((s) => ({ x: s.t / 60, y: s[key] })));
  return {
    state,
    result: {
      seconds: wall,
      operations: ops,
      samples,
      warmupSeconds,
      rssSlopeMbPerMin: perMin('rssMb'),
      heapSlopeMbPerMin: perMin('heapMb'),
      heapTotalSlopeMbPerMin: perMin('heapTotalMb'),
      rssMaxMb: Math.max(...samples.filter((s) => s.t >= warmupSeconds).map((s) => s.rssMb)),
      quiet,
      cpuSecondsTotal: cpuTotal,
      cpuPercent: (quiet.cpuSeconds / quiet.seconds) * 100,
      cpuMsPerChange: (quiet.cpuSeconds * 1000) / quiet.operations,
      cpuPercentTotal: (cpuTotal / wall) * 100,
      serviceLatency,
      routeLatency,
      probeTimeouts,
      windowSeconds: windowMs / 1000,
    },
  };
}

/** Undoes the churn: every moved VIP back, every created Service gone, strays removed; routes follow. */
export function undoChurn(api: ApiDouble, cluster: GeneratedCluster, state: ChurnState): void {
  const lines: string[] = [];
  for (const [index, now] of state.moved) {
    const p = cluster.plans[index]!;
    api.upsert(serviceObject(p));
    if (now !== p.ips[0]) lines.push(delLine(now), addLine(p.ips[0]!));
  }
  for (const c of state.created) {
    api.delete('Service', c.namespace, c.name);
    for (const s of sliceObjects(c, cluster.nodes)) api.delete('EndpointSlice', c.namespace, s.metadata!.name!);
    lines.push(delLine(c.ips[0]!));
  }
  for (const d of state.strays) lines.push(delLine(d));
  ipBatch(lines, true);
  state.moved.clear();
  state.created.length = 0;
  state.strays.clear();
}

// --- the verdict against a from-scratch computation ---

export interface ReportJson {
  readonly inSync: boolean;
  readonly sources: unknown;
  readonly counts: Record<string, number>;
  readonly byFamily?: unknown;
  readonly orphans: readonly { destination: string }[];
  readonly missing: readonly { destination: string }[];
  readonly unjudged?: readonly { destination?: string; address?: string }[];
  readonly excluded?: unknown;
  readonly limitations?: unknown;
  readonly routes?: readonly { destination: string; verdict: string }[];
}

/** JSON with object keys sorted, so that two equal values print the same. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

const byKey = <T>(rows: readonly T[] | undefined): string[] => (rows ?? []).map((r) => canonical(r)).sort();

/** The verdict of a report: everything but the time it was made. */
function verdictOf(r: ReportJson): Record<string, unknown> {
  return {
    inSync: r.inSync,
    sources: r.sources,
    counts: r.counts,
    byFamily: r.byFamily,
    orphans: byKey(r.orphans),
    missing: byKey(r.missing),
    unjudged: byKey(r.unjudged),
    excluded: byKey(r.excluded as unknown[] | undefined),
    limitations: byKey(r.limitations as unknown[] | undefined),
    routes: byKey(r.routes),
  };
}

/** One line per part of the verdict (everything but checkedAt) in which the running report differs from the from-scratch one. */
export function compareReports(running: ReportJson, scratch: ReportJson): string[] {
  const a = verdictOf(running);
  const s = verdictOf(scratch);
  const differences: string[] = [];
  for (const key of Object.keys(s)) {
    const x = a[key];
    const y = s[key];
    if (canonical(x) === canonical(y)) continue;
    if (Array.isArray(x) && Array.isArray(y)) {
      // Rows (canonical JSON, sorted): say how many differ on each side and show the first.
      const inRunning = new Set(x);
      const inScratch = new Set(y);
      const onlyRunning = x.filter((r) => !inScratch.has(r));
      const onlyScratch = y.filter((r) => !inRunning.has(r));
      differences.push(
        `${key}: ${onlyRunning.length} rows only in the running report${onlyRunning.length ? ` (first ${String(onlyRunning[0]).slice(0, 200)})` : ''}, ${onlyScratch.length} only in the from-scratch one${onlyScratch.length ? ` (first ${String(onlyScratch[0]).slice(0, 200)})` : ''}`,
      );
    } else differences.push(`${key}: running ${canonical(x).slice(0, 300)} / from scratch ${canonical(y).slice(0, 300)}`);
  }
  return differences;
}

export interface Verdict {
  readonly equal: boolean;
  /** One line per part of the verdict that differs. */
  readonly differences: string[];
  /** The planted drift shows in the from-scratch verdict (the comparison is not of two empty reports). */
  readonly plantedSeen: boolean;
  /** The running process showed the planted drift on /metrics before the comparison. */
  readonly settled: boolean;
  readonly running: Record<string, number>;
  readonly scratch: Record<string, number>;
  /** Wall time of the one-shot check, ms. */
  readonly checkMs: number;
}

/** `routewarden check --output json` in a fresh process: exit 0 (in sync) or 1 (drift) with the report on stdout. */
function checkOnce(bin: string, kubeconfig: string, env: Readonly<Record<string, string>>): Promise<ReportJson> {
  return new Promise((resolve, reject) => {
    // Asynchronous: the double it reads is served from this process.
    const child = spawn(process.execPath, [bin, 'check', '--output', 'json', '--node-name', NODE, '--kubeconfig', kubeconfig, '--log-level', 'warn'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp', ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0 && code !== 1) {
        reject(new Error(`routewarden check exited ${code}: ${err.trim()}`));
        return;
      }
      try {
        resolve(JSON.parse(out) as ReportJson);
      } catch {
        reject(new Error(`routewarden check printed no JSON report (exit ${code}): ${err.trim()}`));
      }
    });
  });
}

/**
 * After the churn: plants a known drift (an IPv4 and an IPv6 stray route,
 * and one Service whose VIP moves in the API without its route following:
 * one missing route, one orphan), waits until the running process shows it
 * (at most 60 s, then compares anyway), and compares the running process's
 * /drift with a one-shot `routewarden check` run now. The planted drift is
 * left in place; undoPlanted() removes it.
 */
export async function compareVerdict(
  api: ApiDouble,
  cluster: GeneratedCluster,
  state: ChurnState,
  check: { bin: string; kubeconfig: string; env: Readonly<Record<string, string>> },
): Promise<Verdict> {
  const planted4 = stray4(60_500);
  const planted6 = stray6(60_500);
  const v4Cluster = cluster.plans.filter((p) => p.stack === 'ipv4' && p.policy === 'Cluster' && !state.moved.has(p.index));
  const p = v4Cluster[v4Cluster.length - 1]!;
  const moved = vip4(p.index + 400_000);
  await ip([addLine(planted4), addLine(planted6)]);
  state.strays.add(planted4).add(planted6);
  api.upsert(serviceObject(p, [moved]));
  // The route does not follow: the churn's undo puts the Service back, which makes it right again.
  state.moved.set(p.index, p.ips[0]!);
  const show = (b: string): boolean =>
    shows(b, 'orphan', planted4) && shows(b, 'orphan', planted6) && shows(b, 'orphan', p.ips[0]!) && shows(b, 'missing', moved);
  let settled = false;
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    if (show((await get('/metrics')).body)) {
      settled = true;
      break;
    }
    await sleep(50);
  }
  await sleep(1000); // let anything still in flight land
  const before = JSON.parse((await get('/drift')).body) as ReportJson;
  const t = performance.now();
  const scratch = await checkOnce(check.bin, check.kubeconfig, check.env);
  const checkMs = since(t);
  const after = JSON.parse((await get('/drift')).body) as ReportJson;
  const differences = compareReports(after, scratch);
  if (canonical(verdictOf(before)) !== canonical(verdictOf(after))) differences.push('the running verdict changed while the one-shot check ran');
  const dests = (rows: readonly { destination: string }[]): string[] => rows.map((r) => r.destination);
  const plantedSeen =
    dests(scratch.orphans).includes(cidr(planted4)) &&
    dests(scratch.orphans).includes(cidr(planted6)) &&
    dests(scratch.orphans).includes(cidr(p.ips[0]!)) &&
    dests(scratch.missing).includes(cidr(moved));
  // The moved Service's route is still at its old VIP: undoChurn() moves the Service back.
  state.moved.set(p.index, p.ips[0]!);
  return { equal: differences.length === 0, differences, plantedSeen, settled, running: after.counts, scratch: scratch.counts, checkMs };
}

/** Why a verdict fails the benchmark, one line each; empty when it passes. */
export function verdictProblems(v: Verdict): string[] {
  return [
    ...v.differences,
    ...(v.settled ? [] : ['the running process never showed the planted drift on /metrics (60 s)']),
    ...(v.plantedSeen ? [] : ['the from-scratch check does not show the planted drift']),
  ];
}
