// The KernelTable contract: what the kernel really does with kube-vip's routes
// (docs/kube-vip-routing.md §2, E20-E23), written once and run against both
// the in-memory table (test/unit/kernel-memory.test.ts) and the real netlink
// adapter in a network namespace (test/integration/kernel-netlink.test.ts).
// When the kernel and the fake disagree, the kernel is right: fix the fake.

import { PATIENCE_MS } from './patience.ts';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { KernelMirror } from '../../src/core/kernel-mirror.ts';
import { KernelError, type KernelErrorCode, type KernelTable } from '../../src/core/ports.ts';
import {
  RTN_LOCAL,
  RTN_UNICAST,
  routeProtocol,
  routeType,
  tableId,
  type Family,
  type KernelDump,
  type KernelRoute,
  type RouteProtocol,
  type RouteSpec,
  type TableId,
} from '../../src/core/types.ts';
import { kroute } from './fixtures.ts';

export const TABLE = tableId(198);
export const BIG_TABLE = tableId(1000);
export const OTHER_TABLE = tableId(199);
export const MAIN_TABLE = tableId(254);
export const PROTO = routeProtocol(248);
export const PROTO_STATIC = routeProtocol(4);

/** A route written by someone else (kube-vip, an operator, a routing daemon), as `ip route add` would. */
export interface ExternalRoute {
  readonly destination: string;
  readonly table: TableId;
  readonly protocol: RouteProtocol;
  readonly device: string;
  /** Default `global` (kube-vip's RT_SCOPE_UNIVERSE); `ip route add dev X` alone gives `link` for IPv4. */
  readonly scope?: 'global' | 'link';
  readonly realm?: number;
  readonly metric?: number;
}

/** One isolated environment: `lo` up (ifindex 1), no other interfaces, no routes in the test tables. */
export interface KernelEnv {
  open(table: TableId, protocol: RouteProtocol): Promise<KernelTable>;
  externalAdd(routes: readonly ExternalRoute[]): Promise<void>;
  /** An up interface with carrier and these addresses. */
  addInterface(name: string, cidrs: readonly string[]): Promise<void>;
  setInterfaceUp(name: string, up: boolean): Promise<void>;
  teardown(): Promise<void>;
}

export interface KernelHarness {
  setup(): Promise<KernelEnv>;
}

export const familyOf = (destination: string): Family => (destination.includes(':') ? 'ipv6' : 'ipv4');

export function spec(destination: string, overrides: Partial<RouteSpec> = {}): RouteSpec {
  return { family: familyOf(destination), destination, table: TABLE, protocol: PROTO, type: RTN_UNICAST, device: 'lo', ...overrides };
}

