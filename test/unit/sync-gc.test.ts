import { describe, expect, it } from 'vitest';
import { compactAfterSyncAndPeaks, exposedGc, PEAK_GROWTH, PEAK_MIN_INTERVAL_MS, type Collect } from '../../src/app/sync-gc.ts';
import type { CheckResult } from '../../src/core/report.ts';
import { silentLogger } from '../../src/surface/logger.ts';

const unsynced = { diff: null } as unknown as CheckResult;
const compared = { diff: { orphans: [], missing: [], matched: [] } } as unknown as CheckResult;

/** A resident set of `rss` bytes that a collection brings down to `live`, and a clock the test moves. */
function fakeProcess(initial: { rss: number; live: number }) {
  const s = { ...initial, t: 0, calls: 0 };
  const gc: Collect = (options) => {
    expect(options).toEqual({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    s.calls++;
    s.rss = s.live;
  };
  const hook = compactAfterSyncAndPeaks(silentLogger(), { gc, rssBytes: () => s.rss, now: () => s.t });
  return { s, hook };
}

const MB = 1 << 20;

describe('compacting collections: after the initial sync, and after a peak', () => {
  it('collects once after the first check that compared both sides, never before, and not again while the resident set stays within the growth bound', () => {
    const { s, hook } = fakeProcess({ rss: 140 * MB, live: 130 * MB });
    hook(unsynced);
    hook(unsynced);
    expect(s.calls).toBe(0);
    hook(compared);
    expect(s.calls).toBe(1);
    // A quiet node, or growth under the bound: ten minutes of checks, nothing.
    s.rss = 130 * MB * (1 + PEAK_GROWTH) - 1;
    for (let i = 0; i < 600; i++) {
      s.t += 1_000;
      hook(compared);
    }
    expect(s.calls).toBe(1);
  });

  it(`collects again once the resident set has grown by a third of its size after the last one, at most once every ${PEAK_MIN_INTERVAL_MS / 1000} s`, () => {
    const { s, hook } = fakeProcess({ rss: 140 * MB, live: 130 * MB });
    hook(compared);
    expect(s.calls).toBe(1);
    // A burst within the minute after the sync's collection: it waits for the minute.
    s.t += 10_000;
    s.rss = 175 * MB;
    hook(compared);
    expect(s.calls).toBe(1);
    s.t += PEAK_MIN_INTERVAL_MS - 10_000;
    hook(unsynced);
    expect(s.calls).toBe(1);
    hook(compared);
    expect(s.calls).toBe(2);
    expect(s.rss).toBe(130 * MB);
    // Steady churn regrows the set by a sixth of it: ten minutes, no collection (no sawtooth).
    for (let i = 0; i < 600; i++) {
      s.t += 1_000;
      s.rss = Math.min(s.rss + MB, 152 * MB);
      hook(compared);
    }
    expect(s.calls).toBe(2);
    // The next burst: one more.
    s.rss = 174 * MB;
    hook(compared);
    expect(s.calls).toBe(3);
  });

  it('follows real growth: the size after the last collection is the new baseline', () => {
    const { s, hook } = fakeProcess({ rss: 140 * MB, live: 130 * MB });
    hook(compared);
    // Twice the Services: one collection, then quiet again at the larger size.
    s.live = 200 * MB;
    s.rss = 210 * MB;
    s.t += PEAK_MIN_INTERVAL_MS;
    hook(compared);
    expect(s.calls).toBe(2);
    for (let i = 0; i < 10; i++) {
      s.t += PEAK_MIN_INTERVAL_MS;
      s.rss = 200 * MB * (1 + PEAK_GROWTH) - 1;
      hook(compared);
    }
    expect(s.calls).toBe(2);
  });

  it('does nothing without --expose-gc', () => {
    const hook = compactAfterSyncAndPeaks(silentLogger(), { gc: undefined, rssBytes: () => 1e12 });
    expect(() => hook(compared)).not.toThrow();
  });

  it("finds V8's gc() only when Node exposes it", () => {
    const g = globalThis as { gc?: unknown };
    const before = g.gc;
    try {
      delete g.gc;
      expect(exposedGc()).toBeUndefined();
      const fake = (): void => undefined;
      g.gc = fake;
      expect(exposedGc()).toBe(fake);
    } finally {
      if (before === undefined) delete g.gc;
      else g.gc = before;
    }
  });
});
