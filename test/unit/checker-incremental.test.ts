// The checker's incremental mode (src/app/checker.ts, docs/performance.md
// "The incremental engine"): a KernelMirror fed by the in-memory kernel's
// notifications, a real ClusterIndex with its change journal, the engine
// between full checks, and the full check that reconciles: nothing to
// correct when both sides told everything, a counted correction per side
// when one did not.

import { describe, expect, it } from 'vitest';
import { createChecker } from '../../src/app/checker.ts';
import type { CheckObserver } from '../../src/app/ports.ts';
import type { ClusterSource } from '../../src/core/ports.ts';
import { routeProtocol, tableId } from '../../src/core/types.ts';
import { createMemoryKernelTable } from '../../src/kernel/memory.ts';
import { ClusterIndex } from '../../src/kube/cluster-index.ts';
import { silentLogger } from '../../src/surface/logger.ts';
import { endpointSlice, service } from '../../tools/apidouble/builders.ts';
import { kroute, memoryCluster, model, NOW } from '../helpers/fixtures.ts';

const NODE = 'worker-1';

function setup(o: { journalMisses?: boolean } = {}) {
  const kernel = createMemoryKernelTable({ table: tableId(198), protocol: routeProtocol(248) });
  const index = new ClusterIndex();
  const cluster: ClusterSource = memoryCluster({
    snapshot: () => index.snapshot(),
    live: () => index.live(),
    // A journal that misses changes: it always says nothing changed (after the first read).
    changes: o.journalMisses
      ? (c) => (c === undefined ? index.changesSince(c) : { cursor: c, changed: { services: new Set(), slices: new Set(), leases: new Set() } })
      : (c) => index.changesSince(c),
  });
  const corrections: string[] = [];
  const observer: CheckObserver = { checked: () => {}, resyncCorrected: (side, n) => corrections.push(`${side} ${n}`) };
  const checker = createChecker({
    kernel,
    cluster,
    model: model({ nodeName: NODE }),
    observer,
    logger: silentLogger(),
    clock: () => NOW,
    incremental: true,
    confirmDelayMs: 0,
  });
  kernel.subscribe((c) => checker.kernelChanged?.(c));
  const addService = (name: string, ip: string) => {
    index.upsert('services', service({ name, namespace: 'default', ingressIPs: [ip] }) as never);
    index.upsert(
      'endpointslices',
      endpointSlice({
        service: name,
        namespace: 'default',
        name: `${name}-ipv4`,
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.244.0.5'], nodeName: 'worker-2' }],
      }) as never,
    );
  };
  /** Notifications are delivered after the change (a microtask), as the kernel's arrive after the syscall. */
  const settle = () => new Promise((r) => setImmediate(r));
  return { kernel, index, checker, corrections, addService, settle };
}

/** One Service with its route, and a first full check: in sync. */
async function inSync() {
  const s = setup();
  s.addService('web', '10.0.0.6');
  s.kernel.inject(kroute('10.0.0.6/32'));
  await s.settle();
  const first = await s.checker.check({ full: true });
  return { ...s, first };
}

