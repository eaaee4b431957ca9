// `npm run bench`: issue #8's large-cluster benchmark. As root it builds
// everything itself in a throw-away network namespace: the API double with
// 10,000 LoadBalancer Services and their EndpointSlices over 500 nodes, kube-
// vip's table with 10,000 routes plus 1,000 foreign ones, then 50,000 routes
// for the kernel measures. It reports ratios against baselines measured side
// by side in the same run, prints a table and (full runs) writes it into
// docs/performance.md.
//
// Issue #14's churn (ten changes a second at 10,000 Services / routes: CPU per
// change, RSS, change → /metrics latency, the verdict against a from-scratch
// check; bench/churn.ts) and the 1k/10k/50k curve (bench/curve.ts) run last.
//
//   npm run bench                        full run (10 min of churn, then the curve)
//   npm run bench -- --quick             same scale, fewer repetitions, 1 min of churn
//   npm run bench -- --quick --smoke     tiny scale, proves the harness runs
//   npm run bench -- --only churn,curve  only those phases
//
// Flags: --services --routes --foreign --nodes --big-routes --reps
// --repair-reps --trials --churn-seconds --only --curve --curve-churn-seconds
// --json <file> --docs / --no-docs

import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { inOwnNetns } from '../scripts/kernel-netns.ts';
import { createApiDouble, type ApiDouble } from '../tools/apidouble/index.ts';
import { routeProtocol, tableId } from '../src/core/types.ts';
import { createNetlinkKernelTable } from '../src/kernel/netlink.ts';
import { buildShipped, deployedMallocEnv, deployedNodeOptions } from './build.ts';
import { addLine, filler4, filler6, foreign4, foreign6, generateCluster, seedApi, type GeneratedCluster } from './cluster.ts';
import { runWorker } from './worker.ts';
import { FOREIGN_PROTO, flushTable, ipBatch, measureKernelRead, PROTO, TABLE } from './kernel.ts';
import { gauge, get, inSync, measureDetection, measureScrape, rssMb, startCli, until } from './live.ts';
import { churn, compareVerdict, undoChurn, verdictProblems } from './churn.ts';
import { churnRows, curveMarkdown, curvePoint, curveRows, shippedEnv, type CurvePoint, type Shipped } from './curve.ts';
import { parseOptions, type BenchOptions } from './options.ts';
import { busiest, generatedSection, machine, textTable, writeDocs, type Row } from './report.ts';
import { median, p99, since, summarize } from './stats.ts';

const DOCS = fileURLToPath(new URL('../docs/performance.md', import.meta.url));

const log = (msg: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};

function kernelRows(rows: Row[], scale: string, times: { ours: number[]; ip: number[] }): void {
  const section = `1. Kernel read, ${scale}`;
  for (const [label, f] of [
    ['median', median],
    ['p99', p99],
  ] as const) {
    const value = f(times.ours);
    const baseline = f(times.ip);
    rows.push({
      section,
      metric: `dump() ${label} (n=${times.ours.length})`,
      value,
      unit: 'ms',
      baseline,
      baselineLabel: 'ip -j, both families',
      goal: 'ratio ≤ 1.0',
      met: value / baseline <= 1.0,
    });
  }
}

