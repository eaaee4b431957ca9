// Transient windows (E1, E2, E3, E5, E6): drift that kube-vip resolves by
// itself is marked, keeps its raw verdict, and repair skips it.

import { describe, expect, it } from 'vitest';
import type { EndpointSliceInfo, LeaseInfo, ServiceInfo } from '../../src/core/cluster.ts';
import { handoverUntil, LeaseChangeTracker } from '../../src/core/lease-handover.ts';
import { cleanupWindow, kubeVipWindow } from '../../src/core/kubevip-context.ts';
import type { KubeVipInstance, KubeVipModel, KubeVipRuntime } from '../../src/core/model.ts';
import { DEFAULT_TIMING } from '../../src/core/model.ts';
import { guards, plan } from '../../src/core/repair.ts';
import type { Strategy } from '../../src/core/repair.ts';
import { evaluate } from '../../src/core/report.ts';
import type { KernelRoute } from '../../src/core/types.ts';
import { ep, kroute, lease, model, NODE, NOW, slice, snapshot, svc } from '../helpers/fixtures.ts';

const S = 1000;
const running = (startedAgoMs: number, over: Partial<KubeVipRuntime> = {}): KubeVipRuntime => ({
  ready: true,
  terminating: false,
  startedAt: NOW - startedAgoMs,
  restarts: 0,
  ...over,
});
const inst = (runtime: KubeVipRuntime | null, over: Partial<Omit<KubeVipInstance, 'model'>> & { model?: Partial<KubeVipModel> } = {}): KubeVipInstance => ({
  id: 'kube-system/kube-vip-a',
  timing: DEFAULT_TIMING,
  cleanRoutingTable: false,
  runtime,
  ...over,
  model: model(over.model),
});

describe('kube-vip windows', () => {
  const cases: [string, KubeVipInstance, number, string | null][] = [
    ['a kube-vip container started 30 s ago => starting, until start + 60 s', inst(running(30 * S)), 0, 'kube-vip-starting until 2026-11-26T12:00:30.000Z'],
    ['started 61 s ago and ready => no window', inst(running(61 * S)), 0, null],
    [
      'started 61 s ago with two unaddressed LoadBalancer Services => still starting (60 s + 2 × 30 s)',
      inst(running(61 * S)),
      2,
      'kube-vip-starting until 2026-11-26T12:00:59.000Z',
    ],
    [
      'no running container (CrashLoopBackOff) => starting, from now',
      inst(running(0, { startedAt: null, ready: false })),
      0,
      'kube-vip-starting until 2026-11-26T12:01:00.000Z',
    ],
    [
      'deletionTimestamp set => terminating',
      inst(running(3600 * S, { terminating: true, deletionAt: NOW + 30 * S })),
      0,
      'kube-vip-terminating until 2026-11-26T12:01:30.000Z',
    ],
    ['running for an hour but not Ready => terminating', inst(running(3600 * S, { ready: false })), 0, 'kube-vip-terminating until 2026-11-26T12:01:00.000Z'],
    ['flags only (no pod known) => no window', inst(null), 0, null],
  ];
  it.each(cases)('%s', (_n, i, unaddressed, want) => {
    const w = kubeVipWindow(i, unaddressed, NOW, 60 * S);
    expect(w ? `${w.window} until ${new Date(w.until).toISOString()}` : null).toBe(want);
  });

  it.each([
    ['vip_cleanroutingtable on, started 5 s ago => cleanup window until start + 15 s', true, 5 * S, 'startup-cleanup until 2026-11-26T12:00:10.000Z'],
    ['vip_cleanroutingtable on, started 20 s ago => no window', true, 20 * S, null],
    ['vip_cleanroutingtable off => never a cleanup window', false, 5 * S, null],
  ] as const)('%s', (_n, clean, ago, want) => {
    const w = cleanupWindow(inst(running(ago), { cleanRoutingTable: clean }), NOW);
    expect(w ? `${w.window} until ${new Date(w.until).toISOString()}` : null).toBe(want);
  });
});

