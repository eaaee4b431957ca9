import { describe, expect, it } from 'vitest';
import type { InterfaceInfo, LeaseInfo, ServiceInfo, EndpointSliceInfo } from '../../src/core/cluster.ts';
import { EvaluationCache, evaluate } from '../../src/core/report.ts';
import type { KubeVipModel } from '../../src/core/model.ts';
import { routeProtocol, routeType } from '../../src/core/types.ts';
import type { KernelRoute } from '../../src/core/types.ts';
import { ep, kroute, lease, model, NODE, NOW, slice, snapshot, svc } from '../helpers/fixtures.ts';

interface Case {
  name: string;
  services: ServiceInfo[];
  slices?: EndpointSliceInfo[];
  leases?: LeaseInfo[];
  model?: Partial<KubeVipModel>;
  owned?: KernelRoute[];
  foreign?: KernelRoute[];
  interfaces?: InterfaceInfo[];
  /** "destination reason" */
  orphans: string[];
  missing: string[];
}

const v4 = (s: string, node = 'worker-2') => slice(s, 'IPv4', [ep('10.244.1.5', { nodeName: node })]);
const v6 = (s: string) => slice(s, 'IPv6', [ep('fd00:244::5')]);

const cases: Case[] = [
  {
    name: 'the kernel holds exactly the expected route => in sync',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    owned: [kroute('10.0.0.5/32')],
    orphans: [],
    missing: [],
  },
  {
    name: 'seed story (#762): Service recreated with a new IP => old route orphan, new route missing',
    services: [svc('web', { ip: '10.0.0.6' })],
    slices: [v4('web')],
    owned: [kroute('10.0.0.5/32')],
    orphans: ['10.0.0.5/32 no-service'],
    missing: ['10.0.0.6/32 not-in-kernel'],
  },
  {
    name: 'a route whose Service is ignored => orphan because the Service is filtered (E15)',
    services: [svc('web', { ip: '10.0.0.5', annotations: { 'kube-vip.io/ignore': 'true' } })],
    slices: [v4('web')],
    owned: [kroute('10.0.0.5/32')],
    orphans: ['10.0.0.5/32 service-filtered'],
    missing: [],
  },
  {
    name: 'svc_election, lease held elsewhere => route is orphan, not placed here',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    leases: [lease('default', 'kubevip-web', 'worker-2')],
    model: { election: 'service' },
    owned: [kroute('10.0.0.5/32')],
    orphans: ['10.0.0.5/32 not-placed-here'],
    missing: [],
  },
  {
    name: 'Local policy without a local endpoint => route is orphan, not placed here',
    services: [svc('web', { ip: '10.0.0.5', externalTrafficPolicy: 'Local' })],
    slices: [v4('web', 'worker-2')],
    owned: [kroute('10.0.0.5/32')],
    orphans: ['10.0.0.5/32 not-placed-here'],
    missing: [],
  },
  {
    name: 'the route on the wrong device => orphan and missing, both wrong-device',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    owned: [kroute('10.0.0.5/32', { device: 'eth0', ifindex: 2 })],
    orphans: ['10.0.0.5/32 wrong-device'],
    missing: ['10.0.0.5/32 wrong-device'],
  },
  {
    name: 'the route with another type => orphan and missing, both wrong-type',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    owned: [kroute('10.0.0.5/32', { type: routeType(2) })],
    orphans: ['10.0.0.5/32 wrong-type'],
    missing: ['10.0.0.5/32 wrong-type'],
  },
  {
    name: 'metric and realm differences are not drift (E23)',
    services: [svc('web', { ip: '10.0.0.5' }), svc('web6', { ip: 'fd00::5' })],
    slices: [v4('web'), v6('web6')],
    owned: [kroute('10.0.0.5/32', { realm: 2 }), kroute('fd00::5/128', { metric: 1024 })],
    orphans: [],
    missing: [],
  },
  {
    name: 'a foreign route at an expected destination => missing as conflicting-route, never an orphan',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    foreign: [kroute('10.0.0.5/32', { protocol: routeProtocol(3) })],
    orphans: [],
    missing: ['10.0.0.5/32 conflicting-route'],
  },
  {
    name: 'a foreign route elsewhere in the table is neither orphan nor missing',
    services: [],
    foreign: [kroute('10.9.0.1/32', { protocol: routeProtocol(4) })],
    orphans: [],
    missing: [],
  },
  {
    name: 'the device is down => missing because the interface is down (E20)',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    model: { servicesInterface: 'eth0' },
    interfaces: [
      { name: 'lo', ifindex: 1, up: true, addresses: [] },
      { name: 'eth0', ifindex: 2, up: false, addresses: [] },
    ],
    orphans: [],
    missing: ['10.0.0.5/32 interface-down'],
  },
  {
    name: 'dual-stack: both families drift independently',
    services: [svc('web', { ip: ['10.0.0.5', 'fd00::5'] })],
    slices: [v4('web'), v6('web')],
    owned: [kroute('10.0.0.5/32'), kroute('fd00::6/128')],
    orphans: ['fd00::6/128 no-service'],
    missing: ['fd00::5/128 not-in-kernel'],
  },
  {
    name: 'a shared IP on two devices: the kernel route on either device is fine',
    services: [svc('a', { ip: '10.0.0.5', annotations: { 'kube-vip.io/serviceInterface': 'eth0' } }), svc('b', { ip: '10.0.0.5' })],
    slices: [v4('a'), v4('b')],
    owned: [kroute('10.0.0.5/32', { device: 'eth0', ifindex: 2 })],
    orphans: [],
    missing: [],
  },
  {
    name: 'an IPv6 /64 VIP matches the masked prefix the kernel stores',
    services: [svc('web', { ip: 'fd00:1::5' })],
    slices: [v6('web')],
    model: { vipSubnet: '32,64' },
    owned: [kroute('fd00:1::/64')],
    orphans: [],
    missing: [],
  },
  {
    name: 'the CP route is justified on a node with cp_enable',
    services: [],
    model: { controlPlane: { enabled: true, addresses: ['192.168.10.100'] } },
    owned: [kroute('192.168.10.100/32', { realm: 1 })],
    orphans: [],
    missing: [],
  },
];

