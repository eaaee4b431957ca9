// expectedRoutes(): which routes kube-vip places on this node, following
// docs/kube-vip-routing.md §2–§5 section by section. Pure: the snapshot, the
// model, the node's interfaces and `now` come in; nothing is read here.

import type { ClusterSnapshot, EndpointSliceInfo, InterfaceInfo, LeaseInfo, ServiceInfo } from './cluster.ts';
import { objectKey } from './cluster.ts';
import { endpointCounts } from './endpoint-check.ts';
import { cidrContains, formatCidr, formatIp, hasHostBits, maskIp, parseCidr, parseIp } from './ip.ts';
import type { ParsedIp } from './ip.ts';
import type { KubeVipModel } from './model.ts';
import type { Family, RouteType } from './types.ts';

export const ANNOTATION = {
  loadbalancerIPs: 'kube-vip.io/loadbalancerIPs',
  ignore: 'kube-vip.io/ignore',
  serviceInterface: 'kube-vip.io/serviceInterface',
  serviceVLAN: 'kube-vip.io/serviceVLAN',
  leaseName: 'kube-vip.io/leaseName',
  forcePerServiceElection: 'kube-vip.io/forcePerServiceElection',
  allowWithoutEndpoints: 'kube-vip.io/allow-reconcile-without-endpoints',
  egressIPv6: 'kube-vip.io/egress-ipv6',
} as const;

/** Tracker object kube-vip uses for the control-plane VIP; shown as the "service". */
export const CONTROL_PLANE = 'control-plane';

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
  | 'egress-ipv6-without-ipv6-endpoint'; // E14

/** VIPs routewarden cannot judge or kube-vip cannot install (docs/kube-vip-routing.md §3.3, §2.2, E22, E27). */
export type ExcludedReason =
  | 'dhcp'
  | 'hostname'
  | 'no-address'
  | 'invalid-subnet'
  | 'kernel-rejects-prefix'
  | 'interface-missing'
  | 'local-type-ipv4';

export type Claim =
  | { readonly service: string; readonly verdict: 'placed'; readonly device: string }
  | { readonly service: string; readonly verdict: 'filtered'; readonly reason: FilterReason }
  | { readonly service: string; readonly verdict: 'not-placed'; readonly reason: NotPlacedReason; readonly detail?: string }
  | { readonly service: string; readonly verdict: 'excluded'; readonly reason: ExcludedReason };

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
}

export interface ExcludedVip {
  readonly service: string;
  readonly address: string;
  readonly reason: ExcludedReason;
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
    (parseIp(item) ? ips : hostnames).push(item);
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
  for (const slice of slices) {
    if (slice.addressType === 'FQDN') continue;
    const isV4 = slice.addressType === 'IPv4';
    if (isV4 ? v4 : v6) continue;
    for (const ep of slice.endpoints) {
      if (!endpointCounts(svc, ep, nodeName)) continue;
      if (isV4) v4 = true;
      else v6 = true;
      break;
    }
  }
  return { v4, v6 };
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
  const slash = name.indexOf('/');
  return slash >= 0 ? name : objectKey(svc.namespace, name);
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
  if (family === 'ipv4' && model.routeType === 2) return 'local-type-ipv4'; // kernel EINVAL (docs/kube-vip-routing.md §2.1)
  if (hasHostBits(vip.ip, prefix)) {
    // IPv4: the kernel refuses host bits (EINVAL); IPv6: it stores the masked prefix.
    if (family === 'ipv4') return 'kernel-rejects-prefix';
    return { family, destination: formatCidr({ ip: maskIp(vip.ip, prefix), prefix }), device };
  }
  return { family, destination: formatCidr({ ip: vip.ip, prefix }), device };
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
      const ordered = r.more === null
        ? oneDevice(singleDevices, r.device)
        : [[r.device, r.services[0]!] as const, ...r.more].sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)).map(([d]) => d);
      // The Builder's own list, made for this build: sorted in place, not copied.
      const services = r.services.length > 1 ? r.services.sort() : r.services;
      routes.set(key, { family: r.family, destination: r.destination, device: ordered[0]!, devices: ordered, type: model.routeType, services });
    }
    return { routes, claims: this.claims, excluded: this.excluded };
  }
}

/** Where one Service's contribution goes: the Builder itself, or a Recorder that keeps it for replay. */
type Sink = Pick<Builder, 'claim' | 'place'> & { readonly excluded: { push(e: ExcludedVip): unknown } };

