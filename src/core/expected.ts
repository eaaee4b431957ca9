// expectedRoutes(): which routes kube-vip places on this node, following
// docs/kube-vip-routing.md §2–§5 section by section. Pure: the snapshot, the
// model, the node's interfaces and `now` come in; nothing is read here.

import type { ClusterSnapshot, EndpointSliceInfo, EndpointsInfo, InterfaceInfo, LeaseInfo, ServiceInfo, ThisNodeView } from './cluster.ts';
import { objectKey } from './cluster.ts';
import { endpointCounts } from './endpoint-check.ts';
import { cidrContains, formatCidr, formatIp, hasHostBits, maskIp, parseCidr, parseIp } from './ip.ts';
import type { ParsedIp } from './ip.ts';
import { parseGoBool } from './model.ts';
import type { KubeVipModel, NotJudged, UnjudgedReason } from './model.ts';
import type { Family, RouteType } from './types.ts';
import { routeTypeRefusal, storedDevice } from './route-types.ts';

export const ANNOTATION = {
  loadbalancerIPs: 'kube-vip.io/loadbalancerIPs',
  ignore: 'kube-vip.io/ignore',
  serviceInterface: 'kube-vip.io/serviceInterface',
  serviceVLAN: 'kube-vip.io/serviceVLAN',
  leaseName: 'kube-vip.io/leaseName',
  forcePerServiceElection: 'kube-vip.io/forcePerServiceElection',
  allowWithoutEndpoints: 'kube-vip.io/allow-reconcile-without-endpoints',
  egressIPv6: 'kube-vip.io/egress-ipv6',
  ddns: 'kube-vip.io/ddns',
  requestedIP: 'kube-vip.io/requestedIP',
} as const;

/** Tracker object kube-vip uses for the control-plane VIP; shown as the "service". */
export const CONTROL_PLANE = 'control-plane';

/**
 * kube-vip's StartVipService (pkg/cluster/service.go) adds the control-plane
 * route only while a health check of this node's API server passes, and only
 * for a family this Node has an InternalIP of: neither is visible here.
 */
const CP_HEALTH_CHECK = {
  reason: 'cp-health-check',
  detail: "kube-vip adds the control-plane route only while this node's API server passes its health check, for a family the Node has an InternalIP of",
} as const;

/** Why a Service does not get a route from kube-vip at all (docs/kube-vip-routing.md §3.1). */
export type FilterReason =
  | 'namespace' // outside svc_namespace
  | 'not-loadbalancer' // spec.type is not LoadBalancer
  | 'ignored' // kube-vip.io/ignore: "true"
  | 'lb-class' // loadBalancerClass filter
  | 'force-per-service-election' // E16
  | 'lease-name-with-local-policy' // E17
  | 'services-disabled'; // svc_enable=false

/** Why an eligible Service's VIP is not placed on this node (docs/kube-vip-routing.md §4). */
export type NotPlacedReason =
  | 'no-endpoints'
  | 'no-family-endpoint' // Mode A: no endpoint of the VIP's family (E12)
  | 'no-local-endpoint' // Local policy: no serving endpoint on this node
  | 'lease-elsewhere'
  | 'lease-not-held' // no valid holder (expired, released, absent)
  | 'egress-ipv6-without-ipv6-endpoint' // E14
  | 'no-endpointslice' // global election: only the EndpointSlice watcher starts routes
  | 'earlier-vip-failed'; // no election: an earlier VIP's route add failed, kube-vip stops there

/** VIPs kube-vip cannot install (docs/kube-vip-routing.md §3.3, §2.2, E22): judged, kube-vip routes none of them. */
export type ExcludedReason =
  | 'no-address'
  | 'instance-fails' // NewInstance returns an error (ddns not a bool, requestedIP > 2 entries)
  | 'invalid-subnet'
  | 'kernel-rejects-prefix'
  | 'interface-missing'
  | 'kernel-rejects-type' // vip_routingtabletype the kernel refuses for this family (IPv4: all but unicast and multicast)
  | 'no-node-internal-ip'; // a control-plane VIP of a family this Node has no InternalIP of: the health check never passes (StartVipService)

export type Claim =
  | { readonly service: string; readonly verdict: 'placed'; readonly device: string }
  | { readonly service: string; readonly verdict: 'filtered'; readonly reason: FilterReason }
  | { readonly service: string; readonly verdict: 'not-placed'; readonly reason: NotPlacedReason; readonly detail?: string }
  | { readonly service: string; readonly verdict: 'excluded'; readonly reason: ExcludedReason }
  | { readonly service: string; readonly verdict: 'unjudged'; readonly reason: UnjudgedReason; readonly detail: string };

export interface ExpectedRoute {
  readonly family: Family;
  /** As the kernel stores it: IPv6 host bits masked. */
  readonly destination: string;
  /** The device kube-vip would use; the first justifying Service's (sorted) wins. */
  readonly device: string;
  /** Every device some justifying Service resolves to (same IP, several interfaces: docs/kube-vip-routing.md §5). */
  readonly devices: readonly string[];
  readonly type: RouteType;
  /** `ns/name` of each justifying Service, sorted; `control-plane` for the CP VIP. */
  readonly services: readonly string[];
  /** Ids of the kube-vip instances that place it (E25); absent for a single flags-only model. */
  readonly instances?: readonly string[];
  /**
   * When the table does not hold it at all, it is not judged rather than
   * missing: the control-plane route, which kube-vip adds only while this
   * node's API server passes its health check (StartVipService).
   */
  readonly absentUnjudged?: { readonly reason: UnjudgedReason; readonly detail: string };
}

export interface ExcludedVip {
  readonly service: string;
  readonly address: string;
  readonly reason: ExcludedReason;
}

/** A VIP (or a hostname) whose route routewarden cannot judge: never expected, never an orphan. */
export interface UnjudgedVip {
  readonly service: string;
  /** The IP (normalised), the hostname, or "" when kube-vip has not recorded a DHCP lease yet. */
  readonly address: string;
  readonly family: Family | null;
  /** The route kube-vip would make for it, when that much is known. */
  readonly destination: string | null;
  readonly reason: UnjudgedReason;
  readonly detail: string;
}

/**
 * Routes in the table that no claim can explain but that routewarden still
 * cannot call orphans: `all` (nothing about this kube-vip is known), or
 * `unclaimed` (kube-vip holds addresses it resolved or leased on the node:
 * a route no Service mentions may be one of them).
 */
export interface UnjudgedBlanket {
  readonly scope: 'all' | 'unclaimed';
  readonly reason: UnjudgedReason;
  readonly detail: string;
}

