import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/core/report.ts';
import type { Report } from '../../src/core/report.ts';
import { formatAge, renderStatusPage, type RepairView, type StatusExtras } from '../../src/surface/status-page.ts';
import { ep, kroute, model, NOW, slice, snapshot, svc } from '../helpers/fixtures.ts';

const opts = { version: '1.2.3', refreshSeconds: 5, ready: true };

function seedReport(): Report {
  return evaluate({
    model: model(),
    now: NOW,
    kernel: { status: { state: 'ok' }, dump: { owned: [kroute('10.0.0.5/32')], foreign: [] }, interfaces: null },
    kubernetes: {
      status: { state: 'ok' },
      snapshot: snapshot([svc('<script>x</script>', { ip: '10.0.0.6' })], [slice('<script>x</script>', 'IPv4', [ep('10.244.1.5')])]),
    },
  }).report;
}

describe('status page', () => {
  it('lists every route with its verdict, drift first in the state badge', () => {
    const html = renderStatusPage(seedReport(), opts);
    expect(html).toContain('data-destination="10.0.0.5/32" data-verdict="orphan"');
    expect(html).toContain('data-destination="10.0.0.6/32" data-verdict="missing"');
    expect(html).toMatch(/id="state">drift</);
    expect(html).toContain('<meta http-equiv="refresh" content="5">');
  });

  it('escapes what users control (Service names)', () => {
    const html = renderStatusPage(seedReport(), opts);
    expect(html).not.toContain('<script>x</script>');
    expect(html).toContain('&lt;script&gt;x&lt;/script&gt;');
  });

  it('shows the kube-vip instances and setting mismatches when discovery ran', () => {
    const report: Report = {
      ...seedReport(),
      kubeVip: {
        mode: 'auto',
        found: 1,
        message: 'found 1 kube-vip pod in routing-table mode on this node',
        mismatches: ['table'],
        instances: [
          {
            pod: 'kube-system/kube-vip-ds-x',
            container: 'kube-vip',
            image: 'kube-vip:v1.2.3',
            included: true,
            ready: false,
            terminating: false,
            startedAt: '2026-11-26T11:59:30.000Z',
            restarts: 2,
            settings: {},
            notes: [],
            version: { tag: 'v1.2.3', known: true, judgedAs: 'v1.2.3', detail: 'kube-vip v1.2.3, from the image tag' },
          },
          {
            pod: 'kube-system/kube-vip-ds-y',
            container: 'kube-vip',
            image: 'kube-vip:latest',
            included: true,
            ready: true,
            terminating: false,
            startedAt: '2026-11-26T11:59:30.000Z',
            restarts: 0,
            settings: {},
            notes: [],
            version: { tag: 'latest', known: false, judgedAs: 'v1.2.3-24 (bee5cfe)', detail: 'the image tag "latest" is not a kube-vip release: judged as …' },
          },
        ],
      },
    };
    const html = renderStatusPage(report, opts);
    expect(html).toContain('<h2>kube-vip</h2>');
    expect(html).toContain('<td>kube-system/kube-vip-ds-x</td><td>not ready</td><td>v1.2.3</td>');
    // An unknown version says what it is judged as, and why.
    expect(html).toContain(
      '<td>kube-system/kube-vip-ds-y</td><td>ready</td><td>v1.2.3-24 (bee5cfe) (the image tag &quot;latest&quot; is not a kube-vip release',
    );
    expect(html).toContain("differ from kube-vip's effective value for: table");
  });

  it('has a line and a table for routes that are not judged, with the reason', () => {
    const r = evaluate({
      model: model({ election: 'service', notJudged: [{ reason: 'etcd-lease', scope: 'elected', detail: 'leases live in etcd' }] }),
      now: NOW,
      kernel: { status: { state: 'ok' }, dump: { owned: [kroute('10.0.0.5/32')], foreign: [] }, interfaces: null },
      kubernetes: { status: { state: 'ok' }, snapshot: snapshot([svc('web', { ip: '10.0.0.5' })], [slice('web', 'IPv4', [ep('10.244.1.5')])]) },
    });
    const html = renderStatusPage(r.report, { version: 't', refreshSeconds: 5, ready: true });
    expect(html).toContain('<p class="reason" id="not-judged">1 route not judged (etcd-lease)');
    expect(html).toContain('data-verdict="not-judged"');
    expect(html).toContain('leases live in etcd');
    expect(html).toContain('id="state">in sync<');
  });

  it('says so when no check has finished yet, and links to /metrics and /drift', () => {
    const html = renderStatusPage(null, opts);
    expect(html).toContain('no check has finished yet');
    expect(html).toContain('<a href="metrics" id="link-metrics">');
    expect(html).toContain('<a href="drift" id="link-drift">');
  });

  it('links to /metrics and /drift, relative so that a path prefix (kubectl proxy) keeps working', () => {
    const html = renderStatusPage(seedReport(), opts);
    expect(html).toContain('<a href="metrics" id="link-metrics">/metrics</a>');
    expect(html).toContain('<a href="drift" id="link-drift">/drift</a>');
  });
});

