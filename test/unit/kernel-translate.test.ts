// Pure translation between rtnetlink messages and the route model, on
// messages captured from a real kernel (test/helpers/kernel-fixtures.ts, made
// by scripts/capture-kernel-fixtures.ts).

import { AttrStream, rt } from 'netlink';
import { describe, expect, it } from 'vitest';
import { RTN_LOCAL, routeProtocol, routeType, tableId, type KernelRoute, type RouteSpec } from '../../src/core/types.ts';
import { formatIp } from '../../src/core/ip.ts';
import {
  AF_INET,
  decodeLinkHeader,
  defaultRouteOif,
  einvalReason,
  encodeRouteRequest,
  setRequestIfindex,
  familyOfAf,
  nameDevices,
  routeFromBytes,
  routeTableOf,
  specProblem,
  toInterfaceInfo,
  toRouteRequest,
} from '../../src/kernel/translate.ts';
import { ADDRESS_FIXTURES, LINK_FIXTURES, ROUTE_FIXTURES } from '../helpers/kernel-fixtures.ts';
import { PROTO, spec } from '../helpers/kernel-contract.ts';
import { kroute } from '../helpers/fixtures.ts';

const LINKS = new Map([
  [1, 'lo'],
  [2, 'rwfix0'],
]);

/** routeFromBytes() with the device named, as the kernel adapter's dump does. */
function routeOf(data: Buffer, links: ReadonlyMap<number, string> = LINKS): KernelRoute | null {
  const route = routeFromBytes(data);
  if (route) nameDevices([route], links);
  return route;
}

// The oracle: the same route from the `netlink` package's own parser, which
// names known enum values ('UNICAST', 'BOOT', 'LINK') and leaves unknown ones
// as numbers (values from linux/rtnetlink.h).
const ROUTE_TYPES: Readonly<Record<string, number>> = {
  UNSPEC: 0,
  UNICAST: 1,
  LOCAL: 2,
  BROADCAST: 3,
  ANYCAST: 4,
  MULTICAST: 5,
  BLACKHOLE: 6,
  UNREACHABLE: 7,
  PROHIBIT: 8,
  THROW: 9,
  NAT: 10,
  XRESOLVE: 11,
};
const ROUTE_PROTOCOLS: Readonly<Record<string, number>> = {
  UNSPEC: 0,
  REDIRECT: 1,
  KERNEL: 2,
  BOOT: 3,
  STATIC: 4,
  GATED: 8,
  RA: 9,
  MRT: 10,
  ZEBRA: 11,
  BIRD: 12,
  DNROUTED: 13,
  XORP: 14,
  NTK: 15,
  DHCP: 16,
  MROUTED: 17,
  BABEL: 42,
  BGP: 186,
  ISIS: 187,
  OSPF: 188,
  RIP: 189,
  EIGRP: 192,
};
const ROUTE_SCOPES: Readonly<Record<string, number>> = { UNIVERSE: 0, SITE: 200, LINK: 253, HOST: 254, NOWHERE: 255 };
const enumValue = (value: number | string | undefined, names: Readonly<Record<string, number>>): number =>
  value === undefined ? 0 : typeof value === 'number' ? value : names[value]!;

