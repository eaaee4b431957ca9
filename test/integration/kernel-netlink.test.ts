// The real netlink adapter against a real kernel, each case in its own
// throw-away network namespace: the shared contract first (the same cases the
// in-memory table passes), then what only the real adapter has to prove:
// permissions, process lifetime, kernel notifications without routes.

import { PATIENCE_MS } from '../helpers/patience.ts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { KernelTable } from '../../src/core/ports.ts';
import { PROTO, TABLE, runKernelContract, spec, waitFor, type ExternalRoute, type KernelHarness } from '../helpers/kernel-contract.ts';
import { createRemoteKernelTable } from '../helpers/kernel-remote.ts';
import { createNetns, describeIfRoot, type Netns } from '../helpers/netns.ts';

const SRC_NETLINK = new URL('../../src/kernel/netlink.ts', import.meta.url).pathname;
const SRC_TYPES = new URL('../../src/core/types.ts', import.meta.url).pathname;

const ipRoute = (r: ExternalRoute): string =>
  [
    `route add ${r.destination} dev ${r.device} table ${r.table} proto ${r.protocol} scope ${r.scope ?? 'global'}`,
    r.realm !== undefined ? `realm ${r.realm}` : '',
    r.metric !== undefined ? `metric ${r.metric}` : '',
  ].join(' ');

const netnsHarness: KernelHarness = {
  async setup() {
    const ns = await createNetns();
    const tables: KernelTable[] = [];
    return {
      async open(table, protocol) {
        const t = await createRemoteKernelTable({ netns: ns, table, protocol });
        tables.push(t);
        return t;
      },
      externalAdd: (routes) => ns.ipBatch(routes.map(ipRoute)),
      addInterface: (name, cidrs) => ns.addDummy(name, cidrs),
      async setInterfaceUp(name, up) {
        await ns.ip(`link set ${name} ${up ? 'up' : 'down'}`);
      },
      async teardown() {
        await Promise.all(tables.map((t) => t.close()));
        await ns.destroy();
      },
    };
  },
};

describeIfRoot('netlink kernel table honours the kernel contract in a network namespace', () => {
  runKernelContract(netnsHarness);
});

/** A TypeScript module for `node -e` with `k`, a netlink table for (198, 248), in scope. */
const withTable = (body: string): string => `
  import { createNetlinkKernelTable } from ${JSON.stringify(SRC_NETLINK)};
  import { tableId, routeProtocol } from ${JSON.stringify(SRC_TYPES)};
  const k = createNetlinkKernelTable({ table: tableId(198), protocol: routeProtocol(248) });
  ${body}`;

/** Run a TypeScript snippet with Node inside `ns`, optionally as an unprivileged user. */
async function runSnippet(ns: Netns, code: string, unprivileged: boolean): Promise<{ stdout: string; stderr: string; code: number }> {
  const user = unprivileged ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
  return ns.exec([...user, process.execPath, '--input-type=module-typescript', '-e', code], { timeoutMs: PATIENCE_MS });
}

describeIfRoot('netlink kernel table beyond the contract', () => {
  let ns: Netns;
  beforeAll(async () => {
    ns = await createNetns();
    await ns.ip(`route add 10.3.0.1/32 dev lo table ${TABLE} proto ${PROTO} scope global`);
  });
  afterAll(async () => {
    await ns?.destroy();
  });

  it('an unprivileged process can dump but its add and delete fail cleanly with EPERM', async () => {
    const code = withTable(`
      const spec = { family: 'ipv4', destination: '10.3.0.2/32', table: tableId(198), protocol: routeProtocol(248), type: 1, device: 'lo' };
      const outcome = (p) => p.then(() => 'ok', (e) => e.name + ' ' + e.code + ' ' + e.message);
      const dump = await k.dump();
      console.log(JSON.stringify({
        dumped: dump.owned.map((r) => r.destination),
        add: await outcome(k.add(spec)),
        delete: await outcome(k.delete({ ...spec, destination: '10.3.0.1/32' })),
      }));
      await k.close();
    `);
    const r = await runSnippet(ns, code, true);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      dumped: ['10.3.0.1/32'],
      add: 'KernelError EPERM adding route 10.3.0.2/32 dev lo table 198: EPERM (Operation not permitted)',
      delete: 'KernelError EPERM deleting route 10.3.0.1/32 dev lo table 198: EPERM (Operation not permitted)',
    });
  });

  it('an open, subscribed and then closed table does not keep the process alive', async () => {
    const code = withTable(`
      const unsubscribe = k.subscribe(() => {});
      await k.dump();
      await k.interfaces();
      unsubscribe();
      k.subscribe(() => {});
      await k.close();
      console.log('closed');
    `);
    const r = await runSnippet(ns, code, false);
    // exec() has a 20 s timeout: a socket keeping the loop alive shows up as code -1.
    expect([r.code, r.stdout.trim(), r.stderr]).toEqual([0, 'closed', '']);
  });

  it('an idle table that was never closed does not keep the process alive either', async () => {
    const code = withTable(`
      k.subscribe(() => {});
      await k.dump();
      console.log('done');
    `);
    const r = await runSnippet(ns, code, false);
    expect([r.code, r.stdout.trim()]).toEqual([0, 'done']);
  });

  it('a notification for a route in another table does not wake the subscriber, one in ours does', async () => {
    const k = await createRemoteKernelTable({ netns: ns, table: TABLE, protocol: PROTO });
    try {
      let calls = 0;
      k.subscribe(() => calls++);
      await k.dump();
      // Other table first, then ours: if the first had woken us, calls would
      // already be non-zero when ours is added; the second must wake us.
      await ns.ip('route add 10.3.0.9/32 dev lo table 250 proto 248');
      await k.dump(); // the kernel has delivered the first notification by now
      const afterForeignTable = calls;
      await ns.ip(`route add 10.3.0.10/32 dev lo table ${TABLE} proto ${PROTO}`);
      await waitFor(() => calls > afterForeignTable, 'notification for our table');
      expect(afterForeignTable).toBe(0);
    } finally {
      await k.close();
    }
  });

  it('adds and deletes with exactly kube-vip attributes, so `ip` shows what kube-vip would have made', async () => {
    const k = await createRemoteKernelTable({ netns: ns, table: TABLE, protocol: PROTO });
    try {
      await k.add(spec('10.3.0.20/32'));
      await k.add(spec('fd00::3:20/128'));
      const v4 = JSON.parse(await ns.ip(`-j -d route show table ${TABLE} 10.3.0.20/32`)) as Record<string, unknown>[];
      const v6 = JSON.parse(await ns.ip(`-j -d -6 route show table ${TABLE} fd00::3:20/128`)) as Record<string, unknown>[];
      expect(v4).toEqual([{ type: 'unicast', dst: '10.3.0.20', dev: 'lo', protocol: '248', scope: 'global', flags: [] }]);
      expect(v6).toEqual([{ type: 'unicast', dst: 'fd00::3:20', dev: 'lo', protocol: '248', scope: 'global', metric: 1024, flags: [], pref: 'medium' }]);
      await k.delete(spec('10.3.0.20/32'));
      await k.delete(spec('fd00::3:20/128'));
    } finally {
      await k.close();
    }
  });
});
