// The incremental engine against the from-scratch evaluate(): random
// sequences of API changes (Services created, updated, deleted, with type,
// annotation and VIP changes; EndpointSlices; Leases), kernel changes (owned
// and foreign routes added and deleted) and time steps. After every step the
// engine's report equals evaluate()'s on the same view, field for field, as
// /drift would show it; every other report is first read after the next
// update (its rows are built when read, from its own instant's state), and
// the rows of expected routes as the metrics read them (expectedRows()) equal
// those of evaluate()'s report. Seeded (fast-check): a failure prints the
// seed and the shrunk sequence that reproduces it.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type {
  ClusterChanges,
  ClusterSnapshot,
  EndpointSliceInfo,
  EndpointsInfo,
  EndpointsView,
  LeaseInfo,
  ServiceInfo,
  ThisNodeView,
} from '../../src/core/cluster.ts';
import { objectKey } from '../../src/core/cluster.ts';
import { IncrementalEngine } from '../../src/core/engine.ts';
import type { KernelView } from '../../src/core/engine.ts';
import type { KubeVipInstance, KubeVipModel } from '../../src/core/model.ts';
import { DEFAULT_TIMING } from '../../src/core/model.ts';
import { evaluate, expectedRows } from '../../src/core/report.ts';
import type { CheckInput, Report } from '../../src/core/report.ts';
import type { KubeVipContext } from '../../src/core/kubevip-context.ts';
import { RTN_LOCAL, routeProtocol } from '../../src/core/types.ts';
import type { KernelDump, KernelRoute } from '../../src/core/types.ts';
import { ep, kroute, model, NODE, NOW } from '../helpers/fixtures.ts';

/** Runs per property; CI keeps it bounded. FC_RUNS overrides for a longer local hunt, FC_SEED replays one. */
const RUNS = Number(process.env.FC_RUNS ?? 60);
const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 1414;

const NAMES = ['a', 'b', 'c'];
const IPS = ['10.0.0.1', '10.0.0.2', '10.0.0.0', 'fd00::1', 'fd00::1:5', '0.0.0.0', 'vip.example'];
const DESTS = ['10.0.0.1/32', '10.0.0.2/32', '10.0.0.0/24', '10.0.0.0/32', 'fd00::1/128', 'fd00::/64', '10.9.9.9/32'];
const DEVICES = ['lo', 'eth0', 'eth1'];
const INTERFACES = [
  { name: 'lo', ifindex: 1, up: true, addresses: ['127.0.0.1/8'] },
  { name: 'eth0', ifindex: 2, up: true, addresses: ['10.0.0.100/24'] },
  { name: 'eth1', ifindex: 3, up: false, addresses: ['fd00::100/64'] },
];

const annotations = fc.record(
  {
    'kube-vip.io/ignore': fc.constant('true'),
    'kube-vip.io/serviceInterface': fc.constantFrom('eth0', 'eth1', 'auto', 'missing0'),
    'kube-vip.io/leaseName': fc.constantFrom('shared', 'other/shared'),
    'kube-vip.io/loadbalancerIPs': fc.subarray(IPS, { minLength: 1, maxLength: 3 }).map((l) => l.join(',')),
    'kube-vip.io/ddns': fc.constantFrom('true', 'maybe'),
    'kube-vip.io/egress-ipv6': fc.constant('true'),
    'kube-vip.io/allow-reconcile-without-endpoints': fc.constant('true'),
    'kube-vip.io/forcePerServiceElection': fc.constant('true'),
  },
  { requiredKeys: [] },
);

