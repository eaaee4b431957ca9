// The API double driven through the real @kubernetes/client-node (and kubectl
// when present): list/watch semantics, selectors, 410 Gone, bookmarks,
// timeouts, writes, faults and Unix-socket listening.

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CoordinationV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  EventsV1Api,
  ListWatch,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  type V1Service,
} from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiDouble, endpointSlice, lease, pod, service } from '../../tools/apidouble/index.ts';
import { startDouble, waitFor, type DoubleFixture } from '../helpers/apidouble-fixture.ts';

const run = promisify(execFile);

interface WatchEvent {
  readonly type: string;
  readonly object: { metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string> }; code?: number; reason?: string };
}

/** Opens a raw watch through client-node's Watch and records everything it sees. */
async function openWatch(fx: DoubleFixture, path: string, params: Record<string, string | number | boolean | undefined>) {
  const events: WatchEvent[] = [];
  let done: { err: unknown } | undefined;
  const controller = await new Watch(fx.kubeConfig).watch(
    path,
    params,
    (type, object) => events.push({ type, object: object as WatchEvent['object'] }),
    (err) => {
      done = { err };
    },
  );
  return {
    events,
    ended: () => done,
    abort: () => controller.abort(),
    names: () => events.map((e) => `${e.type} ${e.object.metadata?.name ?? e.object.code}`),
  };
}

let fx: DoubleFixture;
let core: CoreV1Api;

beforeEach(async () => {
  fx = await startDouble({ bookmarkIntervalMs: 50, historySize: 50 });
  core = fx.kubeConfig.makeApiClient(CoreV1Api);
});

afterEach(async () => {
  await fx.close();
});

