// The in-memory kernel: the shared contract (the same cases run against the
// real kernel in test/integration/kernel-netlink.test.ts), then the hooks that
// only the fake has.

import { describe, expect, it } from 'vitest';
import { KernelError } from '../../src/core/ports.ts';
import { RTN_UNICAST } from '../../src/core/types.ts';
import { createMemoryKernel, createMemoryKernelTable } from '../../src/kernel/memory.ts';
import {
  PROTO,
  PROTO_STATIC,
  TABLE,
  OTHER_TABLE,
  kernelErrorOf,
  runKernelContract,
  spec,
  type ExternalRoute,
  type KernelHarness,
} from '../helpers/kernel-contract.ts';

const memoryHarness: KernelHarness = {
  async setup() {
    const kernel = createMemoryKernel();
    return {
      async open(table, protocol) {
        return kernel.open(table, protocol);
      },
      async externalAdd(routes: readonly ExternalRoute[]) {
        for (const r of routes) {
          const family = r.destination.includes(':') ? 'ipv6' : 'ipv4';
          // What `ip route add` leaves in the kernel: IPv6 gets metric 1024
          // and always reports scope universe; IPv6 accepts a realm but never
          // shows it.
          kernel.inject({
            family,
            destination: r.destination,
            table: r.table,
            protocol: r.protocol,
            type: RTN_UNICAST,
            scope: family === 'ipv4' && r.scope === 'link' ? 253 : 0,
            device: r.device,
            ifindex: 0,
            ...(family === 'ipv6' ? { metric: r.metric ?? 1024 } : r.metric !== undefined && { metric: r.metric }),
            ...(family === 'ipv4' && r.realm !== undefined && { realm: r.realm }),
          });
        }
      },
      async addInterface(name, cidrs) {
        kernel.addInterface({ name, addresses: cidrs });
      },
      async setInterfaceUp(name, up) {
        kernel.setInterfaceUp(name, up);
      },
      async teardown() {},
    };
  },
};

describe('memory kernel table honours the kernel contract', () => {
  runKernelContract(memoryHarness);
});

