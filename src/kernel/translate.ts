// Pure translation between the `netlink` package's parsed rtnetlink shapes
// and routewarden's route model. No I/O and no runtime import of the package
// (its native binding is Linux-only; the in-memory table and the unit tests
// must load anywhere), so the few kernel constants needed live here.
//
// Reference: docs/kube-vip-routing.md §2.1 (what kube-vip sends), §2.5
// (delete matching), and linux/rtnetlink.h.

import type { rt } from 'netlink';
import { formatCidrAt, formatIp, hasHostBits, parseCidr, type ParsedCidr } from '../core/ip.ts';
import { routeTypeRefusal } from '../core/route-types.ts';
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
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_TABLE = 15;
const RTM_HEADER = 12; // struct rtmsg

/** RTM_F/RTNH_F_ONLINK in rtm_flags: a gateway forced on-link, never set by kube-vip. */
const RTNH_F_ONLINK = 4;

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

/** The attributes kube-vip never sets, in the order extraAttributes lists them; each has the bit of its position. */
const EXTRA_NAMES = [
  'gateway',
  'via',
  'prefsrc',
  'src',
  'multipath',
  'nhid',
  'encap',
  'metrics',
  'iif',
  'mark',
  'expires',
  'newdst',
  'tos',
  'onlink',
  'fromrealm',
] as const;
const bit = (name: (typeof EXTRA_NAMES)[number]): number => 1 << EXTRA_NAMES.indexOf(name);
const X_GATEWAY = bit('gateway');
const X_VIA = bit('via');
const X_PREFSRC = bit('prefsrc');
const X_SRC = bit('src');
const X_MULTIPATH = bit('multipath');
const X_NHID = bit('nhid');
const X_ENCAP = bit('encap');
const X_METRICS = bit('metrics');
const X_IIF = bit('iif');
const X_MARK = bit('mark');
const X_EXPIRES = bit('expires');
const X_NEWDST = bit('newdst');
const X_TOS = bit('tos');
const X_ONLINK = bit('onlink');
const X_FROMREALM = bit('fromrealm');

/** A route as read from the kernel, before its device name is known. */
type FreshRoute = { -readonly [K in keyof KernelRoute]: KernelRoute[K] };

/**
 * A raw route message (struct rtmsg + attributes, without the netlink header,
 * at `buf[start, end)`) as routewarden's KernelRoute, in one pass over the
 * bytes: a 10,000-route dump runs this 10,000 times per check, so nothing is
 * allocated but the route and its destination text (no parsed-message object,
 * no Buffer view per attribute). null for families other than IPv4/IPv6 or a
 * destination of the wrong length; a malformed attribute throws.
 *
 * `device` is null here: the names of the output interfaces are looked up
 * once for the whole dump, then set with nameDevices(). Attributes kube-vip
 * never sets (docs/kube-vip-routing.md §2.1 table: no src, gateway, metric beyond the kernel's
 * IPv6 default, realm except the CP flip, multipath...) are listed in
 * extraAttributes: another writer made or changed the route. The unit tests
 * check this against the `netlink` package's own parser on real messages.
 */
