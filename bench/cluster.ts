// A synthetic large cluster, deterministic: LoadBalancer Services (IPv4,
// IPv6 and dual-stack; Cluster and Local) with EndpointSlices spread over the
// nodes, sized so that exactly `routes` VIPs are placed on the node under test
// (election none, kube-vip's default: Cluster Services with endpoints are
// placed on every node, Local ones only where a serving endpoint runs).

import { formatIp, parseIp } from '../src/core/ip.ts';
import { RTN_UNICAST, routeProtocol, tableId, type KernelRoute } from '../src/core/types.ts';
import { endpointSlice, service } from '../tools/apidouble/index.ts';
import type { ApiDouble, KubeObject } from '../tools/apidouble/index.ts';

export const NODE = 'node-000';

/** A host route in table 198 on lo as the kernel reports it (IPv6 with the kernel's metric 1024), for in-process probes. */
export const kernelRoute = (ip: string, protocol = 248): KernelRoute => ({
  family: ip.includes(':') ? 'ipv6' : 'ipv4',
  destination: `${formatIp(parseIp(ip)!)}/${ip.includes(':') ? 128 : 32}`,
  table: tableId(198),
  protocol: routeProtocol(protocol),
  type: RTN_UNICAST,
  scope: 0,
  device: 'lo',
  ifindex: 1,
  ...(ip.includes(':') ? { metric: 1024 } : {}),
});
export const NAMESPACES = ['default', 'shop', 'payments', 'search', 'media', 'ops', 'data', 'edge'];

/** The n-th service VIP of a family: 10.64.0.0/10 and fd00:5::/64. */
export const vip4 = (i: number): string => `10.${64 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`;
export const vip6 = (i: number): string => `fd00:5::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`;
/** Addresses no Service has: orphans made on purpose. */
export const stray4 = (i: number): string => `10.200.${(i >> 8) & 255}.${i & 255}`;
export const stray6 = (i: number): string => `fd00:dead::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`;
/** Another writer's routes in the same table (protocol static). */
export const foreign4 = (i: number): string => `172.16.${(i >> 8) & 255}.${i & 255}`;
export const foreign6 = (i: number): string => `fd00:f::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`;
/** Filler for the big kernel scale (routes no Service justifies). */
export const filler4 = (i: number): string => `10.${128 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`;
export const filler6 = (i: number): string => `fd00:6::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`;

const pod4 = (i: number): string => `100.${64 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`;
const pod6 = (i: number): string => `fd00:ec::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`;

export type Stack = 'ipv4' | 'ipv6' | 'dual';

export interface ServicePlan {
  readonly index: number;
  readonly namespace: string;
  readonly name: string;
  readonly stack: Stack;
  readonly policy: 'Cluster' | 'Local';
  /** Local only: a serving endpoint on the node under test. */
  readonly localHere: boolean;
  readonly ips: readonly string[];
}

export interface GeneratedCluster {
  readonly plans: readonly ServicePlan[];
  /** The VIPs placed on the node under test, as `ip route` destinations (no prefix). */
  readonly placed: readonly string[];
  readonly nodes: readonly string[];
}

const stackOf = (i: number): Stack => (i % 10 < 6 ? 'ipv4' : i % 10 < 8 ? 'ipv6' : 'dual');

function ipsOf(i: number, stack: Stack): string[] {
  if (stack === 'ipv4') return [vip4(i)];
  if (stack === 'ipv6') return [vip6(i)];
  return [vip4(i), vip6(i)];
}

/**
 * `services` Services whose placed VIPs on NODE number exactly `routes`
 * (or all VIPs when there are fewer): Local Services are made "not here"
 * until the surplus is used up.
 */