describe('incremental checks', () => {
  it('follow API and kernel changes between full checks, and the full check corrects nothing', async () => {
    const s = setup();
    s.addService('web', '10.0.0.6');
    s.kernel.inject(kroute('10.0.0.6/32'));
    await s.settle();
    const first = await s.checker.check({ full: true });
    expect(first.report.inSync).toBe(true);

    // A new Service: missing until kube-vip adds its route.
    s.addService('api', '10.0.0.7');
    const missing = await s.checker.check();
    expect(missing.incremental).toBe(true);
    expect(missing.report.missing.map((m) => m.destination)).toEqual(['10.0.0.7/32']);

    s.kernel.inject(kroute('10.0.0.7/32'));
    s.kernel.inject(kroute('10.0.0.99/32'));
    await s.settle();
    const orphan = await s.checker.check();
    expect(orphan.incremental).toBe(true);
    expect(orphan.report.orphans.map((o) => o.destination)).toEqual(['10.0.0.99/32']);
    expect(orphan.report.missing).toEqual([]);

    s.index.remove('services', { metadata: { namespace: 'default', name: 'web' } });
    const afterDelete = await s.checker.check();
    expect(afterDelete.report.orphans.map((o) => o.destination)).toEqual(['10.0.0.6/32', '10.0.0.99/32']);

    const full = await s.checker.check({ full: true });
    expect(full.incremental).toBeUndefined();
    expect(full.report.orphans.map((o) => o.destination)).toEqual(['10.0.0.6/32', '10.0.0.99/32']);
    expect(s.corrections).toEqual([]);
  });

  it('a full check that rebuilt everything computes it from scratch again only when it found drift (for the repair to plan on)', async () => {
    // The first check rebuilds the engine: in sync, the engine's verdict stands.
    const s = await inSync();
    expect([s.first.report.inSync, s.first.incremental]).toEqual([true, true]);
    // The engine is valid now: the next full check confirms it from scratch.
    const second = await s.checker.check({ full: true });
    expect([second.report.inSync, second.incremental]).toEqual([true, undefined]);

    const d = setup();
    d.addService('web', '10.0.0.6');
    const drifted = await d.checker.check({ full: true });
    expect(drifted.report.missing.map((m) => m.destination)).toEqual(['10.0.0.6/32']);
    expect(drifted.incremental).toBeUndefined();
    expect([...s.corrections, ...d.corrections]).toEqual([]);
  });

  it('counts a kernel correction when the mirror holds a route two dumps agree the table lacks', async () => {
    const s = await inSync();
    // A notification for a change that never happened: the mirror is wrong.
    s.checker.kernelChanged?.({ lost: 0, routes: [{ op: 'add', route: kroute('10.0.0.50/32') }] });
    const wrong = await s.checker.check();
    expect(wrong.report.orphans.map((o) => o.destination)).toEqual(['10.0.0.50/32']);
    const full = await s.checker.check({ full: true });
    expect(s.corrections).toEqual(['kernel 1']);
    expect(full.report.inSync).toBe(true);
  });

  it('does not count lost notifications as corrections: the mirror is stale and the next check dumps', async () => {
    const s = await inSync();
    s.kernel.loseNotifications(1);
    s.kernel.inject(kroute('10.0.0.51/32'));
    await s.settle();
    const next = await s.checker.check();
    expect(next.report.orphans.map((o) => o.destination)).toEqual(['10.0.0.51/32']);
    await s.checker.check({ full: true });
    expect(s.corrections).toEqual([]);
  });

  it('while catching up after a loss, the kernel side is not judged and not dumped; after the catch-up, the view is right', async () => {
    const s = await inSync();
    const dumps = () => s.kernel.history().filter((h) => h.op === 'dump').length;
    // The loss is reported; an add older than a dropped delete is read after it.
    s.checker.kernelChanged?.({ lost: 5 });
    s.checker.kernelChanged?.({ lost: 0, routes: [{ op: 'add', route: kroute('10.0.0.52/32') }] });
    const before = dumps();
    for (const full of [false, true]) {
      const waiting = await s.checker.check({ full });
      expect(waiting.report.sources.kernel).toBe('unsynced');
      expect(waiting.report.errors?.kernel).toMatch(/queued before a loss/);
      expect(waiting.report.orphans).toEqual([]);
      expect(waiting.report.missing).toEqual([]);
    }
    expect(dumps()).toBe(before);
    s.checker.kernelChanged?.({ lost: 0, caughtUp: true });
    const after = await s.checker.check();
    expect(after.report.sources.kernel).toBe('ok');
    expect(after.report.inSync).toBe(true); // 10.0.0.52 was never in the table
    expect(dumps()).toBe(before + 1);
    await s.checker.check({ full: true });
    expect(s.corrections).toEqual([]);
  });

  it('counts an expected-side correction when the journal missed a change, and adopts the from-scratch verdict', async () => {
    const s = setup({ journalMisses: true });
    s.addService('web', '10.0.0.6');
    s.kernel.inject(kroute('10.0.0.6/32'));
    await s.settle();
    await s.checker.check({ full: true });
    s.addService('api', '10.0.0.7');
    const blind = await s.checker.check();
    expect(blind.report.missing).toEqual([]);
    const full = await s.checker.check({ full: true });
    expect(full.report.missing.map((m) => m.destination)).toEqual(['10.0.0.7/32']);
    expect(s.corrections).toEqual([expect.stringMatching(/^expected [1-9]\d*$/)]);
    // Adopted: the next incremental check starts from the corrected state.
    const next = await s.checker.check();
    expect(next.report.missing.map((m) => m.destination)).toEqual(['10.0.0.7/32']);
  });
});