export function routeFromBytes(buf: Buffer, start = 0, end = buf.length): KernelRoute | null {
  if (end - start < RTM_HEADER) throw new Error(`route message too short (${end - start} bytes)`);
  const family = familyOfAf(buf[start]);
  const dstLen = buf[start + 1]!;
  let extra = 0;
  if (buf[start + 2]! > 0) extra |= X_SRC;
  if (buf[start + 3]! !== 0) extra |= X_TOS;
  if ((buf.readUInt32LE(start + 8) & RTNH_F_ONLINK) !== 0) extra |= X_ONLINK;
  let table = buf[start + 4]!;
  let dst = -1;
  let dstBytes = 0;
  let oif = 0;
  let priority = -1;
  let flow = -1;
  let offset = start + RTM_HEADER;
  while (offset + 4 <= end) {
    const len = buf.readUInt16LE(offset);
    if (len < 4 || offset + len > end) throw new Error(`malformed route attribute at offset ${offset - start}`);
    const type = buf.readUInt16LE(offset + 2) & 0x3fff;
    const at = offset + 4;
    const u32 = len >= 8 ? buf.readUInt32LE(at) : 0;
    switch (type) {
      case 1:
        dst = at;
        dstBytes = len - 4;
        break;
      case 2:
        extra |= X_SRC;
        break;
      case 3:
        extra |= X_IIF;
        break;
      case 4:
        oif = u32;
        break;
      case 5:
        extra |= X_GATEWAY;
        break;
      case 6:
        priority = u32;
        break;
      case 7:
        extra |= X_PREFSRC;
        break;
      case 8:
        extra |= X_METRICS;
        break;
      case 9:
        extra |= X_MULTIPATH;
        break;
      case 11:
        flow = u32;
        break;
      case RTA_TABLE:
        table = u32;
        break;
      case 16:
        extra |= X_MARK;
        break;
      case 18:
        extra |= X_VIA;
        break;
      case 19:
        extra |= X_NEWDST;
        break;
      case 21:
      case 22:
        extra |= X_ENCAP;
        break;
      case 23:
        extra |= X_EXPIRES;
        break;
      case 30:
        extra |= X_NHID;
        break;
      default:
        break; // cacheinfo, pref and the rest: informational
    }
    offset += (len + 3) & ~3;
  }
  if (!family) return null;
  let destination: string;
  if (dst >= 0) {
    if (dstBytes !== (family === 'ipv4' ? 4 : 16)) return null;
    destination = formatCidrAt(buf, dst, family, dstLen);
  } else {
    // No RTA_DST: the default route (dst_len 0).
    if (dstLen !== 0) return null;
    destination = family === 'ipv4' ? '0.0.0.0/0' : '::/0';
  }
  if (flow >= 0 && flow >>> 16 !== 0) extra |= X_FROMREALM;
  const route: FreshRoute = {
    family,
    destination,
    table: tableId(table),
    protocol: routeProtocol(buf[start + 5]!),
    type: routeType(buf[start + 7]!),
    scope: buf[start + 6]!,
    device: null,
    ifindex: oif,
  };
  if (priority >= 0) route.metric = priority;
  // RTA_FLOW: to-realm in the low 16 bits (what `ip route ... realm N` sets
  // and kube-vip's CP ReplaceRoute flips between 1 and 2, E23).
  if (flow >= 0 && (flow & 0xffff) !== 0) route.realm = flow & 0xffff;
  if (extra !== 0) route.extraAttributes = EXTRA_NAMES.filter((_, i) => (extra & (1 << i)) !== 0);
  return route;
}

/** RT_TABLE_MAIN. */
export const RT_TABLE_MAIN = 254;
const RTA_MULTIPATH = 9;

/**
 * The output ifindex of a default route of the main table (kube-vip's
 * getDefaultRoute, pkg/vip/util.go: no destination, the route's link index
 * or else the first multipath hop with one), from a raw route message
 * without the netlink header; 0 when the message is something else or has
 * no device. A default route is dst_len 0 whatever RTA_DST holds.
 */
export function defaultRouteOif(buf: Buffer, start = 0, end = buf.length): number {
  if (end - start < RTM_HEADER || buf[start + 1] !== 0) return 0;
  let table = buf[start + 4]!;
  let oif = 0;
  let hop = 0;
  let offset = start + RTM_HEADER;
  while (offset + 4 <= end) {
    const len = buf.readUInt16LE(offset);
    if (len < 4 || offset + len > end) return 0;
    const type = buf.readUInt16LE(offset + 2) & 0x3fff;
    if (type === RTA_TABLE && len >= 8) table = buf.readUInt32LE(offset + 4);
    else if (type === RTA_OIF && len >= 8) oif = buf.readUInt32LE(offset + 4);
    else if (type === RTA_MULTIPATH && hop === 0) {
      // struct rtnexthop: len u16, flags u8, hops u8, ifindex s32, then attributes.
      let nh = offset + 4;
      while (nh + 8 <= offset + len) {
        const nhLen = buf.readUInt16LE(nh);
        const ifindex = buf.readInt32LE(nh + 4);
        if (ifindex > 0) {
          hop = ifindex;
          break;
        }
        if (nhLen < 8) break;
        nh += (nhLen + 3) & ~3;
      }
    }
    offset += (len + 3) & ~3;
  }
  if (table !== RT_TABLE_MAIN) return 0;
  return oif > 0 ? oif : hop;
}

/**
 * Sets the device of routes fresh from routeFromBytes (not yet handed to
 * anyone) from `linkNames` (ifindex -> name); an ifindex missing from it
 * leaves `device: null`.
 */
export function nameDevices(routes: readonly KernelRoute[], linkNames: ReadonlyMap<number, string>): void {
  for (const r of routes) if (r.ifindex !== 0) (r as FreshRoute).device = linkNames.get(r.ifindex) ?? null;
}

/**
 * Why a spec cannot be sent to the kernel at all, or null. These are our own
 * guards, checked before any kernel call: table 0 would land in the main table
 * and protocol 0 would make a delete match any protocol (safety rule 1).
 */
export function specProblem(spec: RouteSpec): string | null {
  return problemWith(spec, parseCidr(spec.destination));
}

