// The observability package against the real thing: a real Prometheus server
// scrapes a real `routewarden run` inside a network namespace (a real kernel
// table) that reads the Kubernetes API double. Drift is injected in the
// kernel and the API; the missing and orphan alerts go pending then firing in
// Prometheus's own /api/v1/alerts, and every dashboard panel's query returns
// data from what Prometheus scraped. `for:` is shortened through the rules'
// one configuration place (alerts/generate.ts).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, renderRules } from '../../alerts/generate.ts';
import { withShortFor } from '../../alerts/rules.ts';
import { endpointSlice, service } from '../../tools/apidouble/index.ts';
import { describeIfRoot, exposeToHost, killAndWait } from '../helpers/netns.ts';
import type { HostExposure } from '../helpers/netns.ts';
import { prometheusBinary, startPrometheus } from '../helpers/prometheus.ts';
import type { PromAlert, Prometheus } from '../helpers/prometheus.ts';
import { createWorld, eventually } from '../helpers/world.ts';
import type { World } from '../helpers/world.ts';
import { dashboardQueries } from './names.ts';
import type { ChildProcess } from 'node:child_process';

const binary = prometheusBinary();
if (binary === null) console.warn('SKIPPED routewarden + Prometheus end to end: prometheus is not installed (apt-get install prometheus)');

const PORT = 19960;
const named = (alerts: PromAlert[], name: string) => alerts.filter((a) => a.labels.alertname === name);

const suite = binary === null ? describe.skip : describeIfRoot;

suite('a real Prometheus scraping a real routewarden run', () => {
  let w: World;
  let run: ChildProcess;
  let exposed: HostExposure;
  let prom: Prometheus;
  let dir: string;

  beforeAll(async () => {
    w = await createWorld();
    dir = mkdtempSync(join(tmpdir(), 'rw-prom-e2e-'));
    // The #762 story: web now has 10.0.0.6 while the table still holds 10.0.0.5.
    w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.6'] }));
    w.api.upsert(endpointSlice({ service: 'web', addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.5'], nodeName: 'worker-2' }] }));
    await w.ip('route add 10.0.0.5/32 dev lo table 198 proto 248 scope global');
    // Dry-run repair: the plan is counted (repair panels get data) and the drift stays for the alerts.
    run = w.spawnCli(['run', '--listen', `127.0.0.1:${PORT}`, '--interval', '1s', '--remediate', '--dry-run', '--grace', '0s', '--min-repair-interval', '1s']);
    await eventually(async () => (await w.get(PORT, '/readyz')).status === 200, 'routewarden ready');
    exposed = await exposeToHost(w.ns, PORT, join(dir, 'metrics.sock'));
    const rules = join(dir, 'routewarden.rules.yaml');
    writeFileSync(rules, renderRules(withShortFor(config, '5s')));
    prom = await startPrometheus({ targets: [exposed.address], ruleFiles: [rules] });
    await prom.waitFor('routewarden scraped', async () => (await prom.query('up{job="routewarden"} == 1')).length === 1);
  });

  afterAll(async () => {
    await prom?.stop();
    await exposed?.close();
    if (run) await killAndWait(run);
    await w?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('scrapes the drift routewarden sees, labelled by the node it checks', async () => {
    const missing = await prom.query('routewarden_missing_routes{family="ipv4"}');
    expect(missing.map((s) => s.value)).toEqual(['1']);
    const info = await prom.query('routewarden_config_info');
    expect(info[0]?.metric.node).toBe('worker-1');
  });

  it('RouteWardenMissingRoutes and RouteWardenOrphanRoutes go pending, then firing', async () => {
    const names = ['RouteWardenMissingRoutes', 'RouteWardenOrphanRoutes'];
    const states: Record<string, string[]> = Object.fromEntries(names.map((n) => [n, []]));
    const firing = await prom.waitFor(
      'both drift alerts firing',
      async () => {
        const all = await prom.alerts();
        const found = names.map((n) => {
          const a = named(all, n)[0];
          if (a && states[n]!.at(-1) !== a.state) states[n]!.push(a.state);
          return a;
        });
        return found.every((a) => a?.state === 'firing') ? found : undefined;
      },
      60_000,
    );
    for (const n of names) expect(states[n]![0], n).toBe('pending');
    for (const a of firing) {
      expect(a!.labels).toMatchObject({ node: 'worker-1', family: 'ipv4' });
      expect(a!.annotations.description).toContain('1 ipv4 route(s)');
    }
  });

  it('returns data for every dashboard panel query', async () => {
    const vars = { job: 'routewarden', node: '.+', __rate_interval: '5s' };
    for (const q of dashboardQueries()) {
      const promql = q.expr.replace(/\$(\w+)/g, (whole, name: string) => (vars as Record<string, string>)[name] ?? whole);
      const samples = await prom.waitFor(
        `data for panel "${q.panel}": ${promql}`,
        async () => {
          const result = await prom.query(promql);
          return result.some((s) => Number.isFinite(Number(s.value))) ? result : undefined;
        },
        30_000,
      );
      expect(samples.length, q.panel).toBeGreaterThan(0);
    }
  });
  it('a repair makes the drift alerts resolve', async () => {
    // The kube-vip that should have done it: add the missing route, drop the orphan.
    await w.ip('route add 10.0.0.6/32 dev lo table 198 proto 248 scope global');
    await w.ip('route del 10.0.0.5/32 dev lo table 198 proto 248 scope global');
    await prom.waitFor(
      'drift alerts resolved',
      async () => {
        const a = await prom.alerts();
        return named(a, 'RouteWardenMissingRoutes').length === 0 && named(a, 'RouteWardenOrphanRoutes').length === 0;
      },
      60_000,
    );
  });
});
