// /metrics content negotiation: Prometheus's own Accept header gets
// OpenMetrics (prom-client's format, ending in # EOF); anything else gets the
// classic text format, which promtool still accepts (also after an
// OpenMetrics scrape: prom-client renames counters in place when rendering it).

import { spawnSync } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from '../../src/core/report.ts';
import { createApp, wantsOpenMetrics } from '../../src/surface/http.ts';
import { createMetrics, recordCheck } from '../../src/surface/metrics.ts';
import { findBinary } from '../helpers/prometheus.ts';
import { kroute, model, NOW, snapshot, svc } from '../helpers/fixtures.ts';

// What Prometheus 2.x sends by default.
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

describe('wantsOpenMetrics', () => {
  it.each([
    [PROMETHEUS_ACCEPT, true],
    ['application/openmetrics-text', true],
    ['text/plain;version=0.0.4;q=0.5,*/*;q=0.1', false],
    ['application/openmetrics-text;q=0,text/plain', false],
    ['application/openmetrics-textual', false],
    [undefined, false],
  ])('%s → %s', (accept, want) => expect(wantsOpenMetrics(accept)).toBe(want));
});

describe('/metrics', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const m = createMetrics({ version: 't' });
    const report = evaluate({
      model: model(),
      now: NOW,
      kernel: { status: { state: 'ok' }, dump: { owned: [kroute('10.0.0.9/32')], foreign: [] }, interfaces: null },
      kubernetes: { status: { state: 'ok' }, snapshot: snapshot([svc('web', { ip: '10.0.0.5' })], []) },
    }).report;
    recordCheck(m, report, [], 0.01);
    const app = createApp({ registry: m.registry, report: () => report, heartbeatAgeMs: () => 0, heartbeatTimeoutMs: 1000, ready: () => true, version: 't' });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("answers Prometheus's Accept with OpenMetrics", async () => {
    const res = await fetch(`${base}/metrics`, { headers: { accept: PROMETHEUS_ACCEPT } });
    expect(res.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    const body = await res.text();
    expect(body.endsWith('# EOF\n')).toBe(true);
    expect(body).toContain('# TYPE routewarden_checks counter');
    expect(body).toMatch(/^routewarden_orphan_routes\{family="ipv4"\} 1$/m);
  });

  const promtool = findBinary('promtool', 'PROMTOOL_BIN');
  it.skipIf(promtool === null)('answers anything else with the text format, and promtool check metrics passes, also after an OpenMetrics scrape', async () => {
    // prom-client renames counters in place when rendering OpenMetrics: the text format must not inherit that.
    await (await fetch(`${base}/metrics`, { headers: { accept: PROMETHEUS_ACCEPT } })).text();
    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const body = await res.text();
    expect(body).not.toContain('# EOF');
    expect(body).toContain('# TYPE routewarden_checks_total counter');
    expect(body).toMatch(/^process_cpu_seconds_total [\d.e-]+$/m);
    const r = spawnSync(promtool!, ['check', 'metrics'], { input: body, encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});
