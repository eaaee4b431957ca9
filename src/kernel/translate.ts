// Pure translation between the `netlink` package's parsed rtnetlink shapes
// and routewarden's route model. No I/O and no runtime import of the package
// (its native binding is Linux-only; the in-memory table and the unit tests
// must load anywhere), so the few kernel constants needed live here.
//
// Reference: kube-vip-routing-table.md §2.1 (what kube-vip sends), §2.5
// (delete matching), and linux/rtnetlink.h.

import type { rt } from 'netlink';
import { formatIp, hasHostBits, parseCidr } from '../core/ip.ts';
import type { InterfaceInfo } from '../core/cluster.ts';
import {
  RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE,
  RTN_LOCAL,
  routeProtocol,
  routeType,
  tableId,
  type Family,
  type KernelRoute,
  type RouteSpec,
} from '../core/types.ts';

export const AF_INET = 2;
export const AF_INET6 = 10;

/** RTA_* attribute numbers read straight from raw messages. */
const RTA_TABLE = 15;
const RTM_HEADER = 12; // struct rtmsg

/** RTM_F/RTNH_F_ONLINK in rtm_flags: a gateway forced on-link, never set by kube-vip. */
const RTNH_F_ONLINK = 4;

/**
 * The `netlink` package turns known enum values into their names
 * ('UNICAST', 'BOOT', 'LINK') and leaves unknown ones as numbers; the model
 * wants the number. Values from linux/rtnetlink.h.
 */
const ROUTE_TYPES: Readonly<Record<string, number>> = {
  UNSPEC: 0, UNICAST: 1, LOCAL: 2, BROADCAST: 3, ANYCAST: 4, MULTICAST: 5, BLACKHOLE: 6,
  UNREACHABLE: 7, PROHIBIT: 8, THROW: 9, NAT: 10, XRESOLVE: 11,
};
const ROUTE_PROTOCOLS: Readonly<Record<string, number>> = {
  UNSPEC: 0, REDIRECT: 1, KERNEL: 2, BOOT: 3, STATIC: 4, GATED: 8, RA: 9, MRT: 10, ZEBRA: 11,
  BIRD: 12, DNROUTED: 13, XORP: 14, NTK: 15, DHCP: 16, MROUTED: 17, BABEL: 42, BGP: 186,
  ISIS: 187, OSPF: 188, RIP: 189, EIGRP: 192,
};
const ROUTE_SCOPES: Readonly<Record<string, number>> = {
  UNIVERSE: 0, SITE: 200, LINK: 253, HOST: 254, NOWHERE: 255,
};

function enumValue(value: number | string | undefined, names: Readonly<Record<string, number>>): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') return value;
  const n = names[value];
  if (n === undefined) throw new Error(`unknown rtnetlink enum name ${JSON.stringify(value)}`);
  return n;
}

export function familyOfAf(af: number | undefined): Family | null {
  if (af === AF_INET) return 'ipv4';
  if (af === AF_INET6) return 'ipv6';
  return null;
}

export const afOf = (family: Family): number => (family === 'ipv4' ? AF_INET : AF_INET6);

/**
 * The table a raw route message (struct rtmsg + attributes, without the
 * netlink header, at `buf[start, end)`) belongs to, read without parsing the whole message: a dump
 * returns every table and only ours is worth a full parse. RTA_TABLE wins over
 * the one-byte rtm_table, which reads RT_TABLE_COMPAT (252) for tables > 255.
 */
export function routeTableOf(buf: Buffer, start = 0, end = buf.length): number {
  let offset = start + RTM_HEADER;
  while (offset + 4 <= end) {
    const len = buf.readUInt16LE(offset);
    if (len < 4) break;
    const type = buf.readUInt16LE(offset + 2) & 0x3fff;
    if (type === RTA_TABLE && len >= 8 && offset + 8 <= end) return buf.readUInt32LE(offset + 4);
    offset += (len + 3) & ~3;
  }
  return end - start > 4 ? buf.readUInt8(start + 4) : 0;
}