describe('list', () => {
  it('lists across and within namespaces with the global resourceVersion', async () => {
    fx.double.upsert(service({ name: 'a', namespace: 'ns1', ingressIPs: ['10.0.0.1'] }));
    fx.double.upsert(service({ name: 'b', namespace: 'ns2', ingressIPs: ['10.0.0.2'] }));
    fx.double.upsert(lease({ name: 'l', namespace: 'ns1', holderIdentity: 'n1' }));

    const all = await core.listServiceForAllNamespaces();
    expect(all.items.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`)).toEqual(['ns1/a', 'ns2/b']);
    expect(all.metadata?.resourceVersion).toBe(fx.double.resourceVersion());
    expect(all.metadata?.resourceVersion).toBe('3');
    const rvs = all.items.map((s) => Number(s.metadata?.resourceVersion));
    expect(rvs).toEqual([1, 2]);

    const ns2 = await core.listNamespacedService({ namespace: 'ns2' });
    expect(ns2.items.map((s) => s.metadata?.name)).toEqual(['b']);
    expect(ns2.items[0]?.status?.loadBalancer?.ingress?.[0]?.ip).toBe('10.0.0.2');

    const leases = await fx.kubeConfig.makeApiClient(CoordinationV1Api).listLeaseForAllNamespaces();
    expect(leases.items.map((l) => l.spec?.holderIdentity)).toEqual(['n1']);
  });

  it('gets one object and answers 404 with a Status for a missing one', async () => {
    fx.double.upsert(service({ name: 'a', ingressIPs: ['10.0.0.1'] }));
    const got = await core.readNamespacedService({ name: 'a', namespace: 'default' });
    expect(got.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    await expect(core.readNamespacedService({ name: 'nope', namespace: 'default' })).rejects.toMatchObject({ code: 404 });
    expect(fx.double.requests('GET', 'services')).toBe(2);
  });

  it('filters with label selectors', async () => {
    const mk = (name: string, labels: Record<string, string>) => fx.double.upsert(service({ name, labels }));
    mk('a', { app: 'web', tier: 'front' });
    mk('b', { app: 'db' });
    mk('c', { app: 'cache', tier: 'back' });
    mk('d', {});
    const names = async (labelSelector: string) => (await core.listServiceForAllNamespaces({ labelSelector })).items.map((s) => s.metadata?.name);
    expect(await names('app=web')).toEqual(['a']);
    expect(await names('app==db')).toEqual(['b']);
    expect(await names('app!=web')).toEqual(['b', 'c', 'd']);
    expect(await names('app in (web, cache)')).toEqual(['a', 'c']);
    expect(await names('app notin (web,cache)')).toEqual(['b', 'd']);
    expect(await names('tier')).toEqual(['a', 'c']);
    expect(await names('!tier')).toEqual(['b', 'd']);
    expect(await names('app in (web,cache),tier=back')).toEqual(['c']);
    await expect(names('app in (')).rejects.toMatchObject({ code: 400 });
  });

  it('filters with field selectors', async () => {
    fx.double.upsert(pod({ name: 'p1', namespace: 'ns1', nodeName: 'n1' }));
    fx.double.upsert(pod({ name: 'p2', namespace: 'ns1', nodeName: 'n2' }));
    fx.double.upsert(pod({ name: 'p3', namespace: 'ns2' }));
    const names = async (fieldSelector: string) => (await core.listPodForAllNamespaces({ fieldSelector })).items.map((p) => p.metadata?.name);
    expect(await names('spec.nodeName=n1')).toEqual(['p1']);
    expect(await names('spec.nodeName!=n1')).toEqual(['p2', 'p3']);
    expect(await names('spec.nodeName=')).toEqual(['p3']);
    expect(await names('metadata.namespace=ns1,metadata.name!=p1')).toEqual(['p2']);
    expect(await names('metadata.name==p3')).toEqual(['p3']);
  });

  it('pages with limit and continue', async () => {
    for (const n of ['a', 'b', 'c', 'd', 'e']) fx.double.upsert(service({ name: n }));
    const first = await core.listServiceForAllNamespaces({ limit: 2 });
    expect(first.items.map((s) => s.metadata?.name)).toEqual(['a', 'b']);
    expect(first.metadata?.remainingItemCount).toBe(3);
    const second = await core.listServiceForAllNamespaces({ limit: 2, _continue: first.metadata?._continue ?? '' });
    expect(second.items.map((s) => s.metadata?.name)).toEqual(['c', 'd']);
    const third = await core.listServiceForAllNamespaces({ limit: 2, _continue: second.metadata?._continue ?? '' });
    expect(third.items.map((s) => s.metadata?.name)).toEqual(['e']);
    expect(third.metadata?._continue).toBeUndefined();
  });

  it('pages a selected list without a remaining count, and ends where the last match is', async () => {
    for (const [n, tier] of [
      ['a', 'web'],
      ['b', 'db'],
      ['c', 'web'],
      ['d', 'web'],
      ['e', 'db'],
    ] as const)
      fx.double.upsert(service({ name: n, labels: { tier } }));
    const first = await core.listServiceForAllNamespaces({ labelSelector: 'tier=web', limit: 2 });
    expect(first.items.map((s) => s.metadata?.name)).toEqual(['a', 'c']);
    expect(first.metadata?.remainingItemCount).toBeUndefined();
    const second = await core.listServiceForAllNamespaces({ labelSelector: 'tier=web', limit: 2, _continue: first.metadata?._continue ?? '' });
    expect(second.items.map((s) => s.metadata?.name)).toEqual(['d']);
    // Only 'e' (not a match) follows 'd': no further page.
    const exact = await core.listServiceForAllNamespaces({ labelSelector: 'tier=web', limit: 3 });
    expect(exact.items.map((s) => s.metadata?.name)).toEqual(['a', 'c', 'd']);
    expect(exact.metadata?._continue).toBeUndefined();
  });
});

describe('watch', () => {
  it('streams ADDED, MODIFIED and DELETED after the listed resourceVersion', async () => {
    fx.double.upsert(service({ name: 'before' }));
    const list = await core.listServiceForAllNamespaces();
    const w = await openWatch(fx, '/api/v1/services', { resourceVersion: list.metadata?.resourceVersion });
    fx.double.upsert(service({ name: 'web', ingressIPs: ['10.0.0.1'] }));
    fx.double.upsert(service({ name: 'web', ingressIPs: ['10.0.0.2'] }));
    expect(fx.double.delete('Service', 'default', 'web')).toBe(true);
    await waitFor('three events', () => w.events.length >= 3);
    expect(w.names()).toEqual(['ADDED web', 'MODIFIED web', 'DELETED web']);
    const rvs = w.events.map((e) => Number(e.object.metadata?.resourceVersion));
    expect(rvs).toEqual([2, 3, 4]);
    expect(w.ended()).toBeUndefined(); // kept open
    expect(fx.double.stats().openWatches).toEqual({ services: 1 });
    w.abort();
    await waitFor('the server to notice the closed watch', () => fx.double.stats().openWatches.services === undefined);
  });

  it('replays retained events when resuming from an older resourceVersion', async () => {
    fx.double.upsert(service({ name: 'a' }));
    const rv = fx.double.resourceVersion();
    fx.double.upsert(service({ name: 'b' }));
    fx.double.delete('Service', 'default', 'a');
    const w = await openWatch(fx, '/api/v1/services', { resourceVersion: rv });
    await waitFor('replayed events', () => w.events.length >= 2);
    expect(w.names()).toEqual(['ADDED b', 'DELETED a']);
    w.abort();
  });

  it('sends synthetic ADDED for existing objects when watching from "" or "0"', async () => {
    fx.double.upsert(service({ name: 'a', namespace: 'x' }));
    fx.double.upsert(service({ name: 'b', namespace: 'y' }));
    const cases = [
      { resourceVersion: '', existing: ['ADDED a'] },
      { resourceVersion: '0', existing: ['ADDED a', 'ADDED later'] },
    ];
    for (const { resourceVersion, existing } of cases) {
      const w = await openWatch(fx, '/api/v1/namespaces/x/services', { resourceVersion });
      await waitFor('synthetic ADDED', () => w.events.length >= existing.length);
      fx.double.upsert(service({ name: `later${resourceVersion}`, namespace: 'x' }));
      await waitFor('the live event', () => w.events.length >= existing.length + 1);
      expect(w.names()).toEqual([...existing, `ADDED later${resourceVersion}`]);
      w.abort();
    }
  });

  it('applies selectors to watches, turning objects that leave the selection into DELETED', async () => {
    const rv = fx.double.resourceVersion();
    const w = await openWatch(fx, '/apis/discovery.k8s.io/v1/endpointslices', {
      resourceVersion: rv,
      labelSelector: 'kubernetes.io/service-name=web',
    });
    fx.double.upsert(endpointSlice({ service: 'other', endpoints: [] }));
    fx.double.upsert(endpointSlice({ service: 'web', name: 's1', endpoints: [] }));
    fx.double.upsert(endpointSlice({ service: 'web', name: 's1', endpoints: [{ addresses: ['10.1.0.1'] }] }));
    fx.double.upsert(endpointSlice({ service: 'moved', name: 's1', endpoints: [] })); // label changed
    fx.double.upsert(endpointSlice({ service: 'web', name: 's1', endpoints: [] })); // and back
    await waitFor('four events', () => w.events.length >= 4);
    expect(w.names()).toEqual(['ADDED s1', 'MODIFIED s1', 'DELETED s1', 'ADDED s1']);
    w.abort();

    const f = await openWatch(fx, '/api/v1/pods', { resourceVersion: fx.double.resourceVersion(), fieldSelector: 'spec.nodeName=n1' });
    fx.double.upsert(pod({ name: 'elsewhere', nodeName: 'n2' }));
    fx.double.upsert(pod({ name: 'here', nodeName: 'n1' }));
    await waitFor('the matching pod', () => f.events.length >= 1);
    expect(f.names()).toEqual(['ADDED here']);
    f.abort();
  });

  it('answers a resume from a compacted resourceVersion with an ERROR 410 event and closes', async () => {
    fx.double.upsert(service({ name: 'a' }));
    const old = fx.double.resourceVersion();
    fx.double.compactHistory();
    const w = await openWatch(fx, '/api/v1/services', { resourceVersion: old });
    await waitFor('the stream to end', () => w.ended());
    expect(w.events).toHaveLength(1);
    expect(w.events[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    expect(w.ended()?.err).toBeNull();
    // A fresh list gives a resourceVersion that can be watched from.
    const list = await core.listServiceForAllNamespaces();
    const ok = await openWatch(fx, '/api/v1/services', { resourceVersion: list.metadata?.resourceVersion });
    fx.double.upsert(service({ name: 'b' }));
    await waitFor('an event after re-list', () => ok.events.length >= 1);
    expect(ok.names()).toEqual(['ADDED b']);
    ok.abort();
  });

  it('expires resourceVersions that fall out of the bounded history', async () => {
    fx.double.upsert(service({ name: 'first' }));
    const start = fx.double.resourceVersion();
    for (let i = 0; i < 60; i++) fx.double.upsert(service({ name: 'churn', labels: { i: String(i) } }));
    const w = await openWatch(fx, '/api/v1/services', { resourceVersion: start });
    await waitFor('the stream to end', () => w.ended());
    expect(w.events[0]?.object.code).toBe(410);
  });

  it('makes a client-node informer re-list after 410 Gone and keeps its cache right', async () => {
    fx.double.upsert(service({ name: 'a' }));
    fx.double.upsert(service({ name: 'b' }));
    const inf = new ListWatch<V1Service>('/api/v1/services', new Watch(fx.kubeConfig), () => core.listServiceForAllNamespaces(), false);
    await inf.start();
    expect(
      inf
        .list()
        .map((s) => s.metadata?.name)
        .sort(),
    ).toEqual(['a', 'b']);
    expect(fx.double.requests('LIST', 'services')).toBe(1);

    // While the informer is cut off: changes, then a compaction it cannot resume across.
    fx.double.upsert(service({ name: 'c' }));
    fx.double.delete('Service', 'default', 'a');
    fx.double.compactHistory();
    fx.double.closeAllWatches();

    await waitFor('a re-list', () => fx.double.requests('LIST', 'services') === 2);
    await waitFor(
      'the cache to match',
      () =>
        inf
          .list()
          .map((s) => s.metadata?.name)
          .sort()
          .join() === 'b,c',
    );
    await inf.stop();
  });

  it('sends bookmarks when allowed, and only then', async () => {
    const rv = fx.double.resourceVersion();
    const w = await openWatch(fx, '/api/v1/services', { resourceVersion: rv, allowWatchBookmarks: true });
    const plain = await openWatch(fx, '/api/v1/services', { resourceVersion: rv });
    fx.double.upsert(service({ name: 'a' }));
    await waitFor('a bookmark after the event', () => w.events.some((e, i) => i > 0 && e.type === 'BOOKMARK'));
    const bm = w.events.find((e) => e.type === 'BOOKMARK');
    expect(bm?.object).toMatchObject({ kind: 'Service', apiVersion: 'v1' });
    expect(Number(bm?.object.metadata?.resourceVersion)).toBeGreaterThanOrEqual(Number(rv));
    expect(plain.events.map((e) => e.type)).toEqual(['ADDED']);
    w.abort();
    plain.abort();
  });

  it('ends the initial-events stream with an annotated bookmark (sendInitialEvents)', async () => {
    fx.double.upsert(service({ name: 'a' }));
    const w = await openWatch(fx, '/api/v1/services', {
      sendInitialEvents: true,
      allowWatchBookmarks: true,
      resourceVersionMatch: 'NotOlderThan',
      resourceVersion: '',
    });
    await waitFor('the end-of-initial-events bookmark', () => w.events.length >= 2);
    expect(w.events[0]?.type).toBe('ADDED');
    expect(w.events[1]).toMatchObject({ type: 'BOOKMARK', object: { metadata: { annotations: { 'k8s.io/initial-events-end': 'true' } } } });
    w.abort();
  });

  it('closes the stream after timeoutSeconds', async () => {
    const started = Date.now();
    const w = await openWatch(fx, '/api/v1/services', { resourceVersion: fx.double.resourceVersion(), timeoutSeconds: 1 });
    await waitFor('the server to close the watch', () => w.ended());
    expect(w.ended()?.err).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});

describe('writes through client-node', () => {
  it('creates, replaces with optimistic concurrency, patches, updates status and deletes', async () => {
    const created = await core.createNamespacedService({
      namespace: 'default',
      body: { metadata: { name: 'web' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } },
    });
    expect(created.metadata?.resourceVersion).toBe('1');
    expect(created.kind).toBe('Service');
    await expect(core.createNamespacedService({ namespace: 'default', body: { metadata: { name: 'web' } } })).rejects.toMatchObject({ code: 409 });

    const stale = { ...created, metadata: { ...created.metadata, resourceVersion: '0' } };
    await expect(core.replaceNamespacedService({ name: 'web', namespace: 'default', body: stale })).rejects.toMatchObject({ code: 409 });
    const replaced = await core.replaceNamespacedService({
      name: 'web',
      namespace: 'default',
      body: { ...created, spec: { ...created.spec, externalTrafficPolicy: 'Local' } },
    });
    expect(replaced.spec?.externalTrafficPolicy).toBe('Local');
    expect(replaced.metadata?.uid).toBe(created.metadata?.uid);

    // client-node's default patch type is JSON patch.
    const jsonPatched = await core.patchNamespacedService({
      name: 'web',
      namespace: 'default',
      body: [{ op: 'add', path: '/metadata/annotations', value: { 'kube-vip.io/loadbalancerIPs': '10.0.0.9' } }],
    });
    expect(jsonPatched.metadata?.annotations).toEqual({ 'kube-vip.io/loadbalancerIPs': '10.0.0.9' });
    const merged = await core.patchNamespacedService(
      { name: 'web', namespace: 'default', body: { metadata: { labels: { a: 'b' }, annotations: { 'kube-vip.io/loadbalancerIPs': null } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(merged.metadata?.labels).toEqual({ a: 'b' });
    expect(merged.metadata?.annotations).toEqual({});

    // Status goes through the subresource only, as kube-vip writes it.
    const ignored = await core.replaceNamespacedService({
      name: 'web',
      namespace: 'default',
      body: { ...merged, status: { loadBalancer: { ingress: [{ ip: '10.9.9.9' }] } } },
    });
    expect(ignored.status?.loadBalancer?.ingress).toBeUndefined();
    const withStatus = await core.patchNamespacedServiceStatus(
      { name: 'web', namespace: 'default', body: { status: { loadBalancer: { ingress: [{ ip: '10.0.0.9' }] } } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(withStatus.status?.loadBalancer?.ingress?.[0]?.ip).toBe('10.0.0.9');
    expect(withStatus.metadata?.labels).toEqual({ a: 'b' });

    await core.deleteNamespacedService({ name: 'web', namespace: 'default' });
    expect(fx.double.get('Service', 'default', 'web')).toBeUndefined();
    await expect(core.deleteNamespacedService({ name: 'web', namespace: 'default' })).rejects.toMatchObject({ code: 404 });
    expect(fx.double.stats().requests).toMatchObject({ CREATE: { services: 2 }, UPDATE: { services: 3 }, PATCH: { services: 3 }, DELETE: { services: 2 } });
  });

  it('records core/v1 and events.k8s.io/v1 events', async () => {
    await core.createNamespacedEvent({
      namespace: 'default',
      body: { metadata: { generateName: 'n1.' }, involvedObject: { kind: 'Node', name: 'n1' }, reason: 'RoutesRepaired', message: 'm', type: 'Normal' },
    });
    const listed = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=n1' });
    expect(listed.items.map((e) => e.reason)).toEqual(['RoutesRepaired']);
    expect(listed.items[0]?.metadata?.name).toMatch(/^n1\./);
    const events = fx.kubeConfig.makeApiClient(EventsV1Api);
    await events.createNamespacedEvent({
      namespace: 'default',
      body: {
        metadata: { name: 'e1' },
        regarding: { kind: 'Node', name: 'n1' },
        reason: 'R',
        note: 'n',
        type: 'Normal',
        action: 'A',
        reportingController: 'rw',
        reportingInstance: 'n1',
        eventTime: new Date(Date.UTC(2026, 0, 1)),
      },
    });
    const listedV1 = await events.listNamespacedEvent({ namespace: 'default', fieldSelector: 'regarding.name=n1' });
    expect(listedV1.items.map((e) => e.note)).toEqual(['n']);
    expect(fx.double.list('events.k8s.io/Event').map((e) => e.metadata?.name)).toEqual(['e1']);
  });
});

describe('faults', () => {
  it('fails the next LIST of a resource once with the injected status', async () => {
    fx.double.failNextList('services', 500);
    await expect(core.listServiceForAllNamespaces()).rejects.toMatchObject({ code: 500 });
    await expect(core.listServiceForAllNamespaces()).resolves.toMatchObject({ items: [] });
    // Other resources are unaffected.
    fx.double.failNextList('leases', 403, 2);
    await expect(fx.kubeConfig.makeApiClient(DiscoveryV1Api).listEndpointSliceForAllNamespaces()).resolves.toBeDefined();
  });

  it('in an outage answers 503, cuts open watches, and recovers', async () => {
    const w = await openWatch(fx, '/api/v1/services', { resourceVersion: fx.double.resourceVersion() });
    await fx.double.outage(true);
    await waitFor('the open watch to be cut', () => w.ended());
    expect(w.ended()?.err).toBeTruthy();
    await expect(core.listServiceForAllNamespaces()).rejects.toMatchObject({ code: 503 });
    expect(fx.double.stats().rejectedByOutage).toBe(1);
    await fx.double.outage(false);
    await expect(core.listServiceForAllNamespaces()).resolves.toMatchObject({ items: [] });
  });

  it('in a refusing outage refuses connections on the same port, and listens again afterwards', async () => {
    const url = fx.double.url;
    await fx.double.outage(true, 'refuse');
    const err = await core.listServiceForAllNamespaces().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String((err as { cause?: { code?: string } }).cause?.code ?? err)).toContain('ECONNREFUSED');
    await fx.double.outage(false);
    expect(fx.double.url).toBe(url);
    await expect(core.listServiceForAllNamespaces()).resolves.toMatchObject({ items: [] });
  });

  it('in a resetting outage drops connections', async () => {
    await fx.double.outage(true, 'reset');
    await expect(core.listServiceForAllNamespaces()).rejects.toThrow();
    await fx.double.outage(false);
    await expect(core.listServiceForAllNamespaces()).resolves.toBeDefined();
  });

  it('counts LIST, WATCH and GET apart', async () => {
    await core.listServiceForAllNamespaces();
    const w = await openWatch(fx, '/api/v1/services', { resourceVersion: '0' });
    await core.listNamespacedService({ namespace: 'x' });
    await expect(core.readNamespacedService({ name: 'a', namespace: 'x' })).rejects.toBeDefined();
    const s = fx.double.stats();
    expect(s.requests.LIST).toEqual({ services: 2 });
    expect(s.requests.WATCH).toEqual({ services: 1 });
    expect(s.requests.GET).toEqual({ services: 1 });
    fx.double.resetStats();
    expect(fx.double.requests('LIST', 'services')).toBe(0);
    w.abort();
  });
});

describe('discovery and listening', () => {
  it('serves discovery documents', async () => {
    const get = async (path: string) => (await fetch(`${fx.double.url}${path}`)).json() as Promise<Record<string, unknown>>;
    expect(await get('/api')).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const v1 = await get('/api/v1');
    expect(v1).toMatchObject({ kind: 'APIResourceList', groupVersion: 'v1' });
    expect(v1.resources).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'services', shortNames: ['svc'], namespaced: true })]));
    const groups = await get('/apis');
    expect((groups.groups as { name: string }[]).map((g) => g.name)).toEqual(['discovery.k8s.io', 'coordination.k8s.io', 'events.k8s.io']);
    expect(await get('/apis/coordination.k8s.io/v1')).toMatchObject({ resources: [expect.objectContaining({ name: 'leases', kind: 'Lease' })] });
    expect(await get('/version')).toMatchObject({ major: '1' });
    expect((await fetch(`${fx.double.url}/apis/apps/v1/deployments`)).status).toBe(404);
  });

  it('listens on a TCP port and a Unix socket at the same time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'apidouble-sock-'));
    const socketPath = join(dir, 'api.sock');
    await fx.double.listen({ path: socketPath });
    fx.double.upsert(service({ name: 'over-unix' }));
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ socketPath, path: '/api/v1/services', headers: { host: 'localhost' } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`HTTP ${res.statusCode}: ${text}`))));
      });
      req.on('error', reject);
      req.end();
    });
    expect((JSON.parse(body) as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name)).toEqual(['over-unix']);
    // TCP keeps working alongside.
    expect((await core.listServiceForAllNamespaces()).items).toHaveLength(1);
    await fx.double.close();
    expect(existsSync(socketPath)).toBe(false);
  });

  it('writes a kubeconfig for another server address (a forwarder)', () => {
    const d = createApiDouble();
    expect(() => d.kubeconfigYaml()).toThrow(/TCP listener/);
    const yaml = d.kubeconfigYaml({ server: 'http://10.200.0.1:6443' });
    expect(yaml).toContain('server: "http://10.200.0.1:6443"');
    expect(yaml).toContain('insecure-skip-tls-verify: true');
  });
});

const kubectl = '/usr/bin/kubectl';
describe.skipIf(!existsSync(kubectl))('kubectl', () => {
  it("lists the double's services, endpointslices and leases", async () => {
    fx.double.upsert(service({ name: 'web', namespace: 'prod', ingressIPs: ['10.0.0.5'] }));
    fx.double.upsert(endpointSlice({ service: 'web', namespace: 'prod', endpoints: [{ addresses: ['10.1.0.1'], nodeName: 'n1' }] }));
    fx.double.upsert(lease({ name: 'kubevip-web', namespace: 'prod', holderIdentity: 'n1' }));
    const { stdout } = await run(kubectl, ['--kubeconfig', fx.kubeconfigPath, 'get', 'svc', '-A', '-o', 'json'], { timeout: 30_000 });
    const list = JSON.parse(stdout) as { items: V1Service[] };
    expect(list.items.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`)).toEqual(['prod/web']);
    expect(list.items[0]?.status?.loadBalancer?.ingress?.[0]?.ip).toBe('10.0.0.5');

    const table = await run(kubectl, ['--kubeconfig', fx.kubeconfigPath, 'get', 'svc,endpointslices,leases', '-A'], { timeout: 30_000 });
    expect(table.stdout).toContain('web');
    expect(table.stdout).toContain('kubevip-web');
    expect(table.stdout).toContain('web-ipv4');
    // Server-side printing: the columns kubectl shows against a real cluster.
    const svc = await run(kubectl, ['--kubeconfig', fx.kubeconfigPath, 'get', 'svc', '-n', 'prod'], { timeout: 30_000 });
    expect(svc.stdout).toMatch(/^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\n/);
    expect(svc.stdout).toMatch(/\nweb\s+LoadBalancer\s+<none>\s+10\.0\.0\.5\s+80\/TCP\s+\d+s\n/);
    const leases = await run(kubectl, ['--kubeconfig', fx.kubeconfigPath, 'get', 'lease', 'kubevip-web', '-n', 'prod'], { timeout: 30_000 });
    expect(leases.stdout).toMatch(/kubevip-web\s+n1\s+\d+s/);
  });
});
if (!existsSync(kubectl)) {
  // A visible note in the run's output, besides vitest's "skipped".
  console.warn(`kubectl not found at ${kubectl}: skipping the kubectl test`);
}
