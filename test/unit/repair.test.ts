import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/core/report.ts';
import { certainHold, guards, plan, sketchPlan } from '../../src/core/repair.ts';
import type { GuardInput, Strategy } from '../../src/core/repair.ts';
import type { ServiceInfo, EndpointSliceInfo } from '../../src/core/cluster.ts';
import type { DiffResult } from '../../src/core/diff.ts';
import type { KernelRoute } from '../../src/core/types.ts';
import { routeProtocol, tableId } from '../../src/core/types.ts';
import { ep, kroute, model, NOW, slice, snapshot, svc } from '../helpers/fixtures.ts';

const v4 = (s: string) => slice(s, 'IPv4', [ep('10.244.1.5')]);
const v6 = (s: string) => slice(s, 'IPv6', [ep('fd00:244::5')]);

function steps(strategy: Strategy, services: ServiceInfo[], slices: EndpointSliceInfo[], owned: KernelRoute[], foreign: KernelRoute[] = []) {
  const m = model();
  const r = evaluate({
    model: m,
    now: NOW,
    kernel: { status: { state: 'ok' }, dump: { owned, foreign }, interfaces: null },
    kubernetes: { status: { state: 'ok' }, snapshot: snapshot(services, slices) },
  });
  const p = plan(strategy, m, r.expected!, r.kernel!, r.diff!);
  return { p, lines: p.steps.map((s) => `${s.op} ${s.route.destination} ${s.route.device}`) };
}

/** The guards' limits and clock in these tests: drift two minutes old, a grace period of one. */
const LIMITS = {
  youngestDriftAgeMs: 120_000,
  graceMs: 60_000,
  maxDeletions: 100,
  allowEmpty: false,
  minRepairIntervalMs: 30_000,
  lastRepairAt: null,
  now: NOW,
} as const;

const seedServices = [svc('web', { ip: ['10.0.0.6', 'fd00::6'] })];
const seedSlices = [v4('web'), v6('web')];
const seedKernel = [kroute('10.0.0.5/32'), kroute('fd00::5/128'), kroute('fd00::6/128')];

describe('plan', () => {
  it('flush-rebuild deletes every owned route, then adds the expected set', () => {
    const { lines, p } = steps('flush-rebuild', seedServices, seedSlices, seedKernel);
    expect(lines).toEqual(['delete 10.0.0.5/32 lo', 'delete fd00::5/128 lo', 'delete fd00::6/128 lo', 'add 10.0.0.6/32 lo', 'add fd00::6/128 lo']);
    expect(p.netDeletions).toBe(2);
  });

  it('surgical adds missing routes first, then deletes orphans, and leaves matched routes alone', () => {
    const { lines } = steps('surgical', seedServices, seedSlices, seedKernel);
    expect(lines).toEqual(['add 10.0.0.6/32 lo', 'delete 10.0.0.5/32 lo', 'delete fd00::5/128 lo']);
  });

  it('surgical replaces a route on the wrong device: delete it, then add the right one', () => {
    const { lines } = steps('surgical', [svc('web', { ip: '10.0.0.5' })], [v4('web')], [kroute('10.0.0.5/32', { device: 'eth0', ifindex: 2 })]);
    expect(lines).toEqual(['delete 10.0.0.5/32 eth0', 'add 10.0.0.5/32 lo']);
  });

  it.each<Strategy>(['flush-rebuild', 'surgical'])('%s never deletes nor shadows a foreign route', (strategy) => {
    const foreign = [kroute('10.0.0.6/32', { protocol: routeProtocol(3) }), kroute('10.0.0.7/32', { protocol: routeProtocol(4) })];
    const { lines, p } = steps(strategy, [svc('web', { ip: '10.0.0.6' })], [v4('web')], [kroute('10.0.0.5/32')], foreign);
    expect(lines).toEqual(['delete 10.0.0.5/32 lo']);
    expect(p.skipped.map((s) => s.destination)).toEqual(['10.0.0.6/32']);
  });

  it('flush-rebuild never deletes an in-sync route it cannot put back (a foreign route at the same destination)', () => {
    // The VIP 10.0.0.6 is in sync; a foreign route (another protocol, another
    // metric) shares its destination. The add would be skipped, so the delete must go too.
    const foreign = [kroute('10.0.0.6/32', { protocol: routeProtocol(3) })];
    const services = [svc('web', { ip: '10.0.0.6' }), svc('api', { ip: '10.0.0.7' })];
    const { lines } = steps('flush-rebuild', services, [v4('web'), v4('api')], [kroute('10.0.0.6/32'), kroute('10.0.0.9/32')], foreign);
    expect(lines).toEqual(['delete 10.0.0.9/32 lo', 'add 10.0.0.7/32 lo']);
  });

  it('flush-rebuild does not flush for drift it cannot fix (only a missing route whose destination a foreign route holds)', () => {
    const foreign = [kroute('10.0.0.6/32', { protocol: routeProtocol(3) })];
    const services = [svc('web', { ip: '10.0.0.6' }), svc('api', { ip: '10.0.0.7' })];
    const { lines, p } = steps('flush-rebuild', services, [v4('web'), v4('api')], [kroute('10.0.0.7/32')], foreign);
    expect(lines).toEqual([]);
    expect(p.skipped.map((s) => s.destination)).toEqual(['10.0.0.6/32']);
  });

  it.each<Strategy>(['flush-rebuild', 'surgical'])('%s leaves flapping destinations alone and still repairs the rest', (strategy) => {
    const m = model();
    const r = evaluate({
      model: m,
      now: NOW,
      kernel: { status: { state: 'ok' }, dump: { owned: [kroute('10.0.0.5/32'), kroute('10.0.0.9/32')], foreign: [] }, interfaces: null },
      kubernetes: { status: { state: 'ok' }, snapshot: snapshot([svc('web', { ip: '10.0.0.6' }), svc('api', { ip: '10.0.0.9' })], [v4('web'), v4('api')]) },
    });
    const p = plan(strategy, m, r.expected!, r.kernel!, r.diff!, new Set(['10.0.0.5/32']));
    const lines = p.steps.map((s) => `${s.op} ${s.route.destination}`);
    expect(lines).not.toContain('delete 10.0.0.5/32');
    expect(lines).toContain('add 10.0.0.6/32');
    expect(p.skipped).toContainEqual({ destination: '10.0.0.5/32', why: 'flapping: repairs of it keep being undone' });
  });

  it('adds carry exactly kube-vip attributes: table, protocol, type unicast, device', () => {
    const { p } = steps('surgical', [svc('web', { ip: '10.0.0.6' })], [v4('web')], []);
    expect(p.steps[0]).toMatchObject({ op: 'add', route: { family: 'ipv4', destination: '10.0.0.6/32', table: 198, protocol: 248, type: 1, device: 'lo' } });
  });

  it('an owned-looking route of another table never reaches a delete', () => {
    const stray = kroute('10.0.0.9/32', { table: tableId(199) });
    const { lines } = steps('flush-rebuild', [], [], [stray]);
    expect(lines).toEqual([]);
  });
});