function packageRoute(data: Buffer): KernelRoute | null {
  const { data: h, attrs } = rt.parseRouteMessage(data);
  const family = familyOfAf(h.family);
  if (!family) return null;
  const extra: string[] = [];
  if (attrs.gateway) extra.push('gateway');
  if (attrs.via) extra.push('via');
  if (attrs.prefsrc) extra.push('prefsrc');
  if (attrs.src || (h.srcLen ?? 0) > 0) extra.push('src');
  if (attrs.multipath) extra.push('multipath');
  if (attrs.nhId) extra.push('nhid');
  if (attrs.encap || attrs.encapType !== undefined) extra.push('encap');
  if (attrs.metrics) extra.push('metrics');
  if (attrs.iif !== undefined) extra.push('iif');
  if (attrs.mark) extra.push('mark');
  if (attrs.expires) extra.push('expires');
  if (attrs.newdst) extra.push('newdst');
  if ((h.tos ?? 0) !== 0) extra.push('tos');
  if (((h.flags?.__unknown ?? 0) & 4) !== 0) extra.push('onlink');
  if (attrs.flow !== undefined && attrs.flow >>> 16 !== 0) extra.push('fromrealm');
  const address = attrs.dst ? formatIp({ family, bytes: attrs.dst }) : family === 'ipv4' ? '0.0.0.0' : '::';
  return {
    family,
    destination: `${address}/${h.dstLen ?? 0}`,
    table: tableId(attrs.table ?? h.table ?? 0),
    protocol: routeProtocol(enumValue(h.protocol, ROUTE_PROTOCOLS)),
    type: routeType(enumValue(h.type, ROUTE_TYPES)),
    scope: enumValue(h.scope, ROUTE_SCOPES),
    device: attrs.oif ? (LINKS.get(attrs.oif) ?? null) : null,
    ifindex: attrs.oif ?? 0,
    ...(attrs.priority !== undefined ? { metric: attrs.priority } : {}),
    ...(attrs.flow !== undefined && (attrs.flow & 0xffff) !== 0 ? { realm: attrs.flow & 0xffff } : {}),
    ...(extra.length > 0 ? { extraAttributes: extra } : {}),
  };
}

/** struct rtmsg for `family` and `dstLen`, then the given attributes (type, payload). */
function message(family: number, dstLen: number, attrs: ReadonlyArray<readonly [number, Buffer]>): Buffer {
  const head = Buffer.alloc(12);
  head[0] = family;
  head[1] = dstLen;
  const parts = attrs.map(([type, payload]) => {
    const a = Buffer.alloc(4 + payload.length + ((4 - (payload.length % 4)) % 4));
    a.writeUInt16LE(4 + payload.length, 0);
    a.writeUInt16LE(type, 2);
    payload.copy(a, 4);
    return a;
  });
  return Buffer.concat([head, ...parts]);
}

function captured(made: string): Buffer {
  const f = ROUTE_FIXTURES.find((x) => x.made === `ip route add ${made}`);
  if (!f) throw new Error(`no fixture made by "ip route add ${made}"`);
  return Buffer.from(f.hex, 'hex');
}

