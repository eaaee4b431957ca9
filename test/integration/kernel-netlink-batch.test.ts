// applyAll(): the pipelined batch of adds and deletes a repair uses. It must
// give every change exactly the outcome add()/delete() one by one would, in
// the same order, and leave the same table behind.

import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNetns, describeIfRoot, type Netns } from '../helpers/netns.ts';

const SRC_NETLINK = new URL('../../src/kernel/netlink.ts', import.meta.url).pathname;
const SRC_TYPES = new URL('../../src/core/types.ts', import.meta.url).pathname;

/** Runs the changes one way (`each` or `batch`) from the same starting table; prints outcomes and the table after. */
const snippet = (mode: 'each' | 'batch', extra: number): string => `
  import { createNetlinkKernelTable } from ${JSON.stringify(SRC_NETLINK)};
  import { tableId, routeProtocol } from ${JSON.stringify(SRC_TYPES)};
  const k = createNetlinkKernelTable({ table: tableId(198), protocol: routeProtocol(248) });
  const r = (destination, over = {}) => ({ family: destination.includes(':') ? 'ipv6' : 'ipv4', destination, table: tableId(198), protocol: routeProtocol(248), type: 1, device: 'lo', ...over });
  const changes = [
    { op: 'add', route: r('10.9.0.1/32') },
    { op: 'add', route: r('10.9.0.1/32') },                    // EEXIST: the one just added
    { op: 'delete', route: r('10.9.0.2/32') },                 // ESRCH: never there
    { op: 'delete', route: r('10.9.0.3/32') },                 // present: deleted
    { op: 'add', route: r('10.9.0.4/32', { device: 'nope0' }) }, // ENODEV
    { op: 'delete', route: r('10.9.0.4/32', { device: 'nope0' }) }, // ESRCH
    { op: 'add', route: r('10.9.0.5/24') },                    // EINVAL: host bits
    { op: 'add', route: r('fd00:9::1/128') },
    { op: 'add', route: r('10.9.0.6/32', { protocol: 0 }) },   // refused before the kernel
    ...Array.from({ length: ${extra} }, (_, i) => ({ op: 'add', route: r('10.10.' + (i >> 8) + '.' + (i & 255) + '/32') })),
  ];
  const outcome = (e) => (e ? e.name + ' ' + e.code + ' ' + e.message : 'ok');
  let outcomes;
  if (${JSON.stringify(mode)} === 'batch') outcomes = (await k.applyAll(changes)).map(outcome);
  else {
    outcomes = [];
    for (const c of changes) {
      try { await (c.op === 'add' ? k.add(c.route) : k.delete(c.route)); outcomes.push('ok'); }
      catch (e) { outcomes.push(outcome(e)); }
    }
  }
  const dump = await k.dump();
  await k.close();
  console.log(JSON.stringify({ outcomes, table: dump.owned.map((x) => x.destination).sort() }));
`;

describeIfRoot('netlink applyAll() in a network namespace', () => {
  let ns: Netns;
  beforeAll(async () => {
    ns = await createNetns();
  });
  afterAll(async () => {
    await ns?.destroy();
  });

  async function run(mode: 'each' | 'batch', extra: number): Promise<{ outcomes: string[]; table: string[] }> {
    await ns.exec(['ip', 'route', 'flush', 'table', '198']);
    await ns.exec(['ip', '-6', 'route', 'flush', 'table', '198']);
    await ns.ip('route add 10.9.0.3/32 dev lo table 198 proto 248 scope global');
    const r = await ns.exec([process.execPath, '--input-type=module-typescript', '-e', snippet(mode, extra)], { timeoutMs: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0); // and the sockets did not keep the process alive
    return JSON.parse(r.stdout) as { outcomes: string[]; table: string[] };
  }

  it('gives each change the outcome add()/delete() one by one give, in order, and the same table', async () => {
    const each = await run('each', 0);
    const batch = await run('batch', 0);
    expect(batch).toEqual(each);
    expect(batch.outcomes.map((o) => o.split(' ').slice(0, 2).join(' '))).toEqual([
      'ok',
      'KernelError EEXIST',
      'KernelError ESRCH',
      'ok',
      'KernelError ENODEV',
      'KernelError ESRCH',
      'KernelError EINVAL',
      'ok',
      'KernelError EINVAL',
    ]);
    expect(batch.table).toEqual(['10.9.0.1/32', 'fd00:9::1/128']);
  });

  it('a batch larger than one window (1,000 adds) lands completely', async () => {
    const batch = await run('batch', 1000);
    expect(batch.outcomes.slice(9).every((o) => o === 'ok')).toBe(true);
    expect(batch.table).toHaveLength(1002);
  });
});
