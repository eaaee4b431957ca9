// A real Prometheus scraping the real metrics registry (createMetrics) served
// over HTTP, with the generated rules loaded at shortened `for:`: proves the
// test/helpers/prometheus.ts helper, that the rules evaluate without error on
// real series (joins included), that RouteWardenMissingRoutes goes pending
// then firing, and that every dashboard query returns data.
// routewarden-e2e.test.ts does the same against a real `routewarden run`.

import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, renderRules } from '../../alerts/generate.ts';
import { withShortFor } from '../../alerts/rules.ts';
import { createMetrics, type Metrics } from '../../src/surface/metrics.ts';
import { prometheusBinary, startPrometheus, type PromAlert, type Prometheus } from '../helpers/prometheus.ts';
import { dashboardQueries } from './names.ts';

const binary = prometheusBinary();
if (binary === null) {
  console.warn('SKIPPED prometheus end-to-end tests: prometheus is not installed (apt-get install prometheus)');
}

interface Exporter {
  readonly metrics: Metrics;
  readonly address: string;
  close(): Promise<void>;
}

async function serve(metrics: Metrics): Promise<Exporter> {
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(body),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (typeof addr !== 'object' || addr === null) throw new Error('no address');
  return {
    metrics,
    address: `127.0.0.1:${addr.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function nodeMetrics(node: string, election: string): Metrics {
  const m = createMetrics({ version: 'test', defaultMetrics: false });
  m.configInfo.set({ node, table: '198', protocol: '248', remediate: 'true', strategy: 'flush-rebuild', election }, 1);
  return m;
}

const alertsNamed = (alerts: PromAlert[], name: string): PromAlert[] => alerts.filter((a) => a.labels.alertname === name);

describe.skipIf(binary === null)('a real Prometheus scraping the metrics registry', () => {
  let dir: string;
  let healthy: Exporter;
  let neverChecked: Exporter;
  let prom: Prometheus;
  let loop: NodeJS.Timeout;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'routewarden-rules-'));
    const rulesFile = join(dir, 'routewarden.rules.yaml');
    writeFileSync(rulesFile, renderRules(withShortFor(config, '5s')));

    // worker-1: a running check loop that finds two IPv4 routes missing and
    // one IPv6 orphan, and has repaired and been refused once.
    const m1 = nodeMetrics('worker-1', 'service');
    m1.missingRoutes.set({ family: 'ipv4' }, 2);
    m1.orphanRoutes.set({ family: 'ipv6' }, 1);
    m1.expectedRoutes.set({ family: 'ipv4' }, 3);
    m1.kernelRoutes.set({ family: 'ipv4' }, 1);
    m1.kernelRoutes.set({ family: 'ipv6' }, 1);
    m1.foreignRoutes.set({ family: 'ipv4' }, 1);
    m1.driftDetected.inc({ kind: 'missing' }, 2);
    m1.driftDetected.inc({ kind: 'orphan' }, 1);
    m1.driftedRouteInfo.set({ kind: 'missing', destination: '10.0.0.6/32', family: 'ipv4', services: 'default/web', reason: 'not-in-kernel' }, 1);
    m1.driftedRouteInfo.set({ kind: 'missing', destination: '10.0.0.7/32', family: 'ipv4', services: 'default/api', reason: 'not-in-kernel' }, 1);
    m1.driftedRouteInfo.set({ kind: 'orphan', destination: 'fd00::5/128', family: 'ipv6', services: '', reason: 'no-service' }, 1);
    m1.sourceUp.set({ source: 'kernel' }, 1);
    m1.sourceUp.set({ source: 'kubernetes' }, 1);
    m1.remediations.inc({ strategy: 'flush-rebuild', result: 'success' });
    m1.remediatedRoutes.inc({ action: 'add' }, 2);
    m1.remediationBlocked.inc({ reason: 'max_deletions' });
    healthy = await serve(m1);
    // Simulates the check loop so rates and latency quantiles have data.
    loop = setInterval(() => {
      const now = Date.now() / 1000;
      m1.checks.inc({ result: 'drift' });
      m1.checkDuration.observe(0.004 + Math.random() * 0.02);
      m1.lastCheck.set(now);
      m1.lastSuccessfulCheck.set(now);
      m1.remediationBlocked.inc({ reason: 'max_deletions' });
      m1.remediations.inc({ strategy: 'flush-rebuild', result: 'success' });
    }, 200);

    // worker-2: started, never completed a successful check.
    neverChecked = await serve(nodeMetrics('worker-2', 'service'));

    prom = await startPrometheus({ targets: [healthy.address, neverChecked.address], ruleFiles: [rulesFile] });
    await prom.waitFor('both targets scraped', async () => (await prom.query('up{job="routewarden"} == 1')).length === 2);
  });

  afterAll(async () => {
    clearInterval(loop);
    await prom?.stop();
    await healthy?.close();
    await neverChecked?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('queries what it scraped, with the job label of the scrape config', async () => {
    const samples = await prom.query('routewarden_missing_routes{family="ipv4"}');
    const byInstance = Object.fromEntries(samples.map((s) => [s.metric.instance, s]));
    expect(byInstance[healthy.address]?.value).toBe('2');
    expect(byInstance[healthy.address]?.metric.job).toBe('routewarden');
    expect(byInstance[neverChecked.address]?.value).toBe('0');
  });

  it('sees RouteWardenMissingRoutes go pending, then firing, with node, family and count', async () => {
    const states: string[] = [];
    const firing = await prom.waitFor('RouteWardenMissingRoutes firing', async () => {
      const missing = alertsNamed(await prom.alerts(), 'RouteWardenMissingRoutes');
      for (const a of missing) if (states.at(-1) !== a.state) states.push(a.state);
      return missing.find((a) => a.state === 'firing');
    });
    expect(states).toContain('pending');
    expect(states.indexOf('pending')).toBeLessThan(states.indexOf('firing'));
    expect(firing.labels).toMatchObject({ severity: 'critical', node: 'worker-1', family: 'ipv4', instance: healthy.address });
    expect(firing.annotations.description).toContain('2 ipv4 route(s)');
    expect(firing.annotations.description).toContain('node worker-1');
    expect(firing.annotations.runbook_url).toMatch(/\/RouteWardenMissingRoutes\.md$/);
    // Only worker-1 misses routes.
    expect(alertsNamed(await prom.alerts(), 'RouteWardenMissingRoutes').every((a) => a.labels.node === 'worker-1')).toBe(true);
  });

  it('says a node that never checked has not checked since it started', async () => {
    const stale = await prom.waitFor('RouteWardenNoRecentSuccessfulCheck firing for worker-2', async () =>
      alertsNamed(await prom.alerts(), 'RouteWardenNoRecentSuccessfulCheck').find((a) => a.state === 'firing'),
    );
    expect(stale.labels.node).toBe('worker-2');
    expect(stale.annotations.description).toContain('since it started');
  });

  it('evaluates every rule without error on real series', async () => {
    // Wait for every group to have run at least once with the series present.
    await prom.waitFor('rules evaluated', async () => (await prom.rules()).every((r) => r.health !== 'unknown'));
    const unhealthy = (await prom.rules()).filter((r) => r.health !== 'ok');
    expect(unhealthy.map((r) => `${r.name}: ${r.lastError ?? r.health}`)).toEqual([]);
  });

  it('returns data for every dashboard panel query', async () => {
    const vars = { job: 'routewarden', node: '.+', __rate_interval: '5s' };
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(10);
    for (const q of queries) {
      const promql = q.expr.replace(/\$(\w+)/g, (whole, name: string) => (vars as Record<string, string>)[name] ?? whole);
      expect(promql, `unsubstituted variable in "${q.panel}"`).not.toMatch(/\$\w/);
      const samples = await prom.waitFor(`data for panel "${q.panel}": ${promql}`, async () => {
        const result = await prom.query(promql);
        return result.some((s) => Number.isFinite(Number(s.value))) ? result : undefined;
      });
      expect(samples.length, q.panel).toBeGreaterThan(0);
    }
  });
});