async function workerPhase(
  rows: Row[],
  details: Record<string, unknown>,
  opts: BenchOptions,
  kubeconfig: string,
  routes: number,
  { nodeOptions, mallocEnv }: { nodeOptions: string; mallocEnv: Record<string, string> },
): Promise<void> {
  // 2 and 4: in a process of its own, as the DaemonSet runs routewarden
  // (bench/worker.ts); before the CLI starts, so nothing else reacts to the
  // repairs' churn of the table.
  log(
    `2, 4. warm check (${opts.reps} checks) and repair (${opts.repairReps} per strategy) in a worker process with the DaemonSet's NODE_OPTIONS and malloc tunables`,
  );
  const worker = await runWorker(
    { kubeconfig, services: opts.services, routes: opts.routes, nodes: opts.nodes, reps: opts.reps, repairReps: opts.repairReps },
    { ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}), ...mallocEnv },
  );
  log(`worker synced in ${Math.round(worker.syncMs)} ms`);
  const check = worker.check;
  const s2 = `2. Warm check, ${opts.services} Services / ${routes} routes`;
  rows.push({
    section: s2,
    metric: `checker.check() median (n=${check.check.length})`,
    value: median(check.check),
    unit: 'ms',
    baseline: null,
    goal: '≤ 50 ms',
    met: median(check.check) <= 50,
  });
  rows.push({
    section: s2,
    metric: 'checker.check() p99',
    value: p99(check.check),
    unit: 'ms',
    baseline: null,
    goal: '≤ 50 ms',
    met: p99(check.check) <= 50,
  });
  rows.push({ section: s2, metric: '  of which evaluate() median', value: median(check.evaluate), unit: 'ms', baseline: null, goal: '', met: null });
  rows.push({ section: s2, metric: '  of which metrics update median', value: median(check.metrics), unit: 'ms', baseline: null, goal: '', met: null });
  rows.push({
    section: s2,
    metric: '  major garbage collections (mark-compact) while measured',
    value: worker.gc.major.count,
    unit: '',
    baseline: null,
    goal: '',
    met: null,
  });
  rows.push({ section: s2, metric: '  longest major collection pause', value: worker.gc.major.maxMs, unit: 'ms', baseline: null, goal: '', met: null });
  rows.push({
    section: s2,
    metric: '  minor collections (scavenges) while measured',
    value: worker.gc.minor.count,
    unit: '',
    baseline: null,
    goal: '',
    met: null,
  });
  details.check = { check: summarize(check.check), evaluate: summarize(check.evaluate), metrics: summarize(check.metrics), gc: worker.gc };
  for (const r of worker.repairs) {
    const s4 = `4. Repair, ${Math.floor(routes / 2)} missing + ${Math.floor(routes / 2)} orphans`;
    rows.push({
      section: s4,
      metric: `${r.strategy}: apply (${r.operations} ops)`,
      value: median(r.apply),
      unit: 'ms',
      baseline: median(r.ip),
      baselineLabel: 'ip -batch, same ops',
      goal: 'ratio ≤ 1.5',
      met: median(r.apply) / median(r.ip) <= 1.5,
    });
    rows.push({
      section: s4,
      metric: `${r.strategy}: whole repair incl. plan and read-back`,
      value: median(r.total),
      unit: 'ms',
      baseline: median(r.ip),
      baselineLabel: 'ip -batch, same ops',
      goal: '',
      met: null,
    });
    details[`repair-${r.strategy}`] = { operations: r.operations, total: summarize(r.total), apply: summarize(r.apply), ip: summarize(r.ip) };
  }
}

/**
 * 3, 5, 6, 7, 8 on the real CLI. Returns true when the churn's verdict
 * differed from the from-scratch check (the run then exits non-zero).
 */