function problemWith(spec: RouteSpec, cidr: ParsedCidr | null): string | null {
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
 * kube-vip can produce (docs/kube-vip-routing.md §2.1, §2.2; both checked against Linux 6.18). The
 * kernel's own explanation travels in an extended ACK that the `netlink`
 * package cannot enable, so the adapter attaches this one; the in-memory
 * table uses it to refuse the same requests.
 */
export function einvalReason(spec: RouteSpec, verb: 'adding' | 'deleting'): string | null {
  const cidr = parseCidr(spec.destination);
  if (!cidr) return null;
  if (spec.family === 'ipv4' && hasHostBits(cidr.ip, cidr.prefix))
    return 'host bits set beyond the prefix length (kernel: "Invalid prefix for given prefix length")';
  // A delete does not check the type's scope or device: it just finds no such route.
  return verb === 'adding' ? routeTypeRefusal(spec.family, spec.type) : null;
}

/** kube-vip's scope: universe, except link for RTN_LOCAL (docs/kube-vip-routing.md §2.1, PR #606). */
export const scopeFor = (type: number): number => (type === RTN_LOCAL ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE);

/**
 * The RTM_NEWROUTE / RTM_DELROUTE body for `spec` with exactly kube-vip's
 * attributes (docs/kube-vip-routing.md §2.1, §2.5): table, protocol, type, scope, dst/len, oif.
 * No metric, src, gateway or realm, or kube-vip's own later delete would miss
 * the route and leave an orphan (safety rule 6). Like vishvananda/netlink, the
 * header carries the table when it fits in a byte and RTA_TABLE always does.
 * The destination goes out unmasked, as kube-vip sends it: the kernel masks
 * IPv6 and rejects IPv4 host bits, and we want exactly that behaviour.
 * Throws on a spec that `specProblem` rejects.
 */
export function toRouteRequest(spec: RouteSpec, ifindex: number): rt.RouteMessage {
  const req = routeRequest(spec, ifindex);
  if (typeof req === 'string') throw new Error(`invalid route spec: ${req}`);
  return req;
}

/** toRouteRequest(), or why the spec cannot be sent (specProblem()) instead of a throw. */
function routeRequest(spec: RouteSpec, ifindex: number): rt.RouteMessage | string {
  const cidr = parseCidr(spec.destination);
  const problem = problemWith(spec, cidr);
  if (problem) return problem;
  const data: rt.Route = {
    family: afOf(spec.family),
    dstLen: cidr!.prefix,
    protocol: spec.protocol,
    scope: spec.scope ?? scopeFor(spec.type),
    type: spec.type,
  };
  if (spec.table <= 255) data.table = spec.table;
  return {
    kind: 'route',
    data,
    attrs: { table: spec.table, dst: Buffer.from(cidr!.ip.bytes.buffer, cidr!.ip.bytes.byteOffset, cidr!.ip.bytes.byteLength), oif: ifindex },
  };
}

/**
 * toRouteRequest(spec, ifindex) as the bytes the kernel receives (struct
 * rtmsg, then RTA_TABLE, RTA_DST and RTA_OIF, in the order the `netlink`
 * package writes them), in one Buffer: a 10,000-route repair sends 10,000 of
 * these, and the package's encoder makes seven small buffers and a closure
 * per attribute for each. A spec that cannot be sent gives its problem
 * (specProblem()) instead. The unit tests check the bytes against the
 * package's own encoding.
 */
export function encodeRouteRequest(spec: RouteSpec, ifindex: number): Buffer | { readonly problem: string } {
  const req = routeRequest(spec, ifindex);
  if (typeof req === 'string') return { problem: req };
  const { data, attrs } = req;
  const dst = attrs.dst!;
  const dstAttr = 4 + dst.length; // 4 or 16 address bytes: already 4-aligned
  const buf = Buffer.allocUnsafe(RTM_HEADER + 8 + dstAttr + 8);
  buf[0] = data.family!;
  buf[1] = data.dstLen!;
  buf[2] = 0; // src_len
  buf[3] = 0; // tos
  buf[4] = (data.table as number | undefined) ?? 0; // RT_TABLE_UNSPEC: see RTA_TABLE
  buf[5] = data.protocol as number;
  buf[6] = data.scope as number;
  buf[7] = data.type as number;
  buf.writeUInt32LE(0, 8); // rtm_flags
  let at = RTM_HEADER;
  buf.writeUInt16LE(8, at);
  buf.writeUInt16LE(RTA_TABLE, at + 2);
  buf.writeUInt32LE(attrs.table!, at + 4);
  at += 8;
  buf.writeUInt16LE(dstAttr, at);
  buf.writeUInt16LE(RTA_DST, at + 2);
  buf.set(dst, at + 4);
  at += dstAttr;
  buf.writeUInt16LE(8, at);
  buf.writeUInt16LE(RTA_OIF, at + 2);
  buf.writeUInt32LE(ifindex, at + 4);
  return buf;
}

/** Sets the output interface of a request from encodeRouteRequest() (RTA_OIF is its last attribute). */
export function setRequestIfindex(request: Buffer, ifindex: number): void {
  request.writeUInt32LE(ifindex, request.length - 4);
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
