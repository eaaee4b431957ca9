import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/core/report.ts';
import type { Report } from '../../src/core/report.ts';
import { renderStatusPage } from '../../src/surface/status-page.ts';
import { ep, kroute, model, NOW, slice, snapshot, svc } from '../helpers/fixtures.ts';

const opts = { version: '1.2.3', refreshSeconds: 5, ready: true };

function seedReport(): Report {
  return evaluate({
    model: model(),
    now: NOW,
    kernel: { status: { state: 'ok' }, dump: { owned: [kroute('10.0.0.5/32')], foreign: [] }, interfaces: null },
    kubernetes: { status: { state: 'ok' }, snapshot: snapshot([svc('<script>x</script>', { ip: '10.0.0.6' })], [slice('<script>x</script>', 'IPv4', [ep('10.244.1.5')])]) },
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
        mode: 'auto', found: 1, message: 'found 1 kube-vip pod in routing-table mode on this node', mismatches: ['table'], instances: [{
          pod: 'kube-system/kube-vip-ds-x', container: 'kube-vip', image: 'kube-vip:v1.2.3', included: true, ready: false, terminating: false,
          startedAt: '2026-11-26T11:59:30.000Z', restarts: 2, settings: {}, notes: [],
        }],
      },
    };
    const html = renderStatusPage(report, opts);
    expect(html).toContain('<h2>kube-vip</h2>');
    expect(html).toContain('<td>kube-system/kube-vip-ds-x</td><td>not ready</td>');
    expect(html).toContain("differ from kube-vip's effective value for: table");
  });

  it('says so when no check has finished yet', () => {
    expect(renderStatusPage(null, opts)).toContain('no check has finished yet');
  });
});
