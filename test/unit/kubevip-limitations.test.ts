// Known kube-vip limitations (E11, E12, E15, E16, E17, legacy proto boot):
// still drift, but reported with the limitation that explains it.

import { describe, expect, it } from 'vitest';
import type { EndpointSliceInfo, EndpointsInfo, LeaseInfo, ServiceInfo } from '../../src/core/cluster.ts';
import type { KubeVipBehaviour, KubeVipInstance, KubeVipModel } from '../../src/core/model.ts';
import { DEFAULT_TIMING } from '../../src/core/model.ts';
import { evaluate } from '../../src/core/report.ts';
import type { KernelRoute } from '../../src/core/types.ts';
import { routeProtocol, routeType } from '../../src/core/types.ts';
import { ep, kroute, lease, model, NODE, NOW, slice, snapshot, svc } from '../helpers/fixtures.ts';

interface Case {
  name: string;
  services: ServiceInfo[];
  slices?: EndpointSliceInfo[];
  leases?: LeaseInfo[];
  model?: Partial<KubeVipModel>;
  owned?: KernelRoute[];
  foreign?: KernelRoute[];
  /** "kind destination reason class limitation-id" of every drifted route */
  drift: string[];
  /** ids of the report-level limitation notes */
  notes?: string[];
  /** substring of a detail */
  detail?: string;
  /** the instance's version facts (src/kubevip/version.ts) */
  behaviour?: KubeVipBehaviour;
  /** Endpoints objects routewarden has listed (kube-vip reads them with enable_endpoints, D8) */
  endpoints?: EndpointsInfo[];
  /** vip_cleanroutingtable on the instance */
  clean?: boolean;
  /** a second kube-vip process on the node, sharing the table (E25) */
  second?: { model: Partial<KubeVipModel>; clean: boolean; startedAgoMs?: number };
}

const v4 = (s: string, node = 'worker-2') => slice(s, 'IPv4', [ep('10.244.1.5', { nodeName: node })]);

