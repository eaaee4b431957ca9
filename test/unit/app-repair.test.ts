// attemptRepair / repairAfterCheck / repairOnce (src/app/repair.ts) in
// process: a real checker over the in-memory kernel table (which implements
// applyAll like the netlink adapter, so repairs take production's path), a
// cluster source held in memory, a clock the test moves, and recording
// observer and Event sinks. Each case asserts what an operator sees: the
// observer (metric) calls, the Kubernetes Events, and the table afterwards.
// The guard table itself (core/repair.ts) is covered by repair.test.ts; here
// each guard is reached through the app layer.

import { describe, expect, it, vi } from 'vitest';
import { createChecker } from '../../src/app/checker.ts';
import type { RepairObserver } from '../../src/app/ports.ts';
import { discoveryFor } from '../../src/app/kubevip.ts';
import { attemptRepair, newRepairState, repairAfterCheck, repairOnce } from '../../src/app/repair.ts';
import type { RepairDeps } from '../../src/app/repair.ts';
import { loadConfig } from '../../src/cli/config.ts';
import type { ClusterSnapshot } from '../../src/core/cluster.ts';
import type { GuardReason } from '../../src/core/repair.ts';
import type { EventSink } from '../../src/core/ports.ts';
import type { SourceStatus } from '../../src/core/types.ts';
import { routeProtocol, tableId } from '../../src/core/types.ts';
import { createMemoryKernelTable } from '../../src/kernel/memory.ts';
import { silentLogger } from '../../src/surface/logger.ts';
import { BLOCK_REASONS, createMetrics, metricsObserver } from '../../src/surface/metrics.ts';
import { ep, kroute, memoryCluster, NOW, slice, snapshot, svc } from '../helpers/fixtures.ts';
import { kubeVipPod } from '../helpers/kubevip-pods.ts';

const HOUR = 3_600_000;

type Emitted = Parameters<EventSink['emit']>[0];

/** Every observer call, as one line each, in order. */
function recordingObserver(): RepairObserver & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    blocked: (strategy, reason) => calls.push(`blocked ${strategy} ${reason}`),
    dryRun: (strategy) => calls.push(`dry-run ${strategy}`),
    changed: (added, deleted) => calls.push(`changed +${added} -${deleted}`),
    finished: (strategy, ok) => calls.push(`finished ${strategy} ${ok ? 'ok' : 'failed'}`),
    flapping: (n) => calls.push(`flapping ${n}`),
  };
}

interface Options {
  env?: Record<string, string>;
  snap?: ClusterSnapshot;
  status?: SourceStatus;
  freshness?: () => { lastHeardAt: number | undefined };
  capable?: boolean;
  kubeVip?: boolean;
  /** The checker `run` uses: a kernel mirror fed by the table's notifications, the engine between full checks. */
  incremental?: boolean;
}

/**
 * Table 198 / protocol 248 on lo. By default Service web (10.0.0.6, an
 * endpoint elsewhere: the route belongs here) is expected and missing, and
 * 10.0.0.5 is an orphan.
 */
