// One full garbage collection once the initial sync is done.
//
// The initial LIST of 10,000 Services and their EndpointSlices leaves tens of
// megabytes of garbage behind (response bodies, parsed pages). V8 collects
// only when something allocates, and a synced routewarden on a quiet node
// hardly does: the garbage, and the malloc'd buffers only a collection frees,
// can stay resident for hours (docs/performance.md: RSS after sync 135-155 MB
// without this, by when V8 happened to collect last). So the first check
// that compares both sides is followed by one collection, when the process
// runs with --expose-gc (the DaemonSet's NODE_OPTIONS); without it, nothing.
// It is V8's "last resort" collection: a plain full collection frees the
// objects but keeps the emptied pages of the heap resident; this one
// compacts and hands them back.

import type { CheckResult } from '../core/report.ts';
import type { Logger } from './ports.ts';

/** V8's gc() (--expose-gc): `last-resort` collects repeatedly, compacts and returns freed pages to the OS. */
export type Collect = (options?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/** V8's gc() when Node runs with --expose-gc, else undefined. */
export const exposedGc = (): Collect | undefined => {
  const gc = (globalThis as { gc?: unknown }).gc;
  return typeof gc === 'function' ? (gc as Collect) : undefined;
};

/** A check hook that runs `gc` once, after the first check that compared both sides. */
export function collectOnceSynced(logger: Logger, gc: Collect | undefined = exposedGc()): (result: CheckResult) => void {
  let done = gc === undefined;
  return (result) => {
    if (done || result.diff === null) return;
    done = true;
    const started = performance.now();
    gc!({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    logger.debug({ durationMs: Math.round(performance.now() - started) }, 'collected the garbage of the initial sync');
  };
}
