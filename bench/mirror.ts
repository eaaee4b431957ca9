// The kernel side of the incremental engine, measured (issue #14): what one
// route notification costs routewarden once the table is mirrored
// (src/core/kernel-mirror.ts), against the full dump every check did before.
// Runs as root in a network namespace of its own (scripts/kernel-netns.ts):
//
//   node bench/mirror.ts [--routes 10000] [--notifications 1000] [--reps 20]
//
// Prints, for a table of --routes owned routes plus 10 % foreign ones:
//   dump+replace   a full dump() and mirror.replace() of it (wall ms, CPU ms, heap allocated)
//   apply one      mirror.apply() of one delta and dump() of the view after it (µs)
//   notifications  the CPU of this process while the kernel announces
//                  --notifications route changes made by `ip -batch` (another
//                  process): socket reads, decoding, device names, apply();
//                  per notification
// No assertion on speed: numbers to compare, with the command that made them.

import { parseArgs } from 'node:util';
import { KernelMirror, type RouteDelta } from '../src/core/kernel-mirror.ts';
import { routeProtocol, tableId, type KernelRoute } from '../src/core/types.ts';
import { createNetlinkKernelTable } from '../src/kernel/netlink.ts';
import { inOwnNetns } from '../scripts/kernel-netns.ts';
import { FOREIGN_PROTO, ipBatch, PROTO, TABLE } from './kernel.ts';
import { median } from './stats.ts';

const { values } = parseArgs({ options: { routes: { type: 'string' }, notifications: { type: 'string' }, reps: { type: 'string' } } });
const ROUTES = Number(values.routes ?? 10_000);
const NOTIFICATIONS = Number(values.notifications ?? 1000);
const REPS = Number(values.reps ?? 20);

const owned4 = (i: number): string => `10.${64 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}/32`;
const foreign4 = (i: number): string => `172.16.${(i >> 8) & 255}.${i & 255}/32`;
const churn4 = (i: number): string => `10.200.${(i >> 8) & 255}.${i & 255}/32`;

const cpuMs = (start: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
};

await inOwnNetns(import.meta.url, async () => {
  ipBatch([
    ...Array.from({ length: ROUTES }, (_, i) => `route add ${owned4(i)} dev lo table ${TABLE} proto ${PROTO}`),
    ...Array.from({ length: Math.floor(ROUTES / 10) }, (_, i) => `route add ${foreign4(i)} dev lo table ${TABLE} proto ${FOREIGN_PROTO}`),
  ]);
  const table = createNetlinkKernelTable({ table: tableId(TABLE), protocol: routeProtocol(PROTO) });
  const mirror = new KernelMirror(routeProtocol(PROTO));
  let applied = 0;
  let lost = 0;
  table.subscribe((change) => {
    if (change?.routes) {
      mirror.apply(change.routes);
      applied += change.routes.length;
    } else if (change) {
      lost += change.lost;
      mirror.markStale();
    }
  });

  // 1. The full read every check did: dump() and replace() of the mirror.
  const wall: number[] = [];
  const cpu: number[] = [];
  const heap: number[] = [];
  const replaceMs: number[] = [];
  for (let i = 0; i < REPS + 3; i++) {
    const h = process.memoryUsage().heapUsed;
    const c = process.cpuUsage();
    const t = performance.now();
    const dump = await table.dump();
    const t2 = performance.now();
    mirror.replace(dump);
    if (i < 3) continue; // warm-up
    wall.push(t2 - t);
    replaceMs.push(performance.now() - t2);
    cpu.push(cpuMs(c));
    heap.push((process.memoryUsage().heapUsed - h) / 1e6);
  }
  const size = mirror.dump().owned.length + mirror.dump().foreign.length;

  // 2. One delta applied to the 10k-route mirror, and the view read back.
  const template: KernelRoute = mirror.dump().owned[0]!;
  const one = (i: number, op: 'add' | 'delete'): RouteDelta => ({ op, route: { ...template, destination: churn4(i) } });
  const applyUs: number[] = [];
  const dumpUs: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t = performance.now();
    mirror.apply([one(i % 1000, i < 1000 ? 'add' : 'delete')]);
    const t2 = performance.now();
    mirror.dump();
    const t3 = performance.now();
    if (i >= 100) {
      applyUs.push((t2 - t) * 1000);
      dumpUs.push((t3 - t2) * 1000);
    }
  }
  mirror.replace(await table.dump());

  // 3. Real notifications: the CPU this process spends on them.
  const lines = Array.from({ length: NOTIFICATIONS }, (_, i) =>
    i < NOTIFICATIONS / 2
      ? `route add ${churn4(i)} dev lo table ${TABLE} proto ${PROTO}`
      : `route del ${churn4(i - NOTIFICATIONS / 2)} dev lo table ${TABLE} proto ${PROTO}`,
  );
  applied = 0;
  const c = process.cpuUsage();
  const t = performance.now();
  await new Promise<void>((resolve, reject) => {
    setImmediate(() => {
      try {
        ipBatch(lines); // synchronous: notifications queue in the socket meanwhile
      } catch (err) {
        reject(err as Error);
        return;
      }
      const wait = (): void => {
        if (applied + lost >= NOTIFICATIONS) resolve();
        else if (performance.now() - t > 60_000) reject(new Error(`only ${applied} notifications after 60 s`));
        else setTimeout(wait, 1);
      };
      wait();
    });
  });
  const notifyCpu = cpuMs(c);
  const fresh = await table.dump();
  const agrees = fresh.owned.length === mirror.dump().owned.length && fresh.foreign.length === mirror.dump().foreign.length;
  await table.close();

  const f = (n: number, d = 2): string => n.toFixed(d);
  console.log(`table: ${size} routes (${ROUTES} owned, ${Math.floor(ROUTES / 10)} foreign), Node ${process.version}`);
  console.log(
    `dump+replace   median dump() ${f(median(wall))} ms wall, replace() ${f(median(replaceMs))} ms; CPU of both ${f(median(cpu))} ms, heap +${f(median(heap), 1)} MB (${REPS} reps)`,
  );
  console.log(`apply one      median ${f(median(applyUs))} µs; dump() of the view after it ${f(median(dumpUs))} µs`);
  console.log(
    `notifications  ${applied} applied${lost > 0 ? `, ${lost} lost` : ''}: CPU ${f(notifyCpu, 1)} ms in all, ${f((notifyCpu * 1000) / NOTIFICATIONS, 1)} µs each (socket read, decode, apply; ip runs in another process)`,
  );
  console.log(`mirror agrees with a fresh dump afterwards: ${agrees && !mirror.stale}`);
});
