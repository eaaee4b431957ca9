// DriftTracker remembers since when each drifted route has been seen, across
// checks. It tells which routes newly entered drift (for the counter) and how
// long a drift has persisted (for the repair grace period). Pure: time comes in.

import type { Report } from './report.ts';

export type DriftKind = 'orphan' | 'missing';

/** Stable key of one drifted route: kind, destination and device. */
export const driftKey = (kind: DriftKind, destination: string, device: string | null): string => `${kind} ${destination} ${device ?? '-'}`;

export interface DriftUpdate {
  /** Keys that were not drifted at the previous check that read both sides. */
  readonly entered: readonly { kind: DriftKind; key: string }[];
}

export class DriftTracker {
  #since = new Map<string, number>();
  /** A report could not compare since the last one that did: ages start again. */
  #interrupted = false;

  /**
   * Feed a report. A report that could not compare (a source down) changes
   * no drift, but ends every drift's unbroken run: once both sides are back,
   * drift seen before the outage is still known (not counted again) but its
   * age starts from zero. Drift that aged through an API outage was once
   * repaired 0 to 57 ms after the API came back, from a view seconds old.
   */
  update(report: Report, now: number): DriftUpdate {
    if (report.sources.kernel !== 'ok' || report.sources.kubernetes !== 'ok') {
      this.#interrupted = true;
      return { entered: [] };
    }
    const restart = this.#interrupted;
    this.#interrupted = false;
    const next = new Map<string, number>();
    const entered: { kind: DriftKind; key: string }[] = [];
    const see = (kind: DriftKind, key: string) => {
      const first = this.#since.get(key);
      if (first === undefined) entered.push({ kind, key });
      next.set(key, first === undefined || restart ? now : first);
    };
    for (const o of report.orphans) see('orphan', driftKey('orphan', o.destination, o.device));
    for (const m of report.missing) see('missing', driftKey('missing', m.destination, m.device));
    this.#since = next;
    return { entered };
  }

  /** When the route was first seen drifted in an unbroken run of checks that compared both sides; undefined if not drifted. */
  since(key: string): number | undefined {
    return this.#since.get(key);
  }

  /** The youngest drift age, in ms, among the given keys (Infinity when none). */
  youngestAge(keys: Iterable<string>, now: number): number {
    let youngest = Infinity;
    for (const k of keys) {
      const s = this.#since.get(k);
      youngest = Math.min(youngest, s === undefined ? 0 : now - s);
    }
    return youngest;
  }

  reset(): void {
    this.#since.clear();
  }
}
