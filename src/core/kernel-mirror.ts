// KernelMirror: kube-vip's routing table as routewarden last knew it, kept
// current from the kernel's route notifications (RouteDelta, delivered with
// KernelTable.subscribe) between full dumps. Pure: no I/O. Hand-written
// because what it must reproduce is the kernel's own bookkeeping (which route
// an NLM_F_REPLACE replaces, where NLM_F_APPEND puts a route), which no
// library models.
//
// Identity. A route is identified by everything routewarden decodes of it
// (family, destination, table, protocol, type, scope, device and ifindex,
// metric, realm, the attributes kube-vip never sets): a delete notification
// carries the full route the kernel removed, so it removes exactly that one,
// and an add of a route already held is a no-op (the kernel cannot hold two
// routes that decode the same, except routes differing only in attribute
// values routewarden does not read, such as two gateways: those collapse
// into one here and the next full dump says so). A replace (NLM_F_REPLACE)
// takes the place of the first route of its group, in the kernel's order:
// IPv4 (linux net/ipv4/fib_trie.c fib_table_insert) groups a destination's
// routes by tos and priority (metric), IPv6 (net/ipv6/ip6_fib.c
// fib6_add_rt2) by metric, preferring a route of the same ECMP-ness. An IPv4
// add into an existing group without NLM_F_APPEND goes first in the group
// (`ip route prepend`), with it last; IPv6 adds always go last. But the
// order within a group is not known for sure (a KernelDump splits owned from
// foreign routes, and a dump with notifications replayed on it may hold a
// group's routes in another order than the kernel for a while), so a replace
// into a group of more than one route is not applied as exact: apply() marks
// the mirror stale and the caller dumps again. kube-vip never stacks routes
// (it adds with NLM_F_EXCL); only `ip route prepend/append` by another
// writer does.
//
// The race between a dump and notifications. Notifications come on their own
// socket, so a notification for a change made before a dump may be read after
// the dump's reply, and one for a change made after the dump may be read
// before it. Every notification carries the whole state of its route (added:
// this route exists; deleted: it does not), so the rule is:
//
//   replace(dump) replays, on top of the dump, every delta apply() saw since
//   the previous replace() (or markStale()).
//
// A change made while the dump was in flight is then in the view whether or
// not the dump saw it; an older notification replayed again changes nothing
// unless a later change to the same route has not been read yet, and that
// one will be applied when it is (notifications on one socket arrive in
// order). A replace removes a route without a notification of its own, so
// the journal records it as that delete and the add; where the mirror could
// not know which route was replaced (the view stale, or a group of several
// routes, above) it is journaled as a replace, and then a replay that
// changes the dump at all is not trusted: replace() leaves the mirror stale.
// The journal is bounded (JOURNAL_LIMIT): beyond it the replay is impossible
// and replace() leaves the mirror stale, so the caller dumps again.
//
// After a loss (markLost(): ENOBUFS, the socket's Drops grew) the kernel
// reports the loss before the notifications still queued from before it,
// and one of those may be older than a dropped one: replayed on a dump, or
// applied after it, it would bring back a route the kernel no longer has (a
// false orphan for as long as nothing touches that route again). No test
// on the replay can tell such a notification from a new one, so the mirror
// waits for the adapter to say that the queue has been read past the loss
// (caughtUp(): KernelChange.caughtUp). Until then it stays stale and
// `catchingUp`, whatever it is given; the first dump after that, with the
// notifications read since, is exact again. A resync without a loss
// (markStale(): a device went down, the socket was reopened) needs no wait:
// the notifications read around the dump are all there, in order. The
// periodic full dump (--interval) is the safety net for everything else.
//
// Use: subscribe first, then replace(await kernel.dump()); take(change) for
// every KernelChange (its routes applied, then its loss, resync and catch-up
// noted); replace(await kernel.dump()) again at every --interval and
// whenever `stale` is true and `catchingUp` is not (loop until it is not).

import type { KernelDump, KernelRoute, RouteProtocol } from './types.ts';

/** One route notification from the kernel, decoded as a dump decodes routes. */
export interface RouteDelta {
  readonly op: 'add' | 'delete';
  readonly route: KernelRoute;
  /** add only: the kernel replaced a route of the same group (NLM_F_REPLACE: `ip route replace`). */
  readonly replace?: boolean;
  /** add only: the kernel placed it after the routes of its group (NLM_F_APPEND: `ip route append`). */
  readonly append?: boolean;
}