describe('routeFromBytes', () => {
  const cases: ReadonlyArray<{ name: string; made: string; expected: KernelRoute }> = [
    {
      name: "kube-vip's IPv4 /32 carries no extra attribute",
      made: '10.0.0.5/32 dev lo table 198 proto 248 scope global',
      expected: kroute('10.0.0.5/32'),
    },
    {
      name: "kube-vip's IPv6 /128 shows the kernel's metric 1024",
      made: 'fd00::5/128 dev lo table 198 proto 248',
      expected: kroute('fd00::5/128', { metric: 1024 }),
    },
    {
      name: 'a table above 255 is read from RTA_TABLE, not from the header byte that says 252',
      made: '10.0.0.6/32 dev lo table 1000 proto 248 scope global',
      expected: kroute('10.0.0.6/32', { table: tableId(1000) }),
    },
    {
      name: "the control-plane route's realm is reported as informational",
      made: '10.0.0.7/32 dev lo table 198 proto 248 scope global realm 2',
      expected: kroute('10.0.0.7/32', { realm: 2 }),
    },
    {
      name: 'a gateway and a preferred source are listed as extra attributes',
      made: '10.0.0.8/32 via 192.168.1.1 dev rwfix0 table 198 proto static src 192.168.1.10',
      expected: kroute('10.0.0.8/32', { protocol: routeProtocol(4), device: 'rwfix0', ifindex: 2, extraAttributes: ['gateway', 'prefsrc'] }),
    },
    {
      name: 'an IPv4 default route is 0.0.0.0/0',
      made: 'default via 192.168.1.1 dev rwfix0 table 198 proto 248',
      expected: kroute('0.0.0.0/0', { device: 'rwfix0', ifindex: 2, extraAttributes: ['gateway'] }),
    },
    {
      name: 'an IPv6 default route is ::/0',
      made: '::/0 dev lo table 198 proto 248',
      expected: kroute('::/0', { metric: 1024 }),
    },
    {
      name: 'a multipath route has no single device',
      made: '10.0.0.9/32 table 198 proto 248 nexthop via 192.168.1.1 dev rwfix0 nexthop via 192.168.1.2 dev rwfix0',
      expected: kroute('10.0.0.9/32', { device: null, ifindex: 0, extraAttributes: ['multipath'] }),
    },
    {
      name: 'an IPv6 local route keeps its type and reports scope universe',
      made: 'local fd00::8/128 dev lo table 198 proto 248',
      expected: kroute('fd00::8/128', { type: RTN_LOCAL, metric: 1024 }),
    },
    {
      name: 'an explicit IPv4 metric is reported',
      made: '10.0.0.10/32 dev lo table 198 proto 248 scope global metric 50',
      expected: kroute('10.0.0.10/32', { metric: 50 }),
    },
    {
      name: 'a blackhole route has its type and no device',
      made: 'blackhole 10.0.0.11/32 table 198 proto 248',
      expected: kroute('10.0.0.11/32', { type: routeType(6), device: null, ifindex: 0 }),
    },
    {
      name: 'an on-link gateway is listed as extra',
      made: '10.0.0.12/32 via 192.168.9.1 dev rwfix0 onlink table 198 proto 248',
      expected: kroute('10.0.0.12/32', { device: 'rwfix0', ifindex: 2, extraAttributes: ['gateway', 'onlink'] }),
    },
    {
      name: "ip's default link scope for a device route is kept, so it differs from kube-vip's",
      made: '10.0.0.13/32 dev rwfix0 table 198 proto 248',
      expected: kroute('10.0.0.13/32', { scope: 253, device: 'rwfix0', ifindex: 2 }),
    },
    {
      name: 'a proto boot route (kube-vip before PR #763) has protocol 3',
      made: '10.0.0.14/32 dev lo table 198 proto boot scope global',
      expected: kroute('10.0.0.14/32', { protocol: routeProtocol(3) }),
    },
    {
      name: 'an IPv6 prefix is the masked prefix the kernel stored',
      made: 'fd00:1::5/64 dev lo table 198 proto 248',
      expected: kroute('fd00:1::/64', { metric: 1024 }),
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      expect(routeOf(captured(c.made))).toEqual(c.expected);
    });
  }

  it('every captured fixture is covered by a case above', () => {
    expect(ROUTE_FIXTURES.map((f) => f.made).sort()).toEqual(cases.map((c) => `ip route add ${c.made}`).sort());
  });

  it("agrees with the netlink package's parser on every captured message", () => {
    for (const f of ROUTE_FIXTURES) {
      const data = Buffer.from(f.hex, 'hex');
      expect({ made: f.made, route: routeOf(data) }).toEqual({ made: f.made, route: packageRoute(data) });
    }
  });

  it('an ifindex with no known name gives no device but keeps the ifindex', () => {
    expect(routeOf(captured('10.0.0.5/32 dev lo table 198 proto 248 scope global'), new Map())).toEqual(kroute('10.0.0.5/32', { device: null }));
  });

  it('a message of another address family is not a route for us', () => {
    expect(routeFromBytes(message(7, 0, []))).toBeNull();
  });

  it('a destination of the wrong length for its family is refused rather than misread', () => {
    expect(routeFromBytes(message(AF_INET, 32, [[1, Buffer.alloc(16)]]))).toBeNull();
    expect(routeFromBytes(message(AF_INET, 32, [[1, Buffer.from([10, 0, 0, 5])]]))).toMatchObject({ destination: '10.0.0.5/32' });
  });

  it('a truncated attribute is an error, not a silently partial route', () => {
    const data = captured('10.0.0.5/32 dev lo table 198 proto 248 scope global');
    expect(() => routeFromBytes(data.subarray(0, data.length - 2))).toThrow(/malformed route attribute/);
  });
});

