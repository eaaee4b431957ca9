// The checker (src/app/checker.ts) in process: the in-memory kernel table, a
// cluster source held in memory, a clock the test moves and a recording
// observer. It is the one place that turns adapter failures into report
// states: a side that cannot be read is an error or "unsynced", never drift.

import { describe, expect, it } from 'vitest';
import { createChecker } from '../../src/app/checker.ts';
import type { CheckObserver } from '../../src/app/ports.ts';
import type { ClusterSnapshot } from '../../src/core/cluster.ts';
import { driftKey } from '../../src/core/tracker.ts';
import type { SourceStatus } from '../../src/core/types.ts';
import { routeProtocol, tableId } from '../../src/core/types.ts';
import { createMemoryKernelTable } from '../../src/kernel/memory.ts';
import { silentLogger } from '../../src/surface/logger.ts';
import { ep, kroute, memoryCluster, model, NOW, slice, snapshot, svc } from '../helpers/fixtures.ts';

/** Service web wants 10.0.0.6 on this node (an endpoint elsewhere, policy Cluster). */
const WEB = (): ClusterSnapshot => snapshot([svc('web', { ip: '10.0.0.6' })], [slice('web', 'IPv4', [ep('10.244.1.5')])]);

function setup(o: { status?: SourceStatus; snap?: () => ClusterSnapshot; rejectedTotal?: () => Record<string, number> } = {}) {
  let now = NOW;
  const kernel = createMemoryKernelTable({ table: tableId(198), protocol: routeProtocol(248) });
  const status: SourceStatus = o.status ?? { state: 'ok' };
  const cluster = memoryCluster({ status: () => status, snapshot: o.snap ?? WEB, ...(o.rejectedTotal ? { rejectedTotal: o.rejectedTotal } : {}) });
  const checked: { inSync: boolean; entered: string[] }[] = [];
  const rejected: string[] = [];
  const observer: CheckObserver = {
    checked: (report, entered, seconds) => {
      expect(seconds).toBeGreaterThanOrEqual(0);
      checked.push({ inSync: report.inSync, entered: entered.map((e) => e.kind).sort() });
    },
    rejected: (kind, n) => rejected.push(`${kind} +${n}`),
  };
  const checker = createChecker({ kernel, cluster, model: model(), observer, logger: silentLogger(), clock: () => now });
  return { kernel, checker, checked, rejected, at: (t: number) => (now = NOW + t) };
}

describe('checker', () => {
  it('has no report before the first check, and keeps the last one after', async () => {
    const s = setup();
    expect(s.checker.lastReport()).toBeNull();
    s.kernel.inject(kroute('10.0.0.6/32'));
    const result = await s.checker.check();
    expect(s.checker.lastReport()).toBe(result.report);
  });

  it('finds a table that matches the cluster in sync, and tells the observer with nothing newly drifted', async () => {
    const s = setup();
    s.kernel.inject(kroute('10.0.0.6/32'));
    const { report, diff } = await s.checker.check();
    expect(report).toMatchObject({
      inSync: true,
      sources: { kernel: 'ok', kubernetes: 'ok' },
      counts: { expected: 1, kernel: 1, orphan: 0, missing: 0 },
      checkedAt: new Date(NOW).toISOString(),
    });
    expect(diff).not.toBeNull();
    expect(s.checked).toEqual([{ inSync: true, entered: [] }]);
  });

  it('reports an orphan and a missing route, tells the observer both newly drifted, and remembers since when', async () => {
    const s = setup();
    s.kernel.inject(kroute('10.0.0.5/32'));
    const { report } = await s.checker.check();
    expect(report.inSync).toBe(false);
    expect(report.orphans.map((r) => `${r.destination} ${r.reason}`)).toEqual(['10.0.0.5/32 no-service']);
    expect(report.missing.map((r) => `${r.destination} ${r.device} ${r.reason}`)).toEqual(['10.0.0.6/32 lo not-in-kernel']);
    s.at(30_000);
    await s.checker.check();
    // The second check sees the same drift: nothing newly drifted, and its age runs from the first.
    expect(s.checked).toEqual([
      { inSync: false, entered: ['missing', 'orphan'] },
      { inSync: false, entered: [] },
    ]);
    expect(s.checker.tracker.since(driftKey('orphan', '10.0.0.5/32', 'lo'))).toBe(NOW);
    expect(s.checker.tracker.since(driftKey('missing', '10.0.0.6/32', 'lo'))).toBe(NOW);
  });

  it('turns a kernel read failure into a kernel error, never drift', async () => {
    const s = setup();
    s.kernel.inject(kroute('10.0.0.5/32'));
    s.kernel.failNext('dump', 'EPERM');
    const { report, diff, kernel } = await s.checker.check();
    expect(report.sources).toEqual({ kernel: 'error', kubernetes: 'ok' });
    expect(report.errors.kernel).toMatch(/listing routes in table 198/);
    expect([report.orphans, report.missing, diff, kernel]).toEqual([[], [], null, null]);
    expect(report.inSync).toBe(false);
    expect(s.checked).toEqual([{ inSync: false, entered: [] }]);
  });

  it('neither reads nor judges the cluster while it is not synced: no drift, whatever the table holds', async () => {
    const s = setup({
      status: { state: 'unsynced', message: 'waiting for the first LIST' },
      snap: () => {
        throw new Error('snapshot read while unsynced');
      },
    });
    s.kernel.inject(kroute('10.0.0.5/32'));
    const { report, diff } = await s.checker.check();
    expect(report.sources).toEqual({ kernel: 'ok', kubernetes: 'unsynced' });
    expect([report.orphans, report.missing, diff]).toEqual([[], [], null]);
    expect(report.counts.kernel).toBe(1);
    expect(s.checked).toEqual([{ inSync: false, entered: [] }]);
  });

  it('starts drift ages again after a check that could not compare, without counting the drift as new again', async () => {
    const s = setup();
    s.kernel.inject(kroute('10.0.0.5/32'));
    await s.checker.check();
    s.at(10_000);
    s.kernel.failNext('dump', 'EIO');
    await s.checker.check();
    s.at(20_000);
    await s.checker.check();
    expect(s.checker.tracker.since(driftKey('orphan', '10.0.0.5/32', 'lo'))).toBe(NOW + 20_000);
    expect(s.checked.map((c) => c.entered)).toEqual([['missing', 'orphan'], [], []]);
  });

  it('tells the observer how many more objects were rejected since the last check, per kind', async () => {
    let total: Record<string, number> = { Service: 2 };
    const s = setup({ rejectedTotal: () => total });
    await s.checker.check();
    await s.checker.check();
    total = { Service: 3, Lease: 1 };
    await s.checker.check();
    expect(s.rejected).toEqual(['Service +2', 'Service +1', 'Lease +1']);
  });
});