const cases: Case[] = [
  {
    name: 'a route kept after kube-vip.io/ignore was added => orphan, E15, and the detail names the ignore filter',
    services: [svc('web', { ip: '10.0.0.5', annotations: { 'kube-vip.io/ignore': 'true' } })],
    slices: [v4('web')],
    owned: [kroute('10.0.0.5/32')],
    drift: ['orphan 10.0.0.5/32 service-filtered kube-vip-limitation E15'],
    detail: 'kube-vip.io/ignore',
  },
  {
    name: 'a route kept after the loadBalancerClass changed => orphan, E15 (class filter)',
    services: [svc('web', { ip: '10.0.0.5', loadBalancerClass: 'metallb' })],
    slices: [v4('web')],
    owned: [kroute('10.0.0.5/32')],
    drift: ['orphan 10.0.0.5/32 service-filtered kube-vip-limitation E15'],
    detail: 'class filter',
  },
  {
    name: 'a route kept after the type changed to ClusterIP => plain drift: kube-vip tears a type change down at bee5cfe (TestAddOrModifyStopsTrackedServiceWhenTypeChanges)',
    services: [svc('web', { ip: '10.0.0.5', type: 'ClusterIP' })],
    slices: [v4('web')],
    owned: [kroute('10.0.0.5/32')],
    drift: ['orphan 10.0.0.5/32 service-filtered drift -'],
    detail: 'type filter',
  },
  {
    name: 'a route kept after the type changed to NodePort under kube-vip v1.2.3 => orphan, E15: releases up to v1.2.3 do not tear a type change down (F1, gated)',
    services: [svc('web', { ip: '10.0.0.5', type: 'NodePort' })],
    slices: [v4('web')],
    owned: [kroute('10.0.0.5/32')],
    behaviour: { release: 'v1.2.3', keepsRoutesOnTypeChange: true },
    drift: ['orphan 10.0.0.5/32 service-filtered kube-vip-limitation E15'],
    detail: 'kube-vip v1.2.3 (kube-system/kube-vip-a) does not tear a Service down',
  },
  {
    name: "vip_routingtabletype 6: an IPv6 blackhole route on lo whose Service is gone => orphan, limitation ipv6-error-route (kube-vip's delete names its device and misses it)",
    services: [],
    model: { routeType: routeType(6) },
    owned: [kroute('fd00::5/128', { family: 'ipv6', type: routeType(6), device: 'lo' })],
    drift: ['orphan fd00::5/128 no-service kube-vip-limitation ipv6-error-route'],
    detail: 'stores IPv6 blackhole routes on lo',
  },
  {
    name: 'E2 hybrid: vip_cleanroutingtable with cp_enable and services, started an hour ago => a missing Service route is limitation E2 (the cleanup keeps only the address literally; the tracker still holds the route)',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    model: { controlPlane: { enabled: true, addresses: ['192.168.10.100'] } },
    clean: true,
    owned: [kroute('192.168.10.100/32')],
    drift: ['missing 10.0.0.5/32 not-in-kernel kube-vip-limitation E2'],
  },
  {
    name: 'E2 hybrid without vip_cleanroutingtable => the missing Service route is plain drift',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    model: { controlPlane: { enabled: true, addresses: ['192.168.10.100'] } },
    owned: [kroute('192.168.10.100/32')],
    drift: ['missing 10.0.0.5/32 not-in-kernel drift -'],
  },
  {
    name: 'E2: cleanup without cp_enable keeps what its own tracker holds => a missing route it places is plain drift',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    clean: true,
    drift: ['missing 10.0.0.5/32 not-in-kernel drift -'],
  },
  {
    name: 'E2: kube-vip v1.2.1 with vip_cleanroutingtable wipes its table (#1678) => its missing route is limitation E2',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    clean: true,
    behaviour: { release: 'v1.2.1', keepsRoutesOnTypeChange: true, cleanupWipesTable: true },
    drift: ['missing 10.0.0.5/32 not-in-kernel kube-vip-limitation E2'],
    detail: '#1678',
  },
  {
    name: "E25: a CP instance with vip_cleanroutingtable on the same table deletes the services instance's route => limitation E25",
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    second: { model: { servicesEnabled: false, controlPlane: { enabled: true, addresses: ['192.168.10.100'] } }, clean: true },
    owned: [kroute('192.168.10.100/32')],
    drift: ['missing 10.0.0.5/32 not-in-kernel kube-vip-limitation E25'],
    detail: 'of kube-system/kube-vip-a, added before then, was deleted',
  },
  {
    name: "E25: a services instance with vip_cleanroutingtable deletes what its tracker does not hold => the other instance's missing route is E25",
    services: [svc('web', { ip: '10.0.0.5', namespace: 'other' })],
    slices: [slice('web', 'IPv4', [ep('10.244.1.5')], 'other')],
    model: { servicesNamespace: 'other' },
    second: { model: { servicesNamespace: 'default' }, clean: true },
    drift: ['missing 10.0.0.5/32 not-in-kernel kube-vip-limitation E25'],
  },
  {
    name: 'E25: the cleaning instance ran its cleanup before the other one started => the missing route is plain drift',
    services: [svc('web', { ip: '10.0.0.5', namespace: 'other' })],
    slices: [slice('web', 'IPv4', [ep('10.244.1.5')], 'other')],
    model: { servicesNamespace: 'other' },
    second: { model: { servicesNamespace: 'default' }, clean: true, startedAgoMs: 7_200_000 },
    drift: ['missing 10.0.0.5/32 not-in-kernel drift -'],
  },
  {
    name: 'a route outside svc_namespace is plain drift, not a limitation',
    services: [svc('web', { ip: '10.0.0.5', namespace: 'other' })],
    slices: [slice('web', 'IPv4', [ep('10.244.1.5')], 'other')],
    model: { servicesNamespace: 'default' },
    owned: [kroute('10.0.0.5/32')],
    drift: ['orphan 10.0.0.5/32 service-filtered drift -'],
  },
  {
    name: 'svc_election + forcePerServiceElection: a leftover route => E16, and the Service is listed',
    services: [svc('web', { ip: '10.0.0.5', annotations: { 'kube-vip.io/forcePerServiceElection': 'true' } })],
    slices: [v4('web')],
    leases: [lease('default', 'kubevip-web', NODE)],
    model: { election: 'service' },
    owned: [kroute('10.0.0.5/32')],
    drift: ['orphan 10.0.0.5/32 service-filtered kube-vip-limitation E16'],
    notes: ['E16'],
  },
  {
    name: 'svc_election + forcePerServiceElection without a route => no drift, still listed as E16',
    services: [svc('web', { ip: '10.0.0.5', annotations: { 'kube-vip.io/forcePerServiceElection': 'true' } })],
    slices: [v4('web')],
    model: { election: 'service' },
    drift: [],
    notes: ['E16'],
  },
  {
    name: 'leaseName with Local policy: a leftover route => E17',
    services: [svc('web', { ip: '10.0.0.5', externalTrafficPolicy: 'Local', annotations: { 'kube-vip.io/leaseName': 'shared' } })],
    slices: [v4('web', NODE)],
    owned: [kroute('10.0.0.5/32')],
    drift: ['orphan 10.0.0.5/32 service-filtered kube-vip-limitation E17'],
    notes: ['E17'],
  },
  {
    name: 'Mode A: an IPv6 route stays while only IPv4 endpoints remain => orphan, E12 (sticky family gating)',
    services: [svc('web', { ip: ['10.0.0.5', 'fd00::5'] })],
    slices: [v4('web')],
    owned: [kroute('10.0.0.5/32'), kroute('fd00::5/128')],
    drift: ['orphan fd00::5/128 not-placed-here kube-vip-limitation E12'],
  },
  {
    name: 'Mode A: an IPv6 route without any endpoints at all is plain drift',
    services: [svc('web', { ip: 'fd00::5' })],
    slices: [],
    owned: [kroute('fd00::5/128')],
    drift: ['orphan fd00::5/128 not-placed-here drift -'],
  },
  {
    name: 'two IPv4 slices that disagree (Local: one with a local endpoint, one without) => missing, E11',
    services: [svc('web', { ip: '10.0.0.5', externalTrafficPolicy: 'Local' })],
    slices: [
      slice('web', 'IPv4', [ep('10.244.1.5', { nodeName: NODE })], 'default', 'web-a'),
      slice('web', 'IPv4', [ep('10.244.2.5', { nodeName: 'worker-2' })], 'default', 'web-b'),
    ],
    drift: ['missing 10.0.0.5/32 not-in-kernel kube-vip-limitation E11'],
  },
  {
    name: 'two IPv4 slices that agree => plain drift',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [slice('web', 'IPv4', [ep('10.244.1.5')], 'default', 'web-a'), slice('web', 'IPv4', [ep('10.244.2.5')], 'default', 'web-b')],
    drift: ['missing 10.0.0.5/32 not-in-kernel drift -'],
  },
  {
    name: 'enable_endpoints (D8): kube-vip reads the Endpoints object, not the slices => two IPv4 slices that disagree are no E11: the missing route is plain drift',
    services: [svc('web', { ip: '10.0.0.5', externalTrafficPolicy: 'Local' })],
    slices: [
      slice('web', 'IPv4', [ep('10.244.1.5', { nodeName: NODE })], 'default', 'web-a'),
      slice('web', 'IPv4', [ep('10.244.2.5', { nodeName: 'worker-2' })], 'default', 'web-b'),
    ],
    endpoints: [{ namespace: 'default', name: 'web', addresses: [{ family: 'ipv4', nodeName: NODE }] }],
    model: { notJudged: [{ reason: 'endpoints-source', scope: 'endpoints', detail: 'enable_endpoints' }] },
    drift: ['missing 10.0.0.5/32 not-in-kernel drift -'],
  },
  {
    name: 'an empty slice next to a full one (Cluster) => an orphan-free missing route is E11',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [slice('web', 'IPv4', [ep('10.244.1.5')], 'default', 'web-a'), slice('web', 'IPv4', [], 'default', 'web-b')],
    drift: ['missing 10.0.0.5/32 not-in-kernel kube-vip-limitation E11'],
  },
  {
    name: 'E13: endpoints back after an EndpointSlice deletion, kube-vip does not re-add => missing, plain drift (repair re-adds it)',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [slice('web', 'IPv4', [ep('10.244.1.9')], 'default', 'web-new')],
    drift: ['missing 10.0.0.5/32 not-in-kernel drift -'],
  },
  {
    name: 'a legacy proto boot route on an expected VIP => missing conflicting-route, proto-boot limitation',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    foreign: [kroute('10.0.0.5/32', { protocol: routeProtocol(3) })],
    drift: ['missing 10.0.0.5/32 conflicting-route kube-vip-limitation proto-boot'],
    notes: ['proto-boot'],
  },
  {
    name: 'another protocol on an expected VIP => plain conflicting-route drift',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    foreign: [kroute('10.0.0.5/32', { protocol: routeProtocol(4) })],
    drift: ['missing 10.0.0.5/32 conflicting-route drift -'],
  },
  {
    name: 'a proto boot route on a VIP no Service places here is listed, never drift',
    services: [svc('web', { ip: '10.0.0.5', externalTrafficPolicy: 'Local' })],
    slices: [v4('web')],
    foreign: [kroute('10.0.0.5/32', { protocol: routeProtocol(3) })],
    drift: [],
    notes: ['proto-boot'],
  },
];