describe('status page: counts of a side that cannot be read', () => {
  const failing = (side: 'kernel' | 'kubernetes'): Report => {
    const r = seedReport();
    return { ...r, sources: { ...r.sources, [side]: 'error' }, errors: { ...r.errors, [side]: `${side} unreachable` } };
  };
  const count = (html: string, label: string): string => new RegExp(`data-count="${label}"[^>]*>([^<]*)<`).exec(html)![1]!;

  it('shows — rather than 0 for every count that needs the kernel when the kernel cannot be read', () => {
    const html = renderStatusPage(failing('kernel'), opts);
    expect(['kernel', 'orphan', 'missing', 'foreign'].map((l) => count(html, l))).toEqual(['—', '—', '—', '—']);
    expect(count(html, 'expected')).toMatch(/^\d+$/);
    expect(html).toContain('kernel unreachable');
  });

  it('shows — for the counts that need the API when the API cannot be read', () => {
    const html = renderStatusPage(failing('kubernetes'), opts);
    expect(['expected', 'orphan', 'missing'].map((l) => count(html, l))).toEqual(['—', '—', '—']);
    expect(count(html, 'kernel')).toMatch(/^\d+$/);
  });

  it('shows the numbers when both sides are read, 0 included', () => {
    const html = renderStatusPage(seedReport(), opts);
    expect(['expected', 'kernel', 'orphan', 'missing', 'foreign'].map((l) => count(html, l))).toEqual(['1', '1', '1', '1', '0']);
  });
});

describe('status page: drift ages and repair', () => {
  const repair = (over: Partial<RepairView> = {}): RepairView => ({
    mode: 'on',
    strategy: 'flush-rebuild',
    graceMs: 60_000,
    repairableAt: null,
    blocked: null,
    last: null,
    ...over,
  });
  const extras = (r: RepairView, since: Record<string, number> = {}): StatusExtras => ({
    now: NOW,
    driftSince: (verdict, destination) => since[`${verdict} ${destination}`],
    repair: r,
  });
  const repairLine = (html: string): string => /<div class="src repair" id="repair">(.*?)<\/div>/.exec(html)![1]!.replace(/<[^>]+>/g, '');

  it('says how long each drifted route has been drifting, and since when', () => {
    const html = renderStatusPage(seedReport(), {
      ...opts,
      status: extras(repair(), { 'orphan 10.0.0.5/32': NOW - 95_000, 'missing 10.0.0.6/32': NOW - 3_605_000 }),
    });
    const rowOf = (dst: string) => new RegExp(`<tr[^>]*data-destination="${dst.replace('.', '\\.')}"[^>]*>(.*?)</tr>`).exec(html)![1]!;
    expect(rowOf('10.0.0.5/32')).toContain('drifting for 1m 35s <span class="at">(since 2026-11-26T11:58:25Z)');
    expect(rowOf('10.0.0.6/32')).toContain('drifting for 1h 0m');
  });

  it('says nothing of age for a route the tracker does not know', () => {
    expect(renderStatusPage(seedReport(), { ...opts, status: extras(repair()) })).not.toContain('drifting for');
  });

  it('shows repair off', () => {
    const line = repairLine(renderStatusPage(seedReport(), { ...opts, status: extras(repair({ mode: 'off' })) }));
    expect(line).toBe('repair: off (detection only; --remediate turns it on)');
  });

  it('shows repair on with the grace countdown and no repair yet', () => {
    const line = repairLine(renderStatusPage(seedReport(), { ...opts, status: extras(repair({ repairableAt: NOW + 42_000 })) }));
    expect(line).toBe('repair: on · flush-rebuild · grace 1m 0s · repair in 42s if the drift persists · no repair yet');
  });

  it('shows dry-run, a guard holding repair back, and the last plan', () => {
    const r = repair({
      mode: 'dry-run',
      strategy: 'surgical',
      blocked: { reason: 'max_deletions', message: 'would delete 120 routes, more than --max-deletions 100', at: NOW },
      last: { at: NOW - 30_000, result: 'dry-run', added: 0, deleted: 2, failures: 0 },
    });
    const line = repairLine(renderStatusPage(seedReport(), { ...opts, status: extras(r) }));
    expect(line).toBe(
      'repair: dry-run · surgical · grace 1m 0s · held back (max_deletions): would delete 120 routes, more than --max-deletions 100 · last plan (dry run) 30s ago (2026-11-26T11:59:30Z): dry-run, 0 added, 2 deleted',
    );
  });

  it('shows the last repair and its result, failures included', () => {
    const r = repair({ last: { at: NOW - 7_200_000, result: 'failure', added: 1, deleted: 3, failures: 2 } });
    const html = renderStatusPage(seedReport(), { ...opts, status: extras(r) });
    expect(repairLine(html)).toContain('last repair 2h 0m ago (2026-11-26T10:00:00Z): failure, 1 added, 3 deleted, 2 failed');
    expect(html).toContain('data-result="failure"');
  });

  it('escapes what a guard says', () => {
    const r = repair({ blocked: { reason: 'x', message: '<img src=x>', at: NOW } });
    expect(renderStatusPage(seedReport(), { ...opts, status: extras(r) })).toContain('&lt;img src=x&gt;');
  });

  it.each([
    [0, '0s'],
    [999, '0s'],
    [5_000, '5s'],
    [95_000, '1m 35s'],
    [3_600_000, '1h 0m'],
    [3_605_000, '1h 0m'],
    [3_665_000, '1h 1m'],
    [90_061_000, '1d 1h'],
    [-5_000, '0s'],
  ])('formatAge(%i) is %s', (ms, text) => {
    expect(formatAge(ms)).toBe(text);
  });
});
