// What the repair loop remembers for the status page (src/app/repair.ts's
// RepairState): the grace countdown while drift waits, the guard that holds
// repair back, and the last repair with its result. Real checker, real
// repair, the in-memory kernel table, a fixed cluster snapshot and a clock
// the test moves.

import { describe, expect, it } from 'vitest';
import { createChecker } from '../../src/app/checker.ts';
import { attemptRepair, newRepairState } from '../../src/app/repair.ts';
import { loadConfig } from '../../src/cli/config.ts';
import { createMemoryKernelTable } from '../../src/kernel/memory.ts';
import { routeProtocol, tableId } from '../../src/core/types.ts';
import { silentLogger } from '../../src/surface/logger.ts';
import { ep, kroute, memoryCluster, NOW, slice, snapshot, svc } from '../helpers/fixtures.ts';

function setup(env: Record<string, string> = {}) {
  let now = NOW;
  const config = loadConfig(
    'run',
    {},
    { env: { NODE_NAME: 'worker-1', ROUTEWARDEN_KUBE_VIP_CONFIG: 'off', ROUTEWARDEN_REMEDIATE: 'true', ...env }, hostname: 'x' },
  );
  const kernel = createMemoryKernelTable({ table: tableId(198), protocol: routeProtocol(248) });
  // 10.0.0.6 is justified by Service web (an endpoint on this node); 10.0.0.5 is an orphan.
  kernel.inject(kroute('10.0.0.5/32'));
  const cluster = memoryCluster({ snapshot: () => snapshot([svc('web', { ip: '10.0.0.6' })], [slice('web', 'IPv4', [ep('10.244.1.5')])]) });
  const logger = silentLogger();
  const clock = () => now;
  const checker = createChecker({ kernel, cluster, model: config.model, logger, clock });
  const state = newRepairState();
  const deps = { config, kernel, checker, logger, clock };
  return {
    state,
    at: (t: number) => (now = NOW + t),
    attempt: async () => attemptRepair(deps, state, await checker.check(), config.graceMs),
  };
}

describe('the repair state the status page shows', () => {
  it('counts down the grace period, then records the repair and its result', async () => {
    const s = setup({ ROUTEWARDEN_GRACE: '60s', ROUTEWARDEN_STRATEGY: 'surgical' });
    expect((await s.attempt()).kind).toBe('blocked');
    expect(s.state).toMatchObject({ repairableAt: NOW + 60_000, blocked: null, last: null });
    s.at(30_000);
    await s.attempt();
    // Still the moment the drift first seen becomes 60s old.
    expect(s.state.repairableAt).toBe(NOW + 60_000);
    s.at(61_000);
    expect((await s.attempt()).kind).toBe('applied');
    expect(s.state).toMatchObject({ repairableAt: null, blocked: null, last: { at: NOW + 61_000, result: 'success', added: 1, deleted: 1, failures: 0 } });
    s.at(90_000);
    expect((await s.attempt()).kind).toBe('nothing-to-do');
    expect(s.state).toMatchObject({ repairableAt: null, blocked: null, last: { at: NOW + 61_000, result: 'success' } });
  });

  it('records the guard that holds repair back', async () => {
    const s = setup({ ROUTEWARDEN_GRACE: '0s', ROUTEWARDEN_MAX_DELETIONS: '0', ROUTEWARDEN_STRATEGY: 'surgical' });
    const outcome = await s.attempt();
    expect(outcome.kind).toBe('blocked');
    expect(s.state.blocked).toMatchObject({ reason: 'max_deletions', at: NOW });
    expect(s.state.blocked!.message).toMatch(/delet/);
    expect([s.state.repairableAt, s.state.last]).toEqual([null, null]);
  });

  it('records a dry run as a plan, not a repair', async () => {
    const s = setup({ ROUTEWARDEN_GRACE: '0s', ROUTEWARDEN_DRY_RUN: 'true', ROUTEWARDEN_STRATEGY: 'surgical' });
    expect((await s.attempt()).kind).toBe('dry-run');
    expect(s.state.last).toEqual({ at: NOW, result: 'dry-run', added: 1, deleted: 1, failures: 0 });
  });
});
