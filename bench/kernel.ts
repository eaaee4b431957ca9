// Kernel-side measures, run inside the benchmark's own network namespace:
// routewarden's dump() against `ip -j route show` (both families), and a
// repair against `ip -batch` doing the same operations.

import { execFileSync } from 'node:child_process';
import type { KernelTable, RouteChange } from '../src/core/ports.ts';
import type { RouteSpec } from '../src/core/types.ts';
import { since } from './stats.ts';

export const TABLE = 198;
export const PROTO = 248;
const FOREIGN_PROTO = 4; // static

/** `ip -batch -` in this (the benchmark's) namespace; `force` keeps going past errors and ignores them. */
export function ipBatch(lines: readonly string[], force = false): void {
  if (lines.length === 0) return;
  try {
    execFileSync('ip', [...(force ? ['-force'] : []), '-batch', '-'], {
      input: `${lines.join('\n')}\n`,
      maxBuffer: 1 << 26,
      stdio: ['pipe', 'ignore', force ? 'ignore' : 'pipe'],
    });
  } catch (err) {
    if (force) return; // -force runs every line but still exits 1 when one failed
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim() ?? '';
    throw new Error(`ip -batch (${lines.length} lines, first: ${lines[0]}): ${stderr || (err as Error).message}`, { cause: err });
  }
}

/** Removes every route of the table, whatever its protocol. */
export function flushTable(): void {
  for (const family of ['-4', '-6']) {
    try {
      execFileSync('ip', [family, 'route', 'flush', 'table', String(TABLE)], { stdio: 'ignore' });
    } catch {
      // An empty table is an error to `ip route flush`: nothing to do.
    }
  }
}

export { FOREIGN_PROTO };

/** Both families of `ip -j route show table T proto P`, as a user would script it. */
export function ipShow(): number {
  let bytes = 0;
  for (const family of ['-4', '-6']) {
    const out = execFileSync('ip', [family, '-j', 'route', 'show', 'table', String(TABLE), 'proto', String(PROTO)], { maxBuffer: 1 << 28 });
    bytes += out.length;
  }
  return bytes;
}

export interface ReadTimes {
  readonly ours: number[];
  readonly ip: number[];
}

/** Interleaved: each repetition runs both, alternating which goes first. */
export async function measureKernelRead(table: KernelTable, reps: number, expectOwned: number): Promise<ReadTimes> {
  const ours: number[] = [];
  const ip: number[] = [];
  const runOurs = async (): Promise<void> => {
    const t = performance.now();
    const dump = await table.dump();
    ours.push(since(t));
    if (dump.owned.length !== expectOwned) throw new Error(`dump() saw ${dump.owned.length} owned routes, expected ${expectOwned}`);
  };
  const runIp = (): void => {
    const t = performance.now();
    ipShow();
    ip.push(since(t));
  };
  // Warm-up: first socket, JIT, page cache for `ip`.
  for (let i = 0; i < 3; i++) {
    await table.dump();
    ipShow();
  }
  for (let i = 0; i < reps; i++) {
    if (i % 2 === 0) {
      await runOurs();
      runIp();
    } else {
      runIp();
      await runOurs();
    }
  }
  return { ours, ip };
}

/** The `ip -batch` line doing exactly what a plan step does. */
export function stepLine(op: 'add' | 'delete', r: RouteSpec): string {
  const base = `${r.destination} dev ${r.device} table ${r.table} proto ${r.protocol}`;
  return op === 'add' ? `route add unicast ${base} scope global` : `route del ${base}`;
}

/**
 * Wraps a KernelTable to time the span of its add/delete/applyAll calls:
 * first call start to last call end, which is a repair's apply phase.
 */
export function timedTable(inner: KernelTable): KernelTable & { span(): number; reset(): void; ops(): number } {
  let first = -1;
  let last = -1;
  let ops = 0;
  const wrap =
    (fn: (r: RouteSpec) => Promise<void>) =>
    async (r: RouteSpec): Promise<void> => {
      if (first < 0) first = performance.now();
      ops++;
      try {
        await fn(r);
      } finally {
        last = performance.now();
      }
    };
  const applyAll = inner.applyAll?.bind(inner);
  return {
    ...(applyAll
      ? {
          async applyAll(changes: readonly RouteChange[]) {
            if (first < 0) first = performance.now();
            ops += changes.length;
            try {
              return await applyAll(changes);
            } finally {
              last = performance.now();
            }
          },
        }
      : {}),
    dump: () => inner.dump(),
    interfaces: () => inner.interfaces(),
    subscribe: (cb) => inner.subscribe(cb),
    close: () => inner.close(),
    add: wrap((r) => inner.add(r)),
    delete: wrap((r) => inner.delete(r)),
    span: () => (first < 0 ? 0 : last - first),
    ops: () => ops,
    reset() {
      first = -1;
      last = -1;
      ops = 0;
    },
  };
}
