// Two compacting garbage collections V8 would not run by itself here.
//
// After the initial sync. The initial LIST of 10,000 Services and their
// EndpointSlices leaves tens of megabytes of garbage behind (response bodies,
// parsed pages). V8 collects only when something allocates, and a synced
// routewarden on a quiet node hardly does: the garbage, and the malloc'd
// buffers only a collection frees, can stay resident for hours
// (docs/performance.md: RSS after sync 135-155 MB without this, by when V8
// happened to collect last). So the first check that compares both sides is
// followed by one collection.
//
// After a peak. A burst (a thousand routes drifting at once, a relist) grows
// V8's heap, and its pages stay resident after the burst's objects are dead:
// V8 keeps freed pages in a pool and gives them back in its memory reducer,
// which runs only when the process is idle, and a node whose cluster churns
// never is (round eight in docs/performance.md: 160-177 MB at the start of a
// churn that follows a burst, 125-130 MB after sync). So when the resident
// set has grown by PEAK_GROWTH (a third) of what it was after the last
// compaction, and a minute has passed since, the next check is followed by
// one more. Not less: under steady churn the resident set regrows by 20-30 MB
// (a fifth to a quarter) within a minute of any compaction, as V8 sizes its
// old generation again, so a smaller bound (8 MB was tried) compacts every
// minute for a sawtooth that ends where it started. The price: a burst that
// stays under the bound is kept (163 MB in one run). At 10,000 Services one
// compaction takes 80-150 ms.
//
// Both run only when the process has --expose-gc (the DaemonSet's
// NODE_OPTIONS); without it, nothing. Both are V8's "last resort" collection:
// a plain full collection frees the objects but keeps the emptied pages of
// the heap resident; this one compacts and hands them back.

import type { CheckResult } from '../core/report.ts';
import type { Logger } from './ports.ts';

/** V8's gc() (--expose-gc): `last-resort` collects repeatedly, compacts and returns freed pages to the OS. */
export type Collect = (options?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/** V8's gc() when Node runs with --expose-gc, else undefined. */
export const exposedGc = (): Collect | undefined => {
  const gc = (globalThis as { gc?: unknown }).gc;
  return typeof gc === 'function' ? (gc as Collect) : undefined;
};

/** The resident set has grown by this share of its size after the last compaction: compact again. */
export const PEAK_GROWTH = 1 / 3;
/** At most one compaction after a peak in this long. */
export const PEAK_MIN_INTERVAL_MS = 60_000;

export interface CompactionOptions {
  readonly gc?: Collect | undefined;
  /** The process's resident set, bytes. */
  readonly rssBytes?: () => number;
  readonly now?: () => number;
}

/**
 * A check hook: one compaction after the first check that compared both
 * sides, then one after any check that finds the resident set grown by
 * PEAK_GROWTH of its size after the last compaction, at most every
 * PEAK_MIN_INTERVAL_MS.
 */
export function compactAfterSyncAndPeaks(logger: Logger, opts: CompactionOptions = {}): (result: CheckResult) => void {
  const gc = 'gc' in opts ? opts.gc : exposedGc();
  const rssBytes = opts.rssBytes ?? (() => process.memoryUsage.rss());
  const now = opts.now ?? (() => performance.now());
  /** The resident set after the last compaction; undefined until the sync's. */
  let baseline: number | undefined;
  let lastAt = 0;
  const mb = (b: number): number => Math.round(b / 104857.6) / 10;
  return (result) => {
    if (gc === undefined || result.diff === null) return;
    const first = baseline === undefined;
    // The clock first: the resident set is read (from /proc) at most once a minute, not after every check.
    if (!first && now() - lastAt < PEAK_MIN_INTERVAL_MS) return;
    const before = rssBytes();
    if (!first && before < baseline! * (1 + PEAK_GROWTH)) return;
    const started = now();
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    lastAt = now();
    baseline = rssBytes();
    const fields = { durationMs: Math.round(lastAt - started), rssMBBefore: mb(before), rssMBAfter: mb(baseline) };
    logger.debug(fields, first ? 'collected the garbage of the initial sync' : 'compacted the heap after a peak');
  };
}