describe('routeTableOf', () => {
  const cases = [
    { name: 'reads table 198 from RTA_TABLE', data: captured('10.0.0.5/32 dev lo table 198 proto 248 scope global'), table: 198 },
    { name: 'reads table 1000 where the header byte says 252', data: captured('10.0.0.6/32 dev lo table 1000 proto 248 scope global'), table: 1000 },
    { name: 'falls back to the header byte when there is no RTA_TABLE', data: Buffer.from('02200000fe04000100000000', 'hex'), table: 254 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(routeTableOf(c.data)).toBe(c.table);
    });
  }

  it('reads a message in place inside a larger datagram', () => {
    const message = captured('10.0.0.6/32 dev lo table 1000 proto 248 scope global');
    const datagram = Buffer.concat([Buffer.alloc(16, 0xff), message, Buffer.alloc(8, 0xff)]);
    expect(routeTableOf(datagram, 16, 16 + message.length)).toBe(1000);
  });
});

describe('toRouteRequest', () => {
  const cases: ReadonlyArray<{ name: string; spec: RouteSpec; ifindex: number; expected: rt.RouteMessage }> = [
    {
      name: 'an IPv4 /32 carries table, protocol, unicast, scope universe, dst and oif, with the table also in the header',
      spec: spec('10.0.0.5/32'),
      ifindex: 1,
      expected: {
        kind: 'route',
        data: { family: 2, dstLen: 32, protocol: PROTO, scope: 0, type: 1, table: 198 },
        attrs: { table: 198, dst: Buffer.from([10, 0, 0, 5]), oif: 1 },
      },
    },
    {
      name: 'a table above 255 goes only in RTA_TABLE',
      spec: spec('10.0.0.5/32', { table: tableId(1000) }),
      ifindex: 3,
      expected: {
        kind: 'route',
        data: { family: 2, dstLen: 32, protocol: PROTO, scope: 0, type: 1 },
        attrs: { table: 1000, dst: Buffer.from([10, 0, 0, 5]), oif: 3 },
      },
    },
    {
      name: 'a local route gets scope link, as kube-vip sends it',
      spec: spec('fd00::8/128', { type: RTN_LOCAL }),
      ifindex: 1,
      expected: {
        kind: 'route',
        data: { family: 10, dstLen: 128, protocol: PROTO, scope: 253, type: 2, table: 198 },
        attrs: { table: 198, dst: Buffer.from('fd000000000000000000000000000008', 'hex'), oif: 1 },
      },
    },
    {
      name: 'an IPv6 prefix goes out unmasked, as kube-vip sends it',
      spec: spec('fd00:1::5/64'),
      ifindex: 1,
      expected: {
        kind: 'route',
        data: { family: 10, dstLen: 64, protocol: PROTO, scope: 0, type: 1, table: 198 },
        attrs: { table: 198, dst: Buffer.from('fd000001000000000000000000000005', 'hex'), oif: 1 },
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(toRouteRequest(c.spec, c.ifindex)).toEqual(c.expected);
    });
  }

  it('encodes to exactly kube-vip attributes and nothing else: no metric, src, gateway or realm', () => {
    const stream = new AttrStream();
    rt.formatRouteMessage(toRouteRequest(spec('10.0.0.5/32', { table: tableId(1000) }), 7), stream);
    const bytes = Buffer.concat(stream.bufs);
    // struct rtmsg: family, dst_len, src_len, tos, table (0 = see RTA_TABLE), protocol, scope, type, flags.
    expect(bytes.subarray(0, 12).toString('hex')).toBe('0220000000f8000100000000');
    const decoded = rt.parseRouteMessage(bytes);
    expect(decoded.attrs).toEqual({ table: 1000, dst: Buffer.from([10, 0, 0, 5]), oif: 7 });
  });

  it("encodeRouteRequest writes the netlink package's bytes for the same request", () => {
    const specs = [
      spec('10.0.0.5/32'),
      spec('10.0.0.5/32', { table: tableId(1000) }),
      spec('fd00::5/128'),
      spec('fd00:1::/64', { type: RTN_LOCAL }),
      spec('192.168.10.100/32', { protocol: routeProtocol(3), scope: 253 }),
    ];
    for (const s of specs) {
      const stream = new AttrStream();
      rt.formatRouteMessage(toRouteRequest(s, 7), stream);
      const ours = encodeRouteRequest(s, 9);
      if (!Buffer.isBuffer(ours)) throw new Error(`refused ${s.destination}: ${ours.problem}`);
      setRequestIfindex(ours, 7);
      expect({ destination: s.destination, hex: ours.toString('hex') }).toEqual({
        destination: s.destination,
        hex: Buffer.concat(stream.bufs).toString('hex'),
      });
    }
  });

  it('encodeRouteRequest gives the problem of a spec that cannot be sent', () => {
    expect(encodeRouteRequest(spec('10.0.0.5/32', { table: tableId(0) }), 1)).toEqual({ problem: 'table 0 is not 1..4294967295' });
    expect(encodeRouteRequest(spec('10.0.0.5/33'), 1)).toEqual({ problem: 'destination "10.0.0.5/33" is not a CIDR' });
  });

  it('refuses a spec that specProblem rejects instead of sending it', () => {
    expect(() => toRouteRequest(spec('10.0.0.5/32', { table: tableId(0) }), 1)).toThrow(/invalid route spec: table 0/);
  });
});

