// A KernelTable whose real netlink adapter runs inside a network namespace
// (kernel-driver.ts in a child process), for integration tests: the test
// process stays in the host namespace and talks JSON lines to the child.

import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { InterfaceInfo } from '../../src/core/cluster.ts';
import type { KernelChange } from '../../src/core/kernel-mirror.ts';
import { KernelError, type KernelErrorCode, type KernelTable, type RouteChange } from '../../src/core/ports.ts';
import type { KernelDump, RouteProtocol, RouteSpec, TableId } from '../../src/core/types.ts';
import { killAndWait, type Netns } from './netns.ts';

export type DriverRequest =
  | { readonly id: number; readonly op: 'dump' | 'interfaces' | 'subscribe-events' | 'unsubscribe-events' | 'close' }
  | { readonly id: number; readonly op: 'add' | 'delete'; readonly route: RouteSpec }
  | { readonly id: number; readonly op: 'apply-all'; readonly changes: readonly RouteChange[] };

/** applyAll()'s results on the wire: null, or the KernelError's code and message. */
export type WireOutcome = { readonly code: KernelErrorCode; readonly message: string } | null;

export type DriverMessage =
  | { readonly ready: true }
  | { readonly event: 'change'; readonly change?: KernelChange }
  | { readonly id: number; readonly ok: true; readonly result?: unknown }
  | {
      readonly id: number;
      readonly ok: false;
      readonly error: { readonly name: string; readonly code: KernelErrorCode | undefined; readonly message: string };
    };

export const KERNEL_DRIVER = fileURLToPath(new URL('./kernel-driver.ts', import.meta.url));

export interface RemoteKernelTable extends KernelTable {
  readonly process: ChildProcess;
}

export interface RemoteKernelTableOptions {
  readonly netns: Pick<Netns, 'name' | 'spawnNode'>;
  readonly table: TableId;
  readonly protocol: RouteProtocol;
  /** SO_RCVBUF asked for the notification socket (the adapter's notifyBufferSize). */
  readonly notifyBufferSize?: number;
  /** How long the driver may take to start; default 15 s. */
  readonly startTimeoutMs?: number;
}

type Op = DriverRequest['op'];

/** Start the driver in `netns` and resolve once its adapter is ready. */
export function createRemoteKernelTable(options: RemoteKernelTableOptions): Promise<RemoteKernelTable> {
  const child = options.netns.spawnNode(KERNEL_DRIVER, [
    '--table',
    String(options.table),
    '--protocol',
    String(options.protocol),
    ...(options.notifyBufferSize !== undefined ? ['--notify-buffer', String(options.notifyBufferSize)] : []),
  ]);
  const pending = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
  const subscribers = new Set<(change?: KernelChange) => void>();
  let nextId = 1;
  let stderr = '';
  let exited = false;

  const gone = (): KernelError =>
    new KernelError(
      'EIO',
      `kernel driver in ${options.netns.name} exited (code ${child.exitCode}, signal ${child.signalCode})${stderr ? `: ${stderr.trim()}` : ''}`,
    );

  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });

  const call = (op: Op, route?: RouteSpec, changes?: readonly RouteChange[]): Promise<unknown> => {
    if (exited) return Promise.reject(gone());
    const id = nextId++;
    const request = (changes ? { id, op, changes } : route ? { id, op, route } : { id, op }) as DriverRequest;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      child.stdin?.write(`${JSON.stringify(request)}\n`);
    });
  };

  const table: RemoteKernelTable = {
    process: child,
    dump: () => call('dump') as Promise<KernelDump>,
    add: async (route) => {
      await call('add', route);
    },
    delete: async (route) => {
      await call('delete', route);
    },
    applyAll: async (changes) => {
      const outcomes = (await call('apply-all', undefined, changes)) as WireOutcome[];
      return outcomes.map((o) => (o === null ? null : new KernelError(o.code, o.message)));
    },
    interfaces: () => call('interfaces') as Promise<InterfaceInfo[]>,
    subscribe(onChange) {
      const cb = (change?: KernelChange): void => onChange(change);
      if (subscribers.size === 0) void call('subscribe-events').catch(() => {});
      subscribers.add(cb);
      return () => {
        subscribers.delete(cb);
        if (subscribers.size === 0 && !exited) void call('unsubscribe-events').catch(() => {});
      };
    },
    async close() {
      subscribers.clear();
      if (exited) return;
      await Promise.race([call('close').catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
      child.stdin?.end();
      await killAndWait(child, 3000);
    },
  };

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`kernel driver in ${options.netns.name} not ready after ${options.startTimeoutMs ?? 15_000} ms: ${stderr.trim()}`));
      void killAndWait(child);
    }, options.startTimeoutMs ?? 15_000);

    child.once('exit', () => {
      exited = true;
      clearTimeout(timer);
      const err = gone();
      for (const p of pending.values()) p.reject(err);
      pending.clear();
      reject(err);
    });

    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const message = JSON.parse(line) as DriverMessage;
      if ('ready' in message) {
        clearTimeout(timer);
        resolve(table);
      } else if ('event' in message) {
        for (const cb of [...subscribers]) cb(message.change);
      } else {
        const p = pending.get(message.id);
        if (!p) return;
        pending.delete(message.id);
        if (message.ok) p.resolve(message.result);
        else if (message.error.code) p.reject(new KernelError(message.error.code, message.error.message));
        else p.reject(Object.assign(new Error(message.error.message), { name: message.error.name }));
      }
    });
  });
}
