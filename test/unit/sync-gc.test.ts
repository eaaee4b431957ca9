import { describe, expect, it } from 'vitest';
import { collectOnceSynced, exposedGc } from '../../src/app/sync-gc.ts';
import type { CheckResult } from '../../src/core/report.ts';
import { silentLogger } from '../../src/surface/logger.ts';

const unsynced = { diff: null } as unknown as CheckResult;
const compared = { diff: { orphans: [], missing: [], matched: [] } } as unknown as CheckResult;

describe('one garbage collection after the initial sync', () => {
  it('collects once, after the first check that compared both sides, never before and never again', () => {
    let calls = 0;
    const hook = collectOnceSynced(silentLogger(), (options) => {
      expect(options).toEqual({ type: 'major', execution: 'sync', flavor: 'last-resort' });
      calls++;
    });
    hook(unsynced);
    hook(unsynced);
    expect(calls).toBe(0);
    hook(compared);
    expect(calls).toBe(1);
    hook(compared);
    hook(unsynced);
    hook(compared);
    expect(calls).toBe(1);
  });

  it('does nothing without --expose-gc', () => {
    const hook = collectOnceSynced(silentLogger(), undefined);
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
