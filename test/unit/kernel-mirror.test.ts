// KernelMirror: the kernel table kept from notifications (src/core/kernel-mirror.ts).
// The real kernel's side of the same property is test/integration/kernel-mirror.test.ts.

import { describe, expect, it } from 'vitest';
import { JOURNAL_LIMIT, KernelMirror, type RouteDelta } from '../../src/core/kernel-mirror.ts';
import { routeProtocol, type KernelDump, type KernelRoute } from '../../src/core/types.ts';
import { createMemoryKernelTable } from '../../src/kernel/memory.ts';
import { PROTO, PROTO_STATIC, TABLE, spec } from '../helpers/kernel-contract.ts';
import { kroute } from '../helpers/fixtures.ts';

const v4 = (destination: string, over: Partial<KernelRoute> = {}): KernelRoute => kroute(destination, over);
const v6 = (destination: string, over: Partial<KernelRoute> = {}): KernelRoute => kroute(destination, { metric: 1024, ...over });
const foreign = (r: KernelRoute): KernelRoute => ({ ...r, protocol: PROTO_STATIC });
const add = (route: KernelRoute, flags: { replace?: boolean; append?: boolean } = {}): RouteDelta => ({ op: 'add', route, ...flags });
const del = (route: KernelRoute): RouteDelta => ({ op: 'delete', route });

const key = (r: KernelRoute): string => JSON.stringify(r, Object.keys(r).sort());
const sorted = (dump: KernelDump): { owned: string[]; foreign: string[] } => ({ owned: dump.owned.map(key).sort(), foreign: dump.foreign.map(key).sort() });

function fresh(dump: KernelDump = { owned: [], foreign: [] }): KernelMirror {
  const m = new KernelMirror(PROTO);
  m.replace(dump);
  return m;
}