const service = (name: string) =>
  fc
    .record({
      type: fc.constantFrom('LoadBalancer', 'LoadBalancer', 'LoadBalancer', 'LoadBalancer', 'ClusterIP'),
      annotations: fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 2, arbitrary: annotations }),
      ips: fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom<string[]>(['10.0.0.1'], ['10.0.0.2'], ['fd00::1'], ['10.0.0.1', 'fd00::1']) },
        { weight: 2, arbitrary: fc.subarray(IPS, { maxLength: 2 }) },
      ),
      policy: fc.constantFrom('Cluster' as const, 'Local' as const),
      cls: fc.constantFrom(undefined, undefined, undefined, undefined, 'other'),
    })
    .map((r): ServiceInfo => ({
      namespace: 'default',
      name,
      type: r.type,
      annotations: r.annotations as Record<string, string>,
      ingress: r.ips.map((ip) => ({ ip })),
      externalTrafficPolicy: r.policy,
      ipFamilies: [],
      ...(r.cls ? { loadBalancerClass: r.cls } : {}),
    }));

const sliceOf = (name: string, n: number) =>
  fc
    .record({
      addressType: fc.constantFrom('IPv4' as const, 'IPv4' as const, 'IPv4' as const, 'IPv6' as const, 'FQDN' as const),
      endpoints: fc.array(
        fc.record({
          node: fc.constantFrom(NODE, NODE, 'worker-2'),
          serving: fc.constantFrom(true, true, false),
          empty: fc.constantFrom(false, false, true),
        }),
        { maxLength: 2 },
      ),
    })
    .map((r): EndpointSliceInfo => ({
      namespace: 'default',
      name: `${name}-${n}`,
      serviceName: name,
      addressType: r.addressType,
      endpoints: r.endpoints.map((e) =>
        ep(e.empty ? '' : '10.1.0.1', { nodeName: e.node, conditions: { ready: e.serving, serving: e.serving, terminating: false } }),
      ),
    }));

const leaseNames = [
  ...NAMES.map((n) => `default/kubevip-${n}`),
  ...NAMES.map((n) => `default/kubevip-${n}`),
  'default/shared',
  'other/shared',
  'kube-system/plndr-svcs-lock',
];
const leaseOf = (key: string) =>
  fc
    .record({ holder: fc.constantFrom(NODE, 'worker-2', ''), ago: fc.integer({ min: 0, max: 40_000 }), duration: fc.constantFrom(15, 30) })
    .map((r): LeaseInfo => {
      const [namespace, name] = key.split('/') as [string, string];
      return { namespace, name, holderIdentity: r.holder, renewTime: -r.ago, leaseDurationSeconds: r.duration };
    });

type Step =
  | { kind: 'service'; name: string; svc: ServiceInfo | null }
  | { kind: 'slice'; name: string; n: number; slice: EndpointSliceInfo | null }
  | { kind: 'lease'; key: string; lease: LeaseInfo | null }
  | { kind: 'route'; route: KernelRoute; add: boolean }
  | { kind: 'time'; ms: number }
  /** This node's Node as its informer sees it (the control-plane VIP's families). */
  | { kind: 'node'; node: ThisNodeView }
  /** A Service's Endpoints object (enable_endpoints), or the Endpoints view's state. */
  | { kind: 'endpoints'; name: string; endpoints: EndpointsInfo | null }
  | { kind: 'endpoints-state'; state: EndpointsView['state'] }
  /** kube-vip catches up: the kernel gets the expected routes it lacks. */
  | { kind: 'follow' };