describe('lease handover windows', () => {
  const L = (over: Partial<LeaseInfo>): LeaseInfo => lease('default', 'kubevip-web', NODE, over);
  const win = (DEFAULT_TIMING.leaseDurationSeconds + 2.2 * DEFAULT_TIMING.retryPeriodSeconds) * S; // 19.4 s
  const cases: [string, LeaseInfo | undefined, number | undefined, number | null][] = [
    ['a lease held for a minute and renewed 2 s ago => no handover', L({}), undefined, null],
    ['a lease acquired 5 s ago => handover until acquisition + 19.4 s', L({ acquireTime: NOW - 5 * S }), undefined, NOW - 5 * S + win],
    [
      'a released lease (empty holder) 3 s ago => handover',
      L({ holderIdentity: '', renewTime: NOW - 3 * S, leaseDurationSeconds: 1 }),
      undefined,
      NOW - 3 * S + win,
    ],
    ['a holder that stopped renewing 16 s ago (lease expired) => handover until renew + 19.4 s', L({ renewTime: NOW - 16 * S }), undefined, NOW - 16 * S + win],
    ['a holder that stopped renewing a minute ago => handover over: a real problem', L({ renewTime: NOW - 60 * S }), undefined, null],
    [
      'a holder change observed 4 s ago, times unknown => handover from the observation',
      L({ acquireTime: undefined, renewTime: NOW }),
      NOW - 4 * S,
      NOW - 4 * S + win,
    ],
    ['no lease object => no handover', undefined, undefined, null],
  ];
  it.each(cases)('%s', (_n, l, observed, want) => {
    expect(handoverUntil(l, observed, DEFAULT_TIMING, NOW)).toBe(want);
  });

  it('the tracker reports a holder change at the time it first sees it, and keeps it', () => {
    const t = new LeaseChangeTracker();
    const at = (holder: string) => new Map([['default/kubevip-web', L({ holderIdentity: holder })]]);
    expect(t.observe(at('worker-1'), NOW).size).toBe(0);
    expect(t.observe(at('worker-2'), NOW + S).get('default/kubevip-web')).toBe(NOW + S);
    expect(t.observe(at('worker-2'), NOW + 2 * S).get('default/kubevip-web')).toBe(NOW + S);
  });
});

const v4 = (s: string) => slice(s, 'IPv4', [ep('10.244.1.5')]);

function check(opts: {
  services: ServiceInfo[];
  slices?: EndpointSliceInfo[];
  leases?: LeaseInfo[];
  owned?: KernelRoute[];
  instances: KubeVipInstance[];
  changes?: Map<string, number>;
}) {
  return evaluate({
    model: opts.instances[0]!.model,
    now: NOW,
    kernel: { status: { state: 'ok' }, dump: { owned: opts.owned ?? [], foreign: [] }, interfaces: null },
    kubernetes: { status: { state: 'ok' }, snapshot: snapshot(opts.services, opts.slices ?? [], opts.leases ?? []) },
    kubeVip: {
      context: { instances: opts.instances, startGraceMs: 60 * S, ...(opts.changes ? { leaseChanges: opts.changes } : {}) },
      report: { mode: 'auto', found: 1, message: '', instances: [], mismatches: [] },
    },
  });
}