describe('KernelMirror', () => {
  it('is stale until the first replace(), and after markStale()', () => {
    const m = new KernelMirror(PROTO);
    expect(m.stale).toBe(true);
    m.replace({ owned: [], foreign: [] });
    expect(m.stale).toBe(false);
    m.markStale();
    expect(m.stale).toBe(true);
    m.replace({ owned: [], foreign: [] });
    expect(m.stale).toBe(false);
  });

  it('adds and deletes owned and foreign routes of both families, and says which destinations changed', () => {
    const m = fresh();
    expect(m.apply([add(v4('10.0.0.1/32')), add(foreign(v4('10.0.0.2/32'))), add(v6('fd00::1/128'))])).toEqual(
      new Set(['10.0.0.1/32', '10.0.0.2/32', 'fd00::1/128']),
    );
    expect(m.at('10.0.0.1/32')).toEqual({ owned: [v4('10.0.0.1/32')], foreign: [] });
    expect(m.at('10.0.0.2/32')).toEqual({ owned: [], foreign: [foreign(v4('10.0.0.2/32'))] });
    expect(m.at('fd00::1/128')).toEqual({ owned: [v6('fd00::1/128')], foreign: [] });
    expect(m.at('10.9.9.9/32')).toEqual({ owned: [], foreign: [] });
    expect(m.apply([del(v4('10.0.0.1/32'))])).toEqual(new Set(['10.0.0.1/32']));
    expect(sorted(m.dump())).toEqual(sorted({ owned: [v6('fd00::1/128')], foreign: [foreign(v4('10.0.0.2/32'))] }));
  });

  it('a foreign route at an owned destination is held next to it, and a delete removes exactly the route it names', () => {
    const m = fresh();
    // IPv6: another metric is another route at the same destination.
    m.apply([add(v6('fd00::7/128')), add(foreign(v6('fd00::7/128', { metric: 5 })))]);
    expect(m.at('fd00::7/128')).toEqual({ owned: [v6('fd00::7/128')], foreign: [foreign(v6('fd00::7/128', { metric: 5 }))] });
    // A delete of a route that differs in any decoded field (here the device) removes nothing.
    expect(m.apply([del(v6('fd00::7/128', { device: 'eth0', ifindex: 2 }))])).toEqual(new Set());
    expect(m.apply([del(foreign(v6('fd00::7/128', { metric: 5 })))])).toEqual(new Set(['fd00::7/128']));
    expect(m.at('fd00::7/128')).toEqual({ owned: [v6('fd00::7/128')], foreign: [] });
  });

  it('is idempotent: the same add or delete twice is one change, then nothing', () => {
    const m = fresh();
    const r = v4('10.0.0.3/32');
    expect(m.apply([add(r)]).size).toBe(1);
    const before = m.dump();
    expect(m.apply([add({ ...r })]).size).toBe(0);
    expect(m.dump()).toBe(before); // unchanged: the same cached object
    expect(m.apply([del(r), del(r)])).toEqual(new Set(['10.0.0.3/32']));
    expect(m.dump()).toEqual({ owned: [], foreign: [] });
  });

  it('a replace takes the place of the route of the same group: IPv4 by metric (priority), IPv6 by metric', () => {
    const m = fresh({ owned: [v4('10.0.0.4/32'), v6('fd00::4/128')], foreign: [foreign(v4('10.0.0.4/32', { metric: 7 }))] });
    // `ip route replace 10.0.0.4/32 dev eth0 proto static`: same dst, priority 0 -> replaces kube-vip's route.
    const moved = foreign(v4('10.0.0.4/32', { device: 'eth0', ifindex: 2 }));
    expect(m.apply([add(moved, { replace: true })])).toEqual(new Set(['10.0.0.4/32']));
    expect(m.at('10.0.0.4/32')).toEqual({ owned: [], foreign: [moved, foreign(v4('10.0.0.4/32', { metric: 7 }))] });
    // IPv6 replace at metric 1024 with another device.
    const moved6 = v6('fd00::4/128', { device: 'eth0', ifindex: 2 });
    m.apply([add(moved6, { replace: true })]);
    expect(m.at('fd00::4/128')).toEqual({ owned: [moved6], foreign: [] });
    // A replace with nothing of its group there is an add.
    m.apply([add(v6('fd00::4/128', { metric: 9 }), { replace: true })]);
    expect(m.at('fd00::4/128').owned).toEqual([moved6, v6('fd00::4/128', { metric: 9 })]);
  });

  it('IPv4 prepend goes first in its group and append last; a replace into such a stack is a guess, so the mirror goes stale', () => {
    const a = v4('10.0.0.5/32', { device: 'a', ifindex: 2 });
    const b = v4('10.0.0.5/32', { device: 'b', ifindex: 3 });
    const c = v4('10.0.0.5/32', { device: 'c', ifindex: 4 });
    const m = fresh({ owned: [a], foreign: [] });
    m.apply([add(b, { append: true })]); // [a, b]
    m.apply([add(c)]); // prepend: [c, a, b]
    const d = v4('10.0.0.5/32', { device: 'd', ifindex: 5 });
    expect(m.stale).toBe(false);
    m.apply([add(d, { replace: true })]); // the kernel replaces c, the first: so does the mirror's guess
    expect(m.at('10.0.0.5/32').owned).toEqual([d, a, b]);
    expect(m.stale).toBe(true);
    // Even a replace by a route already in the stack: the kernel (IPv6) still replaces the first.
    const stack6 = fresh({ owned: [v6('fd00::5/128', { device: 'a', ifindex: 2 }), v6('fd00::5/128', { device: 'c', ifindex: 4 })], foreign: [] });
    expect(stack6.apply([add(v6('fd00::5/128', { device: 'c', ifindex: 4 }), { replace: true })]).size).toBe(0);
    expect(stack6.stale).toBe(true);
    // A replace where the group holds one route is exact.
    const single = fresh({ owned: [a], foreign: [] });
    single.apply([add(b, { replace: true })]);
    expect(single.at('10.0.0.5/32').owned).toEqual([b]);
    expect(single.stale).toBe(false);
  });

  it('IPv6 destinations are held as the kernel masks them, per prefix', () => {
    const m = fresh();
    m.apply([add(v6('fd00:1::/64')), add(v6('fd00:1::/56'))]);
    expect(m.at('fd00:1::/64').owned).toHaveLength(1);
    expect(m.at('fd00:1::/56').owned).toHaveLength(1);
    m.apply([del(v6('fd00:1::/64'))]);
    expect(m.at('fd00:1::/64').owned).toHaveLength(0);
    expect(m.at('fd00:1::/56').owned).toHaveLength(1);
  });

  it('replace() returns exactly the destinations whose routes differ, whatever the order', () => {
    const m = fresh({ owned: [v4('10.0.0.1/32'), v4('10.0.0.2/32')], foreign: [foreign(v6('fd00::9/128'))] });
    const changed = m.replace({
      owned: [v4('10.0.0.2/32'), v4('10.0.0.1/32', { device: 'eth0', ifindex: 2 }), v4('10.0.0.3/32')],
      foreign: [foreign(v6('fd00::9/128'))],
    });
    expect(changed).toEqual(new Set(['10.0.0.1/32', '10.0.0.3/32']));
    expect(m.replace({ owned: [], foreign: [] })).toEqual(new Set(['10.0.0.1/32', '10.0.0.2/32', '10.0.0.3/32', 'fd00::9/128']));
  });

  it('replays on top of a dump the notifications seen while it was in flight', () => {
    const m = fresh();
    // The dump was taken before 10.0.0.8 was added; its notification was read before the reply.
    m.apply([add(v4('10.0.0.8/32'))]);
    m.replace({ owned: [], foreign: [] });
    expect(m.stale).toBe(false);
    expect(m.at('10.0.0.8/32').owned).toEqual([v4('10.0.0.8/32')]);
    // A notification for a change the dump already has, read after the dump: no change.
    m.replace({ owned: [v4('10.0.0.8/32'), v4('10.0.0.9/32')], foreign: [] });
    expect(m.apply([add(v4('10.0.0.9/32'))]).size).toBe(0);
    // ...and only since the previous replace(): 10.0.0.8 is not replayed on a dump without it.
    expect(m.replace({ owned: [v4('10.0.0.9/32')], foreign: [] })).toEqual(new Set(['10.0.0.8/32']));
  });

  it('after a loss, no dump is trusted until the notifications queued before it have been read (caughtUp)', () => {
    const m = fresh({ owned: [v4('10.0.0.1/32')], foreign: [] });
    const table = { owned: [v4('10.0.0.1/32')], foreign: [] };
    m.take({ lost: 3 });
    expect(m.stale).toBe(true);
    expect(m.catchingUp).toBe(true);
    // A dump that the notifications read so far agree with: still not trusted.
    m.replace(table);
    expect(m.stale).toBe(true);
    // A notification queued before the drop, older than the dropped delete of
    // the same route, read after that dump: trusting the dump would have left
    // 10.0.0.7 in the view for good (a false orphan).
    m.take({ lost: 0, routes: [add(v4('10.0.0.7/32'))] });
    expect(m.stale).toBe(true);
    m.take({ lost: 0, caughtUp: true });
    expect(m.catchingUp).toBe(false);
    expect(m.stale).toBe(true);
    // What was read while catching up is not replayed on the next dump.
    m.replace(table);
    expect(m.stale).toBe(false);
    expect(m.dump()).toEqual(table);
    // A resync without a loss needs no catch-up: the next dump, with the notifications read meanwhile, is exact.
    m.take({ lost: 0, resync: true });
    expect(m.catchingUp).toBe(false);
    m.apply([add(v4('10.0.0.2/32'))]);
    m.replace({ owned: [v4('10.0.0.1/32')], foreign: [] });
    expect(m.stale).toBe(false);
    expect(m.dump().owned.map((r) => r.destination)).toEqual(['10.0.0.1/32', '10.0.0.2/32']);
    // A loss and its catch-up in one change (nothing was queued).
    m.take({ lost: 1, caughtUp: true });
    expect(m.catchingUp).toBe(false);
    expect(m.stale).toBe(true);
  });

  it('more notifications between dumps than it keeps for the replay: the next replace() leaves it stale', () => {
    const m = fresh();
    const deltas = Array.from({ length: JOURNAL_LIMIT + 1 }, (_, i) => add(v4(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`)));
    m.apply(deltas);
    m.replace(m.dump());
    expect(m.stale).toBe(true);
    m.replace(m.dump());
    expect(m.stale).toBe(false);
  });

  it('dump() is cached until something changes, and at() answers from the same view', () => {
    const m = fresh({ owned: [v4('10.0.0.1/32')], foreign: [] });
    const first = m.dump();
    expect(m.dump()).toBe(first);
    m.apply([add(foreign(v4('10.0.0.1/32', { metric: 3 })))]);
    expect(m.dump()).not.toBe(first);
    expect(m.dump()).toEqual({ owned: [v4('10.0.0.1/32')], foreign: [foreign(v4('10.0.0.1/32', { metric: 3 }))] });
  });
});

describe('the in-memory kernel feeds a KernelMirror', () => {
  it('its route deltas keep a mirror equal to its dump, through adds, deletes, replaces, removes and link flushes', async () => {
    const k = createMemoryKernelTable({ table: TABLE, protocol: PROTO });
    k.addInterface({ name: 'eth0' });
    const m = new KernelMirror(PROTO);
    const calls: unknown[] = [];
    k.subscribe((change) => {
      calls.push(change);
      if (change) m.take(change);
    });
    m.replace(await k.dump());
    await k.add(spec('10.0.0.1/32'));
    await k.add(spec('fd00::1/128', { device: 'eth0' }));
    k.inject(kroute('10.0.0.2/32', { protocol: routeProtocol(4) }));
    k.inject(kroute('10.0.0.1/32', { protocol: routeProtocol(4), device: 'eth0' })); // replaces kube-vip's route
    await new Promise((r) => setTimeout(r, 0));
    expect(sorted(m.dump())).toEqual(sorted(await k.dump()));
    await k.delete(spec('fd00::1/128', { device: 'eth0' }));
    k.remove({ destination: '10.0.0.2/32' });
    await k.add(spec('10.0.0.3/32', { device: 'eth0' }));
    k.setInterfaceUp('eth0', false); // flushes 10.0.0.1 and 10.0.0.3
    await new Promise((r) => setTimeout(r, 0));
    expect(sorted(m.dump())).toEqual(sorted(await k.dump()));
    expect((await k.dump()).owned).toEqual([]);
    expect(m.stale).toBe(false);
    expect(calls).toContain(undefined); // the link change, without routes
  });

  it('loseNotifications(): the dropped deltas are reported as lost, then caught up; the mirror goes stale, a replace() restores it', async () => {
    const k = createMemoryKernelTable({ table: TABLE, protocol: PROTO });
    const m = new KernelMirror(PROTO);
    let lost = 0;
    const said: string[] = [];
    k.subscribe((change) => {
      if (!change) return;
      lost += change.lost;
      if (change.lost > 0) said.push('lost');
      if (change.caughtUp) said.push('caught up');
      m.take(change);
    });
    m.replace(await k.dump());
    k.loseNotifications(2);
    await k.add(spec('10.0.0.1/32'));
    await k.add(spec('10.0.0.2/32'));
    await k.add(spec('10.0.0.3/32'));
    await new Promise((r) => setTimeout(r, 0));
    expect(lost).toBe(2);
    expect(said).toEqual(['lost', 'caught up', 'lost', 'caught up']); // one add per tick
    expect(m.stale).toBe(true);
    expect(m.catchingUp).toBe(false);
    expect(m.dump().owned.map((r) => r.destination)).toEqual(['10.0.0.3/32']);
    m.replace(await k.dump());
    expect(m.stale).toBe(false);
    expect(sorted(m.dump())).toEqual(sorted(await k.dump()));
  });
});