/** A populated start: every Service, a slice each, their leases, a few routes (applied before the first update). */
const initial: fc.Arbitrary<Step[]> = fc
  .tuple(
    fc.tuple(...NAMES.map((name) => service(name))),
    fc.tuple(...NAMES.map((name) => sliceOf(name, 0))),
    fc.tuple(...NAMES.map((name) => leaseOf(`default/kubevip-${name}`))),
    leaseOf('kube-system/plndr-svcs-lock'),
  )
  .map(([svcs, slices, leases, global]) => [
    ...svcs.map((svc): Step => ({ kind: 'service', name: svc.name, svc })),
    ...slices.map((slice): Step => ({ kind: 'slice', name: slice.serviceName, n: 0, slice })),
    ...leases.map((lease): Step => ({ kind: 'lease', key: `default/${lease.name}`, lease })),
    { kind: 'lease', key: 'kube-system/plndr-svcs-lock', lease: global },
  ]);

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.constantFrom(...NAMES).chain((name) => fc.option(service(name), { freq: 4 }).map((svc): Step => ({ kind: 'service', name, svc }))),
  fc
    .tuple(fc.constantFrom(...NAMES), fc.integer({ min: 0, max: 1 }))
    .chain(([name, n]) => fc.option(sliceOf(name, n), { freq: 4 }).map((slice): Step => ({ kind: 'slice', name, n, slice }))),
  fc.constantFrom(...leaseNames).chain((key) => fc.option(leaseOf(key), { freq: 4 }).map((lease): Step => ({ kind: 'lease', key, lease }))),
  fc
    .record({
      dest: fc.constantFrom(...DESTS),
      device: fc.constantFrom('eth0', ...DEVICES),
      local: fc.boolean(),
      protocol: fc.constantFrom(248, 248, 248, 3, 4),
      metric: fc.constantFrom(undefined, 1024, 2048),
      add: fc.boolean(),
    })
    .map((r): Step => ({
      kind: 'route',
      add: r.add,
      route: kroute(r.dest, {
        device: r.device,
        ifindex: DEVICES.indexOf(r.device) + 1,
        protocol: routeProtocol(r.protocol),
        ...(r.local ? { type: RTN_LOCAL } : {}),
        ...(r.metric !== undefined ? { metric: r.metric } : {}),
      }),
    })),
  fc.integer({ min: 0, max: 20_000 }).map((ms): Step => ({ kind: 'time', ms })),
  fc.integer({ min: 0, max: 9_000 }).map((ms): Step => ({ kind: 'time', ms })),
  fc.constant<Step>({ kind: 'follow' }),
  fc
    .record({
      state: fc.constantFrom('ok' as const, 'ok' as const, 'ok' as const, 'unsynced' as const, 'error' as const),
      ips: fc.option(fc.subarray(['10.0.0.100', 'fd00::100', '10.0.0.7']), { freq: 5 }),
    })
    .map((r): Step => ({ kind: 'node', node: { state: r.state, name: NODE, node: r.ips === null ? null : { name: NODE, internalIPs: r.ips } } })),
  fc
    .constantFrom(...NAMES)
    .chain((name) =>
      fc
        .option(
          fc.array(fc.record({ family: fc.constantFrom('ipv4' as const, 'ipv6' as const), nodeName: fc.constantFrom(NODE, 'worker-2') }), { maxLength: 2 }),
          { freq: 4 },
        )
        .map((addresses): Step => ({ kind: 'endpoints', name, endpoints: addresses === null ? null : { namespace: 'default', name, addresses } })),
    ),
  fc.constantFrom('ok' as const, 'ok' as const, 'unsynced' as const, 'error' as const).map((state): Step => ({ kind: 'endpoints-state', state })),
);

/** The world the steps act on: the API objects, the kernel table, the clock. */
class World {
  readonly services = new Map<string, ServiceInfo>();
  readonly slices = new Map<string, EndpointSliceInfo>();
  readonly leases = new Map<string, LeaseInfo>();
  owned: KernelRoute[] = [];
  foreign: KernelRoute[] = [];
  readonly endpoints = new Map<string, EndpointsInfo>();
  endpointsState: EndpointsView['state'] = 'ok';
  thisNode: ThisNodeView = { state: 'ok', name: NODE, node: { name: NODE, internalIPs: ['10.0.0.100'] } };
  now = NOW;
  changed = { services: new Set<string>(), slices: new Set<string>(), leases: new Set<string>(), endpoints: new Set<string>() };
  touched = new Set<string>();

