// Lease handover windows (E5, E6). Between one holder dropping a service's
// routes and the next adding them, no node holds the route: up to
// leaseDuration + 2.2 × retryPeriod (client-go retries every retryPeriod ×
// (1 + rand·1.2)) after a crash, ~4.4 s after a voluntary release. During that
// window a missing route (on the new holder) or an orphan (on the old one) is
// expected, not drift. Pure: time is passed in.

import type { LeaseInfo } from './cluster.ts';
import type { KubeVipTiming } from './model.ts';

/** The length of a handover window for kube-vip's lease timing. */
export const handoverWindowMs = (t: KubeVipTiming): number => Math.round((t.leaseDurationSeconds + 2.2 * t.retryPeriodSeconds) * 1000);

/**
 * Remembers when each lease's holder was seen to change, across checks. The
 * Lease object's own times say most of it (acquireTime on acquisition,
 * renewTime on release); the observation covers a change whose times are
 * missing or skewed.
 */
export class LeaseChangeTracker {
  #holders = new Map<string, { holder: string; changedAt: number | undefined }>();

  /** Feed the current leases; returns when each lease was last seen changing holder (absent: never seen changing). */
  observe(leases: ReadonlyMap<string, LeaseInfo>, now: number): ReadonlyMap<string, number> {
    const next = new Map<string, { holder: string; changedAt: number | undefined }>();
    const changes = new Map<string, number>();
    for (const [key, lease] of leases) {
      const holder = lease.holderIdentity ?? '';
      const prev = this.#holders.get(key);
      const changedAt = prev === undefined ? undefined : prev.holder !== holder ? now : prev.changedAt;
      next.set(key, { holder, changedAt });
      if (changedAt !== undefined) changes.set(key, changedAt);
    }
    this.#holders = next;
    this.#changes = changes;
    return changes;
  }

  /**
   * The same, told only which leases changed since the last call (a change
   * journal's keys; 'all' when unknown): the cost is the changed leases'.
   * The map returned is the tracker's own, valid until the next call.
   */
  observeChanged(leases: ReadonlyMap<string, LeaseInfo>, changed: ReadonlySet<string> | 'all', now: number): ReadonlyMap<string, number> {
    if (changed === 'all') return this.observe(leases, now);
    for (const key of changed) {
      const lease = leases.get(key);
      const prev = this.#holders.get(key);
      if (!lease) {
        this.#holders.delete(key);
        this.#changes.delete(key);
        continue;
      }
      const holder = lease.holderIdentity ?? '';
      const changedAt = prev === undefined ? undefined : prev.holder !== holder ? now : prev.changedAt;
      this.#holders.set(key, { holder, changedAt });
      if (changedAt !== undefined) this.#changes.set(key, changedAt);
      else this.#changes.delete(key);
    }
    return this.#changes;
  }

  #changes = new Map<string, number>();
}

/**
 * Until when a lease is in a handover window (epoch ms), or null. The change
 * is the latest of: an observed holder change; the acquisition of the current
 * holder; the release (empty holder) or the last renewal of a holder that
 * stopped renewing (renewTime older than the lease's duration).
 */
export function handoverUntil(lease: LeaseInfo | undefined, observedChange: number | undefined, timing: KubeVipTiming, now: number): number | null {
  if (!lease) return null;
  const holder = lease.holderIdentity ?? '';
  const candidates: number[] = [];
  if (observedChange !== undefined) candidates.push(observedChange);
  const renewed = lease.renewTime ?? lease.acquireTime;
  if (holder === '') {
    if (renewed !== undefined) candidates.push(renewed);
  } else {
    if (lease.acquireTime !== undefined) candidates.push(lease.acquireTime);
    const duration = (lease.leaseDurationSeconds ?? timing.leaseDurationSeconds) * 1000;
    if (renewed !== undefined && renewed + duration < now) candidates.push(renewed);
  }
  if (candidates.length === 0) return null;
  const until = Math.max(...candidates) + handoverWindowMs(timing);
  return now < until ? until : null;
}