/**
 * A raw route message (struct rtmsg + attributes) decoded into the `netlink`
 * package's RouteMessage shape, restricted to what fromRouteMessage reads.
 * The package's own parseRouteMessage builds ~30 closures and several nested
 * objects per message, which dominates a 50k-route dump; this reads the same
 * bytes with plain offsets (a unit test checks both agree on real messages).
 * Nested attributes kube-vip never sets (metrics, via, cacheinfo...) are
 * recorded by presence only.
 */
export function decodeRouteMessage(data: Buffer): rt.RouteMessage {
  if (data.length < RTM_HEADER) throw new Error(`route message too short (${data.length} bytes)`);
  const route: rt.Route = {
    family: data[0],
    dstLen: data[1],
    srcLen: data[2],
    tos: data[3],
    table: data[4],
    protocol: data[5],
    scope: data[6],
    type: data[7],
  };
  const flags = data.readUInt32LE(8);
  if (flags !== 0) route.flags = { __unknown: flags };
  const attrs: rt.RouteAttrs = {};
  let offset = RTM_HEADER;
  while (offset + 4 <= data.length) {
    const len = data.readUInt16LE(offset);
    if (len < 4 || offset + len > data.length) throw new Error(`malformed route attribute at offset ${offset}`);
    const type = data.readUInt16LE(offset + 2) & 0x3fff;
    const start = offset + 4;
    const end = offset + len;
    // Numbers are read in place; only byte-valued attributes get a view.
    const u32 = len >= 8 ? data.readUInt32LE(start) : 0;
    switch (type) {
      case 1: attrs.dst = data.subarray(start, end); break;
      case 2: attrs.src = data.subarray(start, end); break;
      case 3: attrs.iif = u32; break;
      case 4: attrs.oif = u32; break;
      case 5: attrs.gateway = data.subarray(start, end); break;
      case 6: attrs.priority = u32; break;
      case 7: attrs.prefsrc = data.subarray(start, end); break;
      case 8: attrs.metrics = {}; break;
      case 9: attrs.multipath = data.subarray(start, end); break;
      case 11: attrs.flow = u32; break;
      case RTA_TABLE: attrs.table = u32; break;
      case 16: attrs.mark = data.subarray(start, end); break;
      case 18: attrs.via = {}; break;
      case 19: attrs.newdst = data.subarray(start, end); break;
      case 21: attrs.encapType = len >= 6 ? data.readUInt16LE(start) : 0; break;
      case 22: attrs.encap = data.subarray(start, end); break;
      case 23: attrs.expires = data.subarray(start, end); break;
      case 30: attrs.nhId = data.subarray(start, end); break;
      default: break; // cacheinfo, pref and the rest: informational
    }
    offset += (len + 3) & ~3;
  }
  return { kind: 'route', data: route, attrs };
}

/**
 * Attributes kube-vip never sets (spec §2.1 table: no src, gateway, metric
 * beyond the kernel's IPv6 default, realm except the CP flip, multipath...).
 * Their presence means another writer made or changed the route.
 */
function extraAttributesOf(msg: rt.RouteMessage): string[] {
  const { data, attrs } = msg;
  const extra: string[] = [];
  if (attrs.gateway) extra.push('gateway');
  if (attrs.via) extra.push('via');
  if (attrs.prefsrc) extra.push('prefsrc');
  if (attrs.src || (data.srcLen ?? 0) > 0) extra.push('src');
  if (attrs.multipath) extra.push('multipath');
  if (attrs.nhId) extra.push('nhid');
  if (attrs.encap || attrs.encapType !== undefined) extra.push('encap');
  if (attrs.metrics) extra.push('metrics');
  if (attrs.iif !== undefined) extra.push('iif');
  if (attrs.mark) extra.push('mark');
  if (attrs.expires) extra.push('expires');
  if (attrs.newdst) extra.push('newdst');
  if ((data.tos ?? 0) !== 0) extra.push('tos');
  if (((data.flags?.__unknown ?? 0) & RTNH_F_ONLINK) !== 0) extra.push('onlink');
  if (attrs.flow !== undefined && attrs.flow >>> 16 !== 0) extra.push('fromrealm');
  return extra;
}