export interface ExpectedSet {
  /** Keyed by destination CIDR. */
  readonly routes: ReadonlyMap<string, ExpectedRoute>;
  /**
   * What every Service says about an address, keyed both by the bare IP and
   * by the destination CIDR, so an orphan can be explained.
   */
  readonly claims: ReadonlyMap<string, readonly Claim[]>;
  readonly excluded: readonly ExcludedVip[];
  /** VIPs routewarden cannot judge (docs/kube-vip-fidelity.md, "Not judged"). */
  readonly unjudged: readonly UnjudgedVip[];
  /** Table routes without a claim that are not judged either. */
  readonly blankets: readonly UnjudgedBlanket[];
}

export interface ExpectedInput {
  readonly snapshot: ClusterSnapshot;
  readonly model: KubeVipModel;
  /** The node's interfaces; null when unknown (then existence is not checked and `auto` cannot resolve). */
  readonly interfaces: readonly InterfaceInfo[] | null;
  /** Epoch milliseconds. */
  readonly now: number;
}

interface Vip {
  readonly ip: ParsedIp;
  readonly text: string;
}

/** The `kube-vip.io/loadbalancerIPs` annotation: comma-separated, each item an IP or else a hostname. */
export function parseLoadbalancerIPs(annotation: string): { ips: string[]; hostnames: string[] } {
  const ips: string[] = [];
  const hostnames: string[] = [];
  for (const raw of annotation.split(',')) {
    const item = raw.trim();
    const ip = parseIp(item);
    // kube-vip keeps ip.String(): "::ffff:10.0.0.5" is "10.0.0.5".
    if (ip) ips.push(formatIp(ip));
    else hostnames.push(item);
  }
  return { ips, hostnames };
}

/** kube-vip's FetchServiceAddresses (docs/kube-vip-routing.md §3.2): IPs and hostnames, in precedence order. */
export function serviceAddresses(svc: ServiceInfo): { ips: readonly string[]; hostnames: readonly string[] } {
  // Parsed once per object version by the adapter; parsed here only for a ServiceInfo built without it.
  if (svc.loadbalancerIPs !== undefined) return svc.loadbalancerIPs;
  const annotation = svc.annotations[ANNOTATION.loadbalancerIPs];
  if (annotation !== undefined) return parseLoadbalancerIPs(annotation);
  const statusIps = svc.ingress.flatMap((i) => (i.ip ? [i.ip] : []));
  const statusHostnames = svc.ingress.flatMap((i) => (i.hostname ? [i.hostname] : []));
  const specIp = svc.loadBalancerIP ?? '';
  const spec = parseIp(specIp);
  if (spec && statusIps.length > 0) {
    // "spec wins over status": a same-family status IP that differs.
    for (const a of statusIps) {
      const p = parseIp(a);
      if (p && p.family === spec.family && !sameIp(p, spec)) return { ips: [specIp], hostnames: [] };
    }
  }
  if (statusIps.length > 0 || statusHostnames.length > 0) return { ips: statusIps, hostnames: statusHostnames };
  if (specIp !== '') return { ips: [specIp], hostnames: [] };
  return { ips: [], hostnames: [] };
}

function sameIp(a: ParsedIp, b: ParsedIp): boolean {
  if (a.bytes.length !== b.bytes.length) return false;
  for (let i = 0; i < a.bytes.length; i++) if (a.bytes[i] !== b.bytes[i]) return false;
  return true;
}

/** kube-vip's service filters, in its evaluation order (docs/kube-vip-routing.md §3.1). */
export function filterService(svc: ServiceInfo, model: KubeVipModel): FilterReason | null {
  if (!model.servicesEnabled) return 'services-disabled';
  if (model.servicesNamespace !== null && svc.namespace !== model.servicesNamespace) return 'namespace';
  const forced = svc.annotations[ANNOTATION.forcePerServiceElection] === 'true';
  // The normal watcher skips forced services; the on-demand watcher (Mode D)
  // exists only with per_service_election_on_demand and never with svc_election.
  if (forced && (model.election === 'service' || !model.perServiceElectionOnDemand)) return 'force-per-service-election';
  if (svc.type !== 'LoadBalancer') return 'not-loadbalancer';
  if (svc.annotations[ANNOTATION.ignore] === 'true') return 'ignored';
  if (!classAccepted(svc.loadBalancerClass, model)) return 'lb-class';
  if (ANNOTATION.leaseName in svc.annotations && svc.externalTrafficPolicy !== 'Cluster') return 'lease-name-with-local-policy';
  return null;
}

function classAccepted(cls: string | undefined, model: KubeVipModel): boolean {
  const has = cls !== undefined && cls !== '';
  if (model.lbClassLegacyHandling) {
    if (has) return cls === model.lbClassName;
    return !model.lbClassOnly;
  }
  if (!has) return model.lbClassName === '';
  return cls === model.lbClassName;
}

interface EndpointView {
  readonly v4: boolean;
  readonly v6: boolean;
  /** An FQDN slice has an endpoint: kube-vip loads it into its IPv4 slot and its addresses parse as no IP. */
  readonly fqdn: boolean;
}

/**
 * kube-vip's endpoint check with EndpointSlices (docs/kube-vip-routing.md §4.1): Cluster counts
 * every address regardless of conditions; Local counts serving endpoints on
 * this node (nodeName, or hostname as fallback). The union of all slices of a
 * family is used (E11: kube-vip itself keeps only the last-updated slice).
 */
export function endpointView(svc: ServiceInfo, slices: readonly EndpointSliceInfo[], nodeName: string): EndpointView {
  let v4 = false;
  let v6 = false;
  let fqdn = false;
  for (const slice of slices) {
    const kind = slice.addressType === 'IPv4' ? 'v4' : slice.addressType === 'IPv6' ? 'v6' : 'fqdn';
    if (kind === 'v4' ? v4 : kind === 'v6' ? v6 : fqdn) continue;
    for (const ep of slice.endpoints) {
      if (!endpointCounts(svc, ep, nodeName)) continue;
      if (kind === 'v4') v4 = true;
      else if (kind === 'v6') v6 = true;
      else fqdn = true;
      break;
    }
  }
  return { v4, v6, fqdn };
}

/**
 * kube-vip's endpoint check with Endpoints (`enable_endpoints`,
 * providers/endpoints.go): only the ready `subsets[].addresses` exist for it;
 * Cluster counts every one (GetAllEndpoints), Local those whose nodeName, or
 * else hostname, is kube-vip's identity (GetLocalEndpoints) — no serving
 * condition. Families by kube-vip's To4() test (setInstanceEndpointsStatus,
 * hasV6); no FQDN kind.
 */
