// diff(): kernel vs expected, with a reason on every drifted route. Identity is
// what the kernel uses (family + destination prefix; the table is fixed per
// instance). A route on the wrong device or of the wrong type is drift, not
// fine. Metric and realm are ignored (E23: kube-vip flips the CP route's realm
// on every health tick; the kernel gives IPv6 routes metric 1024).

import type { InterfaceInfo } from './cluster.ts';
import type { Claim, ExpectedRoute, ExpectedSet, FilterReason } from './expected.ts';
import type { UnjudgedReason } from './model.ts';
import type { Family, KernelDump, KernelRoute } from './types.ts';

export type OrphanReason =
  | 'no-service' // no Service object has this IP
  | 'service-filtered' // only Services kube-vip filters out have it (ignore, class, type, namespace…)
  | 'not-placed-here' // an eligible Service has it, but does not place it on this node
  | 'excluded' // only VIPs kube-vip cannot install have it
  | 'wrong-device' // expected, but on another device
  | 'wrong-type'; // expected, but with another route type

export type MissingReason =
  | 'not-in-kernel'
  | 'wrong-device'
  | 'wrong-type'
  | 'conflicting-route' // the destination is taken in the table by another protocol (E21)
  | 'interface-down' // the device is down: the kernel flushed the route (E20)
  | 'kube-vip-not-ready' // kube-vip is starting, restarting or terminating (E1, E3): not actionable yet
  | 'lease-handover'; // the deciding lease is changing hands (E5, E6): not actionable yet

/** Why drift is expected to resolve by itself, and until when (repair skips it). */
export type TransientWindow = 'kube-vip-starting' | 'kube-vip-terminating' | 'lease-handover' | 'startup-cleanup';

export interface Transient {
  readonly window: TransientWindow;
  /** ISO time after which the drift is actionable. */
  readonly until: string;
}

/** A known kube-vip limitation that explains the drift (docs/kube-vip-routing.md §8), by its case id. */
export type LimitationId = 'E11' | 'E12' | 'E15' | 'E16' | 'E17' | 'proto-boot' | 'ipv6-error-route' | 'E2' | 'E25';

export interface Limitation {
  readonly id: LimitationId;
  readonly text: string;
}

/**
 * What a drifted route is, for alerts and repair: plain `drift`, drift
 * `expected-transient` (a kube-vip or lease window; repair skips it), or drift
 * explained by a `kube-vip-limitation`.
 */
export type DriftClass = 'drift' | 'expected-transient' | 'kube-vip-limitation';

export interface OrphanRoute {
  readonly destination: string;
  readonly family: Family;
  readonly device: string | null;
  readonly reason: OrphanReason;
  /** Services that mention this IP, if any. */
  readonly services: readonly string[];
  readonly detail?: string;
  /** With `service-filtered`: which of kube-vip's filters (docs/kube-vip-routing.md §3.1). */
  readonly filter?: FilterReason;
  readonly transient?: Transient;
  readonly limitation?: Limitation;
  /** The kernel route, for repair. */
  readonly route: KernelRoute;
}

export interface MissingRoute {
  readonly destination: string;
  readonly family: Family;
  readonly device: string;
  readonly services: readonly string[];
  readonly reason: MissingReason;
  readonly detail?: string;
  readonly transient?: Transient;
  readonly limitation?: Limitation;
  readonly expected: ExpectedRoute;
}

export interface MatchedRoute {
  readonly expected: ExpectedRoute;
  readonly route: KernelRoute;
}

/**
 * A route routewarden cannot judge (docs/kube-vip-fidelity.md, "Not judged"):
 * one in the table (`route` set) that no expected route matches and that a
 * not-judged VIP or blanket covers, or a not-judged VIP's route the table
 * does not hold. Never drift, never repaired.
 */
export interface UnjudgedRoute {
  /** null for a VIP whose route is not known at all (a hostname, a DHCP lease not recorded yet). */
  readonly destination: string | null;
  readonly family: Family | null;
  readonly device: string | null;
  readonly inKernel: boolean;
  readonly reason: UnjudgedReason;
  readonly detail: string;
  readonly services: readonly string[];
  /** The VIP or hostname, when the route is not known. */
  readonly address?: string;
  /** The kernel route, when the table holds it. */
  readonly route?: KernelRoute;
}

export interface DiffResult {
  readonly orphans: readonly OrphanRoute[];
  readonly missing: readonly MissingRoute[];
  readonly matched: readonly MatchedRoute[];
  /** Not drift: routes routewarden cannot judge. */
  readonly unjudged: readonly UnjudgedRoute[];
}