describe('memory kernel table test hooks', () => {
  const fresh = () => createMemoryKernelTable({ table: TABLE, protocol: PROTO });

  it('failNext makes exactly the next call of that kind fail and changes nothing', async () => {
    const k = fresh();
    k.failNext('add', 'EPERM');
    const err = await kernelErrorOf(k.add(spec('10.0.0.5/32')));
    expect([err.code, err.message]).toEqual(['EPERM', 'adding route 10.0.0.5/32 dev lo table 198: EPERM (Operation not permitted): injected by failNext']);
    expect((await k.dump()).owned).toEqual([]);
    await k.add(spec('10.0.0.5/32'));
    expect((await k.dump()).owned).toHaveLength(1);
  });

  it('failNext queues failures per operation, so a dump failure does not hit an add', async () => {
    const k = fresh();
    k.failNext('dump', 'EIO');
    k.failNext('dump', 'EPERM');
    await k.add(spec('10.0.0.5/32'));
    expect((await kernelErrorOf(k.dump())).code).toBe('EIO');
    expect((await kernelErrorOf(k.dump())).code).toBe('EPERM');
    expect((await k.dump()).owned).toHaveLength(1);
  });

  it('history records every call with its outcome, in order', async () => {
    const k = fresh();
    await k.add(spec('10.0.0.5/32'));
    await kernelErrorOf(k.add(spec('10.0.0.5/32')));
    await k.dump();
    await k.delete(spec('10.0.0.5/32'));
    expect(k.history()).toEqual([
      { op: 'add', table: TABLE, route: spec('10.0.0.5/32') },
      { op: 'add', table: TABLE, route: spec('10.0.0.5/32'), error: 'EEXIST' },
      { op: 'dump', table: TABLE },
      { op: 'delete', table: TABLE, route: spec('10.0.0.5/32') },
    ]);
  });

  it('inject plays another writer and replaces a route with the same identity, like ip route replace', async () => {
    const k = fresh();
    const base = { family: 'ipv4', destination: '10.0.0.5/32', table: TABLE, protocol: PROTO, type: RTN_UNICAST, scope: 0, device: 'lo', ifindex: 0 } as const;
    k.inject({ ...base, realm: 1 });
    k.inject({ ...base, realm: 2 });
    expect((await k.dump()).owned).toEqual([{ ...base, ifindex: 1, realm: 2 }]);
  });

  it('remove takes a destination out of a table whatever its protocol or device', async () => {
    const k = fresh();
    await k.add(spec('10.0.0.5/32'));
    k.inject({ family: 'ipv6', destination: 'fd00:1::5/64', table: TABLE, protocol: PROTO_STATIC, type: RTN_UNICAST, scope: 0, device: 'lo', ifindex: 1 });
    expect(k.remove({ destination: '10.0.0.5/32' })).toBe(1);
    expect(k.remove({ destination: 'fd00:1::7/64', table: TABLE })).toBe(1);
    expect(k.remove({ destination: '10.0.0.5/32', table: OTHER_TABLE })).toBe(0);
    expect(await k.dump()).toEqual({ owned: [], foreign: [] });
  });

  it('removing an interface flushes its routes from every table', async () => {
    const kernel = createMemoryKernel();
    kernel.addInterface({ name: 'eth0', addresses: ['192.168.1.10/24'] });
    const a = kernel.open(TABLE, PROTO);
    const b = kernel.open(OTHER_TABLE, PROTO);
    await a.add(spec('10.0.0.5/32', { device: 'eth0' }));
    await b.add(spec('10.0.0.6/32', { device: 'eth0', table: OTHER_TABLE }));
    kernel.removeInterface('eth0');
    expect(kernel.routes()).toEqual([]);
    expect((await a.interfaces()).map((i) => i.name)).toEqual(['lo']);
  });

  it('subscribers are told after the call returns, once per burst, and only about their own table or links', async () => {
    const kernel = createMemoryKernel();
    const ours = kernel.open(TABLE, PROTO);
    let calls = 0;
    ours.subscribe(() => calls++);
    await ours.add(spec('10.0.0.5/32'));
    await ours.add(spec('10.0.0.6/32'));
    expect(calls).toBe(2);
    const pending = ours.add(spec('10.0.0.7/32'));
    expect(calls).toBe(2); // not synchronously inside add()
    await pending;
    await kernel.open(OTHER_TABLE, PROTO).add(spec('10.0.0.8/32', { table: OTHER_TABLE }));
    expect(calls).toBe(3);
    kernel.addInterface({ name: 'eth1' });
    kernel.setInterfaceUp('eth1', false);
    await Promise.resolve();
    expect(calls).toBe(4);
  });

  it('unsubscribe and close stop notifications', async () => {
    const kernel = createMemoryKernel();
    const k = kernel.open(TABLE, PROTO);
    let calls = 0;
    const unsubscribe = k.subscribe(() => calls++);
    unsubscribe();
    k.subscribe(() => calls++);
    await k.close();
    kernel.inject({ family: 'ipv4', destination: '10.0.0.5/32', table: TABLE, protocol: PROTO, type: RTN_UNICAST, scope: 0, device: 'lo', ifindex: 1 });
    await Promise.resolve();
    expect(calls).toBe(0);
  });

  it('rejects specs the kernel could never see: table 0, protocol 0, a bad CIDR, a family mismatch', async () => {
    const k = fresh();
    const cases = [
      [spec('10.0.0.5/32', { table: 0 as typeof TABLE }), 'table 0 is not 1..4294967295'],
      [spec('10.0.0.5/32', { protocol: 0 as typeof PROTO }), 'protocol 0 is not 1..255'],
      [spec('10.0.0.5'), 'destination "10.0.0.5" is not a CIDR'],
      [spec('10.0.0.5/32', { family: 'ipv6' }), 'destination 10.0.0.5/32 is not ipv6'],
    ] as const;
    for (const [bad, why] of cases) {
      const err = await kernelErrorOf(k.add(bad));
      expect(err).toBeInstanceOf(KernelError);
      expect([err.code, err.message.endsWith(why)]).toEqual(['EINVAL', true]);
    }
  });
});