export function endpointsObjectView(svc: ServiceInfo, endpoints: EndpointsInfo | undefined, nodeName: string): EndpointView {
  let v4 = false;
  let v6 = false;
  for (const a of endpoints?.addresses ?? []) {
    if (svc.externalTrafficPolicy === 'Local' && a.nodeName !== nodeName && a.hostname !== nodeName) continue;
    if (a.family === 'ipv4') v4 = true;
    else v6 = true;
    if (v4 && v6) break;
  }
  return { v4, v6, fqdn: false };
}

/** kube-vip decides from Endpoints objects, not EndpointSlices (enable_endpoints: the model's `endpoints` not-judged entry, D8). */
export const readsEndpoints = (model: KubeVipModel): boolean => notJudgedFor(model, 'endpoints') !== undefined;

/**
 * The Endpoints objects kube-vip decides from: only when it reads them
 * (enable_endpoints, the model's `endpoints` not-judged entry) and
 * routewarden has listed them; null otherwise (then slices, or not judged).
 */
function endpointsObjects(model: KubeVipModel, snapshot: ClusterSnapshot): ReadonlyMap<string, EndpointsInfo> | null {
  if (!readsEndpoints(model)) return null;
  return snapshot.endpoints?.state === 'ok' ? snapshot.endpoints.byService : null;
}

type LeaseState = { held: 'here' } | { held: 'elsewhere'; holder: string } | { held: 'nobody'; detail: string };

/** A holder counts only while its lease is unexpired (E7). */
export function leaseState(lease: LeaseInfo | undefined, nodeName: string, now: number, skewSeconds: number): LeaseState {
  if (!lease) return { held: 'nobody', detail: 'no lease object' };
  const holder = lease.holderIdentity ?? '';
  if (holder === '') return { held: 'nobody', detail: 'lease released' };
  const renewed = lease.renewTime ?? lease.acquireTime;
  const duration = lease.leaseDurationSeconds ?? 0;
  if (renewed === undefined || renewed + (duration + skewSeconds) * 1000 < now) {
    return { held: 'nobody', detail: `lease of ${holder} expired` };
  }
  return holder === nodeName ? { held: 'here' } : { held: 'elsewhere', holder };
}

/**
 * The last instant at which leaseState() still finds `lease` unexpired, when
 * that is `now` or later; Infinity when its verdict can no longer change with
 * time alone (absent, never renewed, already expired).
 */
export function leaseValidUntil(lease: LeaseInfo | undefined, now: number, skewSeconds: number): number {
  const renewed = lease?.renewTime ?? lease?.acquireTime;
  if (renewed === undefined) return Infinity;
  const boundary = renewed + ((lease!.leaseDurationSeconds ?? 0) + skewSeconds) * 1000;
  return boundary >= now ? boundary : Infinity;
}

/** The Lease that decides a Service's placement under svc_election (docs/kube-vip-routing.md §4.3). */
export function serviceLeaseKey(svc: ServiceInfo): string {
  const name = svc.annotations[ANNOTATION.leaseName] ?? '';
  if (name === '') return objectKey(svc.namespace, `kubevip-${svc.name}`);
  // lease.ServiceName: strings.Split(name, "/"), parts[0] and parts[1] (a third part is dropped).
  const parts = name.split('/');
  return parts.length > 1 ? objectKey(parts[0]!, parts[1]!) : objectKey(svc.namespace, name);
}

/** Prefix length kube-vip gives a VIP of this family (docs/kube-vip-routing.md §2.2); null when it cannot parse. */
export function vipPrefix(family: Family, vipSubnet: string): number | null {
  const parts = vipSubnet.split(',');
  const raw = family === 'ipv4' ? (parts[0] ?? '') : (parts[1] ?? '');
  if (raw === '') return family === 'ipv4' ? 32 : 128;
  if (!/^\d{1,3}$/.test(raw)) return null;
  const n = Number(raw);
  return n <= (family === 'ipv4' ? 32 : 128) ? n : null;
}

function autoInterface(ip: ParsedIp, interfaces: readonly InterfaceInfo[] | null): string | null {
  if (!interfaces) return null;
  for (const link of interfaces) {
    for (const a of link.addresses) {
      const c = parseCidr(a);
      if (c && cidrContains(c, ip)) return link.name;
    }
  }
  return null;
}

/** The device kube-vip picks for a service VIP (docs/kube-vip-routing.md §2.3). */
export function serviceDevice(svc: ServiceInfo, ip: ParsedIp, model: KubeVipModel, interfaces: readonly InterfaceInfo[] | null): string {
  const vlan = svc.annotations[ANNOTATION.serviceVLAN] ?? '';
  if (vlan !== '') return vlan;
  let dev = svc.annotations[ANNOTATION.serviceInterface] ?? '';
  if (dev === 'auto') dev = autoInterface(ip, interfaces) ?? '';
  if (dev !== '') return dev;
  if (model.servicesInterface === 'auto') return autoInterface(ip, interfaces) ?? model.interface;
  return model.servicesInterface !== '' ? model.servicesInterface : model.interface;
}

interface RouteDraft {
  readonly family: Family;
  readonly destination: string;
  readonly device: string;
}

/** Destination prefix as the kernel will store it, or why kube-vip cannot install it. */
function draftRoute(vip: Vip, prefix: number, device: string, model: KubeVipModel): RouteDraft | ExcludedReason {
  const family = vip.ip.family;
  // The kernel refuses most route types for IPv4 (EINVAL), and stores IPv6
  // error routes on lo (docs/kube-vip-routing.md §2.1, route-types.ts).
  if (routeTypeRefusal(family, model.routeType) !== null) return 'kernel-rejects-type';
  const stored = storedDevice(family, model.routeType, device);
  if (hasHostBits(vip.ip, prefix)) {
    // IPv4: the kernel refuses host bits (EINVAL); IPv6: it stores the masked prefix.
    if (family === 'ipv4') return 'kernel-rejects-prefix';
    return { family, destination: formatCidr({ ip: maskIp(vip.ip, prefix), prefix }), device: stored };
  }
  return { family, destination: formatCidr({ ip: vip.ip, prefix }), device: stored };
}

/** The `devices` list of a route on one device: one shared frozen list per device name (kept in ServiceSteps). */
function oneDevice(singleDevices: Map<string, readonly string[]>, device: string): readonly string[] {
  let list = singleDevices.get(device);
  if (list === undefined) {
    if (singleDevices.size >= 1_000) singleDevices.clear();
    list = Object.freeze([device]);
    singleDevices.set(device, list);
  }
  return list;
}