describe('plan and guards never touch routes that are not judged', () => {
  // svc_election over etcd: 10.0.0.5 is elected, so not judged; 10.0.0.9 is an orphan.
  const etcd = model({ election: 'service', notJudged: [{ reason: 'etcd-lease', scope: 'elected', detail: 'etcd' }] });
  const run = (owned: KernelRoute[]) => {
    const r = evaluate({
      model: etcd,
      now: NOW,
      kernel: { status: { state: 'ok' }, dump: { owned, foreign: [] }, interfaces: null },
      kubernetes: { status: { state: 'ok' }, snapshot: snapshot([svc('web', { ip: '10.0.0.5' })], [v4('web')]) },
    });
    return r;
  };
  it.each<Strategy>(['flush-rebuild', 'surgical'])('%s deletes the orphan, never the not-judged route', (strategy) => {
    const r = run([kroute('10.0.0.5/32'), kroute('10.0.0.9/32')]);
    expect(r.report.unjudged.map((u) => `${u.destination} ${u.reason} ${u.inKernel}`)).toEqual(['10.0.0.5/32 etcd-lease true']);
    expect(r.report.orphans.map((o) => o.destination)).toEqual(['10.0.0.9/32']);
    const p = plan(strategy, etcd, r.expected!, r.kernel!, r.diff!);
    expect(p.steps.map((s) => `${s.op} ${s.route.destination}`)).toEqual(['delete 10.0.0.9/32']);
    expect(p.skipped).toContainEqual({ destination: '10.0.0.5/32', why: 'not judged: never touched' });
  });
  it('a table of not-judged routes only is in sync, and the empty-table guard does not count them', () => {
    const r = run([kroute('10.0.0.5/32')]);
    expect(r.report.inSync).toBe(true);
    expect(r.report.counts).toMatchObject({ orphan: 0, missing: 0, unjudged: 1 });
    const withOrphan = run([kroute('10.0.0.5/32'), kroute('10.0.0.9/32')]);
    const p = plan('flush-rebuild', etcd, withOrphan.expected!, withOrphan.kernel!, withOrphan.diff!);
    const g = {
      report: withOrphan.report,
      plan: p,
      expectedCount: 0,
      ...LIMITS,
    };
    // Two routes in the table, one of them not judged: the judged table is one route.
    expect(guards({ ...g, ownedCount: 2 })?.message).toContain('(1 routes)');
    expect(guards({ ...g, ownedCount: 1 })).toBeNull();
  });
});

