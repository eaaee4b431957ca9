// The HTTP service in process, through node's fetch against servers on
// 127.0.0.1:0: createApp (src/surface/http.ts) with the answers it is given,
// then the whole service (src/cli/service.ts createService: checker, loop,
// metrics and HTTP) over the in-memory kernel table and a cluster source held
// in memory, with a clock the test moves. /metrics content negotiation in
// depth (promtool, the OpenMetrics rename) is http-openmetrics.test.ts's.

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createService } from '../../src/cli/service.ts';
import type { Service } from '../../src/cli/service.ts';
import { loadConfig } from '../../src/cli/config.ts';
import { evaluate } from '../../src/core/report.ts';
import type { Report } from '../../src/core/report.ts';
import type { SourceStatus } from '../../src/core/types.ts';
import { routeProtocol, tableId } from '../../src/core/types.ts';
import { createMemoryKernelTable } from '../../src/kernel/memory.ts';
import { createApp } from '../../src/surface/http.ts';
import type { AppDeps } from '../../src/surface/http.ts';
import { silentLogger } from '../../src/surface/logger.ts';
import { createMetrics } from '../../src/surface/metrics.ts';
import { ep, kroute, memoryCluster, model, NOW, slice, snapshot, svc } from '../helpers/fixtures.ts';

