// Times the netlink adapter's dump() against `ip -j route show table T proto P`
// (both families) on a table of N routes, with M more routes in another table
// that both have to wade through. Runs in a network namespace of its own.
//
//   sudo node scripts/bench-kernel-dump.ts [--routes 50000] [--other 20000] [--runs 10]
//
// Prints one JSON line: medians, minimums and maximums in milliseconds.

import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { routeProtocol, tableId } from '../src/core/types.ts';
import { createNetlinkKernelTable } from '../src/kernel/netlink.ts';
import { inOwnNetns } from './kernel-netns.ts';

const { values } = parseArgs({
  options: {
    routes: { type: 'string', default: '50000' },
    other: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '10' },
  },
});
const ROUTES = Number(values.routes);
const OTHER = Number(values.other);
const RUNS = Number(values.runs);
const TABLE = 198;
const PROTO = 248;

const v4 = (i: number, first: number): string => `${first}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`;

function populate(): void {
  const lines: string[] = [];
  for (let i = 0; i < ROUTES; i++) {
    const dst = i % 2 === 0 ? v4(i, 10) : `fd00::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}/128`;
    lines.push(`route add ${dst} dev lo table ${TABLE} proto ${PROTO} scope global`);
  }
  for (let i = 0; i < OTHER; i++) lines.push(`route add ${v4(i, 172)} dev lo table 100 proto ${PROTO} scope global`);
  execFileSync('ip', ['-batch', '-'], { input: `${lines.join('\n')}\n`, maxBuffer: 1 << 26 });
}

function stats(times: number[]): { median: number; min: number; max: number } {
  const sorted = [...times].sort((a, b) => a - b);
  const round = (n: number): number => Math.round(n * 10) / 10;
  return { median: round(sorted[Math.floor(sorted.length / 2)] ?? 0), min: round(sorted[0] ?? 0), max: round(sorted.at(-1) ?? 0) };
}

async function bench(): Promise<void> {
  populate();
  const table = createNetlinkKernelTable({ table: tableId(TABLE), protocol: routeProtocol(PROTO) });
  const ours: number[] = [];
  let seen = 0;
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    const dump = await table.dump();
    ours.push(performance.now() - start);
    seen = dump.owned.length;
  }
  await table.close();
  const ip: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    for (const family of ['-4', '-6']) {
      execFileSync('ip', [family, '-j', 'route', 'show', 'table', String(TABLE), 'proto', String(PROTO)], { maxBuffer: 1 << 28 });
    }
    ip.push(performance.now() - start);
  }
  if (seen !== ROUTES) throw new Error(`dump saw ${seen} routes, expected ${ROUTES}`);
  console.log(JSON.stringify({ routes: ROUTES, otherTable: OTHER, runs: RUNS, netlinkDumpMs: stats(ours), ipJsonMs: stats(ip) }));
}

await inOwnNetns(import.meta.url, bench);