describe('specProblem and einvalReason', () => {
  const cases: ReadonlyArray<{ name: string; spec: RouteSpec; verb: 'adding' | 'deleting'; problem: string | null; einval: string | null }> = [
    { name: "kube-vip's IPv4 /32 is fine", spec: spec('10.0.0.5/32'), verb: 'adding', problem: null, einval: null },
    {
      name: 'table 0 would land in the main table',
      spec: spec('10.0.0.5/32', { table: tableId(0) }),
      verb: 'adding',
      problem: 'table 0 is not 1..4294967295',
      einval: null,
    },
    {
      name: 'protocol 0 would make a delete match any protocol',
      spec: spec('10.0.0.5/32', { protocol: routeProtocol(0) }),
      verb: 'deleting',
      problem: 'protocol 0 is not 1..255',
      einval: null,
    },
    {
      name: 'protocol 256 does not fit the header byte',
      spec: spec('10.0.0.5/32', { protocol: routeProtocol(256) }),
      verb: 'adding',
      problem: 'protocol 256 is not 1..255',
      einval: null,
    },
    { name: 'a bare address is not a destination', spec: spec('10.0.0.5'), verb: 'adding', problem: 'destination "10.0.0.5" is not a CIDR', einval: null },
    {
      name: 'the family must match the destination',
      spec: spec('fd00::5/128', { family: 'ipv4' }),
      verb: 'adding',
      problem: 'destination fd00::5/128 is not ipv4',
      einval: null,
    },
    { name: 'an empty device is refused', spec: spec('10.0.0.5/32', { device: '' }), verb: 'adding', problem: 'device is empty', einval: null },
    {
      name: 'IPv4 host bits beyond the prefix are the kernel EINVAL on add',
      spec: spec('10.0.1.5/24'),
      verb: 'adding',
      problem: null,
      einval: 'host bits set beyond the prefix length (kernel: "Invalid prefix for given prefix length")',
    },
    {
      name: 'IPv4 host bits beyond the prefix are the kernel EINVAL on delete too',
      spec: spec('10.0.1.5/24'),
      verb: 'deleting',
      problem: null,
      einval: 'host bits set beyond the prefix length (kernel: "Invalid prefix for given prefix length")',
    },
    { name: 'IPv6 host bits are masked by the kernel, not refused', spec: spec('fd00:1::5/64'), verb: 'adding', problem: null, einval: null },
    {
      name: 'an IPv4 local route is refused on add for its link scope',
      spec: spec('10.0.0.9/32', { type: RTN_LOCAL }),
      verb: 'adding',
      problem: null,
      einval: 'IPv4 local routes with scope link are refused (kernel: "Invalid scope")',
    },
    {
      name: 'deleting an IPv4 local route is not an EINVAL, it just finds nothing',
      spec: spec('10.0.0.9/32', { type: RTN_LOCAL }),
      verb: 'deleting',
      problem: null,
      einval: null,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect({ problem: specProblem(c.spec), einval: einvalReason(c.spec, c.verb) }).toEqual({ problem: c.problem, einval: c.einval });
    });
  }
});