function setup(o: Options = {}) {
  let now = NOW;
  const env = {
    NODE_NAME: 'worker-1',
    ROUTEWARDEN_KUBE_VIP_CONFIG: o.kubeVip ? 'auto' : 'off',
    ROUTEWARDEN_REMEDIATE: 'true',
    ROUTEWARDEN_GRACE: '0s',
    ROUTEWARDEN_STRATEGY: 'surgical',
    ...o.env,
  };
  const config = loadConfig('run', {}, { env, hostname: 'x' });
  const kernel = createMemoryKernelTable({ table: tableId(198), protocol: routeProtocol(248) });
  kernel.inject(kroute('10.0.0.5/32'));
  const snap = o.snap ?? snapshot([svc('web', { ip: '10.0.0.6' })], [slice('web', 'IPv4', [ep('10.244.1.5')])]);
  const status: SourceStatus = o.status ?? { state: 'ok' };
  const cluster = memoryCluster({ status: () => status, snapshot: () => snap, ...(o.freshness ? { freshness: o.freshness } : {}) });
  const logger = silentLogger();
  const warn = vi.spyOn(logger, 'warn');
  const clock = () => now;
  const observer = recordingObserver();
  const events: Emitted[] = [];
  const sink: EventSink = { emit: async (e) => void events.push(e) };
  const kubeVip = o.kubeVip ? discoveryFor(config, { table: config.model.table, protocol: config.model.protocol }) : undefined;
  const checker = createChecker({
    kernel,
    cluster,
    model: config.model,
    logger,
    clock,
    ...(kubeVip ? { kubeVip } : {}),
    ...(o.incremental ? { incremental: true, confirmDelayMs: 0 } : {}),
  });
  if (o.incremental) kernel.subscribe((c) => checker.kernelChanged?.(c));
  const state = newRepairState();
  const deps: RepairDeps = {
    config,
    kernel,
    checker,
    logger,
    clock,
    observer,
    events: sink,
    ...(o.capable !== undefined ? { capable: o.capable } : {}),
    ...(o.freshness ? { cluster } : {}),
  };
  const table = () =>
    kernel
      .routes()
      .filter((r) => r.table === 198)
      .map((r) => `${r.destination} ${r.device} proto ${r.protocol}`)
      .sort();
  return {
    config,
    kernel,
    checker,
    state,
    deps,
    observer,
    events,
    warn,
    table,
    cluster,
    at: (t: number) => (now = NOW + t),
    attempt: async () => attemptRepair(deps, state, await checker.check(), config.graceMs),
    blockedReason: (outcome: Awaited<ReturnType<typeof attemptRepair>>) => (outcome.kind === 'blocked' ? outcome.guard.reason : outcome.kind),
  };
}

const BEFORE = ['10.0.0.5/32 lo proto 248'];
const REPAIRED = ['10.0.0.6/32 lo proto 248'];

describe('attemptRepair: a repair that may run', () => {
  it('adds the missing route, deletes the orphan, reads the table back, and says so in a Normal Event and the metrics', async () => {
    const s = setup();
    const outcome = await s.attempt();
    expect(outcome).toMatchObject({ kind: 'applied', added: 1, deleted: 1, failures: [] });
    expect(s.table()).toEqual(REPAIRED);
    expect(s.observer.calls).toEqual(['flapping 0', 'changed +1 -1', 'finished surgical ok']);
    expect(s.events).toEqual([{ type: 'Normal', reason: 'RoutesRepaired', message: 'surgical repair of table 198: added 10.0.0.6/32; deleted 10.0.0.5/32' }]);
    expect(s.state.last).toEqual({ at: NOW, result: 'success', added: 1, deleted: 1, failures: 0 });
  });

  it('does nothing, tells no one and posts nothing when the table is in sync', async () => {
    const s = setup();
    s.kernel.remove({ destination: '10.0.0.5/32' });
    s.kernel.inject(kroute('10.0.0.6/32'));
    expect((await s.attempt()).kind).toBe('nothing-to-do');
    expect([s.observer.calls, s.events, s.table()]).toEqual([[], [], REPAIRED]);
  });

  it('with --dry-run counts the plan and leaves the table as it was', async () => {
    const s = setup({ env: { ROUTEWARDEN_DRY_RUN: 'true' } });
    const outcome = await s.attempt();
    expect(outcome.kind).toBe('dry-run');
    if (outcome.kind === 'dry-run')
      expect(outcome.plan.steps.map((st) => `${st.op} ${st.route.destination}`)).toEqual(['add 10.0.0.6/32', 'delete 10.0.0.5/32']);
    expect(s.observer.calls).toEqual(['flapping 0', 'dry-run surgical']);
    expect(s.events).toEqual([]);
    expect(s.table()).toEqual(BEFORE);
    expect(s.kernel.history().filter((h) => h.op !== 'dump')).toEqual([]);
  });
});

