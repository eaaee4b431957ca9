// kube-vip's own state as context for the diff (docs/kube-vip-routing.md §8): which drift is
// expected to resolve by itself (transient windows E1, E2, E3, E5, E6) and
// which is explained by a known kube-vip limitation (E11, E12, E15, E16,
// E17, legacy proto boot routes). Pure: the diff, the snapshot, the
// instances and `now` come in; annotated drift goes out. The raw verdicts
// (orphan/missing) never change: only reasons on missing routes that are
// merely not there yet, and the transient/limitation fields.

import type { ClusterSnapshot, EndpointSliceInfo, ServiceInfo } from './cluster.ts';
import { objectKey } from './cluster.ts';
import { endpointCounts } from './endpoint-check.ts';
import type { DiffResult, Limitation, MissingRoute, OrphanRoute, Transient, TransientWindow } from './diff.ts';
import { CONTROL_PLANE, filterService, readsEndpoints, serviceAddresses, serviceLeaseKey } from './expected.ts';
import type { Claim, ExpectedSet } from './expected.ts';
import { handoverUntil } from './lease-handover.ts';
import { routeTypeName, storedOnLo } from './route-types.ts';
import type { KubeVipInstance } from './model.ts';
import type { Family, KernelDump } from './types.ts';

/** E1: each LoadBalancer Service without an address stalls kube-vip's service loop up to 30 s (docs/kube-vip-routing.md §3.1-6). */
export const PER_UNADDRESSED_SERVICE_MS = 30_000;
/** E2: kube-vip's cleanup runs once, 10 s after start; plus a margin for a slow start. */
export const CLEANUP_DELAY_MS = 10_000;
export const CLEANUP_MARGIN_MS = 5_000;
/** Legacy `proto boot` routes from kube-vip before v0.7.1 (PR #763). */
export const PROTO_BOOT = 3;

export interface KubeVipContext {
  readonly instances: readonly KubeVipInstance[];
  /** Base E1 window after the kube-vip container starts (--kube-vip-start-grace). */
  readonly startGraceMs: number;
  /** Lease holder changes seen by a LeaseChangeTracker, by lease key. */
  readonly leaseChanges?: ReadonlyMap<string, number>;
}

/** A limitation worth knowing even where it caused no drift yet. */
export interface LimitationNote extends Limitation {
  readonly services?: readonly string[];
  readonly destination?: string;
}

interface Window {
  readonly window: TransientWindow;
  readonly until: number;
}

/** LoadBalancer Services this instance processes but that have no address yet (E1). */
export function unaddressedServices(snapshot: ClusterSnapshot, inst: KubeVipInstance): number {
  let n = 0;
  for (const svc of snapshot.services.values()) {
    if (filterService(svc, inst.model) !== null) continue;
    const a = serviceAddresses(svc);
    if (a.ips.length === 0 && a.hostnames.length === 0) n++;
  }
  return n;
}

/**
 * The window in which this instance's missing routes are not actionable:
 * terminating (deletionTimestamp), (re)starting (no running container, or
 * within the start grace + 30 s per unaddressed Service of the container
 * start), or running but not Ready.
 */
export function kubeVipWindow(inst: KubeVipInstance, unaddressed: number, now: number, startGraceMs: number): Window | null {
  const r = inst.runtime;
  if (!r) return null;
  const startWindow = startGraceMs + PER_UNADDRESSED_SERVICE_MS * unaddressed;
  if (r.terminating) return { window: 'kube-vip-terminating', until: Math.max(now, r.deletionAt ?? now) + startWindow };
  if (r.startedAt === null) return { window: 'kube-vip-starting', until: now + startWindow };
  if (now < r.startedAt + startWindow) return { window: 'kube-vip-starting', until: r.startedAt + startWindow };
  if (!r.ready) return { window: 'kube-vip-terminating', until: now + startWindow };
  return null;
}