const OPENMETRICS = 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function get(base: string, path: string, accept?: string) {
  const res = await fetch(`${base}${path}`, accept ? { headers: { accept } } : {});
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

/** A report with one orphan (10.0.0.9) and one missing route (10.0.0.5). */
const driftReport = (): Report =>
  evaluate({
    model: model(),
    now: NOW,
    kernel: { status: { state: 'ok' }, dump: { owned: [kroute('10.0.0.9/32')], foreign: [] }, interfaces: null },
    kubernetes: { status: { state: 'ok' }, snapshot: snapshot([svc('web', { ip: '10.0.0.5' })], [slice('web', 'IPv4', [ep('10.244.1.5')])]) },
  }).report;

async function serveApp(over: Partial<AppDeps> = {}): Promise<string> {
  const app = createApp({
    registry: createMetrics({ version: 't', defaultMetrics: false }).registry,
    report: () => null,
    heartbeatAgeMs: () => 0,
    heartbeatTimeoutMs: 60_000,
    ready: () => false,
    version: 't',
    ...over,
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('createApp', () => {
  it('/healthz answers 200 while the heartbeat is fresh and 503, saying why, once it is older than the bound', async () => {
    let age = 0;
    const base = await serveApp({ heartbeatAgeMs: () => age, lastProblem: () => 'kernel table not read: EPERM' });
    expect(await get(base, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    age = 60_000;
    expect((await get(base, '/healthz')).status).toBe(200);
    age = 61_000;
    expect(await get(base, '/healthz')).toMatchObject({
      status: 503,
      body: 'check loop stalled: no check finished well for 61s (last: kernel table not read: EPERM)\n',
    });
  });

  it('/readyz answers 503 before the first full check and 200 after', async () => {
    let ready = false;
    const base = await serveApp({ ready: () => ready });
    expect(await get(base, '/readyz')).toMatchObject({ status: 503, body: expect.stringContaining('not ready') });
    ready = true;
    expect(await get(base, '/readyz')).toMatchObject({ status: 200, body: 'ok\n' });
  });

  it('/drift answers 503 with a JSON error before the first check, then the last report as JSON', async () => {
    let report: Report | null = null;
    const base = await serveApp({ report: () => report });
    const before = await get(base, '/drift');
    expect([before.status, JSON.parse(before.body)]).toEqual([503, { error: 'no check has finished yet' }]);
    report = driftReport();
    const after = await get(base, '/drift');
    expect(after.type).toMatch(/^application\/json/);
    const body = JSON.parse(after.body) as Report;
    expect(body.orphans.map((o) => o.destination)).toEqual(['10.0.0.9/32']);
    expect(body.missing.map((m) => m.destination)).toEqual(['10.0.0.5/32']);
    expect(body.inSync).toBe(false);
  });

  it('/ serves the status page with the version, the banner and the drifted routes', async () => {
    const base = await serveApp({ report: driftReport, ready: () => true, version: '9.8.7', banner: () => 'demo: in-memory kernel table' });
    const page = await get(base, '/');
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/^text\/html/);
    for (const s of ['9.8.7', 'demo: in-memory kernel table', '10.0.0.9/32', '10.0.0.5/32']) expect(page.body).toContain(s);
  });

  it('with the status pages disabled (--web-disable-status) answers 404 for /drift and /, and still serves /metrics, /healthz and /readyz', async () => {
    const base = await serveApp({ statusPages: false, report: driftReport, ready: () => true });
    for (const path of ['/drift', '/']) {
      const res = await get(base, path);
      expect(res.status).toBe(404);
      expect(res.body).toBe('not found: try /metrics, /healthz, /readyz\n');
    }
    expect((await get(base, '/metrics')).status).toBe(200);
    expect((await get(base, '/healthz')).status).toBe(200);
    expect((await get(base, '/readyz')).status).toBe(200);
  });

  it('answers an unknown path 404 with the paths it serves', async () => {
    const base = await serveApp();
    expect(await get(base, '/nope')).toMatchObject({ status: 404, body: 'not found: try /, /metrics, /drift, /healthz, /readyz\n' });
  });
});

describe('createService on the in-memory kernel', () => {
  function setup(env: Record<string, string> = {}) {
    let now = NOW;
    let status: SourceStatus = { state: 'unsynced', message: 'waiting for the first LIST' };
    const config = loadConfig(
      'run',
      {},
      { env: { NODE_NAME: 'worker-1', ROUTEWARDEN_KUBE_VIP_CONFIG: 'off', ROUTEWARDEN_LISTEN: '127.0.0.1:0', ...env }, hostname: 'x' },
    );
    const kernel = createMemoryKernelTable({ table: tableId(198), protocol: routeProtocol(248) });
    kernel.inject(kroute('10.0.0.9/32'));
    const cluster = memoryCluster({
      status: () => status,
      snapshot: () => snapshot([svc('web', { ip: '10.0.0.5' })], [slice('web', 'IPv4', [ep('10.244.1.5')])]),
    });
    const service: Service = createService({ config, kernel, cluster, logger: silentLogger(), clock: () => now });
    closers.push(() => service.stop());
    return {
      service,
      start: async () => {
        const { port } = await service.start();
        return `http://127.0.0.1:${port}`;
      },
      sync: () => (status = { state: 'ok' }),
      at: (t: number) => (now = NOW + t),
    };
  }

  it('is not ready while the cluster syncs, ready after the first full check, and serves the drift it found', async () => {
    const s = setup();
    const base = await s.start();
    await s.service.loop.nextCheck();
    expect((await get(base, '/readyz')).status).toBe(503);
    s.sync();
    await s.service.loop.nextCheck();
    expect((await get(base, '/readyz')).status).toBe(200);
    const drift = JSON.parse((await get(base, '/drift')).body) as Report;
    expect([drift.orphans.map((o) => o.destination), drift.missing.map((m) => m.destination)]).toEqual([['10.0.0.9/32'], ['10.0.0.5/32']]);
    const page = await get(base, '/');
    expect(page.body).toContain('10.0.0.9/32');
  });

  it('/metrics counts the drift in the text format and in OpenMetrics', async () => {
    const s = setup();
    s.sync();
    const base = await s.start();
    await s.service.loop.nextCheck();
    const text = await get(base, '/metrics');
    expect(text.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(text.body).toMatch(/^routewarden_orphan_routes\{family="ipv4"\} 1$/m);
    expect(text.body).toMatch(/^routewarden_missing_routes\{family="ipv4"\} 1$/m);
    expect(text.body).toMatch(/^routewarden_config_info\{.*remediate="false".*\} 1$/m);
    const om = await get(base, '/metrics', OPENMETRICS);
    expect(om.type).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(om.body).toMatch(/^routewarden_orphan_routes\{family="ipv4"\} 1$/m);
    expect(om.body.endsWith('# EOF\n')).toBe(true);
  });

  it('/healthz fails once no check has finished well for two intervals', async () => {
    const s = setup({ ROUTEWARDEN_INTERVAL: '30s' });
    s.sync();
    const base = await s.start();
    await s.service.loop.nextCheck();
    expect((await get(base, '/healthz')).status).toBe(200);
    s.at(61_000);
    expect(await get(base, '/healthz')).toMatchObject({ status: 503, body: 'check loop stalled: no check finished well for 61s\n' });
    await s.service.loop.nextCheck();
    expect((await get(base, '/healthz')).status).toBe(200);
  });

  it('with --web-disable-status serves neither /drift nor the status page', async () => {
    const s = setup({ ROUTEWARDEN_WEB_DISABLE_STATUS: 'true' });
    s.sync();
    const base = await s.start();
    await s.service.loop.nextCheck();
    expect((await get(base, '/drift')).status).toBe(404);
    expect((await get(base, '/')).status).toBe(404);
    expect((await get(base, '/metrics')).status).toBe(200);
  });
});
