// An in-memory kernel with the semantics routewarden relies on, and hooks to
// make it fail or to play other writers. Used by unit tests, by `routewarden
// demo` when not root, and by benchmarks. The contract suite
// (test/helpers/kernel-contract.ts) runs the same cases against this and
// against the real kernel in a network namespace, so the two cannot drift.
//
// A MemoryKernel is one network namespace: every table, every interface. A
// KernelTable is a view of it bound to one (table, protocol), like the netlink
// adapter. createMemoryKernelTable() is the one-table shortcut.

import { formatCidr, maskIp, parseCidr } from '../core/ip.ts';
import { storedDevice } from '../core/route-types.ts';
import type { InterfaceInfo } from '../core/cluster.ts';
import type { KernelChange, RouteDelta } from '../core/kernel-mirror.ts';
import { KernelError, type KernelErrorCode, type KernelTable } from '../core/ports.ts';
import type { Family, KernelDump, KernelRoute, RouteProtocol, RouteSpec, TableId } from '../core/types.ts';
import { describeRoute, kernelError } from './errors.ts';
import { einvalReason, scopeFor, specProblem } from './translate.ts';

/** The metric the kernel gives an IPv6 route added without one (E23); IPv4 has none. */
const IPV6_DEFAULT_METRIC = 1024;

export interface MemoryInterface {
  readonly name: string;
  /** Assigned in order (lo = 1) when omitted. */
  readonly ifindex?: number;
  /** Default true. */
  readonly up?: boolean;
  readonly addresses?: readonly string[];
}

export interface MemoryKernelOptions {
  /** Default: `lo` (ifindex 1, up, 127.0.0.1/8 and ::1/128), like a fresh network namespace with lo up. */
  readonly interfaces?: readonly MemoryInterface[];
}

export type FailableOperation = 'add' | 'delete' | 'dump';

/** One call a table received, for assertions ("the repair deleted exactly X"). */
export interface MemoryOperation {
  readonly op: FailableOperation;
  readonly table: TableId;
  readonly route?: RouteSpec;
  /** Set when the call failed. */
  readonly error?: KernelErrorCode;
}

/** Hooks that play the rest of the system: other writers, interfaces, link state. */
export interface MemoryKernelHooks {
  /**
   * Admin up/down. Down flushes every route on the device, in every table, as
   * the kernel does (E20); subscribers get the deletes as route deltas (the
   * real adapter says `resync` instead: IPv4 announces no such deletes).
   */
  setInterfaceUp(name: string, up: boolean): void;
  addInterface(iface: MemoryInterface): InterfaceInfo;
  /** Deleting a link flushes its routes too. */
  removeInterface(name: string): void;
  /**
   * Another writer's route (kube-vip, a foreign protocol, another table), as
   * the kernel would show it. Replaces a route with the same identity, like
   * `ip route replace`; the destination is canonicalised (IPv6 masked) and
   * the ifindex taken from the device when the device exists.
   */
  inject(route: KernelRoute): void;
  /** Remove routes with this destination from `table`, whatever their device or protocol. Returns how many. */
  remove(key: { readonly destination: string; readonly table: TableId }): number;
  /** Every route in every table, synchronously. */
  routes(): KernelRoute[];
  /** Every add/delete/dump any table view received, in order. */
  history(): readonly MemoryOperation[];
}

export interface MemoryKernel extends MemoryKernelHooks {
  /** A KernelTable view bound to (table, protocol), with its own failure queue and subscribers. */
  open(table: TableId, protocol: RouteProtocol): MemoryKernelTable;
}

export interface MemoryKernelTable extends KernelTable, Omit<MemoryKernelHooks, 'remove'> {
  applyAll: NonNullable<KernelTable['applyAll']>;
  /** Remove routes with this destination from `table` (default: this view's), whatever their device or protocol. */
  remove(key: { readonly destination: string; readonly table?: TableId }): number;
  /** The next `op` call on this table fails with `code` and changes nothing. Calls queue up. */
  failNext(op: FailableOperation, code: KernelErrorCode): void;
  /**
   * Play a receive-buffer overflow: the next `count` route notifications of
   * this view are dropped, and its subscribers are told `{ lost }` instead
   * (after the notifications that made it), then `{ caughtUp }`, as the
   * netlink adapter does on ENOBUFS. The table itself changes as usual.
   */
  loseNotifications(count: number): void;
  readonly kernel: MemoryKernel;
}