/**
 * A parsed route message as routewarden's KernelRoute; null for families
 * other than IPv4/IPv6 or a malformed destination. `linkNames` maps ifindex
 * to interface name; an ifindex missing from it gives `device: null`.
 */
export function fromRouteMessage(msg: rt.RouteMessage, linkNames: ReadonlyMap<number, string>): KernelRoute | null {
  const { data, attrs } = msg;
  const family = familyOfAf(data.family);
  if (!family) return null;
  const dstLen = data.dstLen ?? 0;
  const bytes = family === 'ipv4' ? 4 : 16;
  let address: string;
  if (attrs.dst) {
    if (attrs.dst.length !== bytes) return null;
    address = formatIp({ family, bytes: attrs.dst });
  } else {
    // No RTA_DST: the default route (dst_len 0).
    if (dstLen !== 0) return null;
    address = family === 'ipv4' ? '0.0.0.0' : '::';
  }
  const ifindex = attrs.oif ?? 0;
  const extra = extraAttributesOf(msg);
  const route: {
    -readonly [K in keyof KernelRoute]: KernelRoute[K];
  } = {
    family,
    destination: `${address}/${dstLen}`,
    table: tableId(attrs.table ?? data.table ?? 0),
    protocol: routeProtocol(enumValue(data.protocol, ROUTE_PROTOCOLS)),
    type: routeType(enumValue(data.type, ROUTE_TYPES)),
    scope: enumValue(data.scope, ROUTE_SCOPES),
    device: ifindex !== 0 ? (linkNames.get(ifindex) ?? null) : null,
    ifindex,
  };
  if (attrs.priority !== undefined) route.metric = attrs.priority;
  // RTA_FLOW: to-realm in the low 16 bits (what `ip route ... realm N` sets
  // and kube-vip's CP ReplaceRoute flips between 1 and 2, E23).
  if (attrs.flow !== undefined && (attrs.flow & 0xffff) !== 0) route.realm = attrs.flow & 0xffff;
  if (extra.length > 0) route.extraAttributes = extra;
  return route;
}

/**
 * Why a spec cannot be sent to the kernel at all, or null. These are our own
 * guards, checked before any kernel call: table 0 would land in the main table
 * and protocol 0 would make a delete match any protocol (safety rule 1).
 */
export function specProblem(spec: RouteSpec): string | null {
  const cidr = parseCidr(spec.destination);
  if (!cidr) return `destination ${JSON.stringify(spec.destination)} is not a CIDR`;
  if (cidr.ip.family !== spec.family) return `destination ${spec.destination} is not ${spec.family}`;
  if (!Number.isInteger(spec.table) || spec.table < 1 || spec.table > 0xffffffff) return `table ${spec.table} is not 1..4294967295`;
  if (!Number.isInteger(spec.protocol) || spec.protocol < 1 || spec.protocol > 255) return `protocol ${spec.protocol} is not 1..255`;
  if (!Number.isInteger(spec.type) || spec.type < 1 || spec.type > 255) return `route type ${spec.type} is not 1..255`;
  if (spec.device === '') return 'device is empty';
  return null;
}

/**
 * Why the kernel answers EINVAL to adding or deleting `spec`, for the cases
 * kube-vip can produce (spec §2.1, §2.2; both checked against Linux 6.18). The
 * kernel's own explanation travels in an extended ACK that the `netlink`
 * package cannot enable, so the adapter attaches this one; the in-memory
 * table uses it to refuse the same requests.
 */
export function einvalReason(spec: RouteSpec, verb: 'adding' | 'deleting'): string | null {
  const cidr = parseCidr(spec.destination);
  if (!cidr || spec.family !== 'ipv4') return null;
  if (hasHostBits(cidr.ip, cidr.prefix)) return 'host bits set beyond the prefix length (kernel: "Invalid prefix for given prefix length")';
  // A delete does not check the scope: it just finds no such route.
  if (verb === 'adding' && spec.type === RTN_LOCAL) return 'IPv4 local routes with scope link are refused (kernel: "Invalid scope")';
  return null;
}