/** A route being assembled: most have one device and one Service, which need no Map and no copy. */
interface RouteDraftSet {
  readonly family: Family;
  readonly destination: string;
  /** The first device placed, by services[0]. */
  readonly device: string;
  /** Other devices, each with the first Service that placed it; null while there is only one. */
  more: Map<string, string> | null;
  readonly services: string[];
}

class Builder {
  readonly routes = new Map<string, RouteDraftSet>();
  readonly claims = new Map<string, Claim[]>();
  readonly excluded: ExcludedVip[] = [];
  readonly unjudged: UnjudgedVip[] = [];
  readonly blankets: UnjudgedBlanket[] = [];

  claim(keys: readonly string[], c: Claim): void {
    for (const k of keys) {
      const list = this.claims.get(k);
      if (list) list.push(c);
      else this.claims.set(k, [c]);
    }
  }

  place(service: string, draft: RouteDraft): void {
    const r = this.routes.get(draft.destination);
    if (!r) {
      this.routes.set(draft.destination, { family: draft.family, destination: draft.destination, device: draft.device, more: null, services: [service] });
      return;
    }
    r.services.push(service);
    if (draft.device !== r.device && !r.more?.has(draft.device)) (r.more ??= new Map()).set(draft.device, service);
  }

  build(model: KubeVipModel, singleDevices: Map<string, readonly string[]>): ExpectedSet {
    const routes = new Map<string, ExpectedRoute>();
    for (const [key, r] of this.routes) {
      // Deterministic choice among conflicting devices: the first service's.
      const ordered =
        r.more === null
          ? oneDevice(singleDevices, r.device)
          : [[r.device, r.services[0]!] as const, ...r.more].sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)).map(([d]) => d);
      // The Builder's own list, made for this build: sorted in place, not copied.
      const services = r.services.length > 1 ? r.services.sort() : r.services;
      const cpOnly = services.length === 1 && services[0] === CONTROL_PLANE;
      routes.set(key, {
        family: r.family,
        destination: r.destination,
        device: ordered[0]!,
        devices: ordered,
        type: model.routeType,
        services,
        ...(cpOnly ? { absentUnjudged: CP_HEALTH_CHECK } : {}),
      });
    }
    return { routes, claims: this.claims, excluded: this.excluded, unjudged: this.unjudged, blankets: dedupeBlankets(this.blankets) };
  }
}

