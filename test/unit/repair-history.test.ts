import { describe, expect, it } from 'vitest';
import type { DiffResult } from '../../src/core/diff.ts';
import { DEFAULT_REPAIR_HISTORY_LIMITS, driftSignature, flappingAt, newRepairHistory, noProgressHold, recordRepair } from '../../src/core/repair-history.ts';
import { kroute } from '../helpers/fixtures.ts';

const orphanAt = (...dests: string[]): DiffResult => ({
  orphans: dests.map(
    (destination) =>
      ({ destination, device: 'lo', family: 'ipv4', reason: 'no-service', route: kroute(destination) }) as unknown as DiffResult['orphans'][number],
  ),
  missing: [],
  matched: [],
  unjudged: [],
});
const none: DiffResult = { orphans: [], missing: [], matched: [], unjudged: [] };
const L = DEFAULT_REPAIR_HISTORY_LIMITS;

describe('no progress', () => {
  it('holds the same drift back after a repair that changed nothing, doubling the hold up to the cap', () => {
    const h = newRepairHistory();
    const d = orphanAt('10.0.0.5/32');
    const sig = driftSignature(d);
    let now = 0;
    const holds: number[] = [];
    for (let i = 0; i < 10; i++) {
      expect(noProgressHold(h, sig, now)).toBeNull(); // the hold is over: one more try
      expect(recordRepair(h, d, d, now).noProgress).toBe(true);
      const hold = noProgressHold(h, sig, now)!;
      expect(hold.attempts).toBe(i + 1);
      holds.push(hold.until - now);
      now = hold.until;
    }
    expect(holds.slice(0, 4)).toEqual([L.backoffBaseMs, 2 * L.backoffBaseMs, 4 * L.backoffBaseMs, 8 * L.backoffBaseMs]);
    expect(Math.max(...holds)).toBe(L.backoffMaxMs);
  });

  it('ends the hold when the drift changes, and after a repair that made progress', () => {
    const h = newRepairHistory();
    const d = orphanAt('10.0.0.5/32');
    recordRepair(h, d, d, 0);
    expect(noProgressHold(h, driftSignature(orphanAt('10.0.0.5/32', '10.0.0.8/32')), 1)).toBeNull();
    expect(h.noProgress).toBeNull();
    recordRepair(h, d, d, 0);
    expect(recordRepair(h, d, none, 1).noProgress).toBe(false);
    expect(noProgressHold(h, driftSignature(d), 2)).toBeNull();
  });
});

describe('flapping', () => {
  it('a destination repaired flapRepairs times within the window becomes flapping, once; others do not', () => {
    const h = newRepairHistory();
    const newly: string[][] = [];
    for (let i = 0; i < L.flapRepairs + 3; i++) {
      const d = i % 2 === 0 ? orphanAt('10.0.0.5/32', '10.0.0.7/32') : orphanAt('10.0.0.5/32');
      newly.push(recordRepair(h, d, none, i * 1000).newlyFlapping);
    }
    expect(newly.flat()).toEqual(['10.0.0.5/32']);
    expect(newly.findIndex((n) => n.length > 0)).toBe(L.flapRepairs - 1);
    expect(flappingAt(h, 10_000)).toEqual(['10.0.0.5/32']);
    // Left alone for the hold, then tried again.
    expect(flappingAt(h, (L.flapRepairs - 1) * 1000 + L.flapHoldMs)).toEqual([]);
  });

  it('repairs spread wider than the window are not flapping', () => {
    const h = newRepairHistory();
    for (let i = 0; i < 3 * L.flapRepairs; i++) {
      expect(recordRepair(h, orphanAt('10.0.0.5/32'), none, i * (L.flapWindowMs / (L.flapRepairs - 1) + 1)).newlyFlapping).toEqual([]);
    }
  });
});
