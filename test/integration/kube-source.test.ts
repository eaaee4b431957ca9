// The Kubernetes adapter against the API double, through the real
// client-node: sync, incremental updates, outages, failed lists, 410 Gone,
// no LIST polling, and a clean stop.

import { PATIENCE_MS } from '../helpers/patience.ts';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { endpointSlice, lease, service } from '../../tools/apidouble/index.ts';
import type { KubeObject } from '../../tools/apidouble/index.ts';
import { createKubeClusterSource, type KubeClusterSource, type KubeClusterSourceOptions } from '../../src/kube/source.ts';
import type { SourceStatus } from '../../src/core/types.ts';
import { startDouble, waitFor, type DoubleFixture } from '../helpers/apidouble-fixture.ts';

const FAST = { initialMs: 20, maxMs: 200 };

let fx: DoubleFixture;
let source: KubeClusterSource | undefined;

beforeEach(async () => {
  fx = await startDouble();
});

afterEach(async () => {
  await source?.stop();
  source = undefined;
  await fx.close();
});

function open(opts: Partial<KubeClusterSourceOptions> = {}): KubeClusterSource {
  source = createKubeClusterSource({ kubeConfig: fx.kubeConfig, logger: pino({ level: 'silent' }), backoff: FAST, ...opts });
  return source;
}

function seed(): void {
  const d = fx.double;
  d.upsert(service({ name: 'web', namespace: 'prod', ingressIPs: ['10.0.0.5'], externalTrafficPolicy: 'Local' }));
  d.upsert(service({ name: 'db', namespace: 'prod', ingressIPs: ['10.0.0.6'] }));
  d.upsert(service({ name: 'api', namespace: 'dev', ingressIPs: ['10.0.1.5'] }));
  d.upsert(endpointSlice({ service: 'web', namespace: 'prod', name: 'web-a', endpoints: [{ addresses: ['10.244.1.7'], nodeName: 'n1', serving: true }] }));
  d.upsert(endpointSlice({ service: 'web', namespace: 'prod', name: 'web-b', endpoints: [{ addresses: ['10.244.2.7'], nodeName: 'n2', serving: false }] }));
  d.upsert(endpointSlice({ service: 'api', namespace: 'dev', name: 'api-a', endpoints: [] }));
  d.upsert(lease({ name: 'kubevip-web', namespace: 'prod', holderIdentity: 'n1', renewTime: Date.UTC(2026, 10, 26, 12), leaseDurationSeconds: 15 }));
  d.upsert(lease({ name: 'plndr-svcs-lock', namespace: 'kube-system', holderIdentity: 'n2' }));
  // Node heartbeats: never kube-vip's, and churning every 10 s on a real cluster.
  d.upsert(lease({ name: 'n1', namespace: 'kube-node-lease', holderIdentity: 'n1' }));
}

const keys = (m: ReadonlyMap<string, unknown>): string[] => [...m.keys()].sort();
const sliceNames = (s: KubeClusterSource, svc: string): string[] => (s.snapshot().slicesByService.get(svc) ?? []).map((x) => x.name).sort();

/** Records every status the source goes through, with the snapshot size at that moment. */
function recordStatuses(s: KubeClusterSource): { state: SourceStatus['state']; services: number }[] {
  const seen: { state: SourceStatus['state']; services: number }[] = [];
  s.onChange(() => {
    const st = s.status().state;
    const last = seen[seen.length - 1];
    const services = s.snapshot().services.size;
    if (last?.state !== st || last.services !== services) seen.push({ state: st, services });
  });
  return seen;
}