function dedupeBlankets(list: readonly UnjudgedBlanket[]): UnjudgedBlanket[] {
  const seen = new Set<string>();
  const out: UnjudgedBlanket[] = [];
  for (const b of list) {
    const k = `${b.scope} ${b.reason} ${b.detail}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(b);
  }
  return out;
}

/** Where one Service's contribution goes: the Builder itself, or a Recorder that keeps it for replay. */
type Sink = Pick<Builder, 'claim' | 'place'> & {
  readonly excluded: { push(e: ExcludedVip): unknown };
  readonly unjudged: { push(e: UnjudgedVip): unknown };
  readonly blankets: { push(e: UnjudgedBlanket): unknown };
};

/**
 * One Service's Builder calls, in order, to replay into a later Builder
 * unchanged. Kept as data, not closures: 10,000 of them stay resident, and a
 * closure per call (with its context) costs several times the arguments it
 * holds. The list is flat: an op code, then that call's two arguments.
 */
const CLAIM = 0;
const PLACE = 1;
const EXCLUDE = 2;
const UNJUDGED = 3;
const BLANKET = 4;
class Recorder implements Sink {
  #ops: unknown[] = [];
  readonly excluded = { push: (e: ExcludedVip): void => void this.#ops.push(EXCLUDE, e, null) };
  readonly unjudged = { push: (e: UnjudgedVip): void => void this.#ops.push(UNJUDGED, e, null) };
  readonly blankets = { push: (e: UnjudgedBlanket): void => void this.#ops.push(BLANKET, e, null) };
  claim(keys: readonly string[], c: Claim): void {
    this.#ops.push(CLAIM, keys, c);
  }
  place(service: string, draft: RouteDraft): void {
    this.#ops.push(PLACE, service, draft);
  }
  /** Done recording: what replay() takes, at its exact size. */
  seal(): Recording {
    return this.#ops.slice();
  }
}

export type Recording = readonly unknown[];

function replay(ops: Recording, b: Builder): void {
  for (let i = 0; i < ops.length; i += 3) {
    const op = ops[i];
    if (op === CLAIM) b.claim(ops[i + 1] as readonly string[], ops[i + 2] as Claim);
    else if (op === PLACE) b.place(ops[i + 1] as string, ops[i + 2] as RouteDraft);
    else if (op === EXCLUDE) b.excluded.push(ops[i + 1] as ExcludedVip);
    else if (op === UNJUDGED) b.unjudged.push(ops[i + 1] as UnjudgedVip);
    else b.blankets.push(ops[i + 1] as UnjudgedBlanket);
  }
}

interface StepEntry {
  readonly svc: ServiceInfo;
  readonly slices: readonly EndpointSliceInfo[] | undefined;
  /** The svc_election lease the placement read, if any. */
  readonly lease: LeaseInfo | undefined;
  /** The Endpoints object the placement read (enable_endpoints), if any. */
  readonly endpoints: EndpointsInfo | undefined;
  readonly computedAt: number;
  readonly validUntil: number;
  readonly steps: Recording;
}

/**
 * Per-Service results kept from one expectedRoutes() call to the next (for
 * the same model and interfaces: the caller keeps one per pair,
 * expected-memo.ts). A Service whose object, EndpointSlices and svc_election
 * lease are the same objects as last time, under the same global lease state
 * and before its lease can expire, is replayed instead of recomputed: at
 * 10,000 Services an EndpointSlice update then costs one Service's work.
 */
export interface ServiceSteps {
  entries: ReadonlyMap<string, StepEntry>;
  global: string;
  /** oneDevice()'s shared lists. */
  readonly singleDevices: Map<string, readonly string[]>;
}

export const newServiceSteps = (): ServiceSteps => ({ entries: new Map(), global: '', singleDevices: new Map() });

const EMPTY_SLICES: readonly EndpointSliceInfo[] = [];

export interface ServiceContext {
  readonly snapshot: ClusterSnapshot;
  readonly model: KubeVipModel;
  readonly interfaces: readonly InterfaceInfo[] | null;
  readonly linkNames: ReadonlySet<string> | null;
  readonly globalLease: LeaseState | null;
  readonly now: number;
}

export function expectedRoutes(input: ExpectedInput, steps?: ServiceSteps): ExpectedSet {
  const { snapshot, model, interfaces, now } = input;
  const b = new Builder();
  const ctx = serviceContext(snapshot, model, interfaces, now);
  const { globalLease } = ctx;

  // Services in key order: the set (the order of claims, excluded and
  // not-judged VIPs, the device chosen among conflicting ones) is a function
  // of the objects, not of the order the API delivered them in, which the
  // incremental engine (engine.ts) relies on to patch one Service at a time.
  const keys = [...snapshot.services.keys()].sort(byKey);
  if (!steps) {
    for (const key of keys) serviceSteps(b, key, snapshot.services.get(key)!, ctx);
  } else {
    const objects = endpointsObjects(model, snapshot);
    const global = `${JSON.stringify(globalLease)}${objects ? ' endpoints' : ''}`;
    const next = new Map<string, StepEntry>();
    for (const key of keys) {
      const svc = snapshot.services.get(key)!;
      const slices = snapshot.slicesByService.get(key);
      const lease = model.election === 'service' ? snapshot.leases.get(serviceLeaseKey(svc)) : undefined;
      const endpoints = objects?.get(key);
      let entry = steps.entries.get(key);
      if (
        !entry ||
        entry.svc !== svc ||
        entry.slices !== slices ||
        entry.lease !== lease ||
        entry.endpoints !== endpoints ||
        steps.global !== global ||
        now < entry.computedAt ||
        now > entry.validUntil
      ) {
        const rec = new Recorder();
        serviceSteps(rec, key, svc, ctx);
        entry = { svc, slices, lease, endpoints, computedAt: now, validUntil: leaseValidUntil(lease, now, model.leaseSkewSeconds), steps: rec.seal() };
      }
      next.set(key, entry);
      replay(entry.steps, b);
    }
    steps.entries = next;
    steps.global = global;
  }

  modelSteps(b, model, interfaces, snapshot.thisNode);
  return b.build(model, steps?.singleDevices ?? new Map());
}

/** Sort order of Service keys: plain string order. */
export const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** What every Service's steps read besides the Service itself. */
export function serviceContext(snapshot: ClusterSnapshot, model: KubeVipModel, interfaces: readonly InterfaceInfo[] | null, now: number): ServiceContext {
  const linkNames = interfaces ? new Set(interfaces.map((i) => i.name)) : null;
  const globalLease =
    model.election === 'global'
      ? leaseState(snapshot.leases.get(objectKey(model.globalLease.namespace, model.globalLease.name)), model.nodeName, now, model.leaseSkewSeconds)
      : null;
  return { snapshot, model, interfaces, linkNames, globalLease, now };
}

/** What the model itself contributes after every Service: the control-plane VIP and the `all` blanket. */
function modelSteps(b: Sink, model: KubeVipModel, interfaces: readonly InterfaceInfo[] | null, node: ThisNodeView | undefined): void {
  addControlPlane(b, model, interfaces, node);
  const all = notJudgedFor(model, 'all');
  if (all) b.blankets.push({ scope: 'all', reason: all.reason, detail: all.detail });
}

/** One Service's steps as data (the incremental engine keeps one per Service). */
export function recordService(key: string, svc: ServiceInfo, ctx: ServiceContext): Recording {
  const rec = new Recorder();
  serviceSteps(rec, key, svc, ctx);
  return rec.seal();
}

/** The model's own steps (control plane, `all` blanket) as data. */
export function recordModel(model: KubeVipModel, interfaces: readonly InterfaceInfo[] | null, node: ThisNodeView | undefined): Recording {
  const rec = new Recorder();
  modelSteps(rec, model, interfaces, node);
  return rec.seal();
}

/** The part of the address space one piece of a recording is about: the bare IP of a destination or address (see engine.ts). */
export function slotOf(key: string): string {
  const slash = key.indexOf('/');
  return slash >= 0 ? key.slice(0, slash) : key;
}

/** The slots a recording touches. */
export function recordingSlots(ops: Recording): Set<string> {
  const slots = new Set<string>();
  for (let i = 0; i < ops.length; i += 3) {
    const op = ops[i];
    if (op === CLAIM) for (const k of ops[i + 1] as readonly string[]) slots.add(slotOf(k));
    else if (op === PLACE) slots.add(slotOf((ops[i + 2] as RouteDraft).destination));
    else if (op === UNJUDGED) slots.add(unjudgedSlot(ops[i + 1] as UnjudgedVip));
  }
  return slots;
}

/** The slot of a not-judged VIP: its route's, else its address's. */
export const unjudgedSlot = (u: UnjudgedVip): string => slotOf(u.destination ?? u.address);

/** The excluded VIPs and blankets of a recording (not tied to a slot). */
export function recordingLists(ops: Recording): { excluded: ExcludedVip[]; blankets: UnjudgedBlanket[] } {
  const excluded: ExcludedVip[] = [];
  const blankets: UnjudgedBlanket[] = [];
  for (let i = 0; i < ops.length; i += 3) {
    if (ops[i] === EXCLUDE) excluded.push(ops[i + 1] as ExcludedVip);
    else if (ops[i] === BLANKET) blankets.push(ops[i + 1] as UnjudgedBlanket);
  }
  return { excluded, blankets };
}

/**
 * The expected set restricted to one slot, from the recordings of the
 * Services that touch it (in key order, the model's last): its routes,
 * claims and not-judged VIPs, with `blankets` as given (they are global).
 */
export function slotSet(
  slot: string,
  recordings: readonly Recording[],
  model: KubeVipModel,
  blankets: readonly UnjudgedBlanket[],
  singleDevices: Map<string, readonly string[]>,
): ExpectedSet {
  const b = new Builder();
  for (const ops of recordings) {
    for (let i = 0; i < ops.length; i += 3) {
      const op = ops[i];
      if (op === CLAIM) {
        const keys = (ops[i + 1] as readonly string[]).filter((k) => slotOf(k) === slot);
        if (keys.length > 0) b.claim(keys, ops[i + 2] as Claim);
      } else if (op === PLACE) {
        const draft = ops[i + 2] as RouteDraft;
        if (slotOf(draft.destination) === slot) b.place(ops[i + 1] as string, draft);
      } else if (op === UNJUDGED) {
        const u = ops[i + 1] as UnjudgedVip;
        if (unjudgedSlot(u) === slot) b.unjudged.push(u);
      }
    }
  }
  const set = b.build(model, singleDevices);
  return { ...set, blankets };
}

/** Blankets without repeats, in order (the expected set's). */
export { dedupeBlankets };

/** This model's not-judged entry for a scope, if any. */
function notJudgedFor(model: KubeVipModel, scope: NotJudged['scope']): NotJudged | undefined {
  return model.notJudged?.find((n) => n.scope === scope);
}

/** Every VIP of a Service is not judged, for one reason. */
function unjudgeService(
  b: Sink,
  key: string,
  vips: readonly Vip[],
  hostnames: readonly string[],
  reason: UnjudgedReason,
  detail: string,
  destination?: (v: Vip) => string | null,
): void {
  for (const v of vips) {
    const address = normalized(v);
    const dest = destination?.(v) ?? null;
    b.unjudged.push({ service: key, address, family: v.ip.family, destination: dest, reason, detail });
    b.claim(dest ? [address, dest] : [address], { service: key, verdict: 'unjudged', reason, detail });
  }
  for (const h of hostnames) b.unjudged.push({ service: key, address: h, family: null, destination: null, reason, detail });
}

/** Every VIP of a Service kube-vip cannot create an instance for (judged: no route anywhere). */
function excludeService(b: Sink, key: string, vips: readonly Vip[], reason: ExcludedReason): void {
  for (const v of vips) {
    b.excluded.push({ service: key, address: normalized(v), reason });
    b.claim([normalized(v)], { service: key, verdict: 'excluded', reason });
  }
}

/** Whether this VIP's device is kube-vip's vip_interface (no annotation, no vip_servicesinterface picks another). */
function onVipInterface(svc: ServiceInfo, ip: ParsedIp, model: KubeVipModel, interfaces: readonly InterfaceInfo[] | null): boolean {
  if ((svc.annotations[ANNOTATION.serviceVLAN] ?? '') !== '') return false;
  let dev = svc.annotations[ANNOTATION.serviceInterface] ?? '';
  if (dev === 'auto') dev = autoInterface(ip, interfaces) ?? '';
  if (dev !== '') return false;
  if (model.servicesInterface === 'auto') return autoInterface(ip, interfaces) === null;
  return model.servicesInterface === '';
}

/** What kube-vip does with one Service (docs/kube-vip-routing.md §3–§4), told to `b`. */
function serviceSteps(b: Sink, key: string, svc: ServiceInfo, ctx: ServiceContext): void {
  const { snapshot, model, interfaces, linkNames, globalLease, now } = ctx;
  const { ips, hostnames } = serviceAddresses(svc);
  const vips: Vip[] = [];
  for (const text of ips) {
    const ip = parseIp(text);
    if (ip) vips.push({ ip, text });
  }
  const all = notJudgedFor(model, 'all');
  if (all) {
    unjudgeService(b, key, vips, hostnames, all.reason, all.detail);
    return;
  }
  const filtered = filterService(svc, model);
  if (filtered) {
    for (const v of vips) b.claim([normalized(v)], { service: key, verdict: 'filtered', reason: filtered });
    return;
  }
  if (ips.length === 0 && hostnames.length === 0) {
    b.excluded.push({ service: key, address: '', reason: 'no-address' });
    return;
  }
  // NewInstance fails for the whole Service, whatever the node (pkg/instance/instance.go).
  const requested = svc.annotations[ANNOTATION.requestedIP] ?? '';
  const ddns = svc.annotations[ANNOTATION.ddns];
  if ((requested !== '' && requested.split(',').length > 2) || (ddns !== undefined && parseGoBool(ddns) === null)) {
    excludeService(b, key, vips, 'instance-fails');
    return;
  }
  // Hostnames resolve through the node's DNS (a failed lookup fails the whole
  // Service); DHCP VIPs get an address leased on the node (E27). kube-vip
  // records a leased address in kube-vip.io/requestedIP and the status.
  const dhcp = vips.filter((v) => isUnspecified(v.ip));
  if (hostnames.length > 0 || dhcp.length > 0) {
    const reason: UnjudgedReason = hostnames.length > 0 ? 'hostname' : 'dhcp';
    const detail =
      hostnames.length > 0
        ? `kube-vip resolves ${hostnames.join(', ')} with the node's DNS; a failed lookup fails the whole Service`
        : 'a DHCP VIP: kube-vip leases its address on the node';
    const known = [...vips.filter((v) => !isUnspecified(v.ip))];
    if (reason === 'dhcp') {
      for (const a of [...requested.split(','), ...svc.ingress.map((i) => i.ip ?? '')]) {
        const ip = parseIp(a.trim());
        if (ip && !isUnspecified(ip) && !known.some((k) => sameIp(k.ip, ip))) known.push({ ip, text: a.trim() });
      }
    }
    unjudgeService(b, key, known, hostnames, reason, detail);
    for (const v of dhcp)
      b.unjudged.push({ service: key, address: normalized(v), family: v.ip.family, destination: null, reason, detail: `${detail} (not recorded yet)` });
    // Addresses not written to the Service yet may be any route in the table.
    if (hostnames.length > 0 || known.length < dhcp.length) b.blankets.push({ scope: 'unclaimed', reason, detail: `${key}: ${detail}` });
    return;
  }
  const prefixUnknown = notJudgedFor(model, 'service-prefix');
  if (prefixUnknown) {
    unjudgeService(b, key, vips, [], prefixUnknown.reason, prefixUnknown.detail);
    return;
  }
  const ifaceUnknown = notJudgedFor(model, 'interface');
  if (ifaceUnknown && vips.some((v) => onVipInterface(svc, v.ip, model, interfaces))) {
    unjudgeService(b, key, vips, [], ifaceUnknown.reason, ifaceUnknown.detail);
    return;
  }

  // Instance creation (docs/kube-vip-routing.md §3.1-8): an interface kube-vip cannot find or a
  // prefix it cannot parse fails the whole Service. A route the kernel
  // refuses fails only that route (below).
  const drafts: { vip: Vip; draft: RouteDraft | ExcludedReason }[] = [];
  for (const v of vips) {
    const prefix = vipPrefix(v.ip.family, model.vipSubnet);
    if (prefix === null) {
      excludeService(b, key, vips, 'invalid-subnet');
      return;
    }
    const device = serviceDevice(svc, v.ip, model, interfaces);
    if (linkNames && !linkNames.has(device)) {
      excludeService(b, key, vips, 'interface-missing');
      return;
    }
    drafts.push({ vip: v, draft: draftRoute(v, prefix, device, model) });
  }

  // kube-vip reads EndpointSlices, or with enable_endpoints the Service's Endpoints object.
  const slices = snapshot.slicesByService.get(key) ?? EMPTY_SLICES;
  const objects = endpointsObjects(model, snapshot);
  const endpointsObject = objects?.get(key);
  const eps = objects ? endpointsObjectView(svc, endpointsObject, model.nodeName) : endpointView(svc, slices, model.nodeName);
  const watched = objects ? (endpointsObject ? 1 : 0) : slices.length;
  const verdict = placement(svc, eps, watched, objects !== null, model, snapshot, globalLease, now);
  // No election: one pass over the Service's VIPs in order, and the first
  // route add that fails ends it (endpoints_routing_table.go processInstance).
  // Election modes add each VIP on its own and only log a failure
  // (StartLoadBalancerService, pkg/cluster/service.go).
  let failedBefore: string | null = null;
  for (const { vip, draft } of drafts) {
    const v = typeof verdict === 'function' ? verdict(vip.ip.family) : verdict;
    const address = normalized(vip);
    if (typeof draft === 'string') {
      b.excluded.push({ service: key, address, reason: draft });
      b.claim([address], { service: key, verdict: 'excluded', reason: draft });
      if (v === true && model.election === 'none') failedBefore ??= address;
      continue;
    }
    const keys = [address, draft.destination];
    if (v === true && failedBefore !== null) {
      b.claim(keys, { service: key, verdict: 'not-placed', reason: 'earlier-vip-failed', detail: `kube-vip stopped at the failed route of ${failedBefore}` });
    } else if (v === true) {
      b.place(key, draft);
      b.claim(keys, { service: key, verdict: 'placed', device: draft.device });
    } else if ('unjudged' in v) {
      b.unjudged.push({ service: key, address, family: vip.ip.family, destination: draft.destination, reason: v.unjudged.reason, detail: v.unjudged.detail });
      b.claim(keys, { service: key, verdict: 'unjudged', reason: v.unjudged.reason, detail: v.unjudged.detail });
    } else {
      b.claim(keys, { service: key, verdict: 'not-placed', reason: v.reason, ...(v.detail ? { detail: v.detail } : {}) });
    }
  }
}

