import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLoop } from '../../src/app/loop.ts';
import type { Checker } from '../../src/app/checker.ts';
import type { CheckResult } from '../../src/core/report.ts';
import { DriftTracker } from '../../src/core/tracker.ts';
import { silentLogger } from '../../src/surface/logger.ts';

/** A checker that counts calls and can be held open to observe single flight. */
function fakeChecker() {
  let calls = 0;
  let concurrent = 0;
  let maxConcurrent = 0;
  let gate: (() => void) | null = null;
  let holding = false;
  const result = { report: {}, diff: {}, expected: null, kernel: null } as unknown as CheckResult;
  const checker: Checker = {
    tracker: new DriftTracker(),
    lastReport: () => null,
    async check() {
      calls++;
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      if (holding) await new Promise<void>((r) => (gate = r));
      concurrent--;
      return result;
    },
  };
  return {
    checker,
    calls: () => calls,
    maxConcurrent: () => maxConcurrent,
    hold: () => (holding = true),
    release: () => {
      holding = false;
      gate?.();
      gate = null;
    },
  };
}

describe('check loop', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs a first check at start and one per interval', async () => {
    const f = fakeChecker();
    const loop = createLoop({ checker: f.checker, intervalMs: 30_000, logger: silentLogger() });
    loop.start();
    await vi.advanceTimersByTimeAsync(1);
    expect(f.calls()).toBe(1);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(f.calls()).toBe(2);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(f.calls()).toBe(4);
    await loop.stop();
  });

  it('a burst of events collapses into one check', async () => {
    const f = fakeChecker();
    const loop = createLoop({ checker: f.checker, intervalMs: 30_000, logger: silentLogger(), debounceMs: 50 });
    loop.start();
    await vi.advanceTimersByTimeAsync(1);
    for (let i = 0; i < 100; i++) loop.markDirty('event');
    await vi.advanceTimersByTimeAsync(100);
    expect(f.calls()).toBe(2);
    await loop.stop();
  });

  it('events during a running check cause exactly one more check, never a concurrent one', async () => {
    const f = fakeChecker();
    const loop = createLoop({ checker: f.checker, intervalMs: 30_000, logger: silentLogger(), debounceMs: 10 });
    f.hold();
    loop.start();
    await vi.advanceTimersByTimeAsync(1);
    expect(f.calls()).toBe(1);
    loop.markDirty('a');
    await vi.advanceTimersByTimeAsync(20);
    loop.markDirty('b');
    await vi.advanceTimersByTimeAsync(20);
    expect(f.calls()).toBe(1);
    f.release();
    await vi.advanceTimersByTimeAsync(20);
    expect(f.calls()).toBe(2);
    expect(f.maxConcurrent()).toBe(1);
    await loop.stop();
  });

  it('an event is acted on without waiting for the interval', async () => {
    const f = fakeChecker();
    const loop = createLoop({ checker: f.checker, intervalMs: 3_600_000, logger: silentLogger(), debounceMs: 50 });
    loop.start();
    await vi.advanceTimersByTimeAsync(1);
    loop.markDirty('kernel route event');
    await vi.advanceTimersByTimeAsync(60);
    expect(f.calls()).toBe(2);
    await loop.stop();
  });

  it('the heartbeat ages while a check hangs, so /healthz can fail', async () => {
    let now = 0;
    const f = fakeChecker();
    const loop = createLoop({ checker: f.checker, intervalMs: 30_000, logger: silentLogger(), clock: () => now });
    loop.start();
    await vi.advanceTimersByTimeAsync(1);
    expect(loop.heartbeatAgeMs()).toBe(0);
    f.hold();
    loop.markDirty('x');
    await vi.advanceTimersByTimeAsync(100);
    now = 120_000;
    expect(loop.heartbeatAgeMs()).toBe(120_000);
    f.release();
    await vi.advanceTimersByTimeAsync(1);
    expect(loop.heartbeatAgeMs()).toBe(0);
    await loop.stop();
  });

  it('a check that throws does not kill the loop', async () => {
    const f = fakeChecker();
    let fail = true;
    const inner = f.checker.check;
    f.checker.check = async () => {
      if (fail) {
        fail = false;
        throw new Error('boom');
      }
      return inner();
    };
    const loop = createLoop({ checker: f.checker, intervalMs: 1000, logger: silentLogger() });
    loop.start();
    await vi.advanceTimersByTimeAsync(1500);
    expect(f.calls()).toBe(1);
    await loop.stop();
  });

  it('a check that keeps throwing never refreshes the heartbeat, so /healthz fails; a good check refreshes it', async () => {
    let now = 0;
    const f = fakeChecker();
    let failing = true;
    const inner = f.checker.check;
    f.checker.check = async () => {
      if (failing) throw new Error('boom');
      return inner();
    };
    const loop = createLoop({ checker: f.checker, intervalMs: 1000, logger: silentLogger(), clock: () => now });
    loop.start();
    for (let i = 1; i <= 5; i++) {
      now = i * 1000;
      await vi.advanceTimersByTimeAsync(1000);
    }
    expect(loop.heartbeatAgeMs()).toBe(5000);
    expect(loop.lastProblem()).toBe('check failed: boom');
    failing = false;
    now = 6000;
    await vi.advanceTimersByTimeAsync(1000);
    expect(loop.heartbeatAgeMs()).toBe(0);
    expect(loop.lastProblem()).toBeUndefined();
    await loop.stop();
  });

  it('a check whose kernel read failed does not count as progress; one that could not read the API does', async () => {
    let now = 0;
    let kernel = 'error';
    const checker: Checker = {
      tracker: new DriftTracker(),
      lastReport: () => null,
      check: async () =>
        ({
          report: { sources: { kernel, kubernetes: 'error' }, errors: { kernel: 'netlink request timed out' } },
          diff: null,
          expected: null,
          kernel: null,
        }) as unknown as CheckResult,
    };
    const loop = createLoop({ checker, intervalMs: 1000, logger: silentLogger(), clock: () => now });
    loop.start();
    now = 3000;
    await vi.advanceTimersByTimeAsync(3000);
    expect(loop.heartbeatAgeMs()).toBe(3000);
    expect(loop.lastProblem()).toContain('netlink request timed out');
    kernel = 'ok';
    now = 4000;
    await vi.advanceTimersByTimeAsync(1000);
    expect(loop.heartbeatAgeMs()).toBe(0);
    await loop.stop();
  });
});