/** Polls `condition`; gives up after PATIENCE_MS (a bound on hangs, not a speed test). */
export async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const start = performance.now();
  for (;;) {
    if (condition()) return;
    if (performance.now() - start > PATIENCE_MS) throw new Error(`${what}: not within ${PATIENCE_MS} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The KernelError a promise rejects with; fails the test if it resolves or throws something else. */
export async function kernelErrorOf(promise: Promise<unknown>): Promise<KernelError> {
  const err = await promise.then(
    () => {
      throw new Error('expected a KernelError, but the call succeeded');
    },
    (e: unknown) => e,
  );
  if (!(err instanceof KernelError)) throw new Error(`expected a KernelError, got ${String(err)}`);
  return err;
}

async function expectCode(promise: Promise<unknown>, code: KernelErrorCode, message?: string): Promise<KernelError> {
  const err = await kernelErrorOf(promise);
  expect({ code: err.code, message: message === undefined ? undefined : err.message }).toEqual({ code, message });
  return err;
}

const destinations = (routes: readonly KernelRoute[]): string[] => routes.map((r) => r.destination).sort();

/** Dump order is the kernel's business (IPv4 before IPv6, trie order): compare sorted. */
const sorted = (routes: readonly KernelRoute[]): KernelRoute[] => [...routes].sort((a, b) => (a.family + a.destination < b.family + b.destination ? -1 : 1));
const normalised = (dump: KernelDump): KernelDump => ({ owned: sorted(dump.owned), foreign: sorted(dump.foreign) });

/** What kube-vip's own route on lo looks like in the kernel (docs/kube-vip-routing.md §2.1); IPv6 gets metric 1024. */
const kubeVipV4 = (destination: string, overrides: Partial<KernelRoute> = {}): KernelRoute => kroute(destination, overrides);
const kubeVipV6 = (destination: string, overrides: Partial<KernelRoute> = {}): KernelRoute => kroute(destination, { metric: 1024, ...overrides });

export interface ContractCase {
  readonly name: string;
  readonly run: (env: KernelEnv) => Promise<void>;
}

export const kernelContractCases: readonly ContractCase[] = [
  {
    name: 'an IPv4 /32 added with kube-vip attributes is dumped as owned, exactly as the kernel stores it, and deleted again',
    async run(env) {
      const k = await env.open(TABLE, PROTO);
      await k.add(spec('10.0.0.5/32'));
      expect(await k.dump()).toEqual({ owned: [kubeVipV4('10.0.0.5/32')], foreign: [] });
      await k.delete(spec('10.0.0.5/32'));
      expect(await k.dump()).toEqual({ owned: [], foreign: [] });
    },
  },
  {
    name: 'an IPv6 /128 is dumped with the kernel metric 1024 and deleted without naming the metric',
    async run(env) {
      const k = await env.open(TABLE, PROTO);
      await k.add(spec('fd00::5/128'));
      expect(await k.dump()).toEqual({ owned: [kubeVipV6('fd00::5/128')], foreign: [] });
      await k.delete(spec('fd00::5/128'));
      expect((await k.dump()).owned).toEqual([]);
    },
  },
  {
    name: 'a table above 255 works for add, dump and delete, and is invisible from table 198',
    async run(env) {
      const big = await env.open(BIG_TABLE, PROTO);
      const small = await env.open(TABLE, PROTO);
      await big.add(spec('10.0.0.7/32', { table: BIG_TABLE }));
      await big.add(spec('fd00::7/128', { table: BIG_TABLE }));
      expect(normalised(await big.dump())).toEqual({
        owned: [kubeVipV4('10.0.0.7/32', { table: BIG_TABLE }), kubeVipV6('fd00::7/128', { table: BIG_TABLE })],
        foreign: [],
      });
      expect(await small.dump()).toEqual({ owned: [], foreign: [] });
      await big.delete(spec('10.0.0.7/32', { table: BIG_TABLE }));
      await big.delete(spec('fd00::7/128', { table: BIG_TABLE }));
      expect((await big.dump()).owned).toEqual([]);
    },
  },
  {
    name: 'routes of another protocol in the table are foreign and routes in other tables are ignored',
    async run(env) {
      await env.externalAdd([
        { destination: '10.1.0.1/32', table: TABLE, protocol: PROTO_STATIC, device: 'lo' },
        { destination: '10.1.0.2/32', table: OTHER_TABLE, protocol: PROTO, device: 'lo' },
        { destination: 'fd00::1:2/128', table: MAIN_TABLE, protocol: PROTO, device: 'lo' },
        { destination: '10.1.0.3/32', table: TABLE, protocol: PROTO, device: 'lo' },
        { destination: 'fd00::1:4/128', table: TABLE, protocol: PROTO_STATIC, device: 'lo' },
      ]);
      const k = await env.open(TABLE, PROTO);
      expect(normalised(await k.dump())).toEqual({
        owned: [kubeVipV4('10.1.0.3/32')],
        foreign: [kubeVipV4('10.1.0.1/32', { protocol: PROTO_STATIC }), kubeVipV6('fd00::1:4/128', { protocol: PROTO_STATIC })],
      });
    },
  },
  {
    name: 'adding a destination the table already holds on another device fails with EEXIST',
    async run(env) {
      await env.addInterface('rw-a', ['192.168.50.1/24']);
      const k = await env.open(TABLE, PROTO);
      await k.add(spec('10.0.0.5/32', { device: 'rw-a' }));
      await expectCode(k.add(spec('10.0.0.5/32')), 'EEXIST', 'adding route 10.0.0.5/32 dev lo table 198: EEXIST (File exists)');
      await k.add(spec('fd00::5/128', { device: 'rw-a' }));
      await expectCode(k.add(spec('fd00::5/128')), 'EEXIST', 'adding route fd00::5/128 dev lo table 198: EEXIST (File exists)');
      expect((await k.dump()).owned.map((r) => r.device)).toEqual(['rw-a', 'rw-a']);
    },
  },
  {
    name: 'adding a destination another protocol holds fails with EEXIST and leaves the foreign route alone (E21)',
    async run(env) {
      await env.externalAdd([{ destination: '10.0.0.6/32', table: TABLE, protocol: PROTO_STATIC, device: 'lo' }]);
      const k = await env.open(TABLE, PROTO);
      await expectCode(k.add(spec('10.0.0.6/32')), 'EEXIST');
      expect(await k.dump()).toEqual({ owned: [], foreign: [kubeVipV4('10.0.0.6/32', { protocol: PROTO_STATIC })] });
    },
  },
  {
    name: 'deleting a route that is not there fails with ESRCH in both families',
    async run(env) {
      const k = await env.open(TABLE, PROTO);
      await expectCode(k.delete(spec('10.0.0.99/32')), 'ESRCH', 'deleting route 10.0.0.99/32 dev lo table 198: ESRCH (No such process)');
      await expectCode(k.delete(spec('fd00::99/128')), 'ESRCH', 'deleting route fd00::99/128 dev lo table 198: ESRCH (No such process)');
    },
  },
  {
    name: 'deleting on the wrong device or over a foreign protocol route fails with ESRCH and removes nothing',
    async run(env) {
      await env.addInterface('rw-a', []);
      await env.externalAdd([
        { destination: '10.0.0.6/32', table: TABLE, protocol: PROTO_STATIC, device: 'lo' },
        { destination: 'fd00::6/128', table: TABLE, protocol: PROTO_STATIC, device: 'lo' },
      ]);
      const k = await env.open(TABLE, PROTO);
      await k.add(spec('10.0.0.5/32'));
      await k.add(spec('fd00::5/128'));
      for (const dst of ['10.0.0.5/32', 'fd00::5/128']) await expectCode(k.delete(spec(dst, { device: 'rw-a' })), 'ESRCH');
      for (const dst of ['10.0.0.6/32', 'fd00::6/128']) await expectCode(k.delete(spec(dst)), 'ESRCH');
      const dump = await k.dump();
      expect([destinations(dump.owned), destinations(dump.foreign)]).toEqual([
        ['10.0.0.5/32', 'fd00::5/128'],
        ['10.0.0.6/32', 'fd00::6/128'],
      ]);
    },
  },
  {
    name: 'an IPv4 route that differs only in scope is not deleted, because the kernel matches IPv4 deletes exactly (spec 2.5)',
    async run(env) {
      await env.externalAdd([{ destination: '10.0.0.8/32', table: TABLE, protocol: PROTO, device: 'lo', scope: 'link' }]);
      const k = await env.open(TABLE, PROTO);
      expect((await k.dump()).owned).toEqual([kubeVipV4('10.0.0.8/32', { scope: 253 })]);
      await expectCode(k.delete(spec('10.0.0.8/32')), 'ESRCH');
      expect((await k.dump()).owned).toHaveLength(1);
    },
  },
  {
    name: 'an IPv6 route is deleted whatever its type, because the kernel ignores type and scope for IPv6 deletes',
    async run(env) {
      const k = await env.open(TABLE, PROTO);
      await k.add(spec('fd00::8/128', { type: RTN_LOCAL }));
      expect((await k.dump()).owned).toEqual([kubeVipV6('fd00::8/128', { type: RTN_LOCAL })]);
      await k.delete(spec('fd00::8/128', { type: RTN_UNICAST }));
      expect((await k.dump()).owned).toEqual([]);
    },
  },
  {
    name: 'adding on a device that does not exist fails with ENODEV and deleting on it fails with ESRCH',
    async run(env) {
      const k = await env.open(TABLE, PROTO);
      await expectCode(
        k.add(spec('10.0.0.5/32', { device: 'rw-nosuch' })),
        'ENODEV',
        'adding route 10.0.0.5/32 dev rw-nosuch table 198: ENODEV (No such device): no interface named "rw-nosuch"',
      );
      await expectCode(
        k.delete(spec('10.0.0.5/32', { device: 'rw-nosuch' })),
        'ESRCH',
        'deleting route 10.0.0.5/32 dev rw-nosuch table 198: ESRCH (No such process): no interface named "rw-nosuch"',
      );
    },
  },
  {
    name: 'adding on an administratively down device fails in the ENODEV class with the kernel ENETDOWN',
    async run(env) {
      await env.addInterface('rw-b', []);
      await env.setInterfaceUp('rw-b', false);
      const k = await env.open(TABLE, PROTO);
      for (const dst of ['10.0.0.5/32', 'fd00::5/128']) {
        await expectCode(k.add(spec(dst, { device: 'rw-b' })), 'ENODEV', `adding route ${dst} dev rw-b table 198: ENETDOWN (Network is down)`);
      }
    },
  },
  {
    name: 'an IPv6 prefix is stored masked and deleted by its unmasked form',
    async run(env) {
      const k = await env.open(TABLE, PROTO);
      await k.add(spec('fd00:1::5/64'));
      expect((await k.dump()).owned).toEqual([kubeVipV6('fd00:1::/64')]);
      await expectCode(k.add(spec('fd00:1::7/64')), 'EEXIST');
      await k.delete(spec('fd00:1::5/64'));
      expect((await k.dump()).owned).toEqual([]);
    },
  },
  {
    name: 'an IPv4 prefix with host bits set is refused with EINVAL while the network address is accepted',
    async run(env) {
      const k = await env.open(TABLE, PROTO);
      const err = await expectCode(k.add(spec('10.0.1.5/24')), 'EINVAL');
      expect(err.message).toMatch(/^adding route 10\.0\.1\.5\/24 dev lo table 198: EINVAL \(Invalid argument\): host bits set/);
      await k.add(spec('10.0.1.0/24'));
      expect((await k.dump()).owned).toEqual([kubeVipV4('10.0.1.0/24')]);
      await expectCode(k.delete(spec('10.0.1.5/24')), 'EINVAL');
    },
  },
  {
    name: 'an IPv4 local route is refused because of the link scope kube-vip sends, while an IPv6 one is stored as local',
    async run(env) {
      const k = await env.open(TABLE, PROTO);
      const err = await expectCode(k.add(spec('10.0.0.9/32', { type: RTN_LOCAL })), 'EINVAL');
      expect(err.message).toContain('IPv4 local routes with scope link are refused');
      await k.add(spec('fd00::9/128', { type: RTN_LOCAL }));
      expect((await k.dump()).owned).toEqual([kubeVipV6('fd00::9/128', { type: RTN_LOCAL })]);
    },
  },
  {
    name: 'IPv4 takes route types unicast and multicast only: every other type kube-vip can be set to is refused with EINVAL, and the reason says why',
    async run(env) {
      await env.addInterface('rw-a', []);
      const k = await env.open(TABLE, PROTO);
      await k.add(spec('10.0.0.5/32', { type: routeType(5), device: 'rw-a' }));
      const why: string[] = [];
      for (const t of [3, 4, 6, 7, 8, 9, 10, 11, 12]) {
        const err = await expectCode(k.add(spec(`10.0.1.${t}/32`, { type: routeType(t), device: 'rw-a' })), 'EINVAL');
        why.push(`${t} ${err.message.slice(err.message.indexOf('(kernel'))}`);
      }
      expect(why).toEqual([
        '3 (kernel: "Invalid scope")',
        '4 (kernel: "Invalid scope")',
        '6 (kernel: "Gateway, device and multipath can not be specified for this route type")',
        '7 (kernel: "Gateway, device and multipath can not be specified for this route type")',
        '8 (kernel: "Gateway, device and multipath can not be specified for this route type")',
        '9 (kernel: "Gateway, device and multipath can not be specified for this route type")',
        '10 (kernel: "Invalid scope")',
        '11 (kernel: "Invalid scope")',
        '12 (kernel: "Invalid route type")',
      ]);
      expect((await k.dump()).owned.map((r) => `${r.destination} ${r.type} ${r.scope} ${r.device}`)).toEqual(['10.0.0.5/32 5 0 rw-a']);
    },
  },
  {
    name: 'IPv6 takes every route type up to RTN_MAX; blackhole, unreachable, prohibit and throw are stored on lo whatever the device, so a delete naming that device finds nothing',
    async run(env) {
      await env.addInterface('rw-a', []);
      const k = await env.open(TABLE, PROTO);
      for (const t of [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]) await k.add(spec(`fd00::${t.toString(16)}/128`, { type: routeType(t), device: 'rw-a' }));
      await expectCode(k.add(spec('fd00::c/128', { type: routeType(12), device: 'rw-a' })), 'EINVAL');
      const stored = (await k.dump()).owned.map((r) => `${r.destination} ${r.type} ${r.device}`).sort();
      expect(stored).toEqual([
        'fd00::2/128 2 rw-a',
        'fd00::3/128 3 rw-a',
        'fd00::4/128 4 rw-a',
        'fd00::5/128 5 rw-a',
        'fd00::6/128 6 lo',
        'fd00::7/128 7 lo',
        'fd00::8/128 8 lo',
        'fd00::9/128 9 lo',
        'fd00::a/128 10 rw-a',
        'fd00::b/128 11 rw-a',
      ]);
      // kube-vip's DeleteRoute names its own device: ESRCH, the route stays.
      await expectCode(k.delete(spec('fd00::6/128', { type: routeType(6), device: 'rw-a' })), 'ESRCH');
      await k.delete(spec('fd00::6/128', { type: routeType(6), device: 'lo' }));
      // Adding it again naming lo stores the same route as naming rw-a did.
      await k.add(spec('fd00::6/128', { type: routeType(6), device: 'lo' }));
      expect((await k.dump()).owned.find((r) => r.destination === 'fd00::6/128')).toEqual(
        kubeVipV6('fd00::6/128', { type: routeType(6), device: 'lo', ifindex: 1 }),
      );
    },
  },
  {
    name: 'a realm on an IPv4 route is reported and does not stop the delete (E23)',
    async run(env) {
      await env.externalAdd([{ destination: '10.0.0.10/32', table: TABLE, protocol: PROTO, device: 'lo', realm: 2 }]);
      const k = await env.open(TABLE, PROTO);
      expect((await k.dump()).owned).toEqual([kubeVipV4('10.0.0.10/32', { realm: 2 })]);
      await k.delete(spec('10.0.0.10/32'));
      expect((await k.dump()).owned).toEqual([]);
    },
  },
  {
    name: 'taking an interface down flushes its routes in both families and bringing it back does not restore them (E20)',
    async run(env) {
      await env.addInterface('rw-c', ['192.168.70.1/24']);
      const k = await env.open(TABLE, PROTO);
      await k.add(spec('10.0.0.11/32', { device: 'rw-c' }));
      await k.add(spec('fd00::11/128', { device: 'rw-c' }));
      await k.add(spec('10.0.0.12/32'));
      await env.setInterfaceUp('rw-c', false);
      expect(destinations((await k.dump()).owned)).toEqual(['10.0.0.12/32']);
      await env.setInterfaceUp('rw-c', true);
      expect(destinations((await k.dump()).owned)).toEqual(['10.0.0.12/32']);
    },
  },
  {
    name: 'a thousand routes in both families come back complete from one dump',
    async run(env) {
      const routes: ExternalRoute[] = [];
      for (let i = 0; i < 500; i++) {
        routes.push({ destination: `10.2.${i >> 8}.${i & 255}/32`, table: TABLE, protocol: PROTO, device: 'lo' });
        routes.push({ destination: `fd00::2:${i.toString(16)}/128`, table: TABLE, protocol: PROTO, device: 'lo' });
      }
      await env.externalAdd(routes);
      const k = await env.open(TABLE, PROTO);
      const dump = await k.dump();
      expect(destinations(dump.owned)).toEqual(routes.map((r) => r.destination).sort());
      expect(dump.owned.every((r) => r.device === 'lo' && r.protocol === PROTO && r.table === TABLE)).toBe(true);
    },
  },
  {
    name: 'a subscriber hears about an external route added to the table',
    async run(env) {
      const k = await env.open(TABLE, PROTO);
      let calls = 0;
      const unsubscribe = k.subscribe(() => calls++);
      await k.dump(); // a round trip: the subscription is live once this returns
      await env.externalAdd([{ destination: '10.0.0.20/32', table: TABLE, protocol: PROTO, device: 'lo' }]);
      await waitFor(() => calls > 0, 'route notification');
      unsubscribe();
    },
  },
  {
    name: 'a subscriber hears about a foreign protocol route in the table and about an interface going down',
    async run(env) {
      await env.addInterface('rw-d', []);
      const k = await env.open(TABLE, PROTO);
      let calls = 0;
      const unsubscribe = k.subscribe(() => calls++);
      await k.dump();
      await env.externalAdd([{ destination: '10.0.0.21/32', table: TABLE, protocol: PROTO_STATIC, device: 'lo' }]);
      await waitFor(() => calls > 0, 'foreign route notification');
      const before = calls;
      await env.setInterfaceUp('rw-d', false);
      await waitFor(() => calls > before, 'link notification');
      unsubscribe();
    },
  },
  {
    name: "a KernelMirror fed by a subscriber's route deltas equals dump() through owned and foreign adds and deletes of both families",
    async run(env) {
      await env.addInterface('rw-m', []);
      const k = await env.open(TABLE, PROTO);
      const mirror = new KernelMirror(PROTO);
      let lost = 0;
      const unsubscribe = k.subscribe((change) => {
        if (!change) return;
        lost += change.lost;
        mirror.take(change);
      });
      mirror.replace(await k.dump());
      const agrees = async (what: string): Promise<void> => {
        const truth = normalised(await k.dump());
        await waitFor(() => JSON.stringify(normalised(mirror.dump())) === JSON.stringify(truth), what);
      };
      await k.add(spec('10.0.0.30/32'));
      await k.add(spec('fd00::30/128', { device: 'rw-m' }));
      await env.externalAdd([
        { destination: '10.0.0.31/32', table: TABLE, protocol: PROTO_STATIC, device: 'rw-m' },
        { destination: 'fd00::30/128', table: TABLE, protocol: PROTO_STATIC, device: 'lo', metric: 5 },
        { destination: '10.0.0.32/32', table: OTHER_TABLE, protocol: PROTO, device: 'lo' },
      ]);
      await agrees('the mirror after the adds');
      expect(mirror.at('fd00::30/128').foreign).toHaveLength(1);
      expect(mirror.at('10.0.0.32/32')).toEqual({ owned: [], foreign: [] });
      await k.delete(spec('10.0.0.30/32'));
      await k.delete(spec('fd00::30/128', { device: 'rw-m' }));
      await agrees('the mirror after the deletes');
      expect(normalised(mirror.dump()).owned).toEqual([]);
      expect(mirror.stale).toBe(false);
      expect(lost).toBe(0);
      unsubscribe();
    },
  },
  {
    name: 'interfaces lists every link with its admin state and its addresses',
    async run(env) {
      await env.addInterface('rw-e', ['192.168.60.1/24', 'fd00:60::1/64']);
      const k = await env.open(TABLE, PROTO);
      const byName = async (name: string) => (await k.interfaces()).find((i) => i.name === name);
      expect(await byName('lo')).toEqual({ name: 'lo', ifindex: 1, up: true, addresses: ['127.0.0.1/8', '::1/128'] });
      expect(await byName('rw-e')).toMatchObject({ up: true, addresses: expect.arrayContaining(['192.168.60.1/24', 'fd00:60::1/64']) });
      await env.setInterfaceUp('rw-e', false);
      expect(await byName('rw-e')).toMatchObject({ up: false });
    },
  },
  {
    name: 'after close every call fails with EIO',
    async run(env) {
      const k = await env.open(TABLE, PROTO);
      await k.close();
      await expectCode(k.dump(), 'EIO');
      await expectCode(k.add(spec('10.0.0.5/32')), 'EIO');
    },
  },
  {
    name: 'applyAll tries every change and answers each as add/delete would: done, EEXIST, ESRCH, ENODEV, EINVAL',
    async run(env) {
      const k = await env.open(TABLE, PROTO);
      if (!k.applyAll) throw new Error('this kernel table has no applyAll(): repairs would not take the production path');
      await k.add(spec('10.0.0.1/32'));
      const changes = [
        { op: 'add', route: spec('10.0.0.2/32') },
        { op: 'add', route: spec('10.0.0.1/32') },
        { op: 'delete', route: spec('10.0.0.9/32') },
        { op: 'add', route: spec('10.0.0.3/32', { device: 'nosuchdev0' }) },
        { op: 'add', route: spec('10.0.1.5/24') },
        { op: 'add', route: spec('fd00::2/128') },
        { op: 'delete', route: spec('10.0.0.1/32') },
      ] as const;
      const results = await k.applyAll(changes);
      expect(results.map((r) => (r === null ? null : r.code))).toEqual([null, 'EEXIST', 'ESRCH', 'ENODEV', 'EINVAL', null, null]);
      expect(results[1]!.message).toBe('adding route 10.0.0.1/32 dev lo table 198: EEXIST (File exists)');
      // Each error is the one add()/delete() throws for the same change.
      for (const [i, c] of changes.entries()) {
        if (results[i] === null || i === 1) continue;
        const alone = await kernelErrorOf(c.op === 'add' ? k.add(c.route) : k.delete(c.route));
        expect(alone.message).toBe(results[i]!.message);
      }
      expect(normalised(await k.dump())).toEqual({ owned: [kubeVipV4('10.0.0.2/32'), kubeVipV6('fd00::2/128')], foreign: [] });
    },
  },
  {
    name: 'applyAll of nothing is nothing',
    async run(env) {
      const k = await env.open(TABLE, PROTO);
      expect(await k.applyAll!([])).toEqual([]);
      expect(await k.dump()).toEqual({ owned: [], foreign: [] });
    },
  },
];

/** Register every contract case as an `it`, each in a fresh environment from `harness`. */
export function runKernelContract(harness: KernelHarness): void {
  let env: KernelEnv | null = null;
  beforeEach(async () => {
    env = await harness.setup();
  });
  afterEach(async () => {
    await env?.teardown();
    env = null;
  });
  for (const c of kernelContractCases) {
    it(c.name, async () => {
      if (!env) throw new Error('harness setup failed');
      await c.run(env);
    });
  }
}