type Placement = true | { reason: NotPlacedReason; detail?: string } | { unjudged: NotJudged };

/** Where kube-vip puts a service's routes, by mode (docs/kube-vip-routing.md §4.2–§4.6). */
function placement(
  svc: ServiceInfo,
  eps: EndpointView,
  /** EndpointSlices of the Service, or with Endpoints known 1 when its Endpoints object exists. */
  watchedCount: number,
  /** kube-vip reads Endpoints and routewarden knows them. */
  endpointsKnown: boolean,
  model: KubeVipModel,
  snapshot: ClusterSnapshot,
  globalLease: LeaseState | null,
  now: number,
): Placement | ((f: Family) => Placement) {
  // An FQDN slice's addresses count as endpoints, and as IPv6 ones where kube-vip
  // compares families (net.ParseIP(hostname).To4() == nil); hasV6 skips them.
  const any = eps.v4 || eps.v6 || eps.fqdn;
  // enable_endpoints: kube-vip decides from Endpoints; not judged while routewarden cannot read them.
  const endpointsUnknown = endpointsKnown ? undefined : notJudgedFor(model, 'endpoints');
  const endpoints = (p: Placement | ((f: Family) => Placement)): Placement | ((f: Family) => Placement) =>
    endpointsUnknown ? { unjudged: endpointsUnknown } : p;
  // AddOrModify checks egress-ipv6 only when there are endpoints at all.
  if (any && svc.annotations[ANNOTATION.egressIPv6] === 'true' && !eps.v6) return endpoints({ reason: 'egress-ipv6-without-ipv6-endpoint' });
  const noEndpoints: Placement = { reason: svc.externalTrafficPolicy === 'Local' ? 'no-local-endpoint' : 'no-endpoints' };
  const forced = svc.annotations[ANNOTATION.forcePerServiceElection] === 'true';
  const allowEmpty = svc.externalTrafficPolicy === 'Cluster' && (svc.annotations[ANNOTATION.allowWithoutEndpoints] ?? '').toLowerCase() === 'true';

  // Mode A, and Mode D on top of it: every node passing the endpoint check,
  // per family (sticky gating, E12, is not visible from the API).
  if (model.election === 'none') {
    if (!any) return endpoints(noEndpoints);
    return endpoints((f: Family) => ((f === 'ipv4' ? eps.v4 : eps.v6 || eps.fqdn) ? true : { reason: 'no-family-endpoint' }));
  }
  // Mode D under a global election: all VIPs on every node passing the check (docs/kube-vip-routing.md §4.6).
  if (forced && model.election === 'global') return endpoints(any ? true : noEndpoints);

  // Leases in etcd: who holds them is not visible from the API.
  const elected = notJudgedFor(model, 'elected');
  if (elected) return { unjudged: elected };
  const lease =
    model.election === 'service' ? leaseState(snapshot.leases.get(serviceLeaseKey(svc)), model.nodeName, now, model.leaseSkewSeconds) : globalLease!;
  const leaseName = model.election === 'service' ? serviceLeaseKey(svc) : `${model.globalLease.namespace}/${model.globalLease.name}`;
  if (lease.held === 'elsewhere') return { reason: 'lease-elsewhere', detail: `lease ${leaseName} held by ${lease.holder}` };
  if (lease.held === 'nobody') return { reason: 'lease-not-held', detail: `lease ${leaseName}: ${lease.detail}` };
  // Global election: only the EndpointSlice (or Endpoints) watcher starts a
  // Service's routes; a Service without any (no selector) never gets one.
  if (model.election === 'global' && watchedCount === 0 && !endpointsUnknown)
    return {
      reason: 'no-endpointslice',
      detail: endpointsKnown
        ? 'global election starts routes from Endpoints events only (enable_endpoints), and this Service has no Endpoints object'
        : 'global election starts routes from EndpointSlice events only, and this Service has none',
    };
  if (!any && !allowEmpty) return endpoints(noEndpoints);
  return endpoints(true);
}

