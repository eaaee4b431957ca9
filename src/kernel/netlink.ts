// The real KernelTable: kube-vip's table over rtnetlink, with the `netlink`
// package's socket, encoders and address parser (no spawning of `ip`). This
// file only sequences requests: decoding and translation are translate.ts's,
// framing is rtnl.ts's, error wording is errors.ts's.

import { AttrStream, rt } from 'netlink';
import type { Logger } from 'pino';
import type { InterfaceInfo } from '../core/cluster.ts';
import type { KernelChange, RouteDelta } from '../core/kernel-mirror.ts';
import { KernelError, type KernelTable, type RouteChange } from '../core/ports.ts';
import type { KernelDump, KernelRoute, RouteProtocol, RouteSpec, TableId } from '../core/types.ts';
import { describeRoute, kernelError } from './errors.ts';
import {
  DumpInterruptedError,
  nativeBindingPatched,
  NetlinkError,
  NLM_F_CREATE,
  NLM_F_EXCL,
  RtnlSocket,
  socketQueue,
  type BatchRequest,
  type MessageSink,
} from './rtnl.ts';
import {
  AF_INET,
  AF_INET6,
  decodeLinkHeader,
  defaultRouteOif,
  einvalReason,
  encodeRouteRequest,
  nameDevices,
  routeFromBytes,
  routeTableOf,
  RT_TABLE_MAIN,
  setRequestIfindex,
  specProblem,
  toInterfaceInfo,
  type LinkHeader,
} from './translate.ts';

const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
const RTM_GETADDR = 22;
const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const RTM_GETROUTE = 26;

const IFLA_IFNAME = 3; // the name to look a link up by
/** nlmsg_flags of a route notification: what the kernel did (fib_table_insert, fib6_add_rt2). */
const NLM_F_REPLACE = 0x100;
const NLM_F_APPEND = 0x800;
/** IFF_UP: taking it away flushes the device's routes, IPv4 ones without a notification (E20). */
const IFF_UP = 0x1;

/** RTNLGRP_*: links and addresses matter too (E20 flushes, serviceInterface auto). */
const RTNLGRP_LINK = 1;
const RTNLGRP_IPV4_IFADDR = 5;
const RTNLGRP_IPV4_ROUTE = 7;
const RTNLGRP_IPV6_IFADDR = 9;
const RTNLGRP_IPV6_ROUTE = 11;

/** A dump the kernel flags as interrupted is retried this many times before we give up. */
const DUMP_ATTEMPTS = 5;
/** Above this many distinct devices one link dump beats one lookup per device. */
const LINK_LOOKUP_LIMIT = 8;
/** Notifications can burst (a flush of 10k routes); the kernel drops what does not fit. */
export const NOTIFY_RCVBUF = 4 * 1024 * 1024;
/** After notifications were lost, how often the socket's drop and queue counters are read until it has been read past the loss. */
const DROPS_POLL_MS = 250;
/** A notification socket that failed is reopened after this long (doubling, up to the cap). */
const REOPEN_MIN_MS = 100;
const REOPEN_MAX_MS = 30_000;

export type KernelLogger = Pick<Logger, 'warn' | 'debug' | 'info'>;

export interface NetlinkKernelTableOptions {
  readonly table: TableId;
  readonly protocol: RouteProtocol;
  readonly logger?: KernelLogger;
  /** Per-request timeout; default 10 s. */
  readonly timeoutMs?: number;
  /** SO_RCVBUF asked for the notification socket; default NOTIFY_RCVBUF (the kernel caps it at net.core.rmem_max). */
  readonly notifyBufferSize?: number;
}

const rtmsg = (family: number): Buffer => {
  const b = Buffer.alloc(12);
  b.writeUInt8(family, 0);
  return b;
};

const ifinfomsg = (ifindex: number): Buffer => {
  const b = Buffer.alloc(16);
  b.writeInt32LE(ifindex, 4);
  return b;
};

function asKernelError(action: string, err: unknown): KernelError {
  if (err instanceof KernelError) return err;
  if (err instanceof NetlinkError) return kernelError(action, err.errno, undefined, err);
  return kernelError(action, 'EIO', err instanceof Error ? err.message : String(err), err);
}