describe('interfaces from link and address messages', () => {
  const links = LINK_FIXTURES.map((hex) => decodeLinkHeader(Buffer.from(hex, 'hex')));
  const addresses = ADDRESS_FIXTURES.map((hex) => rt.parseAddressMessage(Buffer.from(hex, 'hex')));

  it('reads each link name, index and flags from the header and IFLA_IFNAME', () => {
    expect(links.map((l) => [l.ifindex, l.name, (l.flags & 1) === 1])).toEqual([
      [1, 'lo', true],
      [2, 'rwfix0', true],
    ]);
  });

  it('gathers each interface its own addresses as CIDRs in both families', () => {
    expect(links.map((l) => toInterfaceInfo(l, addresses))).toEqual([
      { name: 'lo', ifindex: 1, up: true, addresses: ['127.0.0.1/8', '::1/128'] },
      { name: 'rwfix0', ifindex: 2, up: true, addresses: ['192.168.1.10/24', expect.stringMatching(/^fe80::.*\/64$/)] },
    ]);
  });

  it('an interface without the up flag is down', () => {
    expect(toInterfaceInfo({ ifindex: 9, name: 'eth9', flags: 0x1002 }, [])).toEqual({ name: 'eth9', ifindex: 9, up: false, addresses: [] });
  });
});

describe('defaultRouteOif: the main table default route kube-vip takes its interface from (getDefaultRoute)', () => {
  const attr = (type: number, value: Buffer): Buffer => {
    const len = 4 + value.length;
    const b = Buffer.alloc((len + 3) & ~3);
    b.writeUInt16LE(len, 0);
    b.writeUInt16LE(type, 2);
    value.copy(b, 4);
    return b;
  };
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n, 0);
    return b;
  };
  const rtmsg = (opts: { dstLen?: number; table?: number }, ...attrs: Buffer[]): Buffer => {
    const h = Buffer.alloc(12);
    h[0] = 2; // AF_INET
    h[1] = opts.dstLen ?? 0;
    h[4] = opts.table ?? 254;
    h[5] = 3; // proto boot
    h[7] = 1; // unicast
    return Buffer.concat([h, ...attrs]);
  };
  const nexthop = (ifindex: number): Buffer => {
    const b = Buffer.alloc(8);
    b.writeUInt16LE(8, 0);
    b.writeInt32LE(ifindex, 4);
    return b;
  };
  it('a default route of the main table: its RTA_OIF', () => {
    expect(defaultRouteOif(rtmsg({}, attr(5, Buffer.from([192, 0, 2, 1])), attr(4, u32(7))))).toBe(7);
  });
  it('a multipath default route: the first hop with a device', () => {
    expect(defaultRouteOif(rtmsg({}, attr(9, Buffer.concat([nexthop(0), nexthop(9), nexthop(11)]))))).toBe(9);
  });
  it('RTA_TABLE wins over rtm_table; another table, or a route that is not a default route, gives 0', () => {
    expect(defaultRouteOif(rtmsg({ table: 252 }, attr(15, u32(254)), attr(4, u32(3))))).toBe(3);
    expect(defaultRouteOif(rtmsg({ table: 198 }, attr(4, u32(3))))).toBe(0);
    expect(defaultRouteOif(rtmsg({ dstLen: 24 }, attr(1, Buffer.from([10, 0, 0, 0])), attr(4, u32(3))))).toBe(0);
  });
  it('a default route without a device (unreachable default) gives 0', () => {
    expect(defaultRouteOif(rtmsg({}))).toBe(0);
  });
});