describe('kube-vip limitations', () => {
  it.each(cases)('$name', (c) => {
    const m = model(c.model);
    const instance: KubeVipInstance = {
      id: 'kube-system/kube-vip-a',
      model: m,
      timing: DEFAULT_TIMING,
      cleanRoutingTable: c.clean ?? false,
      runtime: { ready: true, terminating: false, startedAt: NOW - 3_600_000, restarts: 0 },
      ...(c.behaviour ? { behaviour: c.behaviour } : {}),
    };
    const instances = [instance];
    if (c.second)
      instances.push({
        id: 'kube-system/kube-vip-cp',
        model: model(c.second.model),
        timing: DEFAULT_TIMING,
        cleanRoutingTable: c.second.clean,
        runtime: { ready: true, terminating: false, startedAt: NOW - (c.second.startedAgoMs ?? 3_600_000), restarts: 0 },
      });
    const { report } = evaluate({
      model: m,
      now: NOW,
      kernel: { status: { state: 'ok' }, dump: { owned: c.owned ?? [], foreign: c.foreign ?? [] }, interfaces: null },
      kubernetes: {
        status: { state: 'ok' },
        snapshot: {
          ...snapshot(c.services, c.slices ?? [], c.leases ?? []),
          ...(c.endpoints ? { endpoints: { state: 'ok' as const, byService: new Map(c.endpoints.map((e) => [`${e.namespace}/${e.name}`, e])) } } : {}),
        },
      },
      kubeVip: { context: { instances, startGraceMs: 60_000 }, report: { mode: 'auto', found: 1, message: '', instances: [], mismatches: [] } },
    });
    const got = [
      ...report.missing.map((r) => `missing ${r.destination} ${r.reason} ${r.class} ${r.limitation?.id ?? '-'}`),
      ...report.orphans.map((r) => `orphan ${r.destination} ${r.reason} ${r.class} ${r.limitation?.id ?? '-'}`),
    ];
    expect(got).toEqual(c.drift);
    expect(report.limitations.map((l) => l.id)).toEqual(c.notes ?? []);
    if (c.detail) expect([...report.orphans, ...report.missing].map((r) => `${r.detail ?? ''} ${r.limitation?.text ?? ''}`).join('\n')).toContain(c.detail);
    expect(report.counts.limitation).toBe(c.drift.filter((d) => d.includes('kube-vip-limitation')).length);
  });
});