type Verb = 'adding' | 'deleting';

/**
 * The one mapping of a route change's failure, for change() and applyAll():
 * an EINVAL says why when kube-vip's own route explains it (einvalReason);
 * everything else as asKernelError().
 */
function changeError(action: string, verb: Verb, route: RouteSpec, err: unknown): KernelError {
  if (err instanceof NetlinkError && err.errno === 'EINVAL') return kernelError(action, 'EINVAL', einvalReason(route, verb) ?? undefined, err);
  return asKernelError(action, err);
}

/**
 * A device name with no ifindex, so no kernel call: a delete finds nothing to
 * delete (ESRCH, "already gone"); an add has no device (ENODEV).
 */
const noInterface = (action: string, verb: Verb, device: string): KernelError =>
  kernelError(action, verb === 'adding' ? 'ENODEV' : 'ESRCH', `no interface named ${JSON.stringify(device)}`);

export function createNetlinkKernelTable(options: NetlinkKernelTableOptions): KernelTable {
  const { table, protocol, logger } = options;
  const subscribers = new Set<(change?: KernelChange) => void>();
  let socket: RtnlSocket | null = null;
  let notifySocket: RtnlSocket | null = null;
  let changeSocket: RtnlSocket | null = null;
  let closed = false;
  /** ifindex -> device name, from dumps, lookups and link notifications: route notifications carry only the ifindex. */
  const names = new Map<number, string>();
  /**
   * Devices that carried routes of the table (seen in a dump or a
   * notification): when one goes down, is deleted or renamed, or loses an
   * IPv4 address, the table may change without route notifications.
   */
  const routed = new Set<number>();
  /** A route of the table had a preferred source: deleting that IPv4 address, on any device, flushes it silently. */
  let prefsrc = false;
  const notePrefsrc = (r: KernelRoute): void => {
    if (r.extraAttributes?.includes('prefsrc')) prefsrc = true;
  };

  // Opened on first use so that a missing permission surfaces as a rejected
  // KernelError from the operation, never as a throw from the constructor.
  const requests = (): RtnlSocket => {
    if (closed) throw new NetlinkError('EBADF', 'kernel table is closed');
    socket ??= new RtnlSocket({ timeoutMs: options.timeoutMs });
    return socket;
  };
  // Batches of changes get a socket of their own that sizes each read to the
  // datagram: the request socket reads into a fixed 64 KiB buffer (right for
  // dumps), which for 10,000 ACKs of 36 bytes would allocate 640 MB.
  const changes = (): RtnlSocket => {
    if (closed) throw new NetlinkError('EBADF', 'kernel table is closed');
    changeSocket ??= new RtnlSocket({ timeoutMs: options.timeoutMs, peek: true });
    return changeSocket;
  };
  const ensureOpen = (action: string): void => {
    if (closed) throw new KernelError('EIO', `${action}: kernel table is closed`);
  };

  /**
   * A dump the kernel flagged NLM_F_DUMP_INTR (a change ran through it, so it
   * may have skipped or doubled entries) is thrown away and run again;
   * `fresh` gives each attempt a new sink so that nothing of a failed attempt
   * is kept.
   */
  async function consistentDump(type: number, payload: readonly Uint8Array[], fresh: () => { sink: MessageSink; keep(): void }): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const { sink, keep } = fresh();
      try {
        await requests().dump(type, payload, sink);
        keep();
        return;
      } catch (err) {
        if (!(err instanceof DumpInterruptedError) || attempt >= DUMP_ATTEMPTS) throw err;
        logger?.debug({ attempt, type }, 'dump interrupted by a concurrent change, retrying');
      }
    }
  }

  async function dumpFamily(af: number, into: KernelRoute[]): Promise<void> {
    await consistentDump(RTM_GETROUTE, [rtmsg(af)], () => {
      const found: KernelRoute[] = [];
      return {
        sink: (type, buf, start, end) => {
          // Every table comes back (no strict-check filtering without
          // NETLINK_GET_STRICT_CHK); skip foreign tables before decoding.
          if (type !== RTM_NEWROUTE || routeTableOf(buf, start, end) !== table) return;
          const route = routeFromBytes(buf, start, end);
          if (route) found.push(route);
        },
        keep: () => {
          for (const r of found) into.push(r);
        },
      };
    });
  }

  /** ifindex -> name for the devices our routes use. */
  async function linkNames(indexes: ReadonlySet<number>): Promise<Map<number, string>> {
    const names = new Map<number, string>();
    if (indexes.size === 0) return names;
    const keep = (_type: number, buf: Buffer, start: number, end: number): void => {
      const link = decodeLinkHeader(buf.subarray(start, end));
      names.set(link.ifindex, link.name);
    };
    if (indexes.size > LINK_LOOKUP_LIMIT) {
      await consistentDump(RTM_GETLINK, [ifinfomsg(0)], () => ({ sink: keep, keep: () => {} }));
      return names;
    }
    for (const index of indexes) {
      try {
        await requests().request(RTM_GETLINK, 0, [ifinfomsg(index)], keep);
      } catch (err) {
        // The device vanished between the route dump and now: its routes are
        // being flushed; report them without a name rather than fail.
        if (!(err instanceof NetlinkError && err.errno === 'ENODEV')) throw err;
      }
    }
    return names;
  }

  /** The ifindex of a device name, or null when there is none. */
  async function linkIndex(name: string): Promise<number | null> {
    const stream = new AttrStream();
    stream.emit(ifinfomsg(0));
    stream.push(IFLA_IFNAME, Buffer.from(`${name}\0`));
    let index: number | null = null;
    try {
      await requests().request(RTM_GETLINK, 0, stream.bufs, (_type, buf, start, end) => {
        index = decodeLinkHeader(buf.subarray(start, end)).ifindex;
      });
    } catch (err) {
      if (err instanceof NetlinkError && (err.errno === 'ENODEV' || err.errno === 'EINVAL')) return null;
      throw err;
    }
    return index;
  }

  async function dump(): Promise<KernelDump> {
    const action = `listing routes in table ${table}`;
    ensureOpen(action);
    try {
      const routes: KernelRoute[] = [];
      await dumpFamily(AF_INET, routes);
      await dumpFamily(AF_INET6, routes);
      const indexes = new Set<number>();
      for (const r of routes) if (r.ifindex !== 0) indexes.add(r.ifindex);
      const found = await linkNames(indexes);
      nameDevices(routes, found);
      for (const [index, name] of found) names.set(index, name);
      for (const index of indexes) routed.add(index);
      for (const r of routes) notePrefsrc(r);
      const owned: KernelRoute[] = [];
      const foreign: KernelRoute[] = [];
      for (const r of routes) (r.protocol === protocol ? owned : foreign).push(r);
      return { owned, foreign };
    } catch (err) {
      throw asKernelError(action, err);
    }
  }

  async function change(verb: Verb, spec: RouteSpec): Promise<void> {
    const action = `${verb} route ${describeRoute(spec)}`;
    ensureOpen(action);
    try {
      const problem = specProblem(spec);
      if (problem) throw kernelError(action, 'EINVAL', problem);
      const ifindex = await linkIndex(spec.device);
      if (ifindex === null) throw noInterface(action, verb, spec.device);
      const encoded = encodeRouteRequest(spec, ifindex);
      if (!Buffer.isBuffer(encoded)) throw kernelError(action, 'EINVAL', encoded.problem);
      const body = [encoded];
      try {
        if (verb === 'adding') await requests().request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, body);
        else await requests().request(RTM_DELROUTE, 0, body);
      } catch (err) {
        throw changeError(action, verb, spec, err);
      }
    } catch (err) {
      throw asKernelError(action, err);
    }
  }

  /**
   * change() for many routes at once. Each device name is resolved once for
   * the batch, as `ip -batch` does (iproute2 caches name -> index), then the
   * requests are pipelined; every result is what change() would have thrown.
   */
  async function applyAll(list: readonly RouteChange[]): Promise<(KernelError | null)[]> {
    const results: (KernelError | null)[] = new Array<KernelError | null>(list.length).fill(null);
    const verbOf = (c: RouteChange): Verb => (c.op === 'add' ? 'adding' : 'deleting');
    const actionOf = (c: RouteChange): string => `${verbOf(c)} route ${describeRoute(c.route)}`;
    const indexes = new Map<string, number | null | { readonly error: unknown }>();
    const requests: BatchRequest[] = [];
    const sent: number[] = [];
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      if (closed) {
        results[i] = new KernelError('EIO', `${actionOf(c)}: kernel table is closed`);
        continue;
      }
      // The spec first: a request that cannot be sent gets no kernel call at all.
      const encoded = encodeRouteRequest(c.route, 0);
      if (!Buffer.isBuffer(encoded)) {
        results[i] = kernelError(actionOf(c), 'EINVAL', encoded.problem);
        continue;
      }
      let ifindex = indexes.get(c.route.device);
      if (ifindex === undefined) {
        try {
          ifindex = await linkIndex(c.route.device);
        } catch (error) {
          ifindex = { error };
        }
        indexes.set(c.route.device, ifindex);
      }
      if (ifindex !== null && typeof ifindex === 'object') {
        results[i] = asKernelError(actionOf(c), ifindex.error);
        continue;
      }
      if (ifindex === null) {
        results[i] = noInterface(actionOf(c), verbOf(c), c.route.device);
        continue;
      }
      setRequestIfindex(encoded, ifindex);
      requests.push({ type: c.op === 'add' ? RTM_NEWROUTE : RTM_DELROUTE, flags: c.op === 'add' ? NLM_F_CREATE | NLM_F_EXCL : 0, payload: [encoded] });
      sent.push(i);
    }
    let answers: (NetlinkError | null)[];
    try {
      answers = await changes().requestBatch(requests);
    } catch (err) {
      for (const i of sent) results[i] = asKernelError(actionOf(list[i]!), err);
      return results;
    }
    for (let k = 0; k < sent.length; k++) {
      const err = answers[k];
      if (!err) continue;
      const i = sent[k]!;
      const c = list[i]!;
      results[i] = changeError(actionOf(c), verbOf(c), c.route, err);
    }
    return results;
  }

  /** The main table's first default route with a device, per family, named (kube-vip's default-gateway interface). */
  async function defaultRoutes(): Promise<{ ipv4: string | null; ipv6: string | null }> {
    ensureOpen('listing default routes');
    try {
      const firstOif = async (af: number): Promise<number> => {
        let found = 0;
        await requests().dump(RTM_GETROUTE, [rtmsg(af)], (type, buf, start, end) => {
          if (type === RTM_NEWROUTE && found === 0) found = defaultRouteOif(buf, start, end);
        });
        return found;
      };
      const v4 = await firstOif(AF_INET);
      const v6 = await firstOif(AF_INET6);
      const names = await linkNames(new Set([v4, v6].filter((i) => i > 0)));
      return { ipv4: names.get(v4) ?? null, ipv6: names.get(v6) ?? null };
    } catch (err) {
      throw asKernelError('listing default routes', err);
    }
  }

  async function interfaces(): Promise<InterfaceInfo[]> {
    ensureOpen('listing interfaces');
    try {
      let links: LinkHeader[] = [];
      await consistentDump(RTM_GETLINK, [ifinfomsg(0)], () => {
        const found: LinkHeader[] = [];
        return {
          sink: (type, buf, start, end) => {
            if (type === RTM_NEWLINK) found.push(decodeLinkHeader(buf.subarray(start, end)));
          },
          keep: () => {
            links = found;
          },
        };
      });
      let addresses: rt.AddressMessage[] = [];
      await consistentDump(RTM_GETADDR, [Buffer.alloc(8)], () => {
        const found: rt.AddressMessage[] = [];
        return {
          sink: (type, buf, start, end) => {
            if (type === RTM_NEWADDR) found.push(rt.parseAddressMessage(buf.subarray(start, end)));
          },
          keep: () => {
            addresses = found;
          },
        };
      });
      links.sort((a, b) => a.ifindex - b.ifindex);
      return links.map((link) => toInterfaceInfo(link, addresses));
    } catch (err) {
      throw asKernelError('listing interfaces', err);
    }
  }

  const notifyAll = (change?: KernelChange): void => {
    for (const cb of [...subscribers]) {
      try {
        cb(change);
      } catch (err) {
        logger?.warn({ err }, 'kernel change subscriber threw');
      }
    }
  };

  /** What one notification datagram (one socket read) says to subscribers. */
  interface Notice {
    /** Route notifications for the table, in order; their devices are named before delivery. */
    readonly routes: RouteDelta[];
    /** A link, an address or the main table's default route changed, or something unreadable came. */
    other: boolean;
    /** The table may have changed without notifications (see KernelChange.resync). */
    resync: boolean;
  }

  /** A device carrying routes of the table changed in a way that may flush them silently. */
  const flushes = (ifindex: number): boolean => {
    if (!routed.has(ifindex)) return false;
    routed.delete(ifindex); // the dump this triggers adds it back if routes remain
    return true;
  };

  /**
   * Reads a notification datagram: route messages of our table (any
   * protocol: a foreign route at a VIP's destination matters too) are decoded
   * with the decoder dump() uses; links, addresses and the main table's
   * default routes only wake the subscriber, as before.
   */
  const parse = (datagram: Buffer): Notice => {
    const notice: Notice = { routes: [], other: false, resync: false };
    let offset = 0;
    while (offset + 16 <= datagram.length) {
      const length = datagram.readUInt32LE(offset);
      if (length < 16 || offset + length > datagram.length) {
        notice.resync = true; // unreadable: re-read everything to be safe
        break;
      }
      const type = datagram.readUInt16LE(offset + 4);
      const flags = datagram.readUInt16LE(offset + 6);
      const start = offset + 16;
      const end = offset + length;
      offset += (length + 3) & ~3;
      if (type === RTM_NEWROUTE || type === RTM_DELROUTE) {
        const inTable = routeTableOf(datagram, start, end);
        if (inTable === table) {
          let route: KernelRoute | null;
          try {
            route = routeFromBytes(datagram, start, end);
          } catch {
            notice.resync = true;
            continue;
          }
          if (!route) continue; // neither IPv4 nor IPv6: dump() does not list it either
          // IPv6 ECMP: a hop added or removed is announced as the whole
          // multipath route, and a replace drops siblings silently; the
          // mirror tracks routes, not hops.
          if (route.family === 'ipv6' && route.extraAttributes?.some((a) => a === 'gateway' || a === 'via' || a === 'multipath')) {
            notice.resync = true;
            continue;
          }
          if (route.ifindex !== 0) routed.add(route.ifindex);
          notePrefsrc(route);
          const op = type === RTM_NEWROUTE ? 'add' : 'delete';
          notice.routes.push({
            op,
            route,
            ...(op === 'add' && (flags & NLM_F_REPLACE) !== 0 && { replace: true }),
            ...(op === 'add' && (flags & NLM_F_APPEND) !== 0 && { append: true }),
          });
        } else if (datagram[start + 1] === 0 && inTable === RT_TABLE_MAIN) {
          // A default route of the main table: kube-vip's default-gateway interface may have moved.
          notice.other = true;
        }
      } else if (type === RTM_NEWLINK || type === RTM_DELLINK) {
        // IPv4 does not announce the routes a link-down flushes (E20): the link event is the signal.
        notice.other = true;
        const link = decodeLinkHeader(datagram.subarray(start, end));
        const known = names.get(link.ifindex);
        if (type === RTM_DELLINK) {
          names.delete(link.ifindex);
          if (flushes(link.ifindex)) notice.resync = true;
        } else {
          if (link.name !== '') names.set(link.ifindex, link.name);
          const renamed = known !== undefined && link.name !== '' && known !== link.name;
          if (((link.flags & IFF_UP) === 0 || renamed) && flushes(link.ifindex)) notice.resync = true;
        }
      } else if (type === RTM_NEWADDR || type === RTM_DELADDR) {
        notice.other = true;
        // IPv4 flushes the routes of a device left without an address, and
        // routes whose preferred source was the address, silently.
        if (type === RTM_DELADDR && datagram[start] === AF_INET && end - start >= 8) {
          if (flushes(datagram.readUInt32LE(start + 4)) || prefsrc) notice.resync = true;
        }
      }
    }
    return notice;
  };

  // Delivery, in the order the kernel sent things. Route notifications name
  // their devices from `names`; a device not seen yet is looked up first
  // (one request), holding back what came after it meanwhile.
  const outbox: { readonly change: KernelChange | undefined; lookup: boolean }[] = [];
  let naming = false;

  const post = (change: KernelChange | undefined): void => {
    outbox.push({ change, lookup: change?.routes !== undefined });
    if (!naming) deliver();
  };

  const deliver = (): void => {
    while (outbox.length > 0) {
      const item = outbox[0]!;
      const routes = item.change?.routes;
      if (routes && item.lookup) {
        const missing = new Set<number>();
        for (const d of routes) if (d.route.ifindex !== 0 && !names.has(d.route.ifindex)) missing.add(d.route.ifindex);
        item.lookup = false;
        if (missing.size > 0) {
          naming = true;
          linkNames(missing)
            .then(
              (found) => {
                for (const [index, name] of found) names.set(index, name);
              },
              // The device is gone (its routes are being flushed, and said so):
              // the route keeps no name, as in a dump.
              (err: unknown) => logger?.debug({ err }, 'cannot name the device of a route notification'),
            )
            .finally(() => {
              naming = false;
              deliver();
            });
          return;
        }
      }
      outbox.shift();
      if (routes)
        nameDevices(
          routes.map((d) => d.route),
          names,
        );
      notifyAll(item.change);
    }
  };

  const onDatagram = (datagram: Buffer): void => {
    let notice: Notice;
    try {
      notice = parse(datagram);
    } catch (err) {
      logger?.debug({ err }, 'unreadable kernel notification; re-reading the table');
      notice = { routes: [], other: false, resync: true };
    }
    if (notice.routes.length > 0) post({ lost: 0, routes: notice.routes });
    if (notice.resync) {
      logger?.debug('the table may have changed without route notifications; re-reading it');
      post({ lost: 0, resync: true });
    } else if (notice.other) post(undefined);
  };

  // Notification loss. The kernel drops what does not fit the receive buffer
  // (net.core.rmem_max caps what we ask for: 212,992 bytes on many
  // distributions), counts it in the socket's Drops, and sets ENOBUFS once
  // per congestion. Then what changed is unknown: subscribers are told to
  // re-read everything (a full dump resyncs the view), with the number of
  // notifications lost. Drops keep growing while the socket is congested,
  // so the counter is read again until it stops growing; each growth is
  // another loss and another resync. rtnetlink notifications carry no
  // sequence of their own (nlmsg_seq is the requester's), so there are no
  // gaps to look for: ENOBUFS and Drops are the kernel's signals.
  //
  // The kernel reports a loss before the notifications still queued from
  // before it, and one of those may be older than a dropped one (a route's
  // add read after its dropped delete). And until that queue is empty the
  // socket stays congested: the kernel drops every new notification, room or
  // not, counting it in Drops without another ENOBUFS (net/netlink/af_netlink.c,
  // NETLINK_S_CONGESTED). So the socket is watched until it has been read
  // past the loss: Drops stopped growing and nothing is queued
  // (Rmem 0; the binding hands every datagram it reads to JavaScript at
  // once, so none is held between the socket and the subscribers). Then the
  // subscribers are told `caughtUp`, and a dump is exact again. Where
  // /proc/self/net/netlink cannot be read, the first look without a new
  // loss stands for it (best effort: the view may be wrong until the next
  // --interval).
  let drops = 0;
  let dropsTimer: NodeJS.Timeout | null = null;
  let reopenTimer: NodeJS.Timeout | null = null;
  let reopenDelay = REOPEN_MIN_MS;
  let warnedUnpatched = false;

  /**
   * Notifications lost on `sock` since the last look (at least 1 when the
   * kernel said so but Drops cannot be read), and the bytes still queued
   * (null when unknown).
   */
  const look = (sock: RtnlSocket, signalled: boolean): { lost: number; queued: number | null } => {
    const port = sock.port();
    const now = port === null ? null : socketQueue(port);
    if (now === null) return { lost: signalled ? 1 : 0, queued: null };
    const lost = Math.max(0, now.drops - drops);
    drops = now.drops;
    return { lost: signalled ? Math.max(1, lost) : lost, queued: now.queued };
  };

  /** After a loss: look again until the socket has been read past it, then say `caughtUp`. */
  const watchDrops = (sock: RtnlSocket): void => {
    if (dropsTimer) return;
    dropsTimer = setTimeout(() => {
      dropsTimer = null;
      if (notifySocket !== sock) return;
      const { lost, queued } = look(sock, false);
      if (lost > 0) {
        logger?.warn({ lost }, 'more kernel notifications lost; re-reading the whole table');
        post({ lost });
      }
      if (lost > 0 || (queued !== null && queued > 0)) watchDrops(sock);
      else post({ lost: 0, caughtUp: true });
    }, DROPS_POLL_MS);
    dropsTimer.unref();
  };

  const reopenLater = (): void => {
    if (reopenTimer || closed || subscribers.size === 0) return;
    const delay = reopenDelay;
    reopenDelay = Math.min(REOPEN_MAX_MS, reopenDelay * 2);
    reopenTimer = setTimeout(() => {
      reopenTimer = null;
      if (closed || subscribers.size === 0) return;
      openNotifications();
      // Whatever changed while no socket listened is unknown: re-read it. The
      // new socket holds nothing from before: any loss is behind it.
      if (notifySocket) post({ lost: 0, resync: true, caughtUp: true });
    }, delay);
    reopenTimer.unref();
  };

  const openNotifications = (): void => {
    if (notifySocket || closed) return;
    if (!warnedUnpatched && !nativeBindingPatched()) {
      warnedUnpatched = true;
      logger?.warn(
        "the netlink package's prebuilt native binding is loaded, not routewarden's patched build (npm's postinstall did not run): a burst of route notifications can abort the process",
      );
    }
    let sock: RtnlSocket;
    try {
      const asked = options.notifyBufferSize ?? NOTIFY_RCVBUF;
      sock = new RtnlSocket({
        groups: [RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV6_ROUTE],
        recvBufferSize: asked,
        peek: true,
        onNotification: onDatagram,
        onError: (err) => {
          if (notifySocket !== sock) return;
          const { lost } = look(sock, true);
          // ENOBUFS (overflow) and EMSGSIZE (a truncated datagram) leave the
          // socket working; anything else may not: open a new one.
          const healthy = err.errno === 'ENOBUFS' || err.errno === 'EMSGSIZE';
          logger?.warn({ errno: err.errno, lost, reopening: !healthy }, 'kernel notifications lost; re-reading the whole table');
          if (healthy) watchDrops(sock);
          else {
            notifySocket = null;
            sock.close();
            reopenLater();
          }
          post({ lost });
        },
      });
      const got = sock.receiveBufferSize();
      // The kernel doubles what it is asked for (bookkeeping); less means rmem_max capped it.
      if (got !== null && got < 2 * asked) {
        logger?.info({ asked, got }, 'kernel notification receive buffer capped by net.core.rmem_max; overflows are detected and resynced');
      }
    } catch (err) {
      // Without notifications the periodic re-check still runs: degrade, do
      // not fail; and try again later.
      logger?.warn({ err }, 'cannot subscribe to kernel route notifications');
      reopenLater();
      return;
    }
    notifySocket = sock;
    drops = 0;
    reopenDelay = REOPEN_MIN_MS;
  };

  const closeNotifications = (): void => {
    if (dropsTimer) clearTimeout(dropsTimer);
    if (reopenTimer) clearTimeout(reopenTimer);
    dropsTimer = null;
    reopenTimer = null;
    notifySocket?.close();
    notifySocket = null;
  };

  return {
    dump,
    add: (spec) => change('adding', spec),
    delete: (spec) => change('deleting', spec),
    applyAll,
    interfaces,
    defaultRoutes,
    subscribe(onChange) {
      const cb = (change?: KernelChange): void => onChange(change);
      subscribers.add(cb);
      openNotifications();
      return () => {
        subscribers.delete(cb);
        if (subscribers.size === 0) closeNotifications();
      };
    },
    async close() {
      closed = true;
      subscribers.clear();
      closeNotifications();
      socket?.close();
      socket = null;
      changeSocket?.close();
      changeSocket = null;
    },
  };
}