/** kube-vip's scope: universe, except link for RTN_LOCAL (spec §2.1, PR #606). */
export const scopeFor = (type: number): number => (type === RTN_LOCAL ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE);

/**
 * The RTM_NEWROUTE / RTM_DELROUTE body for `spec` with exactly kube-vip's
 * attributes (spec §2.1, §2.5): table, protocol, type, scope, dst/len, oif.
 * No metric, src, gateway or realm, or kube-vip's own later delete would miss
 * the route and leave an orphan (safety rule 6). Like vishvananda/netlink, the
 * header carries the table when it fits in a byte and RTA_TABLE always does.
 * The destination goes out unmasked, as kube-vip sends it: the kernel masks
 * IPv6 and rejects IPv4 host bits, and we want exactly that behaviour.
 * Throws on a spec that `specProblem` rejects.
 */
export function toRouteRequest(spec: RouteSpec, ifindex: number): rt.RouteMessage {
  const problem = specProblem(spec);
  if (problem) throw new Error(`invalid route spec: ${problem}`);
  const cidr = parseCidr(spec.destination);
  if (!cidr) throw new Error('unreachable: specProblem accepted a non-CIDR');
  const data: rt.Route = {
    family: afOf(spec.family),
    dstLen: cidr.prefix,
    protocol: spec.protocol,
    scope: spec.scope ?? scopeFor(spec.type),
    type: spec.type,
  };
  if (spec.table <= 255) data.table = spec.table;
  return {
    kind: 'route',
    data,
    attrs: { table: spec.table, dst: Buffer.from(cidr.ip.bytes), oif: ifindex },
  };
}

/** IFF_UP: administratively up. Taking it away flushes the device's routes (E20). */
const IFF_UP = 0x1;

/** The header and name of a link message, which is all routewarden reads of links. */
export interface LinkHeader {
  readonly ifindex: number;
  readonly name: string;
  /** IFF_* flags from struct ifinfomsg. */
  readonly flags: number;
}

const IFINFOMSG = 16;
const IFLA_IFNAME = 3;

/**
 * struct ifinfomsg and IFLA_IFNAME from a raw link message (no nlmsghdr).
 * Read by hand: the package's full link parser checks the length of structs
 * such as the stats block, which newer kernels grow, and would throw.
 */
export function decodeLinkHeader(data: Buffer): LinkHeader {
  if (data.length < IFINFOMSG) throw new Error(`link message too short (${data.length} bytes)`);
  let name = '';
  let offset = IFINFOMSG;
  while (offset + 4 <= data.length) {
    const len = data.readUInt16LE(offset);
    if (len < 4 || offset + len > data.length) break;
    if ((data.readUInt16LE(offset + 2) & 0x3fff) === IFLA_IFNAME) {
      const value = data.subarray(offset + 4, offset + len);
      const nul = value.indexOf(0);
      name = value.toString('utf8', 0, nul < 0 ? value.length : nul);
      break;
    }
    offset += (len + 3) & ~3;
  }
  return { ifindex: data.readInt32LE(4), name, flags: data.readUInt32LE(8) };
}

/** An interface from its link header and its address messages. */
export function toInterfaceInfo(link: LinkHeader, addresses: readonly rt.AddressMessage[]): InterfaceInfo {
  const cidrs: string[] = [];
  for (const a of addresses) {
    if (a.data.index !== link.ifindex) continue;
    const cidr = addressCidr(a);
    if (cidr) cidrs.push(cidr);
  }
  return { name: link.name, ifindex: link.ifindex, up: (link.flags & IFF_UP) !== 0, addresses: cidrs };
}

/**
 * `192.168.1.10/24` for an address message. IFA_LOCAL is the interface's own
 * address; IFA_ADDRESS is the peer on point-to-point links, so LOCAL wins.
 */
export function addressCidr(msg: rt.AddressMessage): string | null {
  const family = familyOfAf(msg.data.family);
  if (!family) return null;
  const raw = msg.attrs.local ?? msg.attrs.address;
  if (!raw || raw.length !== (family === 'ipv4' ? 4 : 16)) return null;
  return `${formatIp({ family, bytes: raw })}/${msg.data.prefixlen ?? 0}`;
}
