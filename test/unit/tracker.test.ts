import { describe, expect, it } from 'vitest';
import { DriftTracker, driftKey } from '../../src/core/tracker.ts';
import type { Report } from '../../src/core/report.ts';

const report = (orphans: string[], kubernetes = 'ok'): Report =>
  ({ sources: { kernel: 'ok', kubernetes }, orphans: orphans.map((destination) => ({ destination, device: 'lo' })), missing: [] }) as unknown as Report;
const key = (d: string) => driftKey('orphan', d, 'lo');

describe('DriftTracker', () => {
  it('a drift seen at every check keeps its first time', () => {
    const t = new DriftTracker();
    expect(t.update(report(['10.0.0.5/32']), 1_000).entered).toHaveLength(1);
    expect(t.update(report(['10.0.0.5/32']), 61_000).entered).toHaveLength(0);
    expect(t.since(key('10.0.0.5/32'))).toBe(1_000);
  });

  it('an outage of a source in between => the age starts again once both sides are back, and the drift is not counted twice', () => {
    const t = new DriftTracker();
    t.update(report(['10.0.0.5/32']), 1_000);
    expect(t.update(report([], 'error'), 30_000).entered).toEqual([]);
    const back = t.update(report(['10.0.0.5/32']), 90_000);
    expect(back.entered).toEqual([]);
    expect(t.since(key('10.0.0.5/32'))).toBe(90_000);
    expect(t.youngestAge([key('10.0.0.5/32')], 90_050)).toBe(50);
    // And from then on it ages normally again.
    t.update(report(['10.0.0.5/32']), 100_000);
    expect(t.since(key('10.0.0.5/32'))).toBe(90_000);
  });
});