async function livePhases(
  rows: Row[],
  details: Record<string, unknown>,
  notes: string[],
  opts: BenchOptions,
  api: ApiDouble,
  cluster: GeneratedCluster,
  shipped: Shipped,
): Promise<boolean> {
  const routes = cluster.placed.length;
  const kubeconfig = api.kubeconfig();
  let failed = false;
  log('starting `routewarden run` in the namespace');
  // RW_NODE_FLAGS: extra flags for this process's node (e.g. `--cpu-prof --cpu-prof-dir=DIR` to profile it under churn).
  // RW_CLI_ENV (parseCliEnv): environment settings to try instead of the DaemonSet's.
  const cli = startCli(shipped.bin, kubeconfig, shipped.nodeOptions, (process.env.RW_NODE_FLAGS ?? '').split(' ').filter(Boolean), {
    ...shipped.mallocEnv,
    ...triedEnv,
  });
  try {
    const t = performance.now();
    await until(inSync(routes), 180_000, 'routewarden run to sync and report the table in sync', cli);
    const syncMs = since(t);
    log(`routewarden run in sync after ${Math.round(syncMs)} ms`);
    await new Promise((r) => setTimeout(r, 2000));
    const pid = cli.child.pid!;
    const rssAfterSync = rssMb(pid);
    const heapAfterSync = gauge((await get('/metrics')).body, 'nodejs_heap_size_used_bytes') / 2 ** 20;
    api.resetStats();
    const s5 = `5. Memory of routewarden run (${opts.services} Services, ${routes} routes)`;
    rows.push({ section: s5, metric: 'RSS after sync', value: rssAfterSync, unit: 'MB', baseline: null, goal: '≤ 150 MB', met: rssAfterSync <= 150 });
    rows.push({ section: s5, metric: 'JS heap used after sync', value: heapAfterSync, unit: 'MB', baseline: null, goal: '', met: null });

    if (opts.only.has('detection')) {
      log(`3. detection latency, ${opts.trials} trials per kind`);
      const det = await measureDetection(api, cluster, opts.trials, cli);
      const s3 = '3. Detection latency (routewarden run, --interval 1h)';
      for (const [label, xs] of [
        ['ip route add → /metrics', det.routeAdd],
        ['ip route del → /metrics', det.routeDel],
        ['Service created → /metrics', det.serviceAdd],
        ['Service deleted → /metrics', det.serviceDelete],
      ] as const) {
        rows.push({
          section: s3,
          metric: `${label} median (n=${xs.length})`,
          value: median(xs),
          unit: 'ms',
          baseline: null,
          goal: '< 1000 ms',
          met: median(xs) < 1000,
        });
        rows.push({ section: s3, metric: `${label} p99`, value: p99(xs), unit: 'ms', baseline: null, goal: '< 1000 ms', met: p99(xs) < 1000 });
      }
      details.detection = Object.fromEntries(Object.entries(det).map(([k, v]) => [k, summarize(v as number[])]));
    }

    if (opts.only.has('scrape')) {
      log('7. /metrics with drifted routes');
      const s7 = '7. /metrics scrape';
      const driftedSmall = Math.min(100, routes);
      const scrape = await measureScrape(cluster, driftedSmall, opts.reps, cli);
      rows.push({
        section: s7,
        metric: `scrape latency median, ${scrape.drifted} drifted (n=${scrape.latency.length})`,
        value: median(scrape.latency),
        unit: 'ms',
        baseline: null,
        goal: '',
        met: null,
      });
      rows.push({ section: s7, metric: 'scrape latency p99', value: p99(scrape.latency), unit: 'ms', baseline: null, goal: '', met: null });
      rows.push({ section: s7, metric: 'scrape size', value: scrape.bytes / 1024, unit: 'KiB', baseline: null, goal: '', met: null });
      rows.push({
        section: s7,
        metric: `drifted_route_info series, ${scrape.drifted} drifted`,
        value: scrape.series,
        unit: '',
        baseline: null,
        goal: `= ${Math.min(100, scrape.drifted)}`,
        met: scrape.series === Math.min(100, scrape.drifted),
      });
      const big = await measureScrape(cluster, Math.min(1000, routes * 2), Math.max(5, Math.floor(opts.reps / 4)), cli);
      rows.push({
        section: s7,
        metric: `drifted_route_info series, ${big.drifted} drifted`,
        value: big.series,
        unit: '',
        baseline: null,
        goal: '≤ 100 (capped)',
        met: big.series <= 100 && big.series + big.dropped === big.drifted,
      });
      rows.push({
        section: s7,
        metric: `scrape latency median, ${big.drifted} drifted`,
        value: median(big.latency),
        unit: 'ms',
        baseline: median(scrape.latency),
        baselineLabel: `${scrape.drifted} drifted`,
        goal: '',
        met: null,
      });
      details.scrape = [scrape, big].map((s) => ({ drifted: s.drifted, bytes: s.bytes, series: s.series, dropped: s.dropped, latency: summarize(s.latency) }));
    }

    let statsBeforeVerdict: ReturnType<ApiDouble['stats']> | undefined;
    if (opts.only.has('churn')) {
      const before = busiest();
      notes.push(`Other load before the churn (top, over half a second): ${before.length ? before.map((b) => `\`${b}\``).join(', ') : 'none'}`);
      log(`8. churn for ${opts.churnSeconds} s, ten changes a second`);
      const { result: c, state } = await churn(api, cluster, opts.churnSeconds, cli);
      statsBeforeVerdict = api.stats();
      log(`8. ${c.operations} changes; the verdict against \`routewarden check\``);
      const verdict = await compareVerdict(api, cluster, state, { bin: shipped.bin, kubeconfig, env: shippedEnv(shipped) });
      if (verdictProblems(verdict).length > 0) {
        failed = true;
        log(`the running verdict DIFFERS from the from-scratch check:\n  ${verdictProblems(verdict).join('\n  ')}`);
      }
      undoChurn(api, cluster, state);
      await until(inSync(routes), 60_000, 'back in sync after churn', cli);
      const s8 = `8. Churn, ${opts.services} Services / ${routes} routes, ten changes a second for ${Math.round(c.seconds)} s`;
      rows.push(...churnRows(s8, c, verdict, { cpuPercent: 5, msPerChange: 5, rssMaxMb: 150, slopeMbPerMin: 0.5, p99Ms: 250 }, true));
      details.churn = { ...c, serviceLatency: summarize(c.serviceLatency), routeLatency: summarize(c.routeLatency) };
      details.verdict = verdict;
    }

    // Before the one-shot check of the verdict, whose own LISTs are not routewarden run's.
    const stats = statsBeforeVerdict ?? api.stats();
    const sum = (r: Readonly<Record<string, number>>): number => Object.values(r).reduce((a, b) => a + b, 0);
    const lists = sum(stats.requests.LIST);
    const watches = sum(stats.requests.WATCH);
    const s6 = '6. API load after the initial sync (detection + scrape + churn)';
    rows.push({ section: s6, metric: 'LIST requests', value: lists, unit: '', baseline: null, goal: '0 beyond watch re-establishment', met: lists === 0 });
    rows.push({ section: s6, metric: 'WATCH requests (re-establishments)', value: watches, unit: '', baseline: null, goal: '', met: null });
    rows.push({ section: s6, metric: 'initial sync of routewarden run', value: syncMs, unit: 'ms', baseline: null, goal: '', met: null });
    details.api = stats;
    const code = await cli.stop();
    if (code !== 0) notes.push(`routewarden run exited with code ${code}`);
  } finally {
    await cli.stop();
  }
  return failed;
}