export function diff(expected: ExpectedSet, kernel: KernelDump, interfaces: readonly InterfaceInfo[] | null): DiffResult {
  const orphans: OrphanRoute[] = [];
  const matched: MatchedRoute[] = [];
  // Each owned route against the expected route for its destination. The
  // kernel allows one route per (table, dst, tos, metric), so IPv6 can hold
  // several for one destination: the first that is as kube-vip would make it
  // is matched, the others are orphans. Walks the arrays, not Map entries:
  // at 10,000 routes per check, iterating [key, value] pairs costs more than
  // the lookups.
  const held = new Set<ExpectedRoute>();
  const unjudged: UnjudgedRoute[] = [];
  const judging = expected.unjudged.length > 0 || expected.blankets.length > 0;
  for (const r of kernel.owned) {
    const exp = expected.routes.get(r.destination);
    if (exp && !held.has(exp) && r.type === exp.type && r.device !== null && exp.devices.includes(r.device)) {
      matched.push({ expected: exp, route: r });
      held.add(exp);
      continue;
    }
    const u = judging && !exp ? unjudgedInKernel(r, expected) : null;
    if (u) unjudged.push(u);
    else orphans.push(explainOrphan(r, exp, expected.claims));
  }
  // Only a drifted table has expected routes that are not held.
  const missing = held.size === expected.routes.size ? [] : missingRoutes(expected, held, kernel, interfaces, unjudged);
  if (expected.unjudged.length > 0) unjudged.push(...unjudgedAbsent(expected, kernel));
  orphans.sort(byDestination);
  missing.sort(byDestination);
  unjudged.sort((a, b) => byDestination({ destination: a.destination ?? a.address ?? '' }, { destination: b.destination ?? b.address ?? '' }));
  return { orphans, missing, matched, unjudged };
}

/** A table route that is not expected: not judged when a not-judged VIP claims it, or a blanket covers it. */
function unjudgedInKernel(r: KernelRoute, expected: ExpectedSet): UnjudgedRoute | null {
  const slash = r.destination.indexOf('/');
  const ip = slash >= 0 ? r.destination.slice(0, slash) : r.destination;
  const found = expected.claims.get(r.destination) ?? expected.claims.get(ip) ?? [];
  const base = { destination: r.destination, family: r.family, device: r.device, inKernel: true, route: r };
  const claim = found.find((c) => c.verdict === 'unjudged');
  if (claim && claim.verdict === 'unjudged') {
    return { ...base, reason: claim.reason, detail: claim.detail, services: [...new Set(found.map((c) => c.service))].sort() };
  }
  const all = expected.blankets.find((b) => b.scope === 'all');
  if (all) return { ...base, reason: all.reason, detail: all.detail, services: [] };
  const unclaimed = found.length === 0 ? expected.blankets.find((b) => b.scope === 'unclaimed') : undefined;
  if (unclaimed) return { ...base, reason: unclaimed.reason, detail: `no Service names this address, and ${unclaimed.detail}`, services: [] };
  return null;
}

/** Not-judged VIPs whose route the table does not hold (or whose route is not known). */
function unjudgedAbsent(expected: ExpectedSet, kernel: KernelDump): UnjudgedRoute[] {
  const inTable = new Set<string>();
  for (const r of kernel.owned) {
    inTable.add(r.destination);
    const slash = r.destination.indexOf('/');
    inTable.add(slash >= 0 ? r.destination.slice(0, slash) : r.destination);
  }
  const byKey = new Map<string, UnjudgedRoute>();
  for (const u of expected.unjudged) {
    if (u.destination !== null ? inTable.has(u.destination) : u.family !== null && u.address !== '' && inTable.has(u.address)) continue;
    if (u.destination !== null && expected.routes.has(u.destination)) continue;
    const key = u.destination ?? `${u.service} ${u.address}`;
    const prev = byKey.get(key);
    if (prev) {
      if (!prev.services.includes(u.service)) byKey.set(key, { ...prev, services: [...prev.services, u.service].sort() });
      continue;
    }
    byKey.set(key, {
      destination: u.destination,
      family: u.family,
      device: null,
      inKernel: false,
      reason: u.reason,
      detail: u.detail,
      services: [u.service],
      ...(u.destination === null ? { address: u.address } : {}),
    });
  }
  return [...byKey.values()];
}