/**
 * What a KernelTable subscriber is called with. Without an argument: a link,
 * an address or the main table's default route changed (re-read interfaces).
 * With `routes`: route notifications for the bound table, owned and foreign,
 * in the kernel's order, one batch per socket read (`lost` is then 0).
 * With `lost` > 0 or `resync`: notifications are missing and only a full
 * dump() is right; after a loss, only once `caughtUp` has followed.
 *
 * Using it incrementally: a KernelMirror subscribed before the first dump,
 * take(change) for every change, replace(await dump()) at start, every
 * --interval and while `stale` (and not `catchingUp`).
 */
export interface KernelChange {
  /** Notifications the kernel dropped since the last report (receive buffer overflow). */
  readonly lost: number;
  /**
   * The table may have changed without notifications: they were not listened
   * to for a while (the socket was reopened), or a device carrying routes of
   * the table went down, was deleted or renamed, or lost an IPv4 address
   * (IPv4 flushes such routes silently, E20), or an IPv6 multipath route
   * changed (its hops are not tracked one by one).
   */
  readonly resync?: boolean;
  /** Route notifications for the table, decoded as dump() decodes routes. */
  readonly routes?: readonly RouteDelta[];
  /**
   * Every notification queued before the losses reported so far has been
   * delivered: a dump read from now on, with the notifications that follow
   * it, is exact again. Notifications queued before a loss can be read after
   * the loss is reported, and one of them may be older than a dropped one,
   * so until then no dump can be trusted. Posted after every change with
   * `lost` > 0 (once for several), possibly in the same change.
   */
  readonly caughtUp?: boolean;
}

/** The routes at one destination, split as a KernelDump splits them. */
export interface MirrorRoutes {
  readonly owned: readonly KernelRoute[];
  readonly foreign: readonly KernelRoute[];
}

/** Deltas kept for the replay at the next replace(); beyond this the mirror goes stale instead. */
export const JOURNAL_LIMIT = 65_536;

const NONE: MirrorRoutes = Object.freeze({ owned: Object.freeze([]), foreign: Object.freeze([]) });

