// The cost of one change, in process: the generated cluster in a real
// ClusterIndex (with its change journal), the placed routes in the in-memory
// kernel (with its route notifications), the real checker and metrics. Then
// changes one at a time, as churn makes them: a Service's VIP moves and its
// route follows, an EndpointSlice changes, a stray route comes and goes; one
// check after each. Timed per change: wall time and process CPU of the
// check, with the checker incremental (the `run` service) and, for
// comparison, from scratch (as every check was before the incremental
// engine). At the end a full check must correct nothing.
//
//   node --expose-gc bench/engine-probe.ts [--services 10000] [--routes 10000] [--changes 300] [--mode both|incremental|scratch]

import { parseArgs } from 'node:util';
import { createChecker } from '../src/app/checker.ts';
import type { ClusterSource } from '../src/core/ports.ts';
import { routeProtocol, tableId } from '../src/core/types.ts';
import { createMemoryKernel } from '../src/kernel/memory.ts';
import { ClusterIndex } from '../src/kube/cluster-index.ts';
import { silentLogger } from '../src/surface/logger.ts';
import { createMetrics, metricsObserver } from '../src/surface/metrics.ts';
import { generateCluster, serviceObject, sliceObjects, stray4, vip4, kernelRoute } from './cluster.ts';
import { benchConfig } from './inprocess.ts';
import { median, p99 } from './stats.ts';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '10000' },
    routes: { type: 'string', default: '10000' },
    changes: { type: 'string', default: '300' },
    mode: { type: 'string', default: 'both' },
  },
});

/** Heap in use after a collection (run with --expose-gc), else as it is. */
const heapMB = (): string => {
  (globalThis as { gc?: () => void }).gc?.();
  return (process.memoryUsage().heapUsed / 2 ** 20).toFixed(0);
};

async function probe(incremental: boolean): Promise<void> {
  const cluster = generateCluster(Number(values.services), Number(values.routes), 500);
  const index = new ClusterIndex();
  for (const p of cluster.plans) {
    index.upsert('services', serviceObject(p) as never);
    for (const o of sliceObjects(p, cluster.nodes)) index.upsert('endpointslices', o as never);
  }
  const source: ClusterSource = {
    start: async () => {},
    stop: async () => {},
    status: () => ({ state: 'ok' }),
    snapshot: () => index.snapshot(),
    live: () => index.live(),
    changes: (c) => index.changesSince(c),
    onChange: () => () => {},
  };
  const kernel = createMemoryKernel().open(tableId(198), routeProtocol(248));
  for (const ip of cluster.placed) kernel.inject(kernelRoute(ip));
  const corrections = { kernel: 0, expected: 0 };
  const metrics = createMetrics({ version: 'probe' });
  const observer = { ...metricsObserver(metrics), resyncCorrected: (side: 'kernel' | 'expected', n: number) => void (corrections[side] += n) };
  const checker = createChecker({ kernel, cluster: source, model: benchConfig().model, observer, logger: silentLogger(), incremental, confirmDelayMs: 0 });
  kernel.subscribe((c) => checker.kernelChanged?.(c));
  const first = await checker.check({ full: true });
  if (!first.report.inSync) throw new Error(`not in sync at start: ${JSON.stringify(first.report.counts)}`);

  const wall: number[] = [];
  const cpu: number[] = [];
  const n = Number(values.changes);
  const moved = new Map<number, string>();
  for (let i = 0; i < n; i++) {
    const kind = i % 3;
    const p = cluster.plans[(i * 7919) % cluster.plans.length]!;
    if (kind === 0 && p.stack === 'ipv4' && cluster.placed.includes(p.ips[0]!)) {
      // The VIP moves, and kube-vip's route follows.
      const old = moved.get(p.index) ?? p.ips[0]!;
      const next = vip4(50_000 + i);
      moved.set(p.index, next);
      index.upsert('services', serviceObject(p, [next]) as never);
      kernel.remove({ destination: kernelRoute(old).destination });
      kernel.inject(kernelRoute(next));
    } else if (kind === 1) {
      for (const o of sliceObjects(p, cluster.nodes, 1 + i)) index.upsert('endpointslices', o as never);
    } else {
      const stray = kernelRoute(stray4(i % 50));
      if (kernel.remove({ destination: stray.destination }) === 0) kernel.inject(stray);
    }
    await new Promise((r) => setImmediate(r)); // the notification arrives
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await checker.check();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const last = await checker.check({ full: true });
  const label = incremental ? 'incremental' : 'from scratch';
  console.log(
    `${label.padEnd(12)} ${cluster.plans.length} Services, ${last.report.counts.kernel} routes: per change wall median ${median(wall).toFixed(2)} ms p99 ${p99(wall).toFixed(2)} ms, CPU median ${median(cpu).toFixed(2)} ms p99 ${p99(cpu).toFixed(2)} ms; final full check corrections kernel ${corrections.kernel} expected ${corrections.expected}; heap after GC ${heapMB()} MB`,
  );
  if (corrections.kernel + corrections.expected > 0) process.exitCode = 1;
}

if (values.mode !== 'incremental') await probe(false);
if (values.mode !== 'scratch') await probe(true);