describe('transient drift in the report', () => {
  it('kube-vip starting => the missing route is expected-transient, reason kube-vip-not-ready, still counted as missing', () => {
    const r = check({ services: [svc('web', { ip: '10.0.0.5' })], slices: [v4('web')], instances: [inst(running(10 * S))] });
    expect(r.report.counts).toMatchObject({ missing: 1, transient: 1 });
    expect(r.report.missing[0]).toMatchObject({
      reason: 'kube-vip-not-ready',
      class: 'expected-transient',
      transient: { window: 'kube-vip-starting', until: '2026-11-26T12:00:50.000Z' },
    });
    expect(r.report.inSync).toBe(false);
  });

  it('kube-vip running for an hour => plain drift, reason not-in-kernel', () => {
    const r = check({ services: [svc('web', { ip: '10.0.0.5' })], slices: [v4('web')], instances: [inst(running(3600 * S))] });
    expect(r.report.missing[0]).toMatchObject({ reason: 'not-in-kernel', class: 'drift' });
    expect(r.report.missing[0]!.transient).toBeUndefined();
  });

  it('two instances, one starting and one running => a route the running one places is plain drift', () => {
    const a = inst(running(10 * S), { id: 'a' });
    const b = inst(running(3600 * S), { id: 'b' });
    const r = check({ services: [svc('web', { ip: '10.0.0.5' })], slices: [v4('web')], instances: [a, b] });
    expect(r.report.missing[0]).toMatchObject({ reason: 'not-in-kernel', class: 'drift' });
  });

  it("an orphan inside kube-vip's start-up cleanup window is transient (E2)", () => {
    const r = check({ services: [], owned: [kroute('10.0.0.9/32')], instances: [inst(running(5 * S), { cleanRoutingTable: true })] });
    expect(r.report.orphans[0]).toMatchObject({ reason: 'no-service', class: 'expected-transient', transient: { window: 'startup-cleanup' } });
  });

  it('svc_election: a lease acquired 5 s ago => the missing route waits for the new holder (E5)', () => {
    const r = check({
      services: [svc('web', { ip: '10.0.0.5' })],
      slices: [v4('web')],
      leases: [lease('default', 'kubevip-web', NODE, { acquireTime: NOW - 5 * S })],
      instances: [inst(running(3600 * S), { model: { election: 'service' } })],
    });
    expect(r.report.missing[0]).toMatchObject({ reason: 'lease-handover', class: 'expected-transient', transient: { window: 'lease-handover' } });
  });

  it('svc_election: the old holder still has the route just after the lease moved => transient orphan (E6)', () => {
    const r = check({
      services: [svc('web', { ip: '10.0.0.5' })],
      slices: [v4('web')],
      owned: [kroute('10.0.0.5/32')],
      leases: [lease('default', 'kubevip-web', 'worker-2', { acquireTime: NOW - 2 * S })],
      instances: [inst(running(3600 * S), { model: { election: 'service' } })],
    });
    expect(r.report.orphans[0]).toMatchObject({ reason: 'not-placed-here', class: 'expected-transient', transient: { window: 'lease-handover' } });
  });

  it('global election: a holder change observed by the tracker marks every service route', () => {
    const r = check({
      services: [svc('web', { ip: '10.0.0.5' })],
      slices: [v4('web')],
      leases: [lease('kube-system', 'plndr-svcs-lock', NODE, { acquireTime: undefined })],
      instances: [inst(running(3600 * S), { model: { election: 'global' } })],
      changes: new Map([['kube-system/plndr-svcs-lock', NOW - 3 * S]]),
    });
    expect(r.report.missing[0]).toMatchObject({ reason: 'lease-handover' });
  });
});

describe('repair skips transient drift', () => {
  const starting = [inst(running(10 * S))];
  const services = [svc('web', { ip: '10.0.0.6' })];
  const owned = [kroute('10.0.0.5/32')];
  const planFor = (strategy: Strategy, instances: KubeVipInstance[]) => {
    const r = check({ services, slices: [v4('web')], owned, instances });
    return { r, p: plan(strategy, instances[0]!.model, r.expected!, r.kernel!, r.diff!) };
  };
  const guard = (r: ReturnType<typeof check>, p: ReturnType<typeof plan>) =>
    guards({
      report: r.report,
      plan: p,
      expectedCount: 1,
      ownedCount: 1,
      youngestDriftAgeMs: Infinity,
      graceMs: 0,
      maxDeletions: 100,
      allowEmpty: false,
      minRepairIntervalMs: 0,
      lastRepairAt: null,
      now: NOW,
    });

  it('surgical: the transient missing route is not added; the plain orphan is still deleted', () => {
    const { p } = planFor('surgical', starting);
    expect(p.steps.map((s) => `${s.op} ${s.route.destination}`)).toEqual(['delete 10.0.0.5/32']);
    expect(p.transient).toBe(1);
    expect(p.skipped[0]!.why).toContain('transient: kube-vip-starting');
  });

  it('flush-rebuild with transient drift => no steps, blocked by kube_vip_transient', () => {
    const { r, p } = planFor('flush-rebuild', starting);
    expect(p.steps).toEqual([]);
    expect(guard(r, p)?.reason).toBe('kube_vip_transient');
  });

  it('surgical with only transient drift => blocked by kube_vip_transient', () => {
    const r = check({ services, slices: [v4('web')], instances: starting });
    const p = plan('surgical', starting[0]!.model, r.expected!, r.kernel!, r.diff!);
    expect(p.steps).toEqual([]);
    expect(guard(r, p)?.reason).toBe('kube_vip_transient');
  });

  it('once kube-vip is past its window the same drift is repaired', () => {
    const { p } = planFor('surgical', [inst(running(3600 * S))]);
    expect(p.steps.map((s) => `${s.op} ${s.route.destination}`)).toEqual(['add 10.0.0.6/32', 'delete 10.0.0.5/32']);
  });
});

