// The pure part of a check at scale, without a kernel or an API: the same
// generated cluster translated into a snapshot, and a kernel dump holding the
// placed routes plus the foreign ones. For profiling (node --cpu-prof
// bench/core-profile.ts) and quick before/after comparisons of the core.
//
//   node bench/core-profile.ts [--services 10000] [--routes 10000] [--reps 50]

import { parseArgs } from 'node:util';
import { objectKey, type ClusterSnapshot, type EndpointSliceInfo, type ServiceInfo } from '../src/core/cluster.ts';
import { diff } from '../src/core/diff.ts';
import { expectedRoutes } from '../src/core/expected.ts';
import { EvaluationCache, evaluate } from '../src/core/report.ts';
import { DriftTracker } from '../src/core/tracker.ts';
import type { KernelDump } from '../src/core/types.ts';
import { toEndpointSliceInfo, toServiceInfo } from '../src/kube/translate.ts';
import { createMetrics, recordCheck } from '../src/surface/metrics.ts';
import { foreign4, foreign6, generateCluster, serviceObject, sliceObjects, kernelRoute } from './cluster.ts';
import { benchConfig } from './inprocess.ts';
import { median, p99, since } from './stats.ts';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '10000' },
    routes: { type: 'string', default: '10000' },
    foreign: { type: 'string', default: '1000' },
    reps: { type: 'string', default: '50' },
  },
});
const cluster = generateCluster(Number(values.services), Number(values.routes), 500);

const services = new Map<string, ServiceInfo>();
const slicesByService = new Map<string, EndpointSliceInfo[]>();
for (const p of cluster.plans) {
  const s = toServiceInfo(serviceObject(p) as never)!;
  services.set(objectKey(s.namespace, s.name), s);
  for (const o of sliceObjects(p, cluster.nodes)) {
    const sl = toEndpointSliceInfo(o as never)!;
    const k = objectKey(sl.namespace, sl.serviceName);
    slicesByService.set(k, [...(slicesByService.get(k) ?? []), sl]);
  }
}
const snapshot: ClusterSnapshot = { services, slicesByService, leases: new Map() };
const dump: KernelDump = {
  owned: cluster.placed.map((ip) => kernelRoute(ip, 248)),
  foreign: Array.from({ length: Number(values.foreign) }, (_, i) => kernelRoute(i % 2 === 0 ? foreign4(i) : foreign6(i), 4)),
};
const interfaces = [{ name: 'lo', ifindex: 1, up: true, addresses: ['127.0.0.1/8', '::1/128'] }];
const model = benchConfig().model;
const metrics = createMetrics({ version: 'bench' });
const tracker = new DriftTracker();
/** What the checker keeps between checks. */
const cache = new EvaluationCache();

const times: Record<string, number[]> = { expectedRoutes: [], 'after 1 change': [], diff: [], evaluate: [], tracker: [], recordCheck: [] };
const time = <T>(name: string, fn: () => T): T => {
  const t = performance.now();
  const r = fn();
  times[name]!.push(since(t));
  return r;
};
for (let i = 0; i < Number(values.reps); i++) {
  const exp = time('expectedRoutes', () => expectedRoutes({ snapshot, model, interfaces, now: Date.now() }));
  time('diff', () => diff(exp, dump, interfaces));
  // One Service changed: a new snapshot, as the cluster index hands out, with one new object.
  const [firstKey, first] = services.entries().next().value!;
  const changed: ClusterSnapshot = { ...snapshot, services: new Map([...services, [firstKey, { ...first }]]) };
  time('after 1 change', () => cache.expected.expectedRoutes({ snapshot: changed, model, interfaces, now: Date.now() }));
  const result = time('evaluate', () =>
    evaluate({ model, now: Date.now(), kernel: { status: { state: 'ok' }, dump, interfaces }, kubernetes: { status: { state: 'ok' }, snapshot } }, cache),
  );
  if (!result.report.inSync) throw new Error(`not in sync: ${JSON.stringify(result.report.counts)}`);
  const { entered } = time('tracker', () => tracker.update(result.report, Date.now()));
  time('recordCheck', () => recordCheck(metrics, result.report, entered, 0.01));
}
for (const [name, xs] of Object.entries(times)) {
  console.log(`${name.padEnd(16)} median ${median(xs).toFixed(2)} ms  p99 ${p99(xs).toFixed(2)} ms`);
}