const BOTH_FAMILIES: ReadonlySet<Family> = new Set<Family>(['ipv4', 'ipv6']);

/**
 * The families of control-plane VIP whose health check can ever pass
 * (StartVipService, pkg/cluster/service.go, at bee5cfe): with
 * `kubernetes_addr` a URL with a host, every family is checked against it;
 * otherwise each family against this Node's InternalIPs of that family
 * (getNodeIPs, read once at start), and with none at all (no Node, no
 * InternalIP, no node name) only the first address's family, against
 * localhost. A family without an entry never gets its route: kube-vip's
 * route manager deletes only routes it tracks, so one in the table stays.
 * Null when routewarden cannot know: the Node is not readable or not
 * synced, kube-vip's node name is another node's, `kubernetes_addr` is not
 * visible, or the first address is a host name.
 */
function cpHealthFamilies(model: KubeVipModel, node: ThisNodeView | undefined): ReadonlySet<Family> | null {
  const override = model.controlPlane.kubernetesAddr;
  if (override === null) return null;
  if (override !== undefined && hasUrlHost(override)) return BOTH_FAMILIES;
  let ips: readonly string[] = [];
  if (model.nodeName !== '') {
    if (!node || node.state !== 'ok' || node.name !== model.nodeName) return null;
    ips = node.node?.internalIPs ?? [];
  }
  if (ips.length === 0) {
    const first = parseIp(model.controlPlane.addresses[0] ?? '');
    return first ? new Set([first.family]) : null;
  }
  // utils.IsIPv6: anything that is not an IPv4 address counts as IPv6.
  return new Set(ips.map((ip) => (parseIp(ip)?.family === 'ipv4' ? 'ipv4' : 'ipv6')));
}

