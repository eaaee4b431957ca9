// The route model shared by every part of routewarden. Pure: no I/O, no
// library imports. Adapters translate into these shapes; the core only ever
// sees these shapes.

/** Address family of a route. */
export type Family = 'ipv4' | 'ipv6';

// Branded numbers: a table id, a route protocol and a route type are different
// things (kube-vip once wrote a route *type* constant into the *protocol*
// field). The compiler refuses to mix them up.
declare const tableBrand: unique symbol;
declare const protocolBrand: unique symbol;
declare const routeTypeBrand: unique symbol;
export type TableId = number & { readonly [tableBrand]: 'TableId' };
export type RouteProtocol = number & { readonly [protocolBrand]: 'RouteProtocol' };
export type RouteType = number & { readonly [routeTypeBrand]: 'RouteType' };

export const tableId = (n: number): TableId => n as TableId;
export const routeProtocol = (n: number): RouteProtocol => n as RouteProtocol;
export const routeType = (n: number): RouteType => n as RouteType;

/** RTN_UNICAST: kube-vip's default `vip_routingtabletype`. */
export const RTN_UNICAST = routeType(1);
/** RTN_LOCAL. */
export const RTN_LOCAL = routeType(2);
/** RT_SCOPE_UNIVERSE: the scope kube-vip uses for every non-local route. */
export const RT_SCOPE_UNIVERSE = 0;
/** RT_SCOPE_LINK: kube-vip's scope for RTN_LOCAL routes. */
export const RT_SCOPE_LINK = 253;

/**
 * A route as the kernel holds it, translated from a netlink message.
 * `destination` is CIDR exactly as the kernel stores it (IPv6 prefixes masked
 * by the kernel, IPv4 host bits as given).
 */
export interface KernelRoute {
  readonly family: Family;
  readonly destination: string;
  readonly table: TableId;
  readonly protocol: RouteProtocol;
  readonly type: RouteType;
  readonly scope: number;
  /** Output interface name; null when the route has no single output device. */
  readonly device: string | null;
  readonly ifindex: number;
  /** Informational only; never part of the identity (kernel sets 1024 on IPv6). */
  readonly metric?: number;
  /** Informational only; kube-vip flips the CP route's realm 1/2 every tick (E23). */
  readonly realm?: number;
  /** True when the route has a gateway, src, multipath or other attribute kube-vip never sets. */
  readonly extraAttributes?: readonly string[];
}

/**
 * A route routewarden wants in the kernel, with exactly kube-vip's attributes
 * (docs/kube-vip-routing.md §2.1): table, protocol, type, scope universe (link for RTN_LOCAL),
 * destination prefix, output device; no metric, src, gateway or realm.
 */
export interface RouteSpec {
  readonly family: Family;
  readonly destination: string;
  readonly table: TableId;
  readonly protocol: RouteProtocol;
  readonly type: RouteType;
  readonly device: string;
  /**
   * Only for deleting a route that exists: its scope as the kernel reports it.
   * IPv4 deletes match scope exactly, and a route someone added with `ip
   * route add ... dev X` has scope link, not kube-vip's universe. Adds always
   * use kube-vip's scope.
   */
  readonly scope?: number;
}

/** The result of reading kube-vip's table once. */
export interface KernelDump {
  /** Routes in (table, protocol): kube-vip's own. */
  readonly owned: readonly KernelRoute[];
  /** Routes in the table with any other protocol: never touched. */
  readonly foreign: readonly KernelRoute[];
}

/** Health of one side of the comparison, as the report names it. */
export type SourceState = 'ok' | 'unsynced' | 'error';

export interface SourceStatus {
  readonly state: SourceState;
  /** One line, present when state is not ok. */
  readonly message?: string;
}
