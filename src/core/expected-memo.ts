// expectedRoutes() reused across checks while nothing it reads has changed.
//
// At 10,000 Services computing the expected set is most of a check, yet most
// checks see the same API view: a kernel route event, the periodic re-check
// and a repair's read-back all re-run the comparison with no Kubernetes change
// in between. The set is a pure function of the snapshot, the model, the
// node's interfaces and, through lease expiry alone, `now`; the cluster index
// hands out the same immutable snapshot object until something changes. So a
// set is kept per snapshot (weakly: it goes when the snapshot does), per model
// and interfaces (by value), and only for the span of time in which no lease
// the snapshot holds can expire.
//
// When the snapshot did change, most of it usually did not: per (model,
// interfaces) the per-Service results of the last computation are kept too
// (ServiceSteps), so one changed Service or EndpointSlice costs one Service's
// work plus assembling the set.
//
// Relies on snapshots never being mutated once handed out (ClusterSnapshot is
// read-only by type; ClusterIndex builds a new one per batch of changes).
//
// No process-wide state: an ExpectedMemo is an object its owner (the checker,
// through report.ts's EvaluationCache) creates and drops.

import type { ClusterSnapshot, InterfaceInfo } from './cluster.ts';
import { expectedRoutes, leaseValidUntil, mergeExpected, newServiceSteps } from './expected.ts';
import type { ExpectedInput, ExpectedSet, ServiceSteps } from './expected.ts';
import type { KubeVipModel } from './model.ts';

interface Entry {
  readonly computedAt: number;
  /** The set stays valid for now in [computedAt, validUntil]. */
  readonly validUntil: number;
  readonly set: ExpectedSet;
}

/** At most this many (model, interfaces) variants are kept per snapshot. */
const VARIANTS = 8;

const variantKey = (model: KubeVipModel, interfaces: readonly InterfaceInfo[] | null): string => JSON.stringify([model, interfaces]);

/**
 * The first instant after `now` at which some lease of the snapshot changes
 * from valid to expired (leaseState: expired once renewed + duration + skew
 * < now); Infinity when none can. An expired lease never becomes valid
 * again without a new snapshot.
 */
export function leaseHorizon(leases: ClusterSnapshot['leases'], now: number, skewSeconds: number): number {
  let horizon = Infinity;
  for (const lease of leases.values()) horizon = Math.min(horizon, leaseValidUntil(lease, now, skewSeconds));
  return horizon;
}

export class ExpectedMemo {
  readonly #sets = new WeakMap<ClusterSnapshot, Map<string, Entry>>();
  /** Per-Service results by (model, interfaces), the most recently used last. */
  readonly #steps = new Map<string, ServiceSteps>();
  readonly #merged = new WeakMap<ExpectedSet, { readonly parts: readonly { readonly id: string; readonly set: ExpectedSet }[]; readonly set: ExpectedSet }>();

  #stepsFor(key: string): ServiceSteps {
    const found = this.#steps.get(key) ?? newServiceSteps();
    this.#steps.delete(key);
    if (this.#steps.size >= VARIANTS) this.#steps.delete(this.#steps.keys().next().value!);
    this.#steps.set(key, found);
    return found;
  }

  /** expectedRoutes(input), from the memo when the same inputs were seen and no lease can have expired since. */
  expectedRoutes(input: ExpectedInput): ExpectedSet {
    const { snapshot, model, interfaces, now } = input;
    let variants = this.#sets.get(snapshot);
    if (!variants) {
      variants = new Map();
      this.#sets.set(snapshot, variants);
    }
    const key = variantKey(model, interfaces);
    const hit = variants.get(key);
    if (hit && now >= hit.computedAt && now <= hit.validUntil) return hit.set;
    const set = expectedRoutes(input, this.#stepsFor(key));
    variants.delete(key);
    if (variants.size >= VARIANTS) variants.delete(variants.keys().next().value!);
    variants.set(key, { computedAt: now, validUntil: leaseHorizon(snapshot.leases, now, model.leaseSkewSeconds), set });
    return set;
  }

  /**
   * mergeExpected(parts), the same object again while every instance's set and
   * id are the ones of the last call: with kube-vip discovery on, the merge
   * copies every route and claim, at every check.
   */
  mergeExpected(parts: readonly { readonly id: string; readonly set: ExpectedSet }[]): ExpectedSet {
    const first = parts[0];
    if (!first) return mergeExpected(parts);
    const hit = this.#merged.get(first.set);
    if (hit && hit.parts.length === parts.length && hit.parts.every((p, i) => p.id === parts[i]!.id && p.set === parts[i]!.set)) return hit.set;
    const set = mergeExpected(parts);
    this.#merged.set(first.set, { parts: [...parts], set });
    return set;
  }
}