describe('guards', () => {
  const base = (): GuardInput => {
    const r = evaluate({
      model: model(),
      now: NOW,
      kernel: { status: { state: 'ok' }, dump: { owned: seedKernel, foreign: [] }, interfaces: null },
      kubernetes: { status: { state: 'ok' }, snapshot: snapshot(seedServices, seedSlices) },
    });
    return {
      report: r.report,
      plan: plan('flush-rebuild', model(), r.expected!, r.kernel!, r.diff!),
      expectedCount: 2,
      ownedCount: 3,
      ...LIMITS,
    };
  };
  const unsynced = { ...base().report, sources: { kernel: 'ok', kubernetes: 'unsynced' } } as GuardInput['report'];
  const kernelDown = { ...base().report, sources: { kernel: 'error', kubernetes: 'ok' }, errors: { kernel: 'EPERM' } } as GuardInput['report'];
  const cases: [string, Partial<GuardInput>, string | null][] = [
    ['persistent drift, everything healthy => repair may run', {}, null],
    ['an unsynced Kubernetes view => blocked', { report: unsynced }, 'kubernetes_not_synced'],
    ['a failed kernel read => blocked', { report: kernelDown }, 'kernel_read_failed'],
    ['drift younger than the grace period => blocked', { youngestDriftAgeMs: 10_000 }, 'grace_period'],
    ['an empty expected set with a non-empty table => blocked', { expectedCount: 0 }, 'empty_expected_set'],
    ['an empty expected set with --allow-empty => may run', { expectedCount: 0, allowEmpty: true }, null],
    ['more deletions than --max-deletions => blocked', { maxDeletions: 1 }, 'max_deletions'],
    ['exactly --max-deletions => may run', { maxDeletions: 2 }, null],
    ['a repair 10s ago with a 30s minimum interval => blocked', { lastRepairAt: NOW - 10_000 }, 'rate_limited'],
    ['a repair 31s ago => may run', { lastRepairAt: NOW - 31_000 }, null],
    ['no CAP_NET_ADMIN => blocked', { capable: false }, 'not_permitted'],
    ['capabilities unknown => may run (the kernel decides)', { capable: null }, null],
    ['the same drift a repair could not change, hold not over => blocked', { noProgress: { until: NOW + 1000, attempts: 1 } }, 'no_progress'],
    ['the hold is over => may run', { noProgress: { until: NOW, attempts: 3 } }, null],
    [
      'an empty plan for persistent drift => blocked',
      { plan: { strategy: 'flush-rebuild', steps: [], netDeletions: 0, skipped: [{ destination: '10.0.0.6/32', why: 'destination taken' }], transient: 0 } },
      'no_progress',
    ],
    [
      'only flapping drift left => blocked',
      { flapping: ['10.0.0.5/32'], plan: { strategy: 'flush-rebuild', steps: [], netDeletions: 0, skipped: [], transient: 0 } },
      'flapping',
    ],
    ['flapping drift beside drift it can repair => may run', { flapping: ['10.0.0.5/32'] }, null],
    ['the API heard from 5s ago, drift 120s old => may run', { kubeView: { ageMs: 5_000, staleAfterMs: 90_000 } }, null],
    ['nothing from the API (no event, no bookmark) for 100s, bound 90s => blocked', { kubeView: { ageMs: 100_000, staleAfterMs: 90_000 } }, 'kube_view_stale'],
    ['the view was never confirmed => blocked', { kubeView: { ageMs: Infinity, staleAfterMs: 90_000 } }, 'kube_view_stale'],
    [
      'nothing from the API since the newest drift appeared (70s vs 65s) => waits for a bookmark',
      { youngestDriftAgeMs: 65_000, kubeView: { ageMs: 70_000, staleAfterMs: 90_000 } },
      'kube_view_unconfirmed',
    ],
    [
      'with no grace period (check) the drift age does not matter, only the bound',
      { graceMs: 0, youngestDriftAgeMs: 1_000, kubeView: { ageMs: 3_000, staleAfterMs: 90_000 } },
      null,
    ],
    [
      'one Kubernetes object rejected => blocked: what it decides cannot be judged',
      { report: { ...base().report, rejected: [{ kind: 'Service', namespace: 'default', name: 'bad', reason: 'x' }] } },
      'objects_rejected',
    ],
  ];
  it.each(cases)('%s', (_name, over, want) => {
    expect(guards({ ...base(), ...over })?.reason ?? null).toBe(want);
  });
});