/** The expected routes the kernel does not hold as kube-vip would, and why. */
function missingRoutes(
  expected: ExpectedSet,
  held: ReadonlySet<ExpectedRoute>,
  kernel: KernelDump,
  interfaces: readonly InterfaceInfo[] | null,
  unjudged: UnjudgedRoute[],
): MissingRoute[] {
  const missing: MissingRoute[] = [];
  const owned = new Map<string, KernelRoute>();
  for (const r of kernel.owned) if (!owned.has(r.destination)) owned.set(r.destination, r);
  const foreignByDest = new Map<string, KernelRoute>();
  for (const r of kernel.foreign) if (!foreignByDest.has(r.destination)) foreignByDest.set(r.destination, r);
  const links = interfaces ? new Map(interfaces.map((i) => [i.name, i])) : null;

  for (const exp of expected.routes.values()) {
    if (held.has(exp)) continue;
    const dest = exp.destination;
    const base = { destination: dest, family: exp.family, device: exp.device, services: exp.services, expected: exp };
    const wrong = owned.get(dest);
    if (wrong) {
      const reason = wrong.type !== exp.type ? 'wrong-type' : 'wrong-device';
      missing.push({ ...base, reason, detail: `kernel route is on ${wrong.device ?? 'no device'} type ${wrong.type}` });
      continue;
    }
    const foreign = foreignByDest.get(dest);
    if (foreign) {
      missing.push({ ...base, reason: 'conflicting-route', detail: `destination taken by protocol ${foreign.protocol} on ${foreign.device ?? 'no device'}` });
      continue;
    }
    if (exp.absentUnjudged) {
      unjudged.push({
        destination: dest,
        family: exp.family,
        device: exp.device,
        inKernel: false,
        reason: exp.absentUnjudged.reason,
        detail: exp.absentUnjudged.detail,
        services: exp.services,
      });
      continue;
    }
    const link = links?.get(exp.device);
    if (link && !link.up) {
      missing.push({ ...base, reason: 'interface-down', detail: `${exp.device} is down` });
      continue;
    }
    missing.push({ ...base, reason: 'not-in-kernel' });
  }
  return missing;
}

/** Sort order of drifted routes and report rows: by destination text. */
export function byDestination(a: { readonly destination: string }, b: { readonly destination: string }): number {
  return a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0;
}

function explainOrphan(r: KernelRoute, exp: ExpectedRoute | undefined, claims: ReadonlyMap<string, readonly Claim[]>): OrphanRoute {
  const base = { destination: r.destination, family: r.family, device: r.device, route: r };
  if (exp) {
    if (r.type !== exp.type) {
      return { ...base, reason: 'wrong-type', services: exp.services, detail: `type ${r.type}, kube-vip uses ${exp.type}` };
    }
    return { ...base, reason: 'wrong-device', services: exp.services, detail: `on ${r.device ?? 'no device'}, kube-vip uses ${exp.devices.join(' or ')}` };
  }
  const slash = r.destination.indexOf('/');
  const ip = slash >= 0 ? r.destination.slice(0, slash) : r.destination;
  const found = claims.get(r.destination) ?? claims.get(ip) ?? [];
  const services = [...new Set(found.map((c) => c.service))].sort();
  if (found.length === 0) return { ...base, reason: 'no-service', services };
  const notPlaced = found.find((c) => c.verdict === 'not-placed');
  if (notPlaced && notPlaced.verdict === 'not-placed') {
    return { ...base, reason: 'not-placed-here', services, detail: `${notPlaced.service}: ${notPlaced.detail ?? notPlaced.reason}` };
  }
  const placed = found.find((c) => c.verdict === 'placed');
  if (placed && placed.verdict === 'placed') {
    // Placed with another prefix length than the kernel route carries.
    return { ...base, reason: 'not-placed-here', services, detail: `${placed.service} places it with another prefix` };
  }
  const filtered = found.find((c) => c.verdict === 'filtered');
  if (filtered && filtered.verdict === 'filtered') {
    return { ...base, reason: 'service-filtered', services, filter: filtered.reason, detail: `${filtered.service} ${FILTER_TEXT[filtered.reason]}` };
  }
  const excluded = found.find((c) => c.verdict === 'excluded');
  return { ...base, reason: 'excluded', services, detail: excluded && excluded.verdict === 'excluded' ? `${excluded.service}: ${excluded.reason}` : undefined };
}

/** What each kube-vip filter means, for the detail of a `service-filtered` orphan. */
export const FILTER_TEXT: Readonly<Record<FilterReason, string>> = {
  'services-disabled': 'is not served: kube-vip runs without svc_enable',
  namespace: 'is outside svc_namespace',
  'force-per-service-election': 'has kube-vip.io/forcePerServiceElection "true", which kube-vip skips here (E16)',
  'not-loadbalancer': 'is not of type LoadBalancer (type filter)',
  ignored: 'has kube-vip.io/ignore "true" (ignore filter)',
  'lb-class': 'has a loadBalancerClass kube-vip does not serve (class filter)',
  'lease-name-with-local-policy': 'has kube-vip.io/leaseName with externalTrafficPolicy Local: kube-vip never processes it (E17)',
};

/** The class of a drifted route: transient first (repair waits), then limitation, else plain drift. */
export function driftClass(r: { readonly transient?: Transient; readonly limitation?: Limitation }): DriftClass {
  if (r.transient) return 'expected-transient';
  if (r.limitation) return 'kube-vip-limitation';
  return 'drift';
}
