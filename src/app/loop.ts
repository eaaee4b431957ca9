// The check loop, level-based and single-flight (controller-runtime's
// contract): events only mark it dirty; one check runs at a time and always
// reads the current state, so a burst of events collapses into one check; a
// timer forces a full re-check every interval whatever happened (from
// scratch: an incremental checker reconciles its state then).
//
// The heartbeat behind /healthz moves only when a check finished well: it
// did not throw (nor did the repair after it) and the kernel table could be
// read. A check that throws, or a kernel that stops answering netlink, once
// kept /healthz at 200 for as long as it lasted. The Kubernetes side never
// stops the heartbeat: restarting the pod does not bring an API server back
// (/readyz says whether the view is ready).

import type { CheckResult } from '../core/report.ts';
import type { Checker } from './checker.ts';
import type { Logger } from './ports.ts';

export interface LoopOptions {
  readonly checker: Checker;
  readonly intervalMs: number;
  readonly logger: Logger;
  /** Coalescing delay after an event before the check runs. */
  readonly debounceMs?: number;
  /** Called after every check, inside the single flight (repair goes here). */
  readonly afterCheck?: (result: CheckResult) => Promise<void>;
  readonly clock?: () => number;
}

export interface Loop {
  start(): void;
  stop(): Promise<void>;
  /** Ask for a check soon. Cheap; call it from every event. */
  markDirty(reason: string): void;
  /** Milliseconds since the loop last finished a check well (or started). */
  heartbeatAgeMs(): number;
  /** Why the last check did not count as finished well; undefined when it did. */
  lastProblem(): string | undefined;
  /** True once a check has compared both sides. */
  ready(): boolean;
  /** Resolves after the next check that starts after this call finishes. */
  nextCheck(): Promise<CheckResult>;
}

export function createLoop(opts: LoopOptions): Loop {
  const clock = opts.clock ?? Date.now;
  const debounceMs = opts.debounceMs ?? 50;
  let timer: NodeJS.Timeout | null = null;
  let intervalTimer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let dirty = false;
  let stopped = true;
  let heartbeat = clock();
  let isReady = false;
  let problem: string | undefined;
  let waiters: ((r: CheckResult) => void)[] = [];
  /** The next check computes from scratch: the first one, and one per interval (an incremental checker reconciles then). */
  let fullDue = true;

  async function runOnce(): Promise<void> {
    dirty = false;
    const mine = waiters;
    waiters = [];
    const full = fullDue;
    fullDue = false;
    try {
      const result = await opts.checker.check({ full });
      if (result.diff) isReady = true;
      if (opts.afterCheck && !stopped) await opts.afterCheck(result);
      for (const w of mine) w(result);
      const kernel = result.report?.sources?.kernel;
      if (kernel === 'error') problem = `kernel table not read: ${result.report.errors?.kernel ?? 'unknown error'}`;
      else {
        problem = undefined;
        heartbeat = clock();
      }
    } catch (err) {
      // A check must never kill the loop; the next event or tick retries.
      opts.logger.error({ err }, 'check failed unexpectedly');
      fullDue ||= full;
      problem = `check failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
      waiters.push(...mine);
    }
  }

  function schedule(delay: number): void {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = null;
      if (running) {
        dirty = true; // picked up when the running check ends
        return;
      }
      running = (async () => {
        do await runOnce();
        while (dirty && !stopped);
        running = null;
      })();
    }, delay);
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      heartbeat = clock();
      schedule(0);
      intervalTimer = setInterval(() => {
        opts.logger.debug('periodic full check');
        fullDue = true;
        dirty = true;
        schedule(0);
      }, opts.intervalMs);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (intervalTimer) clearInterval(intervalTimer);
      timer = null;
      intervalTimer = null;
      if (running) await running;
    },
    markDirty(reason) {
      if (stopped) return;
      opts.logger.trace({ reason }, 'marked dirty');
      dirty = true;
      schedule(debounceMs);
    },
    heartbeatAgeMs: () => clock() - heartbeat,
    lastProblem: () => problem,
    ready: () => isReady,
    nextCheck() {
      return new Promise((resolve) => {
        waiters.push(resolve);
        dirty = true;
        schedule(0);
      });
    },
  };
}
