// What past repairs say about the next one, pure (time is passed in):
//
// - No progress: a repair after which the drift is exactly what it was
//   before changed nothing the kernel kept (the table refused it, or the plan
//   could not reach the cause). Repeating it as is only churns the table, so
//   the same drift is held back for a while, doubling (capped) each time the
//   retry changes nothing again. Any change of the drift ends the hold.
// - Flapping: a destination that repairs keep putting right and something
//   keeps undoing (a competing writer, kube-vip itself with other settings)
//   is left alone for a while: fighting it withdraws and re-adds a VIP
//   again and again, and each round is an Event and a page.

import type { DiffResult } from './diff.ts';
import { driftKey } from './tracker.ts';

export interface RepairHistoryLimits {
  /** This many repairs of one destination within `flapWindowMs` make it flapping. */
  readonly flapRepairs: number;
  readonly flapWindowMs: number;
  /** How long a flapping destination is left alone. */
  readonly flapHoldMs: number;
  /** First hold after a repair without progress; doubles per retry without progress, up to the cap. */
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
}

export const DEFAULT_REPAIR_HISTORY_LIMITS: RepairHistoryLimits = {
  flapRepairs: 5,
  flapWindowMs: 10 * 60_000,
  flapHoldMs: 60 * 60_000,
  backoffBaseMs: 60_000,
  backoffMaxMs: 60 * 60_000,
};

export interface RepairHistory {
  /** Destination -> when repairs changed it (within the flap window). */
  readonly repairs: Map<string, number[]>;
  /** Destination -> until when it is left alone. */
  readonly flapping: Map<string, number>;
  /** The drift a repair could not change, and until when it is held back. */
  noProgress: { readonly signature: string; readonly attempts: number; readonly until: number } | null;
}

export const newRepairHistory = (): RepairHistory => ({ repairs: new Map(), flapping: new Map(), noProgress: null });

/** The actionable (non-transient) drift of a diff, as one comparable string. */
export function driftSignature(d: DiffResult): string {
  const keys = [
    ...d.orphans.filter((o) => !o.transient).map((o) => driftKey('orphan', o.destination, o.route.device)),
    ...d.missing.filter((m) => !m.transient).map((m) => driftKey('missing', m.destination, m.device)),
  ];
  return keys.sort().join('\n');
}

/** Destinations left alone now (expired holds are dropped). */
export function flappingAt(h: RepairHistory, now: number): string[] {
  for (const [dest, until] of h.flapping) if (now >= until) h.flapping.delete(dest);
  return [...h.flapping.keys()].sort();
}

/** The hold on this drift, if a repair of the very same drift made no progress and the hold has not ended. */
export function noProgressHold(h: RepairHistory, signature: string, now: number): { until: number; attempts: number } | null {
  const np = h.noProgress;
  if (!np) return null;
  if (np.signature !== signature) {
    h.noProgress = null; // the drift changed: a new situation
    return null;
  }
  return now < np.until ? { until: np.until, attempts: np.attempts } : null;
}

/** Destinations with actionable (non-transient) drift. */
export function driftedDestinations(d: DiffResult): string[] {
  const out = new Set<string>();
  for (const o of d.orphans) if (!o.transient) out.add(o.destination);
  for (const m of d.missing) if (!m.transient) out.add(m.destination);
  return [...out].sort();
}

/**
 * Remember an applied repair: `before` is the diff it was planned from,
 * `after` the diff of the check that verified it. Returns whether it made no
 * progress, and the destinations that became flapping.
 */
export function recordRepair(
  h: RepairHistory,
  before: DiffResult,
  after: DiffResult | null,
  now: number,
  limits = DEFAULT_REPAIR_HISTORY_LIMITS,
): { noProgress: boolean; newlyFlapping: string[] } {
  const signature = driftSignature(before);
  const noProgress = after !== null && signature !== '' && signature === driftSignature(after);
  const newlyFlapping: string[] = [];
  if (noProgress) {
    const attempts = h.noProgress?.signature === signature ? h.noProgress.attempts + 1 : 1;
    const hold = Math.min(limits.backoffMaxMs, limits.backoffBaseMs * 2 ** (attempts - 1));
    h.noProgress = { signature, attempts, until: now + hold };
    return { noProgress, newlyFlapping };
  }
  h.noProgress = null;
  // Progress: count it against each destination whose drift it was for (not
  // every route a flush touched), so a destination that drifts again and
  // again shows up, and healthy ones do not.
  for (const dest of driftedDestinations(before)) {
    const times = (h.repairs.get(dest) ?? []).filter((t) => now - t < limits.flapWindowMs);
    times.push(now);
    h.repairs.set(dest, times);
    if (times.length >= limits.flapRepairs && !h.flapping.has(dest)) {
      h.flapping.set(dest, now + limits.flapHoldMs);
      h.repairs.delete(dest);
      newlyFlapping.push(dest);
    }
  }
  // Forget destinations whose repairs are all outside the window.
  for (const [dest, times] of h.repairs) if (times.every((t) => now - t >= limits.flapWindowMs)) h.repairs.delete(dest);
  return { noProgress, newlyFlapping };
}