export interface MemoryKernelTableOptions extends MemoryKernelOptions {
  readonly table: TableId;
  readonly protocol: RouteProtocol;
}

/** RT_TABLE_MAIN: where kube-vip looks for the default-gateway interface. */
const MAIN_TABLE = 254;

const DEFAULT_INTERFACES: readonly MemoryInterface[] = [{ name: 'lo', addresses: ['127.0.0.1/8', '::1/128'] }];

/** Destination as the kernel stores it: IPv6 masked to the prefix, IPv4 as given. */
function canonicalDestination(family: Family, destination: string): string {
  const cidr = parseCidr(destination);
  if (!cidr) return destination;
  return family === 'ipv6' ? formatCidr({ ip: maskIp(cidr.ip, cidr.prefix), prefix: cidr.prefix }) : formatCidr(cidr);
}

/** What the kernel tells routes apart by within a table (NLM_F_EXCL): dst, tos (always 0 here) and metric. */
const identity = (r: Pick<KernelRoute, 'table' | 'family' | 'destination' | 'metric'>): string => `${r.table}|${r.family}|${r.destination}|${r.metric ?? 0}`;

/** What changed, so each view wakes only for its table (links concern everyone). */
type Change = { readonly table: TableId; readonly delta: RouteDelta } | 'link';