const sameExtras = (a: readonly string[] | undefined, b: readonly string[] | undefined): boolean => {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

/** Everything routewarden decodes of a route: the mirror's identity. */
const sameRoute = (a: KernelRoute, b: KernelRoute): boolean =>
  a === b ||
  (a.destination === b.destination &&
    a.family === b.family &&
    a.table === b.table &&
    a.protocol === b.protocol &&
    a.type === b.type &&
    a.scope === b.scope &&
    a.ifindex === b.ifindex &&
    a.device === b.device &&
    a.metric === b.metric &&
    a.realm === b.realm &&
    sameExtras(a.extraAttributes, b.extraAttributes));

/** The group a replace acts on within a destination: IPv4 tos and priority, IPv6 metric. */
const sameGroup = (a: KernelRoute, b: KernelRoute): boolean => (a.metric ?? 0) === (b.metric ?? 0) && (a.family === 'ipv6' || hasTos(a) === hasTos(b));
const hasTos = (r: KernelRoute): boolean => r.extraAttributes?.includes('tos') ?? false;
/** IPv6 ECMP siblings are routes with a gateway (rt6_qualify_for_ecmp). */
const ecmp = (r: KernelRoute): boolean => r.extraAttributes?.some((a) => a === 'gateway' || a === 'via' || a === 'multipath') ?? false;

/** Same routes, whatever the order. */
function sameRoutes(a: readonly KernelRoute[] | undefined, b: readonly KernelRoute[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  if (a.length === 1) return sameRoute(a[0]!, b[0]!);
  const left = [...b];
  for (const r of a) {
    const i = left.findIndex((x) => sameRoute(x, r));
    if (i < 0) return false;
    left.splice(i, 1);
  }
  return true;
}

/** What applying one delta did. */
interface Applied {
  readonly changed: boolean;
  /** The route a replace took the place of. */
  readonly replaced?: KernelRoute;
  /** A replace in a group of several routes: `replaced` is a guess. */
  readonly ambiguous?: boolean;
}

const UNCHANGED: Applied = { changed: false };
const CHANGED: Applied = { changed: true };

/** Apply one delta to `view` in place, as the kernel changed its table. */
function applyTo(view: Map<string, KernelRoute[]>, delta: RouteDelta): Applied {
  const route = delta.route;
  const list = view.get(route.destination);
  if (delta.op === 'delete') {
    const i = list ? list.findIndex((r) => sameRoute(r, route)) : -1;
    if (i < 0) return UNCHANGED;
    list!.splice(i, 1);
    if (list!.length === 0) view.delete(route.destination);
    return CHANGED;
  }
  if (!list) {
    view.set(route.destination, [route]);
    return CHANGED;
  }
  // A replace into a group of several routes is a guess, even when the new
  // route is one of them (IPv6 then still replaces the group's first).
  if (delta.replace && list.filter((r) => sameGroup(r, route)).length > 1) {
    if (list.some((r) => sameRoute(r, route))) return { changed: false, ambiguous: true };
    const target = list.findIndex((r) => sameGroup(r, route));
    const replaced = list[target]!;
    list[target] = route;
    return { changed: true, replaced, ambiguous: true };
  }
  if (list.some((r) => sameRoute(r, route))) return UNCHANGED;
  if (delta.replace) {
    let target = -1;
    if (route.family === 'ipv6') target = list.findIndex((r) => sameGroup(r, route) && ecmp(r) === ecmp(route));
    if (target < 0) target = list.findIndex((r) => sameGroup(r, route));
    if (target >= 0) {
      const replaced = list[target]!;
      list[target] = route;
      return { changed: true, replaced };
    }
  }
  if (route.family === 'ipv4' && !delta.append) {
    const first = list.findIndex((r) => sameGroup(r, route));
    if (first >= 0) {
      list.splice(first, 0, route);
      return CHANGED;
    }
  } else {
    const last = list.findLastIndex((r) => sameGroup(r, route));
    if (last >= 0) {
      list.splice(last + 1, 0, route);
      return CHANGED;
    }
  }
  list.push(route);
  return CHANGED;
}

export class KernelMirror {
  readonly #protocol: RouteProtocol;
  /** destination -> its routes in the kernel's order. */
  #view = new Map<string, KernelRoute[]>();
  #stale = true;
  /** Notifications were lost and the ones queued before the loss may not all have been read (markLost()). */
  #catchingUp = false;
  /** Deltas since the last replace()/markStale(), for the replay; null when it overflowed. */
  #journal: RouteDelta[] | null = [];
  /** The journal holds a replace whose replaced route was not known. */
  #journalUnsure = false;
  #dump: KernelDump | null = null;
  #at = new Map<string, MirrorRoutes>();

  /** `protocol`: kube-vip's; routes with it are owned, the others in the table foreign. */
  constructor(protocol: RouteProtocol) {
    this.#protocol = protocol;
  }

  /** True before the first replace(), after markStale() or markLost(), and after a replace() that could not be trusted: dump again (once not `catchingUp`). */
  get stale(): boolean {
    return this.#stale;
  }

  /** Notifications were lost, and not all of those queued before the loss have been read: no dump can be trusted yet (see the header). */
  get catchingUp(): boolean {
    return this.#catchingUp;
  }

  /** The table may have changed without notifications (none lost): only a full dump is right now. */
  markStale(): void {
    this.#stale = true;
    this.#journal = [];
    this.#journalUnsure = false;
  }

  /** Notifications were lost: stale, and no dump is trusted until caughtUp(). */
  markLost(): void {
    this.markStale();
    this.#catchingUp = true;
  }

  /** Every notification queued before the losses so far has been applied: the next replace() can be trusted again. */
  caughtUp(): void {
    if (!this.#catchingUp) return;
    this.#catchingUp = false;
    // What was read while catching up may be older than what was dropped: not replayed.
    this.markStale();
  }

  /**
   * Replace the whole view with a fresh dump, with the deltas seen since the
   * previous replace() replayed on top (see the header); returns the
   * destinations whose routes differ from the previous view. Leaves `stale`
   * true while catching up after a loss, and when the replay could not be
   * done or, with a replace journaled as such, changed the dump.
   */
  replace(dump: KernelDump): Set<string> {
    const next = new Map<string, KernelRoute[]>();
    for (const part of [dump.owned, dump.foreign])
      for (const r of part) {
        const list = next.get(r.destination);
        if (list) list.push(r);
        else next.set(r.destination, [r]);
      }
    let replayChanged = false;
    for (const d of this.#journal ?? []) if (applyTo(next, d).changed) replayChanged = true;
    // With a replace journaled as such (which route it took the place of was
    // not known), a replay that changes the dump may be bringing back a
    // route the kernel no longer has.
    const trusted = !this.#catchingUp && this.#journal !== null && !(this.#journalUnsure && replayChanged);
    const changed = new Set<string>();
    for (const [destination, routes] of next) if (!sameRoutes(this.#view.get(destination), routes)) changed.add(destination);
    for (const destination of this.#view.keys()) if (!next.has(destination)) changed.add(destination);
    this.#view = next;
    this.#journal = [];
    this.#journalUnsure = false;
    this.#stale = !trusted;
    this.#invalidate(changed);
    return changed;
  }

  /**
   * Apply notifications in order; returns the destinations whose routes
   * changed. Sets `stale` when one cannot be applied exactly (see the header).
   */
  apply(deltas: readonly RouteDelta[]): Set<string> {
    const changed = new Set<string>();
    for (const d of deltas) {
      const trusted = !this.#stale;
      const result = applyTo(this.#view, d);
      if (result.ambiguous) this.#stale = true;
      if (result.changed) changed.add(d.route.destination);
      if (this.#journal) {
        if (this.#journal.length >= JOURNAL_LIMIT) this.#journal = null;
        // A replace deletes a route without a notification of its own: the
        // journal says so, or a replay would bring the replaced route back
        // from an older notification. Only a trusted view knows which one.
        else if (!d.replace) this.#journal.push(d);
        else if (!trusted || result.ambiguous) {
          this.#journal.push(d);
          this.#journalUnsure = true;
        } else if (result.replaced) this.#journal.push({ op: 'delete', route: result.replaced }, { op: 'add', route: d.route });
        else this.#journal.push({ op: 'add', route: d.route, ...(d.append && { append: true }) });
      }
    }
    this.#invalidate(changed);
    return changed;
  }

  /** One KernelChange from KernelTable.subscribe, in order: its routes applied, then its loss, resync and catch-up noted. Returns the destinations whose routes changed. */
  take(change: KernelChange): Set<string> {
    const changed = change.routes ? this.apply(change.routes) : new Set<string>();
    if (change.lost > 0) this.markLost();
    if (change.resync) this.markStale();
    if (change.caughtUp) this.caughtUp();
    return changed;
  }

  /** Routes at one destination CIDR, written as the kernel stores it (KernelRoute.destination). */
  at(destination: string): MirrorRoutes {
    let found = this.#at.get(destination);
    if (found) return found;
    const list = this.#view.get(destination);
    if (!list) return NONE;
    found = Object.freeze(this.#split(list));
    this.#at.set(destination, found);
    return found;
  }

  /** The whole view as a KernelDump; the same object until the view changes. */
  dump(): KernelDump {
    if (this.#dump) return this.#dump;
    const owned: KernelRoute[] = [];
    const foreign: KernelRoute[] = [];
    for (const list of this.#view.values()) for (const r of list) (r.protocol === this.#protocol ? owned : foreign).push(r);
    this.#dump = Object.freeze({ owned: Object.freeze(owned), foreign: Object.freeze(foreign) });
    return this.#dump;
  }

  #split(list: readonly KernelRoute[]): MirrorRoutes {
    const owned: KernelRoute[] = [];
    const foreign: KernelRoute[] = [];
    for (const r of list) (r.protocol === this.#protocol ? owned : foreign).push(r);
    // One shared empty side: at 10,000 destinations the empty arrays were 10,000 objects.
    return { owned: owned.length > 0 ? owned : NONE.owned, foreign: foreign.length > 0 ? foreign : NONE.foreign };
  }

  #invalidate(changed: ReadonlySet<string>): void {
    if (changed.size === 0) return;
    this.#dump = null;
    for (const d of changed) this.#at.delete(d);
  }
}