/** kubernetesAddrBackendEntry: url.Parse succeeds and the URL names a host. */
function hasUrlHost(text: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text)) return false;
  try {
    return new URL(text).hostname !== '';
  } catch {
    return false;
  }
}

function addControlPlane(b: Sink, model: KubeVipModel, interfaces: readonly InterfaceInfo[] | null, node: ThisNodeView | undefined): void {
  if (!model.controlPlane.enabled) return;
  const families = cpHealthFamilies(model, node);
  const linkNames = interfaces ? new Set(interfaces.map((i) => i.name)) : null;
  const all = notJudgedFor(model, 'all') ?? notJudgedFor(model, 'interface');
  for (const text of model.controlPlane.addresses) {
    const ip = parseIp(text);
    if (!ip) {
      b.unjudged.push({
        service: CONTROL_PLANE,
        address: text,
        family: null,
        destination: null,
        reason: 'hostname',
        detail: `kube-vip resolves the control-plane address ${text} with the node's DNS`,
      });
      b.blankets.push({ scope: 'unclaimed', reason: 'hostname', detail: `control-plane address ${text} is resolved on the node` });
      continue;
    }
    const vip = { ip, text };
    if (all) {
      b.unjudged.push({ service: CONTROL_PLANE, address: normalized(vip), family: ip.family, destination: null, reason: all.reason, detail: all.detail });
      b.claim([normalized(vip)], { service: CONTROL_PLANE, verdict: 'unjudged', reason: all.reason, detail: all.detail });
      continue;
    }
    const prefix = vipPrefix(ip.family, model.vipSubnet);
    if (prefix === null) {
      b.excluded.push({ service: CONTROL_PLANE, address: text, reason: 'invalid-subnet' });
      continue;
    }
    if (linkNames && !linkNames.has(model.interface)) {
      b.excluded.push({ service: CONTROL_PLANE, address: text, reason: 'interface-missing' });
      continue;
    }
    const d = draftRoute(vip, prefix, model.interface, model);
    // The health check of this family never passes: kube-vip never tries the route add.
    if (families !== null && !families.has(ip.family)) {
      b.excluded.push({ service: CONTROL_PLANE, address: text, reason: 'no-node-internal-ip' });
      const keys = typeof d === 'string' ? [normalized(vip)] : [normalized(vip), d.destination];
      b.claim(keys, { service: CONTROL_PLANE, verdict: 'excluded', reason: 'no-node-internal-ip' });
      continue;
    }
    if (typeof d === 'string') {
      b.excluded.push({ service: CONTROL_PLANE, address: text, reason: d });
      continue;
    }
    b.place(CONTROL_PLANE, d);
    b.claim([normalized(vip), d.destination], { service: CONTROL_PLANE, verdict: 'placed', device: d.device });
  }
}

function isUnspecified(ip: ParsedIp): boolean {
  return ip.bytes.every((x) => x === 0);
}

function normalized(v: Vip): string {
  return formatIp(v.ip);
}

/**
 * The expected set of several kube-vip instances on one node (E25): each
 * instance places routes with its own model; the node holds the union. A
 * destination placed by several instances keeps the first instance's device
 * and type and every device any of them uses.
 */
export function mergeExpected(sets: readonly { readonly id: string; readonly set: ExpectedSet }[]): ExpectedSet {
  const routes = new Map<string, ExpectedRoute>();
  const claims = new Map<string, readonly Claim[]>();
  const excluded: ExcludedVip[] = [];
  const seenExcluded = new Set<string>();
  const unjudged: UnjudgedVip[] = [];
  const seenUnjudged = new Set<string>();
  const blankets: UnjudgedBlanket[] = [];
  for (const { id, set } of sets) {
    blankets.push(...set.blankets);
    for (const u of set.unjudged) {
      const k = `${u.service} ${u.address} ${u.reason}`;
      if (seenUnjudged.has(k)) continue;
      seenUnjudged.add(k);
      unjudged.push(u);
    }
    // One list per instance, shared by all its routes (10,000 of them at scale).
    const onlyThis: readonly string[] = [id];
    for (const [key, r] of set.routes) {
      const prev = routes.get(key);
      if (!prev) {
        routes.set(key, { ...r, instances: onlyThis });
        continue;
      }
      const { absentUnjudged: _cp, ...rest } = prev;
      const services = [...new Set([...prev.services, ...r.services])].sort();
      routes.set(key, {
        ...rest,
        devices: [...new Set([...prev.devices, ...r.devices])],
        services,
        instances: [...(prev.instances ?? []), id],
        // Still only the control plane's: still not judged when absent.
        ...(prev.absentUnjudged && r.absentUnjudged ? { absentUnjudged: prev.absentUnjudged } : {}),
      });
    }
    for (const [key, list] of set.claims) {
      const prev = claims.get(key);
      // A set's lists are complete once built: the first instance's are shared, not copied.
      claims.set(key, prev ? [...prev, ...list] : list);
    }
    for (const e of set.excluded) {
      const k = `${e.service} ${e.address} ${e.reason}`;
      if (seenExcluded.has(k)) continue;
      seenExcluded.add(k);
      excluded.push(e);
    }
  }
  return { routes, claims, excluded, unjudged, blankets: dedupeBlankets(blankets) };
}