export function createMemoryKernel(options: MemoryKernelOptions = {}): MemoryKernel {
  const links = new Map<string, { ifindex: number; up: boolean; addresses: string[] }>();
  const routes = new Map<string, KernelRoute>();
  const operations: MemoryOperation[] = [];
  const listeners = new Set<(change: Change) => void>();
  let nextIfindex = 1;

  const changed = (change: Change): void => {
    for (const l of [...listeners]) l(change);
  };

  const flushDevice = (ifindex: number): void => {
    for (const [key, r] of routes) {
      if (r.ifindex !== ifindex) continue;
      routes.delete(key);
      changed({ table: r.table, delta: { op: 'delete', route: r } });
    }
  };

  function add(spec: RouteSpec): void {
    const action = `adding route ${describeRoute(spec)}`;
    // The kernel's order of checks (Linux 6.18): attributes, then the
    // device, then whether the route already exists.
    const problem = specProblem(spec) ?? einvalReason(spec, 'adding');
    if (problem) throw kernelError(action, 'EINVAL', problem);
    const link = links.get(spec.device);
    if (!link) throw kernelError(action, 'ENODEV', `no interface named ${JSON.stringify(spec.device)}`);
    if (!link.up) throw kernelError(action, 'ENETDOWN');
    // IPv6 error routes (blackhole, unreachable, prohibit, throw) are stored on lo.
    const device = storedDevice(spec.family, spec.type, spec.device);
    const route: KernelRoute = Object.freeze({
      family: spec.family,
      destination: canonicalDestination(spec.family, spec.destination),
      table: spec.table,
      protocol: spec.protocol,
      type: spec.type,
      // IPv6 reports every route as scope universe; IPv4 keeps what was sent.
      scope: spec.family === 'ipv4' ? scopeFor(spec.type) : 0,
      device,
      ifindex: (links.get(device) ?? link).ifindex,
      ...(spec.family === 'ipv6' && { metric: IPV6_DEFAULT_METRIC }),
    });
    // EEXIST whatever the device, protocol or type (docs/kube-vip-routing.md §2.6, E21).
    if (routes.has(identity(route))) throw kernelError(action, 'EEXIST');
    routes.set(identity(route), route);
    changed({ table: route.table, delta: { op: 'add', route } });
  }

  function del(spec: RouteSpec): void {
    const action = `deleting route ${describeRoute(spec)}`;
    const problem = specProblem(spec) ?? einvalReason(spec, 'deleting');
    if (problem) throw kernelError(action, 'EINVAL', problem);
    const link = links.get(spec.device);
    if (!link) throw kernelError(action, 'ESRCH', `no interface named ${JSON.stringify(spec.device)}`);
    const destination = canonicalDestination(spec.family, spec.destination);
    const scope = spec.scope ?? scopeFor(spec.type);
    // docs/kube-vip-routing.md §2.5: IPv4 matches table, dst, device, protocol, type and scope;
    // IPv6 ignores type and scope; both ignore metric and realm.
    for (const [key, r] of routes) {
      if (r.table !== spec.table || r.family !== spec.family || r.destination !== destination) continue;
      if (r.ifindex !== link.ifindex || r.protocol !== spec.protocol) continue;
      if (spec.family === 'ipv4' && (r.type !== spec.type || r.scope !== scope)) continue;
      routes.delete(key);
      changed({ table: r.table, delta: { op: 'delete', route: r } });
      return;
    }
    throw kernelError(action, 'ESRCH');
  }

  const hooks: MemoryKernelHooks = {
    addInterface(iface) {
      if (links.has(iface.name)) throw new Error(`interface ${iface.name} already exists`);
      const ifindex = iface.ifindex ?? nextIfindex;
      nextIfindex = Math.max(nextIfindex, ifindex + 1);
      const up = iface.up ?? true;
      links.set(iface.name, { ifindex, up, addresses: [...(iface.addresses ?? [])] });
      changed('link');
      return { name: iface.name, ifindex, up, addresses: [...(iface.addresses ?? [])] };
    },
    setInterfaceUp(name, up) {
      const link = links.get(name);
      if (!link) throw new Error(`no interface named ${name}`);
      if (link.up === up) return;
      link.up = up;
      if (!up) flushDevice(link.ifindex);
      changed('link');
    },
    removeInterface(name) {
      const link = links.get(name);
      if (!link) throw new Error(`no interface named ${name}`);
      links.delete(name);
      flushDevice(link.ifindex);
      changed('link');
    },
    inject(route) {
      const stored: KernelRoute = Object.freeze({
        ...route,
        destination: canonicalDestination(route.family, route.destination),
        ifindex: route.device !== null ? (links.get(route.device)?.ifindex ?? route.ifindex) : route.ifindex,
      });
      const old = routes.get(identity(stored));
      routes.set(identity(stored), stored);
      // As `ip route replace` of the route with the same identity.
      changed({ table: stored.table, delta: old ? { op: 'add', route: stored, replace: true } : { op: 'add', route: stored } });
    },
    remove(key) {
      let removed = 0;
      for (const [k, r] of routes) {
        if (r.table !== key.table || r.destination !== canonicalDestination(r.family, key.destination)) continue;
        routes.delete(k);
        removed++;
        changed({ table: r.table, delta: { op: 'delete', route: r } });
      }
      return removed;
    },
    routes: () => [...routes.values()],
    history: () => [...operations],
  };

  function open(table: TableId, protocol: RouteProtocol): MemoryKernelTable {
    const failures: Record<FailableOperation, KernelErrorCode[]> = { add: [], delete: [], dump: [] };
    const subscribers = new Set<(change?: KernelChange) => void>();
    let notifyScheduled = false;
    let closed = false;
    // What the next delivery says: the route deltas of this tick, how many
    // were lost, whether a link changed.
    let pending: RouteDelta[] = [];
    let lost = 0;
    let linkChanged = false;
    let toLose = 0;

    // Like the kernel, notify after the change and never synchronously inside
    // the caller's add/delete; the changes of one tick are one call with
    // their route deltas in order (then one without, if a link changed).
    const listener = (change: Change): void => {
      if (change !== 'link' && change.table !== table) return;
      if (subscribers.size === 0) return;
      if (change === 'link') linkChanged = true;
      else if (toLose > 0) {
        toLose--;
        lost++;
      } else pending.push(change.delta);
      if (notifyScheduled) return;
      notifyScheduled = true;
      queueMicrotask(() => {
        notifyScheduled = false;
        const routes = pending;
        const dropped = lost;
        const link = linkChanged;
        pending = [];
        lost = 0;
        linkChanged = false;
        const all = [...subscribers];
        if (routes.length > 0) for (const cb of all) cb({ lost: 0, routes });
        // Nothing is queued here beyond this delivery: caught up at once.
        if (dropped > 0)
          for (const cb of all) {
            cb({ lost: dropped });
            cb({ lost: 0, caughtUp: true });
          }
        if (link) for (const cb of all) cb();
      });
    };
    listeners.add(listener);

    /** Runs one operation with the closed check, the failure queue and the history. */
    const operate = <T>(op: FailableOperation, action: string, route: RouteSpec | undefined, run: () => T): T => {
      const entry = { op, table, ...(route && { route }) };
      try {
        if (closed) throw new KernelError('EIO', `${action}: kernel table is closed`);
        const injected = failures[op].shift();
        if (injected !== undefined) throw kernelError(action, injected, 'injected by failNext');
        const result = run();
        operations.push(entry);
        return result;
      } catch (err) {
        operations.push({ ...entry, error: err instanceof KernelError ? err.code : 'EIO' });
        throw err;
      }
    };

    const change = (op: 'add' | 'delete', spec: RouteSpec): void =>
      operate(op, `${op === 'add' ? 'adding' : 'deleting'} route ${describeRoute(spec)}`, spec, () => (op === 'add' ? add(spec) : del(spec)));

    const view: MemoryKernelTable = {
      ...hooks,
      remove: (key) => hooks.remove({ destination: key.destination, table: key.table ?? table }),
      kernel,
      async dump() {
        return operate('dump', `listing routes in table ${table}`, undefined, () => {
          const owned: KernelRoute[] = [];
          const foreign: KernelRoute[] = [];
          for (const r of routes.values()) {
            if (r.table !== table) continue;
            (r.protocol === protocol ? owned : foreign).push(r);
          }
          return { owned, foreign } satisfies KernelDump;
        });
      },
      async add(spec) {
        change('add', spec);
      },
      async delete(spec) {
        change('delete', spec);
      },
      // As the netlink adapter: every change is tried whatever happens to the
      // others, one result each (null, or what add()/delete() would throw), so
      // in-process repairs take the path production takes.
      async applyAll(list) {
        return list.map((c) => {
          try {
            change(c.op, c.route);
            return null;
          } catch (err) {
            return err instanceof KernelError
              ? err
              : new KernelError('EIO', `${c.op === 'add' ? 'adding' : 'deleting'} route ${describeRoute(c.route)}: ${String(err)}`);
          }
        });
      },
      async interfaces() {
        if (closed) throw new KernelError('EIO', 'listing interfaces: kernel table is closed');
        return [...links].map(([name, l]) => ({ name, ifindex: l.ifindex, up: l.up, addresses: [...l.addresses] })).sort((a, b) => a.ifindex - b.ifindex);
      },
      async defaultRoutes() {
        if (closed) throw new KernelError('EIO', 'listing default routes: kernel table is closed');
        const first = (dst: string): string | null => {
          for (const r of routes.values()) if (r.table === MAIN_TABLE && r.destination === dst && r.device !== null) return r.device;
          return null;
        };
        return { ipv4: first('0.0.0.0/0'), ipv6: first('::/0') };
      },
      subscribe(onChange) {
        const cb = (change?: KernelChange): void => onChange(change);
        subscribers.add(cb);
        return () => subscribers.delete(cb);
      },
      async close() {
        closed = true;
        subscribers.clear();
        listeners.delete(listener);
      },
      failNext(op, code) {
        failures[op].push(code);
      },
      loseNotifications(count) {
        toLose += count;
      },
    };
    return view;
  }

  const kernel: MemoryKernel = { ...hooks, open };
  for (const iface of options.interfaces ?? DEFAULT_INTERFACES) hooks.addInterface(iface);
  return kernel;
}

/** A fresh in-memory kernel and its (table, protocol) view in one call. */
export function createMemoryKernelTable(options: MemoryKernelTableOptions): MemoryKernelTable {
  const { table, protocol, ...kernelOptions } = options;
  return createMemoryKernel(kernelOptions).open(table, protocol);
}
