// Measures taken in this process against the real adapters: the warm check
// (checker.check(): kernel dump, expected set, diff, metrics) and repairs of
// the whole table with both strategies against `ip -batch` doing the same
// operations.

import { attemptRepair, newRepairState } from '../src/app/repair.ts';
import { createChecker, type Checker } from '../src/app/checker.ts';
import { loadConfig } from '../src/cli/config.ts';
import { plan as makePlan, type Strategy } from '../src/core/repair.ts';
import { EvaluationCache, evaluate } from '../src/core/report.ts';
import type { ClusterSource, KernelTable } from '../src/core/ports.ts';
import { createMetrics, metricsObserver, recordCheck } from '../src/surface/metrics.ts';
import { silentLogger } from '../src/surface/logger.ts';
import { stray4, stray6, addLine, delLine, NODE } from './cluster.ts';
import { ipBatch, stepLine, timedTable } from './kernel.ts';
import { since } from './stats.ts';

export function benchConfig(strategy: Strategy = 'flush-rebuild') {
  return loadConfig(
    'check',
    {
      nodeName: NODE,
      strategy,
      remediate: true,
      maxDeletions: '1000000',
      allowEmpty: true,
      minRepairInterval: '0s',
    },
    { env: {}, hostname: 'bench' },
  );
}

export interface CheckTimes {
  readonly check: number[];
  /** evaluate() alone on the same inputs: expected set, diff, report. */
  readonly evaluate: number[];
  /** recordCheck() alone: the metrics update. */
  readonly metrics: number[];
}

export function makeChecker(kernel: KernelTable, cluster: ClusterSource): Checker {
  const metrics = createMetrics({ version: 'bench' });
  return createChecker({ kernel, cluster, model: benchConfig().model, observer: metricsObserver(metrics), logger: silentLogger() });
}

/** Warm caches: a few checks first, then `reps` timed ones, and the parts alone. */
export async function measureCheck(checker: Checker, kernel: KernelTable, cluster: ClusterSource, reps: number, expected: number): Promise<CheckTimes> {
  for (let i = 0; i < 5; i++) await checker.check();
  const check: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    const r = await checker.check();
    check.push(since(t));
    if (!r.report.inSync || r.report.counts.expected !== expected) {
      throw new Error(`warm check: expected an in-sync table of ${expected} routes, got ${JSON.stringify(r.report.counts)}`);
    }
  }
  const model = benchConfig().model;
  const dump = await kernel.dump();
  const interfaces = await kernel.interfaces();
  const snapshot = cluster.snapshot();
  const metrics = createMetrics({ version: 'bench' });
  const evaluateTimes: number[] = [];
  const metricTimes: number[] = [];
  /** What the checker keeps between checks. */
  const cache = new EvaluationCache();
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    const result = evaluate(
      { model, now: Date.now(), kernel: { status: { state: 'ok' }, dump, interfaces }, kubernetes: { status: { state: 'ok' }, snapshot } },
      cache,
    );
    evaluateTimes.push(since(t));
    const m = performance.now();
    recordCheck(metrics, result.report, [], 0.01);
    metricTimes.push(since(m));
  }
  return { check, evaluate: evaluateTimes, metrics: metricTimes };
}

export interface RepairTimes {
  readonly strategy: Strategy;
  readonly operations: number;
  /** attemptRepair() end to end: plan, guards, apply, read-back check. */
  readonly total: number[];
  /** First kernel call to last: the apply phase alone. */
  readonly apply: number[];
  /** `ip -batch` running the same operations. */
  readonly ip: number[];
}

/**
 * From an in-sync table of `placed` routes: half of them go missing and as
 * many orphans appear, then each strategy repairs it; `ip -batch` then
 * replays the same plan from the same state.
 */
export async function measureRepair(strategy: Strategy, kernel: KernelTable, checker: Checker, placed: readonly string[], reps: number): Promise<RepairTimes> {
  const config = benchConfig(strategy);
  const half = Math.floor(placed.length / 2);
  const strays = Array.from({ length: half }, (_, i) => (i % 2 === 0 ? stray4(i) : stray6(i)));
  const drift = [...placed.slice(0, half).map((ip) => delLine(ip)), ...strays.map((ip) => addLine(ip))];
  const timed = timedTable(kernel);
  const out: RepairTimes = { strategy, operations: 0, total: [], apply: [], ip: [] };
  for (let i = 0; i < reps; i++) {
    ipBatch(drift);
    const before = await checker.check();
    if (before.report.counts.missing !== half || before.report.counts.orphan !== half) {
      throw new Error(`repair set-up: expected ${half} missing and ${half} orphans, got ${JSON.stringify(before.report.counts)}`);
    }
    timed.reset();
    const t = performance.now();
    const outcome = await attemptRepair({ config, kernel: timed, checker, logger: silentLogger() }, newRepairState(), before, 0);
    out.total.push(since(t));
    out.apply.push(timed.span());
    if (outcome.kind !== 'applied' || !outcome.verified.report.inSync || outcome.failures.length > 0) {
      throw new Error(
        `${strategy} repair did not bring the table in sync: ${outcome.kind}${outcome.kind === 'applied' ? ` ${JSON.stringify(outcome.verified.report.counts)} ${outcome.failures.slice(0, 3).join('; ')}` : ''}`,
      );
    }
    // The same operations through `ip -batch`, from the same state.
    ipBatch(drift);
    const again = await checker.check();
    const steps = makePlan(strategy, config.model, again.expected!, again.kernel!, again.diff!).steps;
    (out as { operations: number }).operations = steps.length;
    const lines = steps.map((s) => stepLine(s.op, s.route));
    const b = performance.now();
    ipBatch(lines);
    out.ip.push(since(b));
    const after = await checker.check();
    if (!after.report.inSync) throw new Error(`ip -batch replay of the ${strategy} plan left drift: ${JSON.stringify(after.report.counts)}`);
  }
  return out;
}
