import { describe, expect, it } from 'vitest';
import { EvaluationCache, evaluate } from '../../src/core/report.ts';
import { createMetrics, recordCheck } from '../../src/surface/metrics.ts';
import { ep, kroute, model, NOW, slice, snapshot, svc } from '../helpers/fixtures.ts';

const api = snapshot(
  [svc('web', { ip: '10.0.0.5' }), svc('db', { ip: '10.0.0.6' })],
  [slice('web', 'IPv4', [ep('10.244.1.5')]), slice('db', 'IPv4', [ep('10.244.1.6')])],
);
/** One cache for the file, as the checker keeps one for its life. */
const cache = new EvaluationCache();
const check = (owned: ReturnType<typeof kroute>[]) =>
  evaluate(
    {
      model: model(),
      now: NOW,
      kernel: { status: { state: 'ok' }, dump: { owned, foreign: [] }, interfaces: null },
      kubernetes: { status: { state: 'ok' }, snapshot: api },
    },
    cache,
  ).report;

async function expectedSeries(m: ReturnType<typeof createMetrics>): Promise<string[]> {
  const text = await m.registry.getSingleMetricAsString('routewarden_expected_route_info');
  return text
    .split('\n')
    .filter((l) => l.startsWith('routewarden_expected_route_info{'))
    .map((l) => l.replace(/^routewarden_expected_route_info/, ''))
    .sort();
}

describe('recordCheck: routewarden_expected_route_info', () => {
  it('follows the report through unchanged, drifted and repaired tables, reusing nothing stale', async () => {
    const m = createMetrics({ version: 't', defaultMetrics: false });
    const synced = check([kroute('10.0.0.5/32'), kroute('10.0.0.6/32')]);
    recordCheck(m, synced, [], 0.01);
    const both = [
      '{destination="10.0.0.5/32",family="ipv4",services="default/web",present="true"} 1',
      '{destination="10.0.0.6/32",family="ipv4",services="default/db",present="true"} 1',
    ];
    expect(await expectedSeries(m)).toEqual(both);

    // The same in-sync view again: the report shares its rows, the series stay.
    const again = check([kroute('10.0.0.6/32'), kroute('10.0.0.5/32')]);
    expect(again.routes).toBe(synced.routes);
    recordCheck(m, again, [], 0.01);
    expect(await expectedSeries(m)).toEqual(both);

    // A route goes missing: the rows differ, the series are rewritten.
    recordCheck(m, check([kroute('10.0.0.5/32')]), [], 0.01);
    expect(await expectedSeries(m)).toEqual([both[0], '{destination="10.0.0.6/32",family="ipv4",services="default/db",present="false"} 1']);

    // Back in sync: the shared rows of the first check are current again and must be written again.
    recordCheck(m, check([kroute('10.0.0.5/32'), kroute('10.0.0.6/32')]), [], 0.01);
    expect(await expectedSeries(m)).toEqual(both);

    // Same rows, a smaller cap: rewritten to the cap.
    recordCheck(m, check([kroute('10.0.0.5/32'), kroute('10.0.0.6/32')]), [], 0.01, 100, 1);
    expect(await expectedSeries(m)).toEqual([both[0]]);
  });
});

describe('recordCheck: routewarden_unjudged_routes', () => {
  it('exists for both families and every reason from the start, and counts not-judged routes by family and reason', async () => {
    const m = createMetrics({ version: 'test', defaultMetrics: false });
    const before = await m.registry.getSingleMetricAsString('routewarden_unjudged_routes');
    expect(before).toContain('routewarden_unjudged_routes{family="ipv4",reason="etcd-lease"} 0');
    expect(before).toContain('routewarden_unjudged_routes{family="ipv6",reason="setting-not-visible"} 0');
    const etcd = model({ election: 'service', notJudged: [{ reason: 'etcd-lease', scope: 'elected', detail: 'etcd' }] });
    const r = evaluate({
      model: etcd,
      now: NOW,
      kernel: { status: { state: 'ok' }, dump: { owned: [kroute('10.0.0.5/32')], foreign: [] }, interfaces: null },
      kubernetes: { status: { state: 'ok' }, snapshot: snapshot([svc('web', { ip: ['10.0.0.5', 'fd00::5'] })], [slice('web', 'IPv4', [ep('10.244.1.5')])]) },
    });
    recordCheck(m, r.report, [], 0.01);
    const after = await m.registry.getSingleMetricAsString('routewarden_unjudged_routes');
    expect(after).toContain('routewarden_unjudged_routes{family="ipv4",reason="etcd-lease"} 1');
    expect(after).toContain('routewarden_unjudged_routes{family="ipv6",reason="etcd-lease"} 1');
    expect(after).toContain('routewarden_unjudged_routes{family="ipv4",reason="dhcp"} 0');
    // Not drift: the orphan and missing gauges stay at zero.
    expect(await m.registry.getSingleMetricAsString('routewarden_orphan_routes')).toContain('routewarden_orphan_routes{family="ipv4"} 0');
  });
});

describe('recordCheck: routewarden_expected_route_info from the incremental engine', () => {
  it('after reports whose rows share objects (one Service moves per check), the series are those a fresh registry writes for the last report, cap included', async () => {
    const { IncrementalEngine } = await import('../../src/core/engine.ts');
    const engine = new IncrementalEngine();
    const names = ['a', 'b', 'c', 'd', 'e'];
    const ipOf = new Map(names.map((n, i) => [n, `10.0.0.${i + 1}`]));
    // The kernel holds the first addresses throughout: a moved Service's row turns missing, its old route an orphan.
    const owned = [...ipOf.values()].map((ip) => kroute(`${ip}/32`));
    const dump = { owned, foreign: [] };
    const view = { at: (d: string) => ({ owned: owned.filter((r) => r.destination === d), foreign: [] }), dump: () => dump };
    const m = createMetrics({ version: 't', defaultMetrics: false });
    for (let round = 0; round < 8; round++) {
      const moved = names[round % names.length]!;
      if (round > 0) ipOf.set(moved, `10.0.${round}.${round}`);
      const api = snapshot(
        names.map((n) => svc(n, { ip: ipOf.get(n)! })),
        names.map((n) => slice(n, 'IPv4', [ep('10.244.1.5')])),
      );
      const changed = round === 0 ? ('all' as const) : { services: new Set([`default/${moved}`]), slices: new Set<string>(), leases: new Set<string>() };
      const { report } = engine.update({
        model: model(),
        now: NOW,
        kernel: { status: { state: 'ok' }, view, touched: round === 0 ? 'all' : new Set<string>(), interfaces: null },
        kubernetes: { status: { state: 'ok' }, snapshot: api, changed },
      });
      recordCheck(m, report, [], 0.01, undefined, 3);
      const fresh = createMetrics({ version: 't', defaultMetrics: false });
      recordCheck(fresh, report, [], 0.01, undefined, 3);
      expect(await expectedSeries(m), `round ${round}`).toEqual(await expectedSeries(fresh));
      expect(await expectedSeries(m)).toHaveLength(3);
    }
  });
});