describe('several kube-vip instances on one node (E25)', () => {
  it('a CP static pod and a services DaemonSet: the expected set is the union of both, each route says which instance places it', () => {
    const cp = inst(running(3600 * S), {
      id: 'kube-system/kube-vip-cp',
      model: { servicesEnabled: false, controlPlane: { enabled: true, addresses: ['192.168.10.100'] } },
    });
    const svcs = inst(running(3600 * S), { id: 'kube-system/kube-vip-ds' });
    const r = check({
      services: [svc('web', { ip: '10.0.0.5' })],
      slices: [v4('web')],
      owned: [kroute('192.168.10.100/32'), kroute('10.0.0.5/32')],
      instances: [cp, svcs],
    });
    expect(r.report.inSync).toBe(true);
    expect([...r.expected!.routes.values()].map((e) => `${e.destination} ${e.instances!.join(',')}`).sort()).toEqual([
      '10.0.0.5/32 kube-system/kube-vip-ds',
      '192.168.10.100/32 kube-system/kube-vip-cp',
    ]);
  });

  it("the CP instance starting does not make the services instance's missing route transient", () => {
    const cp = inst(running(5 * S), { id: 'cp', model: { servicesEnabled: false, controlPlane: { enabled: true, addresses: ['192.168.10.100'] } } });
    const svcs = inst(running(3600 * S), { id: 'ds' });
    const r = check({ services: [svc('web', { ip: '10.0.0.5' })], slices: [v4('web')], instances: [cp, svcs] });
    expect(r.report.missing.map((m) => `${m.destination} ${m.reason} ${m.class}`)).toEqual(['10.0.0.5/32 not-in-kernel drift']);
    // A control-plane route the table lacks is not judged (kube-vip's health check of this node's API server decides).
    expect(r.report.unjudged.map((u) => `${u.destination} ${u.reason} ${u.inKernel}`)).toEqual(['192.168.10.100/32 cp-health-check false']);
  });
});

describe('LeaseChangeTracker told only the changed leases', () => {
  it('says what observe() over all leases says, after every step', () => {
    const full = new LeaseChangeTracker();
    const told = new LeaseChangeTracker();
    const leases = new Map<string, LeaseInfo>();
    const steps: [string, string | null][] = [
      ['a', 'n1'],
      ['b', 'n2'],
      ['a', 'n2'],
      ['c', ''],
      ['b', null],
      ['c', 'n1'],
      ['a', 'n2'],
      ['b', 'n3'],
    ];
    full.observe(leases, NOW);
    told.observeChanged(leases, 'all', NOW);
    for (const [i, [name, holder]] of steps.entries()) {
      const key = `kube-system/${name}`;
      if (holder === null) leases.delete(key);
      else leases.set(key, lease('kube-system', name, holder));
      const now = NOW + i * S;
      expect(new Map(told.observeChanged(leases, new Set([key]), now)), `step ${i}`).toEqual(full.observe(leases, now));
    }
  });
});