  apply(s: Step): void {
    if (s.kind === 'follow') return;
    if (s.kind === 'time') this.now += s.ms;
    else if (s.kind === 'node') this.thisNode = s.node;
    else if (s.kind === 'endpoints-state') this.endpointsState = s.state;
    else if (s.kind === 'endpoints') {
      const key = objectKey('default', s.name);
      if (s.endpoints) this.endpoints.set(key, s.endpoints);
      else this.endpoints.delete(key);
      this.changed.endpoints.add(key);
    } else if (s.kind === 'service') {
      const key = objectKey('default', s.name);
      if (s.svc) this.services.set(key, s.svc);
      else this.services.delete(key);
      this.changed.services.add(key);
    } else if (s.kind === 'slice') {
      const key = `default/${s.name}-${s.n}`;
      if (s.slice) this.slices.set(key, s.slice);
      else this.slices.delete(key);
      this.changed.slices.add(objectKey('default', s.name));
    } else if (s.kind === 'lease') {
      // Lease times are relative to the clock when the change happens.
      if (s.lease) this.leases.set(s.key, { ...s.lease, renewTime: this.now + s.lease.renewTime! });
      else this.leases.delete(s.key);
      this.changed.leases.add(s.key);
    } else {
      const r = s.route;
      const list = r.protocol === 248 ? 'owned' : 'foreign';
      // The kernel's identity of a route: table, destination, tos, metric.
      const same = (x: KernelRoute) => x.destination === r.destination && (x.metric ?? 0) === (r.metric ?? 0);
      const held = [...this.owned, ...this.foreign].find(same);
      if (s.add && held) return;
      if (!s.add && !held) return;
      if (s.add) this[list] = [...this[list], r];
      else {
        this.owned = this.owned.filter((x) => !same(x));
        this.foreign = this.foreign.filter((x) => !same(x));
      }
      this.touched.add(r.destination);
    }
  }

  snapshot(): ClusterSnapshot {
    const slicesByService = new Map<string, EndpointSliceInfo[]>();
    for (const sl of [...this.slices.keys()].sort().map((k) => this.slices.get(k)!)) {
      const k = objectKey(sl.namespace, sl.serviceName);
      slicesByService.set(k, [...(slicesByService.get(k) ?? []), sl]);
    }
    return {
      services: new Map(this.services),
      slicesByService,
      leases: new Map(this.leases),
      thisNode: this.thisNode,
      // A new map at every read, as a source's copy would be: only the journal says what changed.
      endpoints: { state: this.endpointsState, byService: new Map(this.endpoints) },
    };
  }

  dump(): KernelDump {
    return { owned: [...this.owned], foreign: [...this.foreign] };
  }

  view(): KernelView {
    const dump = this.dump();
    return {
      at: (d) => ({ owned: dump.owned.filter((r) => r.destination === d), foreign: dump.foreign.filter((r) => r.destination === d) }),
      dump: () => dump,
    };
  }

  takeChanges(): { changed: ClusterChanges; touched: Set<string> } {
    const out = { changed: this.changed, touched: this.touched };
    this.changed = { services: new Set(), slices: new Set(), leases: new Set(), endpoints: new Set() };
    this.touched = new Set();
    return out;
  }
}

const models: [string, KubeVipModel][] = [
  ['no election', model({ interface: 'eth0' })],
  ['svc_election', model({ election: 'service', interface: 'eth0', leaseSkewSeconds: 1 })],
  ['global election, prefix 24/64, control plane', model({ election: 'global', vipSubnet: '24,64', controlPlane: { enabled: true, addresses: ['10.0.0.2'] } })],
  ['servicesInterface auto, local routes', model({ servicesInterface: 'auto', routeType: RTN_LOCAL, perServiceElectionOnDemand: true })],
  [
    'enable_endpoints: Endpoints objects decide',
    model({ interface: 'eth0', notJudged: [{ reason: 'endpoints-source', scope: 'endpoints', detail: 'enable_endpoints' }] }),
  ],
];

const instance = (id: string, m: KubeVipModel, startedAt: number | null): KubeVipInstance => ({
  id,
  model: m,
  timing: DEFAULT_TIMING,
  cleanRoutingTable: startedAt !== null,
  runtime: { ready: startedAt !== null, terminating: false, startedAt, restarts: 0 },
});

