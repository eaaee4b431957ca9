// diff(): kernel vs expected, with a reason on every drifted route. Identity is
// what the kernel uses (family + destination prefix; the table is fixed per
// instance). A route on the wrong device or of the wrong type is drift, not
// fine. Metric and realm are ignored (E23: kube-vip flips the CP route's realm
// on every health tick; the kernel gives IPv6 routes metric 1024).

import type { InterfaceInfo } from './cluster.ts';
import type { Claim, ExpectedRoute, ExpectedSet } from './expected.ts';
import type { Family, KernelDump, KernelRoute } from './types.ts';

export type OrphanReason =
  | 'no-service' // no Service object has this IP
  | 'service-filtered' // only Services kube-vip filters out have it (ignore, class, type, namespace…)
  | 'not-placed-here' // an eligible Service has it, but does not place it on this node
  | 'excluded' // only DHCP/hostname/uninstallable VIPs have it
  | 'wrong-device' // expected, but on another device
  | 'wrong-type'; // expected, but with another route type

export type MissingReason =
  | 'not-in-kernel'
  | 'wrong-device'
  | 'wrong-type'
  | 'conflicting-route' // the destination is taken in the table by another protocol (E21)
  | 'interface-down'; // the device is down: the kernel flushed the route (E20)

export interface OrphanRoute {
  readonly destination: string;
  readonly family: Family;
  readonly device: string | null;
  readonly reason: OrphanReason;
  /** Services that mention this IP, if any. */
  readonly services: readonly string[];
  readonly detail?: string;
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
  readonly expected: ExpectedRoute;
}

export interface MatchedRoute {
  readonly expected: ExpectedRoute;
  readonly route: KernelRoute;
}

export interface DiffResult {
  readonly orphans: readonly OrphanRoute[];
  readonly missing: readonly MissingRoute[];
  readonly matched: readonly MatchedRoute[];
}

export function diff(expected: ExpectedSet, kernel: KernelDump, interfaces: readonly InterfaceInfo[] | null): DiffResult {
  const orphans: OrphanRoute[] = [];
  const missing: MissingRoute[] = [];
  const matched: MatchedRoute[] = [];
  // Owned routes by destination. The kernel allows one route per (table, dst,
  // tos, metric), so several can exist for IPv6 with different metrics.
  const owned = new Map<string, KernelRoute[]>();
  for (const r of kernel.owned) {
    const list = owned.get(r.destination);
    if (list) list.push(r);
    else owned.set(r.destination, [r]);
  }

  for (const [dest, routes] of owned) {
    const exp = expected.routes.get(dest);
    let matchedOne = false;
    for (const r of routes) {
      if (exp && !matchedOne && r.type === exp.type && r.device !== null && exp.devices.includes(r.device)) {
        matched.push({ expected: exp, route: r });
        matchedOne = true;
        continue;
      }
      orphans.push(explainOrphan(r, exp, expected.claims));
    }
  }

  const foreignByDest = new Map<string, KernelRoute>();
  for (const r of kernel.foreign) if (!foreignByDest.has(r.destination)) foreignByDest.set(r.destination, r);
  const links = interfaces ? new Map(interfaces.map((i) => [i.name, i])) : null;

  for (const [dest, exp] of expected.routes) {
    const routes = owned.get(dest);
    if (routes?.some((r) => r.type === exp.type && r.device !== null && exp.devices.includes(r.device))) continue;
    const base = { destination: dest, family: exp.family, device: exp.device, services: exp.services, expected: exp };
    const wrong = routes?.[0];
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
    const link = links?.get(exp.device);
    if (link && !link.up) {
      missing.push({ ...base, reason: 'interface-down', detail: `${exp.device} is down` });
      continue;
    }
    missing.push({ ...base, reason: 'not-in-kernel' });
  }
  orphans.sort(byDestination);
  missing.sort(byDestination);
  return { orphans, missing, matched };
}

function byDestination(a: { destination: string }, b: { destination: string }): number {
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
    return { ...base, reason: 'service-filtered', services, detail: `${filtered.service}: ${filtered.reason}` };
  }
  const excluded = found.find((c) => c.verdict === 'excluded');
  return { ...base, reason: 'excluded', services, detail: excluded && excluded.verdict === 'excluded' ? `${excluded.service}: ${excluded.reason}` : undefined };
}
