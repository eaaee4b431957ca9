// The detector end to end: the real `routewarden` CLI inside a throw-away
// network namespace (a real kernel table) against the Kubernetes API double
// over the real list/watch protocol, through @kubernetes/client-node.

import { PATIENCE_MS } from '../helpers/patience.ts';
import { beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { endpointSlice, lease, service } from '../../tools/apidouble/index.ts';
import type { Report } from '../../src/core/report.ts';
import { describeIfRoot } from '../helpers/netns.ts';
import { checkJson, eventually, NODE_NAME, resetWorld, useWorld } from '../helpers/world.ts';
import type { World } from '../helpers/world.ts';

const slice4 = (svc: string, node = 'worker-2', extra: { serving?: boolean } = {}) =>
  endpointSlice({ service: svc, addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.5'], nodeName: node, ready: true, serving: extra.serving ?? true }] });
const slice6 = (svc: string) =>
  endpointSlice({ service: svc, addressType: 'IPv6', endpoints: [{ addresses: ['fd00:244::5'], nodeName: 'worker-2', ready: true, serving: true }] });

const summary = (r: Report) => ({
  orphans: r.orphans.map((o) => `${o.destination} ${o.reason}`),
  missing: r.missing.map((m) => `${m.destination} ${m.reason}`),
});

describeIfRoot('routewarden check against a real kernel table and the API double', () => {
  const world = useWorld();
  let w: World;
  beforeEach(async () => {
    w = world();
    await resetWorld(w, ['Service', 'EndpointSlice', 'Lease']);
  });

  it('seed story (#762): the route of IP A is in sync; the Service is recreated with IP B while nothing updates the table => A orphan, B missing, exit 1', async () => {
    w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.5'] }));
    w.api.upsert(slice4('web'));
    await w.ip('route add 10.0.0.5/32 dev lo table 198 proto 248');
    const before = await checkJson(w);
    expect(before.code).toBe(0);
    expect(before.report.inSync).toBe(true);
    expect(before.report.counts).toMatchObject({ expected: 1, kernel: 1, orphan: 0, missing: 0 });

    w.api.delete('Service', 'default', 'web');
    w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.6'] }));
    const after = await checkJson(w);
    expect(after.code).toBe(1);
    expect(after.report.sources).toEqual({ kernel: 'ok', kubernetes: 'ok' });
    expect(summary(after.report)).toEqual({ orphans: ['10.0.0.5/32 no-service'], missing: ['10.0.0.6/32 not-in-kernel'] });
    expect(after.report.missing[0]).toMatchObject({ family: 'ipv4', device: 'lo', services: ['default/web'] });

    const text = await w.cli(['check']);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/ORPHAN\s+10\.0\.0\.5\/32\s+ipv4\s+lo\s+no-service/);
    expect(text.stdout).toMatch(/MISSING\s+10\.0\.0\.6\/32\s+ipv4\s+lo\s+not-in-kernel\s+default\/web/);
  });

  it('a foreign route in the table is counted, never reported as drift, and left in place', async () => {
    await w.ip('route add 10.9.0.1/32 dev lo table 198 proto 4');
    const r = await checkJson(w);
    expect(r.code).toBe(0);
    expect(r.report.counts).toMatchObject({ foreign: 1, kernel: 0, orphan: 0 });
    expect(await w.ip('route show table 198 proto 4')).toContain('10.9.0.1');
  });

  it('IPv6 and dual-stack: one route per family, each judged on its own', async () => {
    w.api.upsert(service({ name: 'dual', ingressIPs: ['10.0.0.7', 'fd00::7'] }));
    w.api.upsert(slice4('dual'));
    w.api.upsert(slice6('dual'));
    await w.ip('route add 10.0.0.7/32 dev lo table 198 proto 248');
    await w.ip('-6 route add fd00::99/128 dev lo table 198 proto 248');
    const r = await checkJson(w);
    expect(r.code).toBe(1);
    expect(summary(r.report)).toEqual({ orphans: ['fd00::99/128 no-service'], missing: ['fd00::7/128 not-in-kernel'] });
    expect(r.report.missing[0]!.family).toBe('ipv6');
    await w.ip('-6 route del fd00::99/128 dev lo table 198 proto 248');
    await w.ip('-6 route add fd00::7/128 dev lo table 198 proto 248');
    expect((await checkJson(w)).code).toBe(0);
  });

  it('--election service: the route belongs to the lease holder only', async () => {
    w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.8'] }));
    w.api.upsert(slice4('web'));
    w.api.upsert(lease({ name: 'kubevip-web', holderIdentity: NODE_NAME, renewTime: Date.now(), leaseDurationSeconds: 3600 }));
    await w.ip('route add 10.0.0.8/32 dev lo table 198 proto 248');
    expect((await checkJson(w, ['--election', 'service'])).code).toBe(0);

    w.api.upsert(lease({ name: 'kubevip-web', holderIdentity: 'worker-2', renewTime: Date.now(), leaseDurationSeconds: 3600 }));
    const elsewhere = await checkJson(w, ['--election', 'service']);
    expect(elsewhere.code).toBe(1);
    expect(summary(elsewhere.report)).toEqual({ orphans: ['10.0.0.8/32 not-placed-here'], missing: [] });
    expect(elsewhere.report.orphans[0]!.detail).toContain('held by worker-2');
  });

  it('externalTrafficPolicy Local: a route only with a serving endpoint on this node', async () => {
    w.api.upsert(service({ name: 'local', ingressIPs: ['10.0.0.9'], externalTrafficPolicy: 'Local' }));
    w.api.upsert(slice4('local', NODE_NAME));
    const withLocal = await checkJson(w);
    expect(summary(withLocal.report)).toEqual({ orphans: [], missing: ['10.0.0.9/32 not-in-kernel'] });

    w.api.upsert(slice4('local', 'worker-2'));
    await w.ip('route add 10.0.0.9/32 dev lo table 198 proto 248');
    const without = await checkJson(w);
    expect(summary(without.report)).toEqual({ orphans: ['10.0.0.9/32 not-placed-here'], missing: [] });
  });

  it('a shared IP is justified while any Service places it on this node', async () => {
    w.api.upsert(service({ name: 'a', ingressIPs: ['10.0.0.10'], externalTrafficPolicy: 'Local' }));
    w.api.upsert(service({ name: 'b', ingressIPs: ['10.0.0.10'] }));
    w.api.upsert(slice4('a', 'worker-2'));
    w.api.upsert(slice4('b'));
    await w.ip('route add 10.0.0.10/32 dev lo table 198 proto 248');
    const r = await checkJson(w);
    expect(r.code).toBe(0);
    expect(r.report.routes[0]).toMatchObject({ destination: '10.0.0.10/32', verdict: 'ok', services: ['default/b'] });
  });

  it('an API outage reports no drift and exits 2, whatever the table holds', async () => {
    await w.ip('route add 10.0.0.11/32 dev lo table 198 proto 248');
    await w.api.outage(true);
    try {
      const r = await checkJson(w);
      expect(r.code).toBe(2);
      expect(r.report.sources.kubernetes).toBe('error');
      expect(r.report.orphans).toEqual([]);
      expect(r.report.missing).toEqual([]);
      expect(r.report.inSync).toBe(false);
    } finally {
      await w.api.outage(false);
    }
  });
});

describeIfRoot('routewarden run reacts to the kernel and the API', () => {
  const world = useWorld();
  let w: World;
  beforeEach(() => {
    w = world();
  });

  it('an external `ip route add` shows in /metrics without waiting for the interval, and /metrics passes promtool', async () => {
    w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.5'] }));
    w.api.upsert(slice4('web'));
    // The interval is an hour: only events can make it notice anything.
    const child = w.spawnCli(['run', '--listen', '127.0.0.1:19798', '--interval', '1h']);
    let logs = '';
    child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
    const get = async (path: string) => {
      const r = await w.ns.exec(['curl', '-s', '-o', '-', '-w', '\n%{http_code}', `http://127.0.0.1:19798${path}`]);
      const i = r.stdout.lastIndexOf('\n');
      return { status: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i) };
    };
    const gauge = (body: string, name: string, family: string) => {
      const m = new RegExp(`^${name}\\{family="${family}"\\} (\\S+)$`, 'm').exec(body);
      return m ? Number(m[1]) : NaN;
    };
    await eventually(async () => (await get('/readyz')).status === 200, `readiness (logs: ${logs})`);
    let metrics = (await get('/metrics')).body;
    expect(gauge(metrics, 'routewarden_missing_routes', 'ipv4')).toBe(1);

    await w.ip('route add 10.0.0.5/32 dev lo table 198 proto 248');
    await eventually(async () => gauge((await get('/metrics')).body, 'routewarden_missing_routes', 'ipv4') === 0, 'missing route to clear after ip route add');
    await w.ip('route add 10.0.0.99/32 dev lo table 198 proto 248');
    await eventually(async () => gauge((await get('/metrics')).body, 'routewarden_orphan_routes', 'ipv4') === 1, 'orphan after ip route add');

    // A Service change in the API double is seen through the watch, too.
    w.api.delete('Service', 'default', 'web');
    await eventually(async () => gauge((await get('/metrics')).body, 'routewarden_orphan_routes', 'ipv4') === 2, 'orphan after Service deletion');

    const drift = JSON.parse((await get('/drift')).body) as Report;
    expect(drift.orphans.map((o) => o.destination).sort()).toEqual(['10.0.0.5/32', '10.0.0.99/32']);
    expect((await get('/healthz')).status).toBe(200);
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('data-destination="10.0.0.99/32" data-verdict="orphan"');

    metrics = (await get('/metrics')).body;
    expect(metrics).toMatch(
      /^routewarden_drifted_route_info\{kind="orphan",destination="10\.0\.0\.99\/32",family="ipv4",services="",reason="no-service"\} 1$/m,
    );
    expect(metrics).toMatch(/^routewarden_source_up\{source="kubernetes"\} 1$/m);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
    if (promtool.error) {
      console.warn('SKIPPED promtool check: promtool not installed (apt-get install prometheus)');
    } else {
      expect(promtool.stdout + promtool.stderr).toBe('');
      expect(promtool.status).toBe(0);
    }

    // An API outage: run keeps serving, says the source is down, reports no drift from it.
    await w.api.outage(true);
    try {
      await eventually(async () => /^routewarden_source_up\{source="kubernetes"\} 0$/m.test((await get('/metrics')).body), 'kubernetes source down');
      await eventually(async () => (JSON.parse((await get('/drift')).body) as Report).sources.kubernetes !== 'ok', 'report says kubernetes not ok');
      const during = JSON.parse((await get('/drift')).body) as Report;
      expect(during.orphans).toEqual([]);
      expect((await get('/healthz')).status).toBe(200);
    } finally {
      await w.api.outage(false);
    }
    await eventually(async () => /^routewarden_source_up\{source="kubernetes"\} 1$/m.test((await get('/metrics')).body), 'kubernetes source back');

    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
  });
});

describe('bad input', () => {
  const cli = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [new URL('../../bin/routewarden.js', import.meta.url).pathname, ...args], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', NODE_NAME: 'worker-1', ...env },
      timeout: PATIENCE_MS,
    });
  it.each([
    [['check', '--table', '0'], {}, 'routewarden: invalid --table "0": must be an integer from 1 to 4294967295'],
    [['check', '--table', '4294967296'], {}, 'routewarden: invalid --table "4294967296": must be an integer from 1 to 4294967295'],
    [['check', '--protocol', '300'], {}, 'routewarden: invalid --protocol "300": must be an integer from 1 to 255'],
    [['check', '--election', 'raft'], {}, 'routewarden: invalid --election "raft": must be one of none, service, global'],
    [
      ['check', '--kube-vip-selector', 'app in (kube-vip'],
      {},
      'routewarden: invalid --kube-vip-selector "app in (kube-vip": must be a label selector (invalid label selector "app in (kube-vip": unbalanced parentheses)',
    ],
    [
      ['check', '--interface', 'eth0/1'],
      {},
      'routewarden: invalid --interface "eth0/1": must be an interface name (1 to 15 characters, no "/", ":" or blanks)',
    ],
    [['check', '--frobnicate'], {}, "routewarden: unknown option '--frobnicate'"],
    [['check'], { ROUTEWARDEN_PROTOCOL: 'abc' }, 'routewarden: invalid ROUTEWARDEN_PROTOCOL "abc": must be an integer from 1 to 255'],
    [['check', '--kubeconfig', '/nonexistent/kubeconfig'], {}, 'routewarden: '],
    [['launch'], {}, "routewarden: unknown command 'launch'"],
  ])('%j exits 2 with one clear line and no stack trace', (args, env, line) => {
    const r = cli(args, env);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.startsWith(line)).toBe(true);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('an unreadable kubeconfig names the file', () => {
    const r = cli(['check', '--kubeconfig', '/nonexistent/kubeconfig']);
    expect(r.stderr).toContain('/nonexistent/kubeconfig');
  });

  it('--version and --help exit 0', () => {
    expect(cli(['--version']).status).toBe(0);
    const help = cli(['check', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--remediate');
  });
});