describe('attemptRepair: ESRCH and EEXIST are judged by the read-back', () => {
  it('a delete that finds no such route (someone else removed it) is the goal reached: success', async () => {
    const s = setup();
    s.kernel.failNext('delete', 'ESRCH');
    // The injected failure changes nothing; play the other writer that removed it.
    const result = await s.checker.check();
    s.kernel.remove({ destination: '10.0.0.5/32' });
    const outcome = await attemptRepair(s.deps, s.state, result, 0);
    expect(outcome).toMatchObject({ kind: 'applied', added: 1, deleted: 0, failures: [] });
    expect(s.table()).toEqual(REPAIRED);
    expect(s.observer.calls).toEqual(['flapping 0', 'changed +1 -0', 'finished surgical ok']);
    expect(s.events.map((e) => e.type)).toEqual(['Normal']);
  });

  it('an add that finds the route already there with the right attributes (kube-vip was faster) is success', async () => {
    const s = setup();
    const result = await s.checker.check();
    s.kernel.inject(kroute('10.0.0.6/32')); // kube-vip adds it between the check and the repair
    const outcome = await attemptRepair(s.deps, s.state, result, 0);
    expect(outcome).toMatchObject({ kind: 'applied', added: 0, deleted: 1, failures: [] });
    expect(
      s.kernel
        .history()
        .filter((h) => h.op === 'add')
        .map((h) => h.error),
    ).toEqual(['EEXIST']);
    expect(s.table()).toEqual(REPAIRED);
    expect(s.observer.calls).toEqual(['flapping 0', 'changed +0 -1', 'finished surgical ok']);
  });

  it('an add refused with EEXIST while the route is still absent is a failure: the read-back shows drift remaining', async () => {
    const s = setup();
    s.kernel.failNext('add', 'EEXIST');
    const outcome = await s.attempt();
    expect(outcome).toMatchObject({ kind: 'applied', added: 0, deleted: 1, failures: [] });
    if (outcome.kind === 'applied') expect(outcome.verified.report.inSync).toBe(false);
    expect(s.table()).toEqual([]);
    expect(s.observer.calls).toEqual(['flapping 0', 'changed +0 -1', 'finished surgical failed']);
    expect(s.events).toEqual([
      { type: 'Warning', reason: 'RoutesRepaired', message: 'surgical repair of table 198: added 10.0.0.6/32; deleted 10.0.0.5/32; drift remains' },
    ]);
    expect(s.state.last).toMatchObject({ result: 'failure' });
  });

  it('any other kernel error is a failure, counted and named in the Warning Event', async () => {
    const s = setup();
    s.kernel.failNext('add', 'ENETUNREACH');
    const outcome = await s.attempt();
    expect(outcome).toMatchObject({ kind: 'applied', added: 0, deleted: 1 });
    if (outcome.kind === 'applied') expect(outcome.failures).toHaveLength(1);
    expect(s.observer.calls).toEqual(['flapping 0', 'changed +0 -1', 'finished surgical failed']);
    expect(s.events[0]).toMatchObject({ type: 'Warning', reason: 'RoutesRepaired' });
    expect(s.events[0]!.message).toContain('1 failed');
    expect(s.state.last).toMatchObject({ result: 'failure', failures: 1 });
  });
});