describe('diff', () => {
  it.each(cases)('$name', (c) => {
    const { report } = evaluate({
      model: model(c.model),
      now: NOW,
      kernel: { status: { state: 'ok' }, dump: { owned: c.owned ?? [], foreign: c.foreign ?? [] }, interfaces: c.interfaces ?? null },
      kubernetes: { status: { state: 'ok' }, snapshot: snapshot(c.services, c.slices ?? [], c.leases ?? []) },
    });
    expect(report.orphans.map((o) => `${o.destination} ${o.reason}`)).toEqual(c.orphans);
    expect(report.missing.map((m) => `${m.destination} ${m.reason}`)).toEqual(c.missing);
    expect(report.inSync).toBe(c.orphans.length === 0 && c.missing.length === 0);
    expect(report.counts.orphan).toBe(c.orphans.length);
    expect(report.counts.missing).toBe(c.missing.length);
  });
});

describe('evaluate', () => {
  const seed = {
    model: model(),
    now: NOW,
    kernel: {
      status: { state: 'ok' as const },
      dump: { owned: [kroute('10.0.0.5/32')], foreign: [kroute('10.9.0.1/32', { protocol: routeProtocol(4) })] },
      interfaces: null,
    },
    kubernetes: { status: { state: 'ok' as const }, snapshot: snapshot([svc('web', { ip: '10.0.0.6' })], [v4('web')]) },
  };

  it('the report carries the contract fields of docs/report.md', () => {
    const { report } = evaluate(seed);
    expect(report).toMatchObject({
      node: NODE,
      table: 198,
      protocol: 248,
      checkedAt: '2026-11-26T12:00:00.000Z',
      inSync: false,
      sources: { kernel: 'ok', kubernetes: 'ok' },
      counts: { expected: 1, kernel: 1, orphan: 1, missing: 1, foreign: 1 },
      orphans: [{ destination: '10.0.0.5/32', family: 'ipv4', device: 'lo', reason: 'no-service' }],
      missing: [{ destination: '10.0.0.6/32', family: 'ipv4', device: 'lo', services: ['default/web'], reason: 'not-in-kernel' }],
    });
  });

  it('an unsynced Kubernetes view reports no drift at all, whatever the kernel holds', () => {
    const { report, diff } = evaluate({ ...seed, kubernetes: { status: { state: 'unsynced', message: 'informers not synced' }, snapshot: null } });
    expect(diff).toBeNull();
    expect(report.inSync).toBe(false);
    expect(report.sources.kubernetes).toBe('unsynced');
    expect(report.orphans).toEqual([]);
    expect(report.missing).toEqual([]);
    expect(report.counts.kernel).toBe(1);
    expect(report.errors.kubernetes).toBe('informers not synced');
  });

  it('a failed kernel read reports no drift and says why', () => {
    const { report } = evaluate({ ...seed, kernel: { status: { state: 'error', message: 'dumping routes: EPERM' }, dump: null, interfaces: null } });
    expect(report.sources.kernel).toBe('error');
    expect(report.orphans).toEqual([]);
    expect(report.missing).toEqual([]);
    expect(report.counts.expected).toBe(1);
  });

  it('rows list every expected and kernel route with its verdict', () => {
    const { report } = evaluate(seed);
    expect(report.routes.map((r) => `${r.destination} ${r.verdict}`)).toEqual(['10.0.0.5/32 orphan', '10.0.0.6/32 missing']);
  });

  const synced = {
    ...seed,
    kernel: { ...seed.kernel, dump: { owned: [kroute('fd00::5/128'), kroute('10.0.0.7/32'), kroute('10.0.0.6/32')], foreign: [] } },
    kubernetes: {
      status: { state: 'ok' as const },
      snapshot: snapshot([svc('web', { ip: '10.0.0.6' }), svc('db', { ip: ['10.0.0.7', 'fd00::5'] })], [v4('web'), v4('db'), v6('db')]),
    },
  };

  it('in sync: one ok row per expected route, sorted, each with its device and Services', () => {
    const { report } = evaluate(synced);
    expect(report.inSync).toBe(true);
    expect(report.routes.map((r) => `${r.destination} ${r.verdict} ${r.device} ${r.services.join(',')}`)).toEqual([
      '10.0.0.6/32 ok lo default/web',
      '10.0.0.7/32 ok lo default/db',
      'fd00::5/128 ok lo default/db',
    ]);
  });

  it('in sync with the same API view: the rows are shared between reports with one cache, not built again', () => {
    const cache = new EvaluationCache();
    const first = evaluate(synced, cache).report.routes;
    const again = evaluate({ ...synced, kernel: { ...synced.kernel, dump: { owned: [...synced.kernel.dump.owned].reverse(), foreign: [] } } }, cache).report
      .routes;
    expect(again).toBe(first);
    // Nothing is shared outside the owner's cache.
    expect(evaluate(synced).report.routes).not.toBe(first);
    expect(Object.isFrozen(again) && Object.isFrozen(again[0])).toBe(true);
  });

  it('in sync on the second of two devices: the row shows the device the kernel route is on', () => {
    const shared = snapshot(
      [svc('a', { ip: '10.0.0.5', annotations: { 'kube-vip.io/serviceInterface': 'eth0' } }), svc('b', { ip: '10.0.0.5' })],
      [v4('a'), v4('b')],
    );
    const onEth0 = evaluate({
      ...seed,
      kernel: { ...seed.kernel, dump: { owned: [kroute('10.0.0.5/32', { device: 'eth0', ifindex: 2 })], foreign: [] } },
      kubernetes: { status: { state: 'ok' }, snapshot: shared },
    });
    const onLo = evaluate({
      ...seed,
      kernel: { ...seed.kernel, dump: { owned: [kroute('10.0.0.5/32')], foreign: [] } },
      kubernetes: { status: { state: 'ok' }, snapshot: shared },
    });
    expect([onEth0.report.inSync, onLo.report.inSync]).toEqual([true, true]);
    expect(onEth0.report.routes.map((r) => r.device)).toEqual(['eth0']);
    expect(onLo.report.routes.map((r) => r.device)).toEqual(['lo']);
  });
});