async function bench(opts: BenchOptions): Promise<void> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const machineAtStart = machine();
  const rows: Row[] = [];
  const details: Record<string, unknown> = {};
  const notes: string[] = [];
  const bin = await buildShipped();
  const nodeOptions = deployedNodeOptions();
  const mallocEnv = deployedMallocEnv();
  log(`built the CLI as shipped: ${bin}; from the DaemonSet: NODE_OPTIONS ${JSON.stringify(nodeOptions)}, ${JSON.stringify(mallocEnv)}`);
  notes.push(
    `\`routewarden run\` is the shipped build (the dist/ bundle of \`npm run build\`) with the DaemonSet's NODE_OPTIONS ${JSON.stringify(nodeOptions)}${
      Object.keys(mallocEnv).length > 0
        ? `, ${Object.entries(mallocEnv)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}`
        : ''
    }`,
  );

  const only = opts.only;
  const live = only.has('detection') || only.has('scrape') || only.has('churn');
  let benchFailed = false;
  let slices = 0;
  let routes = 0;
  if (live || only.has('kernel') || only.has('worker')) {
    // --- the cluster, in the API double ---
    const cluster = generateCluster(opts.services, opts.routes, opts.nodes);
    routes = cluster.placed.length;
    log(`${opts.services} Services over ${cluster.nodes.length} nodes, ${routes} routes placed on this node, ${opts.foreign} foreign`);
    const api = createApiDouble();
    await api.listen({ port: 0, host: '127.0.0.1' });
    const kubeconfig = api.kubeconfig();
    let t = performance.now();
    slices = seedApi(api, cluster);
    log(`API double holds ${opts.services} Services and ${slices} EndpointSlices (${Math.round(since(t))} ms)`);

    // --- kube-vip's table ---
    flushTable();
    const foreign = Array.from({ length: opts.foreign }, (_, i) => (i % 2 === 0 ? foreign4(i) : foreign6(i)));
    t = performance.now();
    ipBatch([...cluster.placed.map((ip) => addLine(ip)), ...foreign.map((ip) => addLine(ip, FOREIGN_PROTO))]);
    log(`table ${TABLE}: ${routes} routes proto ${PROTO} and ${foreign.length} proto ${FOREIGN_PROTO} (${Math.round(since(t))} ms)`);

    const kernel = createNetlinkKernelTable({ table: tableId(TABLE), protocol: routeProtocol(PROTO) });
    try {
      if (only.has('kernel')) {
        // 1. kernel read
        log(`1. kernel read at ${routes} routes, ${opts.reps} interleaved repetitions`);
        const read = await measureKernelRead(kernel, opts.reps, routes);
        kernelRows(rows, `${routes} routes + ${foreign.length} foreign`, read);
        details.kernelRead = { routes, ours: summarize(read.ours), ip: summarize(read.ip) };
      }
      if (only.has('worker')) await workerPhase(rows, details, opts, kubeconfig, routes, { nodeOptions, mallocEnv });
      if (live) benchFailed = await livePhases(rows, details, notes, opts, api, cluster, { bin, nodeOptions, mallocEnv });

      // 1 again at the big scale
      if (only.has('kernel') && opts.bigRoutes > routes) {
        const extra = opts.bigRoutes - routes;
        log(`1. kernel read at ${opts.bigRoutes} routes`);
        ipBatch(Array.from({ length: extra }, (_, i) => addLine(i % 2 === 0 ? filler4(i) : filler6(i))));
        const bigReps = Math.max(5, Math.floor(opts.reps / 4));
        const bigRead = await measureKernelRead(kernel, bigReps, opts.bigRoutes);
        kernelRows(rows, `${opts.bigRoutes} routes + ${foreign.length} foreign`, bigRead);
        details.kernelReadBig = { routes: opts.bigRoutes, ours: summarize(bigRead.ours), ip: summarize(bigRead.ip) };
      }
    } finally {
      await kernel.close();
      flushTable();
      await api.close();
    }
  }

  // 9. the curve
  const curve: CurvePoint[] = [];
  if (only.has('curve')) {
    for (const n of opts.curve) {
      log(`9. curve at ${n} Services / ${n} routes, ${opts.curveChurnSeconds} s of churn`);
      let point: CurvePoint;
      try {
        point = await curvePoint(n, opts.nodes, opts.curveChurnSeconds, { bin, nodeOptions, mallocEnv }, log);
      } catch (err) {
        // A scale the CLI cannot handle (it exits, or never syncs) is a result: a NO row, the next scale still runs.
        const message = (err as Error).message.split('\n')[0]!;
        log(`curve ${n}: FAILED: ${(err as Error).message.slice(0, 2000)}`);
        rows.push({
          section: `9. Curve, ${n} Services / ${n} routes`,
          metric: `failed: ${message}`,
          value: NaN,
          unit: '',
          baseline: null,
          goal: 'runs',
          met: false,
        });
        benchFailed = true;
        continue;
      }
      curve.push(point);
      if (verdictProblems(point.verdict).length > 0) {
        benchFailed = true;
        log(`curve ${n}: the running verdict DIFFERS from the from-scratch check:\n  ${verdictProblems(point.verdict).join('\n  ')}`);
      }
    }
    rows.push(...curveRows(curve));
    details.curve = curve.map((p) => ({
      ...p,
      churn: { ...p.churn, serviceLatency: summarize(p.churn.serviceLatency), routeLatency: summarize(p.churn.routeLatency), samples: p.churn.samples.length },
    }));
  }

  const order = ['1.', '2.', '3.', '4.', '5.', '6.', '7.', '8.', '9.'];
  rows.sort((a, b) => order.findIndex((o) => a.section.startsWith(o)) - order.findIndex((o) => b.section.startsWith(o)));
  const durationSeconds = since(started) / 1000;
  const command = ['npm run bench', ...(opts.argv.length ? ['--', ...opts.argv] : [])].join(' ');
  const phases = [...opts.only].join(', ');
  const scale = [
    ...(routes > 0
      ? [
          `${opts.services} LoadBalancer Services (60% IPv4, 20% IPv6, 20% dual-stack; Cluster and Local) with ${slices} EndpointSlices over ${opts.nodes} nodes; ${routes} routes in table ${TABLE} proto ${PROTO} plus ${opts.foreign} foreign${opts.only.has('kernel') ? `; kernel read repeated at ${opts.bigRoutes} routes` : ''}`,
        ]
      : []),
    ...(opts.only.has('curve') ? [`curve at ${opts.curve.join(', ')} Services (= routes, no foreign routes), ${opts.curveChurnSeconds} s of churn each`] : []),
  ].join('; ');
  notes.push(`Phases: ${phases}`);
  if (opts.only.has('churn') || opts.only.has('curve'))
    notes.push(
      "Churn (sections 8 and 9): ten changes a second on a fixed schedule, in rotation: a Service's VIP moves and kube-vip's route follows, an EndpointSlice's endpoints move, a stray route comes (and goes the next time round), a Service is created with its route (and deleted with it the next time round). " +
        "Time is cut into windows (10 s in long runs), alternately quiet and probing. CPU is routewarden's utime + stime (/proc/<pid>/stat) over the quiet windows only, where nothing polls /metrics but the memory sampler (one scrape every 10 s); " +
        "in the probing windows every tenth change is a probe: a Service's VIP moves in the API (clock until /metrics shows the new VIP missing), then its route follows (clock until neither address is drifted); clocks start before the change, scrapes are 5 ms apart: upper bounds. " +
        'RSS is sampled every 2 s; max and slope after the warm-up (a quarter of the run). ' +
        "Verdict: a known drift is planted (two stray routes, one VIP moved without its route), and once the running process shows it its /drift is compared with `routewarden check --output json` run in a fresh process (counts, every orphan, missing, unjudged and excluded row, every route's verdict)",
    );
  const info = {
    command,
    startedAt,
    durationSeconds,
    machineAtStart,
    loadAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100),
    busiestAtEnd: machine().busiest,
    scale,
    notes,
  };

  process.stdout.write(`\n${textTable(rows)}\n\n${curve.length ? `Cost per change:\n${curveMarkdown(curve)}\n\n` : ''}`);
  writeFileSync(opts.json, JSON.stringify({ info, rows, details }, null, 2));
  log(`results: ${opts.json}`);
  if (opts.docs) {
    writeDocs(DOCS, generatedSection(rows, info, curve.length ? curveMarkdown(curve) : undefined));
    log(`wrote the table into ${DOCS}`);
  }
  if (benchFailed) {
    process.stderr.write(
      'npm run bench: FAILED: a verdict after churn differs from the from-scratch check, or a curve scale did not run (see the rows marked NO)\n',
    );
    process.exitCode = 1;
  }
}

/** RW_CLI_ENV: `NAME=value ...` over the DaemonSet's environment for `routewarden run` (e.g. `MALLOC_ARENA_MAX=1`), to try another setting. */
function parseCliEnv(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of (raw ?? '').split(' ').filter(Boolean)) {
    const eq = kv.indexOf('=');
    if (eq < 1) throw new Error(`RW_CLI_ENV: ${JSON.stringify(kv)} is not NAME=value`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

let opts: BenchOptions;
let triedEnv: Record<string, string> = {};
try {
  opts = parseOptions(process.argv.slice(2));
  triedEnv = parseCliEnv(process.env.RW_CLI_ENV);
} catch (err) {
  // Bad flags: one line and exit 2, before anything is created.
  process.stderr.write(`npm run bench: ${(err as Error).message.split('\n')[0]}\n`);
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  process.stderr.write('npm run bench needs root: it creates a network namespace and routes in it (sudo npm run bench)\n');
  process.exit(2);
}
await inOwnNetns(import.meta.url, () => bench(opts));