function run([init, steps]: [Step[], Step[]], m: KubeVipModel, kubeVip: KubeVipContext | undefined): void {
  const world = new World();
  const engine = new IncrementalEngine();
  for (const s of init) world.apply(s);
  let pending: { report: Report; want: unknown; step: number } | null = null;
  const scratch = (common: Pick<CheckInput, 'model' | 'now' | 'kubeVip'>) =>
    evaluate({
      ...common,
      kernel: { status: { state: 'ok' }, dump: world.dump(), interfaces: INTERFACES },
      kubernetes: { status: { state: 'ok' }, snapshot: world.snapshot() },
    });
  for (const [i, s] of [{ kind: 'time', ms: 0 } as Step, ...steps].entries()) {
    world.apply(s);
    if (s.kind === 'follow') {
      for (const miss of scratch({ model: m, now: world.now }).diff!.missing) {
        if (miss.reason === 'not-in-kernel')
          world.apply({
            kind: 'route',
            add: true,
            route: kroute(miss.destination, { device: miss.device, type: m.routeType, ifindex: DEVICES.indexOf(miss.device) + 1 }),
          });
      }
    }
    const { changed, touched } = world.takeChanges();
    const snapshot = world.snapshot();
    const common = { model: m, now: world.now, ...(kubeVip ? { kubeVip: { context: kubeVip, report: REPORT } } : {}) };
    const got = engine.update({
      ...common,
      kernel: { status: { state: 'ok' }, view: world.view(), touched: i === 0 ? 'all' : touched, interfaces: INTERFACES },
      kubernetes: { status: { state: 'ok' }, snapshot, changed: i === 0 ? 'all' : changed },
    });
    const want = scratch(common);
    // The rows of expected routes as the metrics read them (without building `routes`).
    const rows = expectedRows(got.report);
    const wantRows = expectedRows(want.report);
    expect(rows.count, `expected rows after step ${i}`).toBe(wantRows.count);
    for (const k of [0, 1, 2, 1000]) expect(json(rows.head(k)), `first ${k} expected rows after step ${i}`).toEqual(json(wantRows.head(k)));
    // Every other report is first read after the next update: what it shows is its own instant's.
    if (pending) expect(json(pending.report), `after step ${pending.step}, read a step later`).toEqual(pending.want);
    pending = null;
    if (i % 2 === 1) pending = { report: got.report, want: json(want.report), step: i };
    else expect(json(got.report), `after step ${i}: ${JSON.stringify(s)}`).toEqual(json(want.report));
  }
  if (pending) expect(json(pending.report), `after step ${pending.step}, read last`).toEqual(pending.want);
}

const SEQUENCE = fc.tuple(initial, fc.array(step, { minLength: 1, maxLength: 40, size: 'max' }));
const REPORT = { found: 1, message: 'test', instances: [], mismatches: [] } as never;
const json = (x: unknown) => JSON.parse(JSON.stringify(x)) as unknown;

describe('the incremental engine equals evaluate() after every step', () => {
  it.each(models)('%s', (_name, m) => {
    fc.assert(
      fc.property(SEQUENCE, (steps) => run(steps, m, undefined)),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('with kube-vip context: two instances, one starting (transient windows, limitations, notes)', () => {
    const ctx: KubeVipContext = {
      instances: [instance('kube-system/kube-vip-a', models[0]![1], NOW - 5_000), instance('kube-system/kube-vip-b', models[1]![1], null)],
      startGraceMs: 60_000,
    };
    fc.assert(
      fc.property(SEQUENCE, (steps) => run(steps, models[0]![1], ctx)),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('with kube-vip context: one instance with svc_election, started long ago', () => {
    const ctx: KubeVipContext = { instances: [instance('kube-system/kube-vip-a', models[1]![1], NOW - 3_600_000)], startGraceMs: 60_000 };
    fc.assert(
      fc.property(SEQUENCE, (steps) => run(steps, models[1]![1], ctx)),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