export function generateCluster(services: number, routes: number, nodeCount: number): GeneratedCluster {
  const nodes = Array.from({ length: Math.max(1, nodeCount) }, (_, n) => `node-${String(n).padStart(3, '0')}`);
  const stacks = Array.from({ length: services }, (_, i) => stackOf(i));
  const totalVips = stacks.reduce((n, s) => n + (s === 'dual' ? 2 : 1), 0);
  let surplus = Math.max(0, totalVips - routes);
  const plans: ServicePlan[] = [];
  const placed: string[] = [];
  for (let i = 0; i < services; i++) {
    const stack = stacks[i]!;
    const ips = ipsOf(i, stack);
    let policy: 'Cluster' | 'Local' = i % 3 === 0 ? 'Local' : 'Cluster';
    let localHere = true;
    if (surplus >= ips.length && (policy === 'Local' || surplus > services - i)) {
      // Not placed here: a Local Service whose endpoints all run elsewhere.
      policy = 'Local';
      localHere = false;
      surplus -= ips.length;
    }
    const ns = NAMESPACES[i % NAMESPACES.length]!;
    plans.push({ index: i, namespace: ns, name: `svc-${String(i).padStart(5, '0')}`, stack, policy, localHere, ips });
    if (policy === 'Cluster' || localHere) placed.push(...ips);
  }
  return { plans, placed, nodes };
}

/** Three endpoints on nodes spread by a hash; for a Local "here" Service, the first is on NODE. */
function endpointNodes(p: ServicePlan, nodes: readonly string[]): string[] {
  const pick = (k: number): string => {
    const n = nodes.length > 1 ? 1 + ((p.index * 7919 + k * 104729) % (nodes.length - 1)) : 0;
    return nodes[n]!;
  };
  const spread = [pick(0), pick(1), pick(2)];
  if (p.policy === 'Local' && p.localHere) spread[0] = NODE;
  return spread;
}

export function serviceObject(p: ServicePlan, ips: readonly string[] = p.ips): KubeObject {
  return service({
    name: p.name,
    namespace: p.namespace,
    ingressIPs: ips,
    externalTrafficPolicy: p.policy,
    ipFamilies: p.stack === 'dual' ? ['IPv4', 'IPv6'] : p.stack === 'ipv4' ? ['IPv4'] : ['IPv6'],
    ports: [{ port: 443, name: 'https' }],
  });
}

/** One slice per family the Service has. `moved` shifts the endpoints' nodes (churn). */
export function sliceObjects(p: ServicePlan, nodes: readonly string[], moved = 0): KubeObject[] {
  const on = endpointNodes(moved === 0 ? p : { ...p, index: p.index + moved }, nodes);
  if (p.policy === 'Local' && p.localHere) on[0] = NODE;
  const out: KubeObject[] = [];
  const families: ('IPv4' | 'IPv6')[] = p.stack === 'dual' ? ['IPv4', 'IPv6'] : p.stack === 'ipv4' ? ['IPv4'] : ['IPv6'];
  for (const addressType of families) {
    out.push(
      endpointSlice({
        service: p.name,
        namespace: p.namespace,
        name: `${p.name}-${addressType.toLowerCase()}`,
        addressType,
        endpoints: on.map((nodeName, k) => ({
          addresses: [addressType === 'IPv4' ? pod4(p.index * 3 + k) : pod6(p.index * 3 + k)],
          nodeName,
          ready: true,
          serving: true,
          terminating: false,
        })),
      }),
    );
  }
  return out;
}

/** Puts every Service of `cluster` and its EndpointSlices into the API double; returns how many slices. */
export function seedApi(api: ApiDouble, cluster: GeneratedCluster): number {
  let slices = 0;
  for (const p of cluster.plans) {
    for (const s of sliceObjects(p, cluster.nodes)) {
      api.upsert(s);
      slices++;
    }
    api.upsert(serviceObject(p));
  }
  return slices;
}

/** `ip -batch` lines adding routes as kube-vip does (type unicast, scope universe, no metric). */
export const addLine = (ip: string, proto = 248, table = 198): string =>
  `route add ${ip}/${ip.includes(':') ? 128 : 32} dev lo table ${table} proto ${proto} scope global`;
export const delLine = (ip: string, proto = 248, table = 198): string => `route del ${ip}/${ip.includes(':') ? 128 : 32} dev lo table ${table} proto ${proto}`;