describe('attemptRepair: every guard, as an operator sees it', () => {
  /** The guards the cases below are written for, checked against the metric's label values at the end. */
  const covered = new Set<string>();
  const guardCase = (reason: GuardReason, title: string, fn: () => Promise<void>): void => {
    covered.add(reason);
    it(`${reason}: ${title}`, fn);
  };
  /** A blocked attempt: the reason, the metric call, one Warning Event (none when `event: false`), the table untouched. */
  async function expectBlocked(s: ReturnType<typeof setup>, reason: GuardReason, opts: { event?: false; table?: string[] } = {}) {
    const outcome = await s.attempt();
    expect(s.blockedReason(outcome)).toBe(reason);
    expect(s.observer.calls.filter((c) => c.startsWith('blocked'))).toEqual([`blocked ${s.config.strategy} ${reason}`]);
    expect(s.observer.calls.some((c) => c.startsWith('changed') || c.startsWith('finished'))).toBe(false);
    if (opts.event === false) expect(s.events).toEqual([]);
    else {
      expect(s.events).toHaveLength(1);
      expect(s.events[0]).toMatchObject({ type: 'Warning', reason: 'RepairBlocked' });
      expect(s.events[0]!.message).toMatch(/^routewarden did not repair kube-vip's table 198: /);
    }
    expect(s.table()).toEqual(opts.table ?? BEFORE);
    return outcome;
  }

  guardCase('kubernetes_not_synced', 'a Kubernetes view still syncing is no reason to delete anything', async () => {
    const s = setup({ status: { state: 'unsynced', message: 'waiting for the first LIST' } });
    await expectBlocked(s, 'kubernetes_not_synced');
  });

  guardCase('kernel_read_failed', 'a table that cannot be read is not repaired', async () => {
    const s = setup();
    s.kernel.failNext('dump', 'EPERM');
    await expectBlocked(s, 'kernel_read_failed');
    expect(s.events[0]!.message).toContain('kernel table could not be read');
  });

  guardCase('not_permitted', 'without CAP_NET_ADMIN every repair is refused, not tried', async () => {
    const s = setup({ capable: false });
    await expectBlocked(s, 'not_permitted');
    expect(s.kernel.history().filter((h) => h.op !== 'dump')).toEqual([]);
  });

  guardCase('grace_period', 'new drift waits out --grace, quietly (no Event), then is repaired', async () => {
    const s = setup({ env: { ROUTEWARDEN_GRACE: '60s' } });
    await expectBlocked(s, 'grace_period', { event: false });
    expect(s.state.repairableAt).toBe(NOW + 60_000);
    s.at(60_000);
    expect((await s.attempt()).kind).toBe('applied');
    expect(s.table()).toEqual(REPAIRED);
  });

  guardCase('empty_expected_set', 'an empty expected set does not empty the table', async () => {
    const s = setup({ snap: snapshot([]) });
    await expectBlocked(s, 'empty_expected_set');
  });

  it('empty_expected_set: --allow-empty lets the table be emptied', async () => {
    const s = setup({ snap: snapshot([]), env: { ROUTEWARDEN_ALLOW_EMPTY: 'true' } });
    expect((await s.attempt()).kind).toBe('applied');
    expect(s.table()).toEqual([]);
  });

  guardCase('max_deletions', 'a repair deleting more than --max-deletions is refused', async () => {
    const s = setup({ env: { ROUTEWARDEN_MAX_DELETIONS: '0' } });
    await expectBlocked(s, 'max_deletions');
    expect(s.events[0]!.message).toContain('--max-deletions 0');
  });

  guardCase('rate_limited', 'a second repair within --min-repair-interval waits', async () => {
    const s = setup({ env: { ROUTEWARDEN_MIN_REPAIR_INTERVAL: '5m' } });
    expect((await s.attempt()).kind).toBe('applied');
    s.kernel.inject(kroute('10.0.0.7/32')); // new drift a minute later
    s.at(60_000);
    s.observer.calls.length = 0;
    s.events.length = 0;
    await expectBlocked(s, 'rate_limited', { table: ['10.0.0.6/32 lo proto 248', '10.0.0.7/32 lo proto 248'] });
    s.at(5 * 60_000);
    expect((await s.attempt()).kind).toBe('applied');
    expect(s.table()).toEqual(REPAIRED);
  });

  guardCase('kube_vip_transient', 'drift while kube-vip is starting is left to kube-vip', async () => {
    const pods = { state: 'ok' as const, pods: [kubeVipPod({ startedAt: NOW - 10_000 })] };
    const s = setup({ kubeVip: true, snap: { ...snapshot([svc('web', { ip: '10.0.0.6' })], [slice('web', 'IPv4', [ep('10.244.1.5')])]), nodePods: pods } });
    s.kernel.remove({ destination: '10.0.0.5/32' }); // only the missing route, which kube-vip is about to add
    await expectBlocked(s, 'kube_vip_transient', { table: [] });
    expect(s.events[0]!.message).toContain('kube-vip-starting');
  });

  guardCase('no_progress', 'drift no repair can change (a foreign route holds the destination) is not attempted', async () => {
    const s = setup();
    s.kernel.remove({ destination: '10.0.0.5/32' });
    s.kernel.inject(kroute('10.0.0.6/32', { protocol: routeProtocol(4) }));
    await expectBlocked(s, 'no_progress', { table: ['10.0.0.6/32 lo proto 4'] });
    expect(s.events[0]!.message).toContain('destination taken by a route of another protocol');
  });

  guardCase('no_progress', 'a repair that changed nothing is held back, with one Event for the hold and none for the blocks that follow', async () => {
    const s = setup();
    s.kernel.remove({ destination: '10.0.0.5/32' });
    s.kernel.failNext('add', 'ENETUNREACH');
    const first = await s.attempt();
    expect(first).toMatchObject({ kind: 'applied', added: 0, deleted: 0 });
    expect(s.events.map((e) => `${e.type} ${e.reason}`)).toEqual(['Warning RepairBlocked', 'Warning RoutesRepaired']);
    expect(s.events[0]!.message).toMatch(/changed nothing/);
    s.observer.calls.length = 0;
    s.events.length = 0;
    s.at(10_000);
    await expectBlocked(s, 'no_progress', { event: false, table: [] });
    expect(s.state.blocked?.message).toMatch(/next try in 50s/);
    // The hold ends: the add is tried again and succeeds.
    s.at(60_000);
    expect((await s.attempt()).kind).toBe('applied');
    expect(s.table()).toEqual(REPAIRED);
  });

  guardCase('flapping', 'a route another writer keeps undoing is left alone after five repairs, with one Event saying so', async () => {
    const s = setup();
    s.kernel.remove({ destination: '10.0.0.5/32' });
    for (let i = 0; i < 5; i++) {
      s.at(i * 60_000);
      expect((await s.attempt()).kind).toBe('applied');
      s.kernel.remove({ destination: '10.0.0.6/32' }); // the competing writer
    }
    const flapEvents = s.events.filter((e) => e.reason === 'RepairBlocked');
    expect(flapEvents).toHaveLength(1);
    expect(flapEvents[0]!.message).toContain('stops repairing 10.0.0.6/32');
    expect(s.observer.calls).toContain('flapping 1');
    s.observer.calls.length = 0;
    s.events.length = 0;
    s.at(6 * 60_000);
    // Within the hour of the flapping Event: blocked, without a second Event.
    await expectBlocked(s, 'flapping', { event: false, table: [] });
    expect(s.observer.calls[0]).toBe('flapping 1');
  });

  guardCase('kube_view_stale', 'a Kubernetes view the server has not confirmed for longer than --watch-idle-timeout is not repaired from', async () => {
    const s = setup({ freshness: () => ({ lastHeardAt: undefined }) });
    await expectBlocked(s, 'kube_view_stale');
    expect(s.events[0]!.message).toContain('not confirmed for never');
  });

  guardCase('kube_view_unconfirmed', 'drift newer than the last word from the API waits, quietly, for the next bookmark', async () => {
    let heard = NOW - 5_000;
    const s = setup({ env: { ROUTEWARDEN_GRACE: '10s' }, freshness: () => ({ lastHeardAt: heard }) });
    await expectBlocked(s, 'grace_period', { event: false });
    s.observer.calls.length = 0;
    s.at(10_000);
    await expectBlocked(s, 'kube_view_unconfirmed', { event: false });
    heard = NOW + 10_000; // a bookmark after the drift appeared
    s.at(11_000);
    expect((await s.attempt()).kind).toBe('applied');
  });

  guardCase('objects_rejected', 'a Kubernetes object that could not be read makes the drift unjudgeable', async () => {
    const base = snapshot([svc('web', { ip: '10.0.0.6' })], [slice('web', 'IPv4', [ep('10.244.1.5')])]);
    const s = setup({ snap: { ...base, rejected: [{ kind: 'Service', namespace: 'default', name: 'bad', reason: 'spec.ports: not a list' }] } });
    await expectBlocked(s, 'objects_rejected');
    expect(s.events[0]!.message).toContain('Service default/bad');
  });

  it('has a case for every guard the remediation_blocked metric has a reason label for', () => {
    expect([...covered].sort()).toEqual([...BLOCK_REASONS].sort());
  });
});

describe('attemptRepair: the RepairBlocked Event rate limit', () => {
  it('posts at most one Warning Event per hour per guard, while the metric counts every block', async () => {
    const s = setup({ env: { ROUTEWARDEN_MAX_DELETIONS: '0' } });
    for (const t of [0, 60_000, HOUR - 1]) {
      s.at(t);
      expect(s.blockedReason(await s.attempt())).toBe('max_deletions');
    }
    expect(s.events).toHaveLength(1);
    expect(s.observer.calls.filter((c) => c === 'blocked surgical max_deletions')).toHaveLength(3);
    s.at(HOUR);
    await s.attempt();
    expect(s.events).toHaveLength(2);
    expect(s.table()).toEqual(BEFORE);
  });

  it('counts the hour per guard: another guard posts its own Event at once', async () => {
    const s = setup({ env: { ROUTEWARDEN_MAX_DELETIONS: '0' } });
    await s.attempt();
    s.at(60_000);
    s.kernel.failNext('dump', 'EIO');
    expect(s.blockedReason(await s.attempt())).toBe('kernel_read_failed');
    expect(s.events).toHaveLength(2);
    expect(s.events[1]!.message).toContain('could not be read');
  });

  it('a sink that fails is logged, and the attempt still ends blocked', async () => {
    const s = setup({ env: { ROUTEWARDEN_MAX_DELETIONS: '0' } });
    const deps: RepairDeps = {
      ...s.deps,
      events: {
        emit: async () => {
          throw new Error('forbidden');
        },
      },
    };
    const outcome = await attemptRepair(deps, s.state, await s.checker.check(), 0);
    expect(s.blockedReason(outcome)).toBe('max_deletions');
    expect(s.warn.mock.calls.some(([, msg]) => msg === 'could not post a Kubernetes Event')).toBe(true);
  });
});

/** --grace 3s on the fake timers' clock, which repairOnce waits on. */
function onFakeClock() {
  vi.setSystemTime(NOW);
  const s = setup({ env: { ROUTEWARDEN_GRACE: '3s' } });
  const checker = createChecker({ kernel: s.kernel, cluster: s.cluster, model: s.config.model, logger: silentLogger(), clock: () => Date.now() });
  const deps: RepairDeps = { ...s.deps, checker, clock: () => Date.now() };
  return { s, checker, deps };
}

describe('attemptRepair with the metrics as its observer', () => {
  it('counts a blocked repair under its guard and a repair that ran with the routes it changed', async () => {
    const s = setup({ env: { ROUTEWARDEN_MAX_DELETIONS: '0' } });
    const m = createMetrics({ version: 't', defaultMetrics: false });
    const deps: RepairDeps = { ...s.deps, observer: metricsObserver(m) };
    await attemptRepair(deps, s.state, await s.checker.check(), 0);
    s.kernel.remove({ destination: '10.0.0.5/32' }); // only the missing route is left: nothing to delete
    await attemptRepair(deps, s.state, await s.checker.check(), 0);
    const text = await m.registry.metrics();
    for (const line of [
      'routewarden_remediation_blocked_total{reason="max_deletions"} 1',
      'routewarden_remediation_blocked_total{reason="rate_limited"} 0',
      'routewarden_remediations_total{strategy="surgical",result="blocked"} 1',
      'routewarden_remediations_total{strategy="surgical",result="success"} 1',
      'routewarden_remediated_routes_total{action="add"} 1',
      'routewarden_remediated_routes_total{action="delete"} 0',
      'routewarden_flapping_routes 0',
    ])
      expect(text.split('\n')).toContain(line);
    expect(s.table()).toEqual(REPAIRED);
  });
});

describe('repairAfterCheck and repairOnce', () => {
  it("repairAfterCheck repairs with the loop's observer and checker, keeping its state between checks", async () => {
    const s = setup({ env: { ROUTEWARDEN_MAX_DELETIONS: '0' } });
    const { observer: _o, checker: _c, ...rest } = s.deps;
    const hook = repairAfterCheck(rest, s.state);
    const observer = recordingObserver();
    await hook(await s.checker.check(), { observer, checker: s.checker });
    await hook(await s.checker.check(), { observer, checker: s.checker });
    expect(observer.calls.filter((c) => c.startsWith('blocked'))).toEqual(['blocked surgical max_deletions', 'blocked surgical max_deletions']);
    // One Event: the hook's state carries the rate limit from one check to the next.
    expect(s.events).toHaveLength(1);
    expect(s.state.blocked?.reason).toBe('max_deletions');
  });

  it('repairAfterCheck never repairs on an incremental verdict: drift is confirmed by a full check, which the repair acts on', async () => {
    const s = setup();
    const { observer: _o, checker: _c, ...rest } = s.deps;
    const hook = repairAfterCheck(rest, s.state);
    const fulls: boolean[] = [];
    const checker = { ...s.checker, check: (opts?: { full?: boolean }) => (fulls.push(opts?.full === true), s.checker.check(opts)) };
    // An incremental verdict that says nothing is missing while the table lacks 10.0.0.6 (a stale state).
    const scratch = await s.checker.check();
    const stale = { ...scratch, incremental: true, report: { ...scratch.report, missing: [], inSync: false }, diff: { ...scratch.diff!, missing: [] } };
    await hook(stale, { observer: recordingObserver(), checker });
    expect(fulls[0]).toBe(true);
    // Repaired as the full check saw it (10.0.0.6 added), and read back from scratch.
    expect(s.table()).toEqual(REPAIRED);
    expect(fulls.every((f) => f)).toBe(true);
  });

  it('repairOnce repairs at once without --grace and returns the read-back', async () => {
    const s = setup();
    const { result, outcome } = await repairOnce(s.deps, await s.checker.check());
    expect(outcome.kind).toBe('applied');
    expect(result.report.inSync).toBe(true);
    expect(s.table()).toEqual(REPAIRED);
  });

  it('repairOnce with --grace re-checks until the drift is old enough, then repairs', async () => {
    vi.useFakeTimers();
    try {
      const { s, checker, deps } = onFakeClock();
      let settled = false;
      const done = repairOnce(deps, await checker.check()).finally(() => (settled = true));
      await vi.advanceTimersByTimeAsync(2_000);
      expect(settled).toBe(false);
      expect(s.table()).toEqual(BEFORE);
      await vi.advanceTimersByTimeAsync(1_000);
      const { outcome } = await done;
      expect(outcome.kind).toBe('applied');
      expect(s.table()).toEqual(REPAIRED);
    } finally {
      vi.useRealTimers();
    }
  });

  it('repairOnce with --grace repairs nothing when the drift resolves by itself while it waits', async () => {
    vi.useFakeTimers();
    try {
      const { s, checker, deps } = onFakeClock();
      const done = repairOnce(deps, await checker.check());
      s.kernel.remove({ destination: '10.0.0.5/32' });
      s.kernel.inject(kroute('10.0.0.6/32'));
      await vi.advanceTimersByTimeAsync(1_000);
      const { result, outcome } = await done;
      expect(outcome.kind).toBe('nothing-to-do');
      expect(result.report.inSync).toBe(true);
      expect(s.kernel.history().filter((h) => h.op !== 'dump')).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });
});

/**
 * `run --remediate` as the loop drives it: a full first check, then one check
 * per event, incremental; the hook gets a checker that counts the full checks
 * asked of it (the repair's confirmation and its read-back).
 */
function persistentDrift(o: Options) {
  const s = setup({ ...o, incremental: true });
  const { observer: _o, checker: _c, ...rest } = s.deps;
  const hook = repairAfterCheck(rest, s.state);
  let fulls = 0;
  const checker = { ...s.checker, check: (opts?: { full?: boolean }) => ((fulls += opts?.full === true ? 1 : 0), s.checker.check(opts)) };
  const observer = recordingObserver();
  const event = async () => {
    const result = await s.checker.check();
    expect(result.incremental).toBe(true);
    await hook(result, { observer, checker });
  };
  return {
    s,
    observer,
    fulls: () => fulls,
    /** The repair after a check that gave `result`. */
    after: (result: Awaited<ReturnType<typeof s.checker.check>>) => hook(result, { observer, checker }),
    /** The loop's first check, from scratch. */
    first: async () => hook(await s.checker.check({ full: true }), { observer, checker }),
    /** One event: an incremental check and the repair hook after it. */
    event,
    /** One event a second, `n` times, from 1s on. */
    events: async (n: number) => {
      for (let i = 1; i <= n; i++) {
        s.at(i * 1_000);
        await event();
      }
    },
  };
}

describe('repairAfterCheck during persistent drift: a full check only when repair may act', () => {
  it('drift held by the grace period costs no full check per event; once it has lasted --grace, one confirms it and repair acts', async () => {
    const p = persistentDrift({ env: { ROUTEWARDEN_GRACE: '60s' } });
    await p.first();
    for (const t of [10_000, 20_000, 30_000, 40_000, 50_000]) {
      p.s.at(t);
      await p.event();
    }
    expect(p.fulls()).toBe(0);
    expect(p.observer.calls.filter((c) => c.startsWith('blocked'))).toEqual(Array(6).fill('blocked surgical grace_period'));
    expect(p.s.state.repairableAt).toBe(NOW + 60_000);
    expect(p.s.table()).toEqual(BEFORE);
    p.s.at(59_000);
    await p.event();
    expect([p.fulls(), p.s.table()]).toEqual([0, BEFORE]);
    p.s.at(61_000);
    await p.event();
    // The confirmation, then the read-back.
    expect(p.fulls()).toBe(2);
    expect(p.s.table()).toEqual(REPAIRED);
    expect(p.observer.calls.slice(-2)).toEqual(['changed +1 -1', 'finished surgical ok']);
  });

  it('drift a guard blocks (max deletions) costs no full check per event; the hourly Event rests on a full check', async () => {
    const p = persistentDrift({ env: { ROUTEWARDEN_MAX_DELETIONS: '0' } });
    await p.first();
    await p.events(5);
    expect(p.fulls()).toBe(0);
    expect(p.observer.calls.filter((c) => c.startsWith('blocked'))).toEqual(Array(6).fill('blocked surgical max_deletions'));
    expect(p.s.events.map((e) => e.reason)).toEqual(['RepairBlocked']);
    expect(p.s.state.blocked).toMatchObject({ reason: 'max_deletions', at: NOW + 5_000 });
    // An hour on, the Event is due again: the verdict it states is confirmed from scratch first.
    p.s.at(HOUR + 1_000);
    await p.event();
    expect(p.fulls()).toBe(1);
    expect(p.s.events.map((e) => e.reason)).toEqual(['RepairBlocked', 'RepairBlocked']);
    expect(p.s.table()).toEqual(BEFORE);
  });

  it('drift no repair can change (a foreign route holds the destination) costs no full check per event, with the full message', async () => {
    const p = persistentDrift({});
    p.s.kernel.remove({ destination: '10.0.0.5/32' });
    p.s.kernel.inject(kroute('10.0.0.6/32', { protocol: routeProtocol(4) }));
    await p.first();
    const message = p.s.state.blocked?.message;
    expect(message).toMatch(/10\.0\.0\.6\/32 \(destination taken by a route of another protocol/);
    await p.events(5);
    expect(p.fulls()).toBe(0);
    expect(p.observer.calls.filter((c) => c.startsWith('blocked'))).toEqual(Array(6).fill('blocked surgical no_progress'));
    expect(p.s.state.blocked).toEqual({ reason: 'no_progress', message, at: NOW + 5_000 });
  });

  it('--dry-run: drift it planned for from scratch costs no full check per event; drift that changes is planned again from a full check', async () => {
    const p = persistentDrift({ env: { ROUTEWARDEN_DRY_RUN: 'true' } });
    await p.first();
    await p.events(5);
    expect(p.fulls()).toBe(0);
    expect(p.observer.calls.filter((c) => !c.startsWith('flapping'))).toEqual(Array(6).fill('dry-run surgical'));
    expect(p.s.state.last).toEqual({ at: NOW, result: 'dry-run', added: 1, deleted: 1, failures: 0 });
    p.s.kernel.inject(kroute('10.0.0.9/32'));
    p.s.at(6_000);
    await p.event();
    expect(p.fulls()).toBe(1);
    expect(p.s.state.last).toEqual({ at: NOW + 6_000, result: 'dry-run', added: 1, deleted: 2, failures: 0 });
    expect(p.s.table()).toEqual(['10.0.0.5/32 lo proto 248', '10.0.0.9/32 lo proto 248']);
  });

  it('an incremental verdict with drift the full check does not confirm changes nothing', async () => {
    const p = persistentDrift({});
    // The drift as seen, then put right by someone else: an incremental state
    // that missed it (a bug the full check would correct) still shows it.
    const drifted = await p.s.checker.check({ full: true });
    expect(drifted.report.inSync).toBe(false);
    p.s.kernel.remove({ destination: '10.0.0.5/32' });
    p.s.kernel.inject(kroute('10.0.0.6/32'));
    const changes = () => p.s.kernel.history().filter((h) => h.op === 'add' || h.op === 'delete').length;
    const before = changes();
    await p.after({ ...drifted, incremental: true, expected: null, kernel: null });
    expect(p.fulls()).toBe(1);
    expect(changes()).toBe(before);
    expect(p.observer.calls.filter((c) => !c.startsWith('flapping'))).toEqual([]);
    expect(p.s.table()).toEqual(REPAIRED);
  });
});