describe('kubernetes cluster source', () => {
  it('is unsynced before start, then ok with the full indexed snapshot', async () => {
    seed();
    const s = open();
    expect(s.status().state).toBe('unsynced');
    await s.start();
    await waitFor('status ok', () => s.status().state === 'ok', { describe: () => s.status() });
    const snap = s.snapshot();
    expect(keys(snap.services)).toEqual(['dev/api', 'prod/db', 'prod/web']);
    expect(snap.services.get('prod/web')).toMatchObject({ externalTrafficPolicy: 'Local', ingress: [{ ip: '10.0.0.5' }], type: 'LoadBalancer' });
    expect(sliceNames(s, 'prod/web')).toEqual(['web-a', 'web-b']);
    expect(sliceNames(s, 'dev/api')).toEqual(['api-a']);
    expect(snap.slicesByService.has('prod/db')).toBe(false);
    expect(keys(snap.leases)).toEqual(['kube-system/plndr-svcs-lock', 'prod/kubevip-web']);
    // The LIST gave raw JSON (RFC 3339 strings); translation turned them into epoch ms.
    expect(snap.leases.get('prod/kubevip-web')).toMatchObject({ holderIdentity: 'n1', renewTime: Date.UTC(2026, 10, 26, 12), leaseDurationSeconds: 15 });
    expect(s.informers()).toEqual({ services: { phase: 'ok' }, endpointslices: { phase: 'ok' }, leases: { phase: 'ok' } });
  });

  it('applies watch events incrementally and never LISTs again during churn', async () => {
    seed();
    const s = open();
    let changes = 0;
    s.onChange(() => changes++);
    await s.start();
    await waitFor('status ok', () => s.status().state === 'ok');
    const lists = () => ['services', 'endpointslices', 'leases'].map((r) => fx.double.requests('LIST', r as 'services'));
    expect(lists()).toEqual([1, 1, 1]);
    const before = s.snapshot();

    const d = fx.double;
    d.upsert(service({ name: 'new', namespace: 'prod', ingressIPs: ['10.0.0.7'] }));
    d.upsert(service({ name: 'web', namespace: 'prod', ingressIPs: ['10.0.0.9'] }));
    d.delete('Service', 'dev', 'api');
    d.upsert(endpointSlice({ service: 'db', namespace: 'prod', name: 'web-b', endpoints: [] })); // slice moved to another Service
    d.delete('EndpointSlice', 'prod', 'web-a');
    d.upsert(lease({ name: 'kubevip-web', namespace: 'prod', holderIdentity: 'n2', renewTime: Date.UTC(2026, 10, 26, 13) }));
    d.upsert(lease({ name: 'n1', namespace: 'kube-node-lease', holderIdentity: 'n1', renewTime: Date.now() }));

    await waitFor('the lease handover', () => s.snapshot().leases.get('prod/kubevip-web')?.holderIdentity === 'n2');
    await waitFor('the slice move', () => sliceNames(s, 'prod/db').join() === 'web-b');
    const snap = s.snapshot();
    expect(keys(snap.services)).toEqual(['prod/db', 'prod/new', 'prod/web']);
    expect(snap.services.get('prod/web')?.ingress).toEqual([{ ip: '10.0.0.9' }]);
    expect(snap.slicesByService.has('prod/web')).toBe(false);
    expect(keys(snap.leases)).toEqual(['kube-system/plndr-svcs-lock', 'prod/kubevip-web']);
    // Watch events carry raw JSON (string times); the index translated them the same way.
    expect(snap.leases.get('prod/kubevip-web')?.renewTime).toBe(Date.UTC(2026, 10, 26, 13));
    expect(changes).toBeGreaterThanOrEqual(6);
    // The snapshot taken earlier did not change underneath its holder.
    expect(keys(before.services)).toEqual(['dev/api', 'prod/db', 'prod/web']);

    // Watches ending normally (apiserver timeouts, restarts) resume from their resourceVersion.
    d.closeAllWatches();
    d.upsert(service({ name: 'after-reconnect', namespace: 'prod' }));
    await waitFor('the event after reconnect', () => s.snapshot().services.has('prod/after-reconnect'));
    expect(s.status().state).toBe('ok');
    expect(lists()).toEqual([1, 1, 1]);
    expect(fx.double.requests('WATCH', 'services')).toBeGreaterThanOrEqual(2);
  });

  it("lists in pages and watches from the first page's resourceVersion", async () => {
    seed();
    for (let i = 0; i < 7; i++) fx.double.upsert(service({ name: `svc-${i}`, namespace: 'paged', ingressIPs: [`10.9.0.${i}`] }));
    const s = open({ pageSize: 3 });
    await s.start();
    await waitFor('status ok', () => s.status().state === 'ok');
    // 10 Services in pages of 3: four LIST requests, one view.
    expect(fx.double.requests('LIST', 'services')).toBe(4);
    expect(s.snapshot().services.size).toBe(10);
    expect(s.snapshot().services.get('paged/svc-6')?.ingress).toEqual([{ ip: '10.9.0.6' }]);
    fx.double.upsert(service({ name: 'svc-0', namespace: 'paged', ingressIPs: ['10.9.1.0'] }));
    await waitFor('the watch event', () => s.snapshot().services.get('paged/svc-0')?.ingress[0]?.ip === '10.9.1.0');
    expect(fx.double.requests('LIST', 'services')).toBe(4);
  });

  it('scopes Services and EndpointSlices to the namespace but watches Leases everywhere', async () => {
    seed();
    const s = open({ namespace: 'dev' });
    await s.start();
    await waitFor('status ok', () => s.status().state === 'ok');
    expect(keys(s.snapshot().services)).toEqual(['dev/api']);
    expect(keys(s.snapshot().slicesByService)).toEqual(['dev/api']);
    expect(keys(s.snapshot().leases)).toEqual(['kube-system/plndr-svcs-lock', 'prod/kubevip-web']);
  });

  it("reads only this node's Node (field selector metadata.name), its InternalIPs; a refused Node never fails the view", async () => {
    seed();
    const node = (name: string, ip: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name },
      status: { addresses: [{ type: 'InternalIP', address: ip }] },
    });
    fx.double.upsert(node('n1', '192.168.10.11'));
    fx.double.upsert(node('n2', '192.168.10.12'));
    const s = open({ thisNode: { name: 'n1' } });
    await s.start();
    await waitFor('the Node listed', () => s.snapshot().thisNode?.state === 'ok');
    expect(s.snapshot().thisNode).toEqual({ state: 'ok', name: 'n1', node: { name: 'n1', internalIPs: ['192.168.10.11'] } });
    await s.stop();

    fx.double.failNextList('nodes', 403, 1_000);
    const refused = open({ thisNode: { name: 'n1' } });
    await refused.start();
    await waitFor('the Node refused', () => refused.snapshot().thisNode?.state === 'error');
    await waitFor('status ok', () => refused.status().state === 'ok');
    expect(refused.snapshot().thisNode?.node).toBeNull();
    expect(refused.freshness!().lastHeardAt).toBeDefined();
  });

  it('watches Endpoints only on demand: ready addresses indexed while on, gone when off', async () => {
    seed();
    fx.double.upsert({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'web', namespace: 'prod' },
      subsets: [{ addresses: [{ ip: '10.244.1.7', nodeName: 'n1' }], notReadyAddresses: [{ ip: '10.244.2.7', nodeName: 'n2' }] }],
    });
    const s = open();
    await s.start();
    await waitFor('status ok', () => s.status().state === 'ok');
    expect(s.snapshot().endpoints).toBeUndefined();
    expect(fx.double.requests('LIST', 'endpoints')).toBe(0);
    s.watchEndpoints(true);
    await waitFor('Endpoints listed', () => s.snapshot().endpoints?.state === 'ok');
    expect(s.snapshot().endpoints!.byService.get('prod/web')).toEqual({ namespace: 'prod', name: 'web', addresses: [{ family: 'ipv4', nodeName: 'n1' }] });
    s.watchEndpoints(false);
    expect(s.snapshot().endpoints).toBeUndefined();
  });

  it("watches only the named ConfigMaps (kube-vip's config file), each by name: data while on, gone when dropped, an error when refused", async () => {
    seed();
    const cm = (name: string, data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'kube-system' }, data });
    fx.double.upsert(cm('kube-vip-config', { 'config.yaml': 'interface: eth0\n' }));
    fx.double.upsert(cm('other', { secret: 'not for routewarden' }));
    const s = open();
    await s.start();
    await waitFor('status ok', () => s.status().state === 'ok');
    expect(s.snapshot().configMaps).toBeUndefined();
    s.watchConfigMaps(new Set(['kube-system/kube-vip-config', 'kube-system/absent']));
    await waitFor('ConfigMaps listed', () => [...(s.snapshot().configMaps?.values() ?? [])].every((v) => v.state === 'ok'));
    expect(Object.fromEntries(s.snapshot().configMaps!)).toEqual({
      'kube-system/kube-vip-config': {
        state: 'ok',
        configMap: { namespace: 'kube-system', name: 'kube-vip-config', data: { 'config.yaml': 'interface: eth0\n' } },
      },
      'kube-system/absent': { state: 'ok', configMap: null },
    });
    fx.double.upsert(cm('kube-vip-config', { 'config.yaml': 'interface: eth1\n' }));
    await waitFor('the change seen', () => s.snapshot().configMaps!.get('kube-system/kube-vip-config')?.configMap?.data['config.yaml'] === 'interface: eth1\n');
    s.watchConfigMaps(new Set());
    expect(s.snapshot().configMaps).toBeUndefined();
    fx.double.failNextList('configmaps', 403, 1_000);
    s.watchConfigMaps(new Set(['kube-system/kube-vip-config']));
    await waitFor('the ConfigMap refused', () => s.snapshot().configMaps?.get('kube-system/kube-vip-config')?.state === 'error');
    expect(s.status().state).toBe('ok');
    await s.stop();
  });

  it('goes to error during an outage, never ok with a stale or empty view, and recovers with the right data', async () => {
    seed();
    const s = open();
    await s.start();
    await waitFor('status ok', () => s.status().state === 'ok');
    const seen = recordStatuses(s);

    await fx.double.outage(true);
    await waitFor('status error', () => s.status().state === 'error');
    expect(s.status().message).toMatch(/^(watching|listing) (services|endpointslices|leases): /);
    expect(s.status().message).not.toContain('\n');
    // The world changes while routewarden cannot see it.
    fx.double.delete('Service', 'prod', 'db');
    fx.double.upsert(service({ name: 'born-in-outage', namespace: 'prod', ingressIPs: ['10.0.0.8'] }));
    // Retries keep failing and keep the state at error.
    const listsDuringOutage = fx.double.stats().rejectedByOutage;
    await waitFor('a few retries', () => fx.double.stats().rejectedByOutage >= listsDuringOutage + 3);
    expect(s.status().state).toBe('error');

    await fx.double.outage(false);
    await waitFor('status ok again', () => s.status().state === 'ok', { describe: () => s.status() });
    expect(keys(s.snapshot().services)).toEqual(['dev/api', 'prod/born-in-outage', 'prod/web']);
    // Every time the source said ok, its view already held the recovered data.
    expect(seen.filter((x) => x.state === 'ok').every((x) => x.services === 3)).toBe(true);
    expect(seen.map((x) => x.state)).toContain('error');
  });

  it('recovers from an outage that refuses connections', async () => {
    seed();
    const s = open();
    await s.start();
    await waitFor('status ok', () => s.status().state === 'ok');
    await fx.double.outage(true, 'refuse');
    // First the cut watches ("other side closed"), then the retries are refused.
    await waitFor('refused retries', () => s.status().state === 'error' && s.status().message?.includes('ECONNREFUSED'), {
      describe: () => s.status(),
    });
    await fx.double.outage(false);
    await waitFor('status ok again', () => s.status().state === 'ok', { describe: () => s.status() });
    expect(keys(s.snapshot().services)).toEqual(['dev/api', 'prod/db', 'prod/web']);
  });

  it('a LIST that never answers times out into error instead of staying unsynced forever', async () => {
    seed();
    await fx.double.outage(true, 'hang');
    const s = open({ listTimeoutMs: 200 });
    await s.start();
    await waitFor('status error', () => s.status().state === 'error', { describe: () => s.status() });
    expect(s.status().message).toMatch(/^listing (services|endpointslices|leases): TimeoutError: /);
    await fx.double.outage(false);
    await waitFor('status ok', () => s.status().state === 'ok', { describe: () => s.status() });
    expect(keys(s.snapshot().services)).toEqual(['dev/api', 'prod/db', 'prod/web']);
  });

  it('a LIST failing at start keeps it out of ok (never ok with an empty cache) until a LIST succeeds', async () => {
    seed();
    fx.double.failNextList('services', 500, 3);
    const s = open();
    const seen = recordStatuses(s);
    await s.start();
    // client-node's start() has resolved although the services LIST failed.
    expect(s.status().state).not.toBe('ok');
    await waitFor('status ok after retries', () => s.status().state === 'ok', { describe: () => s.status() });
    expect(fx.double.requests('LIST', 'services')).toBe(4);
    expect(seen.some((x) => x.state === 'error')).toBe(true);
    expect(seen.filter((x) => x.state === 'ok').every((x) => x.services === 3)).toBe(true);
    expect(keys(s.snapshot().services)).toEqual(['dev/api', 'prod/db', 'prod/web']);
  });

  it('reports the failed LIST with a one-line message while it keeps failing', async () => {
    fx.double.failNextList('leases', 403, 1_000);
    const s = open({ backoff: { initialMs: 20, maxMs: 50 } });
    await s.start();
    await waitFor('status error', () => s.status().state === 'error');
    expect(s.status().message).toBe('listing leases: HTTP 403 Forbidden: injected failure for LIST leases');
    await waitFor('more retries', () => fx.double.requests('LIST', 'leases') >= 4);
    expect(s.status().state).toBe('error');
  });

  it('a watch that cannot start is an error, and is retried', async () => {
    seed();
    fx.double.failNextWatch('endpointslices', 500, 2);
    const s = open();
    await s.start();
    await waitFor('status ok after retries', () => s.status().state === 'ok', { describe: () => s.status() });
    expect(fx.double.requests('WATCH', 'endpointslices')).toBe(3);
    expect(sliceNames(s, 'prod/web')).toEqual(['web-a', 'web-b']);
  });

  it('re-lists after 410 Gone and ends with the right snapshot', async () => {
    seed();
    const s = open();
    await s.start();
    await waitFor('status ok', () => s.status().state === 'ok');
    const seen = recordStatuses(s);

    // Changes the watch will not see, then history compaction, then the watches end:
    // resuming from the informers' resourceVersion is now 410 Gone.
    fx.double.closeAllWatches();
    fx.double.delete('Service', 'prod', 'db');
    fx.double.upsert(service({ name: 'web', namespace: 'prod', ingressIPs: ['10.0.0.42'] }));
    fx.double.compactHistory();

    await waitFor('a re-list of services', () => fx.double.requests('LIST', 'services') >= 2);
    await waitFor('status ok', () => s.status().state === 'ok' && s.snapshot().services.get('prod/web')?.ingress[0]?.ip === '10.0.0.42');
    expect(keys(s.snapshot().services)).toEqual(['dev/api', 'prod/web']);
    expect(seen.map((x) => x.state)).toContain('unsynced');
    // Sliced and leases were re-listed too, and are still complete.
    expect(sliceNames(s, 'prod/web')).toEqual(['web-a', 'web-b']);
    expect(keys(s.snapshot().leases)).toEqual(['kube-system/plndr-svcs-lock', 'prod/kubevip-web']);
  });

  it('stop() closes every watch and leaves status unsynced', async () => {
    seed();
    const s = open();
    await s.start();
    await waitFor('status ok', () => s.status().state === 'ok');
    expect(fx.double.stats().openWatches).toEqual({ services: 1, endpointslices: 1, leases: 1 });
    await s.stop();
    await waitFor('no open watches', () => Object.keys(fx.double.stats().openWatches).length === 0);
    expect(s.status().state).toBe('unsynced');
    const watches = fx.double.requests('WATCH', 'services');
    fx.double.upsert(service({ name: 'after-stop', namespace: 'prod' }));
    // A second source seeing the change is the point by which a stopped one
    // that still ran would have seen it too (no sleeping for an absence).
    const witness = createKubeClusterSource({ kubeConfig: fx.kubeConfig, logger: pino({ level: 'silent' }), backoff: FAST });
    await witness.start();
    await waitFor('the witness to see the change', () => witness.snapshot().services.has('prod/after-stop'));
    await witness.stop();
    expect(fx.double.requests('WATCH', 'services')).toBe(watches + 1);
    expect(s.snapshot().services.has('prod/after-stop')).toBe(false);
  });

  it('stop() during a failing start leaves no handle that keeps the process alive', async () => {
    seed();
    const child = fileURLToPath(new URL('../helpers/apidouble-source-child.ts', import.meta.url));
    // Timed from the child's "stopped" line, not from its spawn: starting
    // Node and client-node takes as long as a busy machine makes it, but once
    // stop() has resolved nothing may hold the child — a handle left behind
    // holds it for client-node's 30 s timers, which is what this measures.
    const run = (mode: string): Promise<{ code: number | null; out: string; ms: number }> =>
      new Promise((resolve, reject) => {
        let stoppedAt: number | null = null;
        const p = spawn(process.execPath, [child, fx.kubeconfigPath, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let kill: NodeJS.Timeout | undefined;
        p.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (stoppedAt === null && out.includes('stopped ')) {
            stoppedAt = Date.now();
            kill = setTimeout(() => p.kill('SIGKILL'), 40_000);
          }
        });
        p.stderr.on('data', (c: Buffer) => (out += c.toString()));
        const hung = setTimeout(() => p.kill('SIGKILL'), 2 * PATIENCE_MS);
        p.on('error', reject);
        p.on('exit', (code) => {
          clearTimeout(kill);
          clearTimeout(hung);
          resolve({ code, out, ms: stoppedAt === null ? Infinity : Date.now() - stoppedAt });
        });
      });
    // After a clean sync.
    const synced = await run('synced');
    expect(synced.out).toContain('stopped ok');
    expect(synced.code).toBe(0);
    // While lists keep failing and a restart is pending.
    fx.double.failNextList('services', 500, 1_000);
    const failing = await run('failing');
    expect(failing.out).toContain('stopped error');
    expect(failing.code).toBe(0);
    // Once stopped, the child exits by itself well before client-node's 30 s timers.
    expect(Math.max(synced.ms, failing.ms)).toBeLessThan(20_000);
  });
});