/** E2: while the one-shot cleanup may still run, kube-vip itself deletes untracked routes. */
export function cleanupWindow(inst: KubeVipInstance, now: number): Window | null {
  const r = inst.runtime;
  if (!inst.cleanRoutingTable || !r || r.startedAt === null) return null;
  const until = r.startedAt + CLEANUP_DELAY_MS + CLEANUP_MARGIN_MS;
  return now < until ? { window: 'startup-cleanup', until } : null;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export interface Annotated {
  readonly diff: DiffResult;
  readonly limitations: readonly LimitationNote[];
}

/**
 * What annotate() reads besides the diff and the snapshot, as lookups: the
 * full check answers them from the whole expected set and kernel dump
 * (sourcesOf), the incremental engine from its per-address state.
 */
export interface AnnotationSources {
  /** What every Service says about a destination (or its bare address). */
  claimsAt(destination: string): readonly Claim[];
  /** The protocol of the (last dumped) foreign route at a destination, if any. */
  foreignProtocolAt(destination: string): number | undefined;
  /** LoadBalancer Services this instance processes that have no address yet (E1). */
  unaddressed(inst: KubeVipInstance): number;
  /** Services kube-vip never routes (E16, E17), sorted. */
  neverRouted(): { readonly e16: readonly string[]; readonly e17: readonly string[] };
  /** Destinations of foreign proto boot routes that some claim names, sorted, once per such route. */
  bootRoutesOnVips(): readonly string[];
}

/** The lookups of a full check: the whole expected set and kernel dump. */
export function sourcesOf(snapshot: ClusterSnapshot, expected: ExpectedSet, kernel: KernelDump, instances: readonly KubeVipInstance[]): AnnotationSources {
  let foreignAt: Map<string, number> | undefined;
  return {
    claimsAt: (destination) => claimsFor(expected, destination),
    foreignProtocolAt: (destination) => (foreignAt ??= new Map(kernel.foreign.map((r) => [r.destination, r.protocol]))).get(destination),
    unaddressed: (inst) => unaddressedServices(snapshot, inst),
    neverRouted: () => neverRouted(snapshot, instances),
    bootRoutesOnVips: () =>
      kernel.foreign
        .filter((r) => r.protocol === PROTO_BOOT && claimsFor(expected, r.destination).length > 0)
        .map((r) => r.destination)
        .sort(),
  };
}

export function annotate(d: DiffResult, ctx: KubeVipContext, snapshot: ClusterSnapshot, expected: ExpectedSet, kernel: KernelDump, now: number): Annotated {
  return annotateWith(d, ctx, snapshot, sourcesOf(snapshot, expected, kernel, ctx.instances), now);
}

export function annotateWith(d: DiffResult, ctx: KubeVipContext, snapshot: ClusterSnapshot, sources: AnnotationSources, now: number): Annotated {
  const byId = new Map(ctx.instances.map((i) => [i.id, i]));
  const windows = new Map<string, Window | null>();
  for (const inst of ctx.instances) windows.set(inst.id, kubeVipWindow(inst, sources.unaddressed(inst), now, ctx.startGraceMs));
  const cleanup = ctx.instances.map((i) => cleanupWindow(i, now)).filter((w): w is Window => w !== null);
  const cleanupUntil = cleanup.length > 0 ? Math.max(...cleanup.map((w) => w.until)) : null;

  const handover = (services: readonly string[]): number | null => {
    let until: number | null = null;
    for (const inst of ctx.instances) {
      for (const key of leaseKeys(services, inst, snapshot)) {
        const u = handoverUntil(snapshot.leases.get(key), ctx.leaseChanges?.get(key), inst.timing, now);
        if (u !== null) until = Math.max(until ?? 0, u);
      }
    }
    return until;
  };

  const missing = d.missing.map((m): MissingRoute => {
    let out: MissingRoute = m;
    if (m.reason === 'not-in-kernel') {
      const ids = m.expected.instances ?? [];
      const ws = ids.map((id) => windows.get(id) ?? null);
      if (ids.length > 0 && ws.every((w) => w !== null)) {
        const w = ws[0]!;
        const until = Math.max(...ws.map((x) => x!.until));
        out = {
          ...m,
          reason: 'kube-vip-not-ready',
          detail: describeWindow(
            w.window,
            ids.map((id) => byId.get(id)!),
          ),
          transient: { window: w.window, until: iso(until) },
        };
      } else {
        const until = handover(m.services);
        if (until !== null)
          out = {
            ...m,
            reason: 'lease-handover',
            detail: 'the lease deciding this route changed hands recently (E5)',
            transient: { window: 'lease-handover', until: iso(until) },
          };
      }
    }
    const limitation = missingLimitation(out, sources.foreignProtocolAt(m.destination), snapshot, ctx.instances, now);
    return limitation ? { ...out, limitation } : out;
  });

  const orphans = d.orphans.map((o): OrphanRoute => {
    let out: OrphanRoute = o;
    if (cleanupUntil !== null) {
      out = { ...o, transient: { window: 'startup-cleanup', until: iso(cleanupUntil) } };
    } else if (o.reason === 'not-placed-here') {
      const until = handover(o.services);
      if (until !== null) out = { ...o, transient: { window: 'lease-handover', until: iso(until) } };
    }
    const limitation = orphanLimitation(out, sources.claimsAt(o.destination), snapshot, ctx.instances);
    return limitation ? { ...out, limitation } : out;
  });

  return { diff: { ...d, missing, orphans }, limitations: notes(sources) };
}

function describeWindow(w: TransientWindow, insts: readonly KubeVipInstance[]): string {
  const pods = insts.map((i) => i.id).join(', ');
  if (w === 'kube-vip-terminating') return `kube-vip ${pods} is terminating or not ready (E3)`;
  return `kube-vip ${pods} is starting: routes appear after its services are processed (E1)`;
}

/** The leases that decide placement of these services under this instance's mode. */
function leaseKeys(services: readonly string[], inst: KubeVipInstance, snapshot: ClusterSnapshot): string[] {
  const m = inst.model;
  if (m.election === 'global') return services.some((s) => s !== CONTROL_PLANE) ? [objectKey(m.globalLease.namespace, m.globalLease.name)] : [];
  if (m.election !== 'service') return [];
  const keys: string[] = [];
  for (const s of services) {
    const svc = snapshot.services.get(s);
    if (svc) keys.push(serviceLeaseKey(svc));
  }
  return keys;
}

export function claimsFor(expected: ExpectedSet, destination: string): readonly Claim[] {
  const slash = destination.indexOf('/');
  return expected.claims.get(destination) ?? expected.claims.get(slash >= 0 ? destination.slice(0, slash) : destination) ?? [];
}

const familyOfSlice = (s: EndpointSliceInfo): Family | null => (s.addressType === 'IPv4' ? 'ipv4' : s.addressType === 'IPv6' ? 'ipv6' : null);

/** Whether one slice alone passes kube-vip's endpoint check (docs/kube-vip-routing.md §4.1). */
function sliceCounts(svc: ServiceInfo, slice: EndpointSliceInfo, nodeName: string): boolean {
  return slice.endpoints.some((ep) => endpointCounts(svc, ep, nodeName));
}

/**
 * E11: kube-vip keeps only the last-updated slice per family. Where a family
 * has several slices that disagree on the endpoint check, kube-vip's verdict
 * depends on which slice changed last; routewarden judges the union.
 */
function multiSliceService(services: readonly string[], family: Family, snapshot: ClusterSnapshot, instances: readonly KubeVipInstance[]): string | null {
  for (const key of services) {
    const svc = snapshot.services.get(key);
    const slices = snapshot.slicesByService.get(key) ?? [];
    if (!svc) continue;
    for (const inst of instances) {
      // With enable_endpoints kube-vip reads one Endpoints object, not the slices (D8): no E11.
      if (readsEndpoints(inst.model)) continue;
      const families: Family[] = inst.model.election === 'none' ? [family] : ['ipv4', 'ipv6'];
      for (const f of families) {
        const mine = slices.filter((s) => familyOfSlice(s) === f);
        if (mine.length < 2) continue;
        const verdicts = new Set(mine.map((s) => sliceCounts(svc, s, inst.model.nodeName)));
        if (verdicts.size > 1) return `${key} has ${mine.length} ${f} EndpointSlices that disagree`;
      }
    }
  }
  return null;
}

/**
 * E2, E25: kube-vip's one-shot start-up cleanup (`vip_cleanroutingtable`,
 * pkg/manager/worker/table.go `cleanRoutes`, 10 s after start, every route of
 * its table and protocol) deletes without its tracker: with `cp_enable` it
 * keeps only a route whose destination IP string equals the `address`
 * setting literally (every Service route of a hybrid process goes, and the
 * routes of any other instance sharing the table); without it, only routes
 * its own tracker holds (another instance's routes go); v1.2.0–v1.2.2 delete
 * everything (#1678). The owner's tracker still holds a deleted route, so
 * kube-vip never adds it again: a missing route such a cleanup explains is
 * that limitation, not plain drift.
 */
function cleanupDeleted(m: MissingRoute, instances: readonly KubeVipInstance[], now: number): Limitation | null {
  if (m.services.length === 1 && m.services[0] === CONTROL_PLANE) return null;
  const placers = m.expected.instances ?? instances.map((i) => i.id);
  const ip = m.destination.slice(0, m.destination.indexOf('/'));
  for (const c of instances) {
    const started = c.runtime?.startedAt ?? null;
    if (!c.cleanRoutingTable || started === null || now < started + CLEANUP_DELAY_MS) continue;
    const when = `10 s after ${c.id} started at ${iso(started)}`;
    const own = placers.includes(c.id);
    // Another instance's routes existed at the cleanup only if that instance started before it ran.
    const others = instances.filter((i) => i.id !== c.id && placers.includes(i.id));
    const existed = own || others.some((i) => i.runtime === null || i.runtime.startedAt === null || i.runtime.startedAt < started + CLEANUP_DELAY_MS);
    if (!existed) continue;
    if (c.behaviour?.cleanupWipesTable) {
      return {
        id: own ? 'E2' : 'E25',
        text: `kube-vip ${c.behaviour.release} (${c.id}) deletes every route of its table in its start-up cleanup (${when}; kube-vip #1678, fixed in v1.2.3), and the route's owner never adds it again`,
      };
    }
    const cp = c.model.controlPlane;
    if (cp.enabled) {
      const address = cp.addresses.join(',');
      if (cp.addresses.length === 1 && cp.addresses[0] === ip) continue;
      return {
        id: own ? 'E2' : 'E25',
        text: own
          ? `kube-vip ${c.id} runs vip_cleanroutingtable with cp_enable and services: its start-up cleanup (${when}) keeps only a route whose destination is the address setting ${JSON.stringify(address)} literally, so this Service route, added before then, was deleted, and its tracker still holds it: kube-vip never adds it again until it restarts`
          : `kube-vip ${c.id} runs vip_cleanroutingtable with cp_enable on the same table and protocol: its start-up cleanup (${when}) keeps only the address ${JSON.stringify(address)}, so this route of ${others.map((i) => i.id).join(', ')}, added before then, was deleted; that tracker still holds it and never adds it again`,
      };
    }
    if (!own)
      return {
        id: 'E25',
        text: `kube-vip ${c.id} runs vip_cleanroutingtable on the same table and protocol: its start-up cleanup (${when}) deletes every route its own tracker does not hold, so this route of ${others.map((i) => i.id).join(', ')}, added before then, was deleted; that tracker still holds it and never adds it again`,
      };
  }
  return null;
}

const E11_TEXT = 'kube-vip keeps only the last-updated EndpointSlice per family (PR #1717 open); routewarden judges the union of slices';

function missingLimitation(
  m: MissingRoute,
  foreignProtocol: number | undefined,
  snapshot: ClusterSnapshot,
  instances: readonly KubeVipInstance[],
  now: number,
): Limitation | null {
  if (m.reason === 'conflicting-route' && foreignProtocol === PROTO_BOOT) {
    return {
      id: 'proto-boot',
      text: 'a proto boot (3) route from kube-vip before v0.7.1 holds the destination: kube-vip migrates it only when it re-adds the route in no-election mode, and its cleanup never touches it',
    };
  }
  if (m.reason === 'not-in-kernel') {
    const cleaned = cleanupDeleted(m, instances, now);
    if (cleaned) return cleaned;
  }
  const multi = multiSliceService(m.services, m.family, snapshot, instances);
  if (multi) return { id: 'E11', text: `${multi}: ${E11_TEXT}` };
  return null;
}

function orphanLimitation(o: OrphanRoute, claims: readonly Claim[], snapshot: ClusterSnapshot, instances: readonly KubeVipInstance[]): Limitation | null {
  // kube-vip's DeleteRoute names its own device; the kernel stored the IPv6
  // error route on lo, so the delete fails (ESRCH) and the route stays.
  if (o.reason !== 'wrong-device' && o.reason !== 'wrong-type' && storedOnLo(o.family, o.route.type) && o.device === 'lo') {
    if (instances.some((i) => i.model.routeType === o.route.type))
      return {
        id: 'ipv6-error-route',
        text: `the kernel stores IPv6 ${routeTypeName(o.route.type)} routes on lo whatever device kube-vip names, and kube-vip's delete names its own device: it fails (ESRCH) and the route stays`,
      };
  }
  if (o.reason === 'service-filtered' && o.filter) {
    // A type change tears the Service down at bee5cfe (processor.go
    // deleteTrackedService): a route left behind is plain drift. Releases up
    // to v1.2.3 did not (F1, gated by the instance's version). Ignore and
    // class changes still leave it.
    if (o.filter === 'ignored' || o.filter === 'lb-class') {
      return {
        id: 'E15',
        text: `${o.detail ?? 'the Service is filtered'}; kube-vip never tears down a Service filtered by ignore or class after it got its route`,
      };
    }
    if (o.filter === 'not-loadbalancer') {
      const old = instances.filter((i) => i.behaviour?.keepsRoutesOnTypeChange === true && i.model.servicesEnabled);
      if (old.length > 0)
        return {
          id: 'E15',
          text: `${o.detail ?? 'the Service is not of type LoadBalancer'}; kube-vip ${old.map((i) => `${i.behaviour!.release} (${i.id})`).join(', ')} does not tear a Service down when it leaves type LoadBalancer (up to v1.2.3; bee5cfe does)`,
        };
    }
    if (o.filter === 'force-per-service-election')
      return { id: 'E16', text: 'with svc_election, kube-vip ignores Services annotated forcePerServiceElection "true" entirely' };
    if (o.filter === 'lease-name-with-local-policy')
      return { id: 'E17', text: 'kube-vip never processes a Service with kube-vip.io/leaseName and externalTrafficPolicy Local' };
  }
  if (o.reason === 'not-placed-here') {
    const sticky = claims.some((c) => c.verdict === 'not-placed' && c.reason === 'no-family-endpoint');
    if (sticky && instances.some((i) => i.model.election === 'none')) {
      return {
        id: 'E12',
        text: `kube-vip's family gating is sticky in no-election mode: the ${o.family} route stays while only the other family's endpoints remain`,
      };
    }
    const multi = multiSliceService(o.services, o.family, snapshot, instances);
    if (multi) return { id: 'E11', text: `${multi}: ${E11_TEXT}` };
  }
  return null;
}

/** Whether kube-vip never routes this Service (E16, E17) under any of the instances, and which. */
export function neverRoutedAs(svc: ServiceInfo, instances: readonly KubeVipInstance[]): 'E16' | 'E17' | null {
  for (const inst of instances) {
    const f = filterService(svc, inst.model);
    if (f === 'force-per-service-election' && inst.model.election === 'service') return 'E16';
    if (f === 'lease-name-with-local-policy') return 'E17';
  }
  return null;
}

function neverRouted(snapshot: ClusterSnapshot, instances: readonly KubeVipInstance[]): { e16: string[]; e17: string[] } {
  const e16: string[] = [];
  const e17: string[] = [];
  for (const [key, svc] of snapshot.services) {
    const id = neverRoutedAs(svc, instances);
    if (id === 'E16') e16.push(key);
    else if (id === 'E17') e17.push(key);
  }
  return { e16: e16.sort(), e17: e17.sort() };
}

/** Limitations visible without drift: Services kube-vip will never route (E16, E17), legacy proto boot routes on VIPs. */
function notes(sources: AnnotationSources): LimitationNote[] {
  const { e16, e17 } = sources.neverRouted();
  const out: LimitationNote[] = [];
  if (e16.length > 0)
    out.push({
      id: 'E16',
      text: 'Services annotated forcePerServiceElection "true" under svc_election: kube-vip ignores them entirely (no route anywhere)',
      services: e16,
    });
  if (e17.length > 0)
    out.push({
      id: 'E17',
      text: 'Services with kube-vip.io/leaseName and externalTrafficPolicy Local: kube-vip never processes them (no route anywhere)',
      services: e17,
    });
  for (const destination of sources.bootRoutesOnVips()) {
    out.push({
      id: 'proto-boot',
      text: `proto boot (3) route on a VIP, left by kube-vip before v0.7.1; never touched by routewarden nor by kube-vip's cleanup`,
      destination,
    });
  }
  return out;
}