/**
 * One Service's Builder calls, in order, to replay into a later Builder
 * unchanged. Kept as data, not closures: 10,000 of them stay resident, and a
 * closure per call (with its context) costs several times the arguments it
 * holds. The list is flat: an op code, then that call's two arguments.
 */
const CLAIM = 0;
const PLACE = 1;
const EXCLUDE = 2;
class Recorder implements Sink {
  #ops: unknown[] = [];
  readonly excluded = { push: (e: ExcludedVip): void => void this.#ops.push(EXCLUDE, e, null) };
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

type Recording = readonly unknown[];

function replay(ops: Recording, b: Builder): void {
  for (let i = 0; i < ops.length; i += 3) {
    const op = ops[i];
    if (op === CLAIM) b.claim(ops[i + 1] as readonly string[], ops[i + 2] as Claim);
    else if (op === PLACE) b.place(ops[i + 1] as string, ops[i + 2] as RouteDraft);
    else b.excluded.push(ops[i + 1] as ExcludedVip);
  }
}

interface StepEntry {
  readonly svc: ServiceInfo;
  readonly slices: readonly EndpointSliceInfo[] | undefined;
  /** The svc_election lease the placement read, if any. */
  readonly lease: LeaseInfo | undefined;
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

interface ServiceContext {
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
  const linkNames = interfaces ? new Set(interfaces.map((i) => i.name)) : null;
  const globalLease = model.election === 'global'
    ? leaseState(snapshot.leases.get(objectKey(model.globalLease.namespace, model.globalLease.name)), model.nodeName, now, model.leaseSkewSeconds)
    : null;
  const ctx: ServiceContext = { snapshot, model, interfaces, linkNames, globalLease, now };

  if (!steps) {
    for (const [key, svc] of snapshot.services) serviceSteps(b, key, svc, ctx);
  } else {
    const global = JSON.stringify(globalLease);
    const next = new Map<string, StepEntry>();
    for (const [key, svc] of snapshot.services) {
      const slices = snapshot.slicesByService.get(key);
      const lease = model.election === 'service' ? snapshot.leases.get(serviceLeaseKey(svc)) : undefined;
      let entry = steps.entries.get(key);
      if (!entry || entry.svc !== svc || entry.slices !== slices || entry.lease !== lease || steps.global !== global || now < entry.computedAt || now > entry.validUntil) {
        const rec = new Recorder();
        serviceSteps(rec, key, svc, ctx);
        entry = { svc, slices, lease, computedAt: now, validUntil: leaseValidUntil(lease, now, model.leaseSkewSeconds), steps: rec.seal() };
      }
      next.set(key, entry);
      replay(entry.steps, b);
    }
    steps.entries = next;
    steps.global = global;
  }

  addControlPlane(b, model, interfaces);
  return b.build(model, steps?.singleDevices ?? new Map());
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
  const filtered = filterService(svc, model);
  if (filtered) {
    for (const v of vips) b.claim([normalized(v)], { service: key, verdict: 'filtered', reason: filtered });
    return;
  }
  // Hostname VIPs resolve through DNS on the node: not judged (E27).
  for (const h of hostnames) b.excluded.push({ service: key, address: h, reason: 'hostname' });
  if (ips.length === 0 && hostnames.length === 0) {
    b.excluded.push({ service: key, address: '', reason: 'no-address' });
    return;
  }
  // DHCP VIPs get a node-local lease on a macvlan (E27).
  const dhcp = vips.filter((v) => isUnspecified(v.ip));
  for (const v of dhcp) {
    b.excluded.push({ service: key, address: v.text, reason: 'dhcp' });
  }
  const real = vips.filter((v) => !isUnspecified(v.ip));
  if (real.length === 0) return;

  // Instance creation (docs/kube-vip-routing.md §3.1-8): one failing VIP fails the whole service.
  const drafts: { vip: Vip; draft: RouteDraft }[] = [];
  let failure: ExcludedReason | null = null;
  for (const v of real) {
    const prefix = vipPrefix(v.ip.family, model.vipSubnet);
    if (prefix === null) {
      failure = 'invalid-subnet';
      break;
    }
    const device = serviceDevice(svc, v.ip, model, interfaces);
    if (linkNames && !linkNames.has(device)) {
      failure = 'interface-missing';
      break;
    }
    const d = draftRoute(v, prefix, device, model);
    if (typeof d === 'string') {
      failure = d;
      break;
    }
    drafts.push({ vip: v, draft: d });
  }
  if (failure) {
    for (const v of real) {
      b.excluded.push({ service: key, address: normalized(v), reason: failure });
      b.claim([normalized(v)], { service: key, verdict: 'excluded', reason: failure });
    }
    return;
  }

  const slices = snapshot.slicesByService.get(key) ?? EMPTY_SLICES;
  const eps = endpointView(svc, slices, model.nodeName);
  const verdict = placement(svc, eps, model, snapshot, globalLease, now);
  for (const { vip, draft } of drafts) {
    const v = typeof verdict === 'function' ? verdict(vip.ip.family) : verdict;
    const keys = [normalized(vip), draft.destination];
    if (v === true) {
      b.place(key, draft);
      b.claim(keys, { service: key, verdict: 'placed', device: draft.device });
    } else {
      b.claim(keys, { service: key, verdict: 'not-placed', reason: v.reason, ...(v.detail ? { detail: v.detail } : {}) });
    }
  }
}

type Placement = true | { reason: NotPlacedReason; detail?: string };

/** Where kube-vip puts a service's routes, by mode (docs/kube-vip-routing.md §4.2–§4.6). */
function placement(
  svc: ServiceInfo,
  eps: EndpointView,
  model: KubeVipModel,
  snapshot: ClusterSnapshot,
  globalLease: LeaseState | null,
  now: number,
): Placement | ((f: Family) => Placement) {
  const any = eps.v4 || eps.v6;
  if (svc.annotations[ANNOTATION.egressIPv6] === 'true' && !eps.v6) return { reason: 'egress-ipv6-without-ipv6-endpoint' };
  const noEndpoints: Placement = { reason: svc.externalTrafficPolicy === 'Local' ? 'no-local-endpoint' : 'no-endpoints' };
  const forced = svc.annotations[ANNOTATION.forcePerServiceElection] === 'true';
  const allowEmpty = svc.externalTrafficPolicy === 'Cluster' &&
    (svc.annotations[ANNOTATION.allowWithoutEndpoints] ?? '').toLowerCase() === 'true';

  // Mode A, and Mode D on top of it: every node passing the endpoint check,
  // per family (sticky gating, E12, is not visible from the API).
  if (model.election === 'none') {
    if (!any) return noEndpoints;
    return (f: Family) => ((f === 'ipv4' ? eps.v4 : eps.v6) ? true : { reason: 'no-family-endpoint' });
  }
  // Mode D under a global election: all VIPs on every node passing the check (docs/kube-vip-routing.md §4.6).
  if (forced && model.election === 'global') return any ? true : noEndpoints;

  const lease = model.election === 'service'
    ? leaseState(snapshot.leases.get(serviceLeaseKey(svc)), model.nodeName, now, model.leaseSkewSeconds)
    : globalLease!;
  const leaseName = model.election === 'service' ? serviceLeaseKey(svc) : `${model.globalLease.namespace}/${model.globalLease.name}`;
  if (lease.held === 'elsewhere') return { reason: 'lease-elsewhere', detail: `lease ${leaseName} held by ${lease.holder}` };
  if (lease.held === 'nobody') return { reason: 'lease-not-held', detail: `lease ${leaseName}: ${lease.detail}` };
  if (!any && !allowEmpty) return noEndpoints;
  return true;
}

function addControlPlane(b: Builder, model: KubeVipModel, interfaces: readonly InterfaceInfo[] | null): void {
  if (!model.controlPlane.enabled) return;
  const linkNames = interfaces ? new Set(interfaces.map((i) => i.name)) : null;
  for (const text of model.controlPlane.addresses) {
    const ip = parseIp(text);
    if (!ip) {
      b.excluded.push({ service: CONTROL_PLANE, address: text, reason: 'hostname' });
      continue;
    }
    const vip = { ip, text };
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
  for (const { id, set } of sets) {
    // One list per instance, shared by all its routes (10,000 of them at scale).
    const onlyThis: readonly string[] = [id];
    for (const [key, r] of set.routes) {
      const prev = routes.get(key);
      if (!prev) {
        routes.set(key, { ...r, instances: onlyThis });
        continue;
      }
      routes.set(key, {
        ...prev,
        devices: [...new Set([...prev.devices, ...r.devices])],
        services: [...new Set([...prev.services, ...r.services])].sort(),
        instances: [...(prev.instances ?? []), id],
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
  return { routes, claims, excluded };
}