// An incremental check carries the diff but neither the expected set nor the
// table: repair judges it with sketchPlan() and certainHold(), and only a
// refusal they are sure of spares the full check (src/app/repair.ts).
describe('certainHold: a refusal judged from the diff alone is the one the full plan gets', () => {
  const transient = (d: DiffResult): DiffResult => ({
    ...d,
    missing: d.missing.map((m) => ({ ...m, transient: { window: 'lease-handover', until: '2026-01-01T00:00:00Z' } }) as typeof m),
  });
  const scenes: [string, ServiceInfo[], KernelRoute[], KernelRoute[], ((d: DiffResult) => DiffResult)?][] = [
    ['an orphan and a missing route', [svc('web', { ip: '10.0.0.6' })], [kroute('10.0.0.5/32')], []],
    ['a missing route only', [svc('web', { ip: '10.0.0.6' })], [], []],
    ['a route on the wrong device', [svc('web', { ip: '10.0.0.6' })], [kroute('10.0.0.6/32', { device: 'eth0', ifindex: 2 })], []],
    ['only a destination a foreign route holds', [svc('web', { ip: '10.0.0.6' })], [], [kroute('10.0.0.6/32', { protocol: routeProtocol(3) })]],
    [
      'a wrong device where a foreign route also is',
      [svc('web', { ip: '10.0.0.6' })],
      [kroute('10.0.0.6/32', { device: 'eth0', ifindex: 2 })],
      [kroute('10.0.0.6/32', { protocol: routeProtocol(3) })],
    ],
    ['only transient drift', [svc('web', { ip: '10.0.0.6' })], [], [], transient],
    ['transient drift and an orphan', [svc('web', { ip: '10.0.0.6' })], [kroute('10.0.0.5/32')], [], transient],
  ];
  const inputs: [string, Partial<GuardInput>][] = [
    ['may run', {}],
    ['grace period', { youngestDriftAgeMs: 1_000 }],
    ['max deletions', { maxDeletions: 0 }],
    ['rate limited', { lastRepairAt: NOW - 1_000 }],
    ['no progress held', { noProgress: { until: NOW + 60_000, attempts: 1 } }],
    ['flapping', { flapping: ['10.0.0.6/32'] }],
    ['not permitted', { capable: false }],
  ];
  /** A check of this table against these Services, and what the guards read of it but the plan. */
  const judged = (services: ServiceInfo[], owned: KernelRoute[], foreign: KernelRoute[], g: Partial<GuardInput> = {}) => {
    const m = model();
    const r = evaluate({
      model: m,
      now: NOW,
      kernel: { status: { state: 'ok' }, dump: { owned, foreign }, interfaces: null },
      kubernetes: { status: { state: 'ok' }, snapshot: snapshot(services, [v4('web')]) },
    });
    return { m, r, input: { report: r.report, expectedCount: r.report.counts.expected, ownedCount: r.report.counts.kernel, ...LIMITS, ...g } };
  };
  const cases = scenes.flatMap(([scene, services, owned, foreign, over]) =>
    (['flush-rebuild', 'surgical'] as const).flatMap((strategy) => inputs.map(([name, g]) => ({ scene, services, owned, foreign, over, strategy, name, g }))),
  );
  it.each(cases)('$scene, $strategy, $name', ({ services, owned, foreign, over, strategy, name, g }) => {
    const { m, r, input } = judged(services, owned, foreign, g);
    const d = over ? over(r.diff!) : r.diff!;
    const leaveAlone = new Set(g.flapping ?? []);
    const full = guards({ ...input, plan: plan(strategy, m, r.expected!, r.kernel!, d, leaveAlone) });
    const sure = certainHold(input, sketchPlan(strategy, d, leaveAlone));
    // Sure or silent: never another refusal, never a refusal where the plan may run.
    if (sure !== null) expect(sure).toEqual(full);
    // A guard that does not read the plan's steps is always sure (without transient drift, whose guard does).
    if (['grace period', 'max deletions', 'no progress held', 'not permitted'].includes(name) && !over) expect(sure).toEqual(full);
  });

  it('is sure of a plan that cannot act (only a destination a foreign route holds): no progress, with the full message', () => {
    const { m, r, input } = judged([svc('web', { ip: '10.0.0.6' })], [], [kroute('10.0.0.6/32', { protocol: routeProtocol(3) })]);
    for (const strategy of ['flush-rebuild', 'surgical'] as const) {
      const sure = certainHold(input, sketchPlan(strategy, r.diff!));
      expect(sure?.reason).toBe('no_progress');
      expect(sure).toEqual(guards({ ...input, plan: plan(strategy, m, r.expected!, r.kernel!, r.diff!) }));
    }
  });
});
