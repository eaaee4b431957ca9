// Applying repairs: guards first, then the plan route by route, then a
// read-back that verifies. Used by `run` after every check (when --remediate)
// and by `check --remediate` once.

import type { ClusterSource, EventSink, KernelTable } from '../core/ports.ts';
import { KernelError } from '../core/ports.ts';
import { certainHold, guards, plan as makePlan, sketchPlan } from '../core/repair.ts';
import type { GuardVerdict, RepairPlan, Step } from '../core/repair.ts';
import type { DiffResult } from '../core/diff.ts';
import type { CheckResult } from '../core/report.ts';
import { driftKey } from '../core/tracker.ts';
import { driftedDestinations, driftSignature, flappingAt, newRepairHistory, noProgressHold, recordRepair } from '../core/repair-history.ts';
import type { RepairHistory } from '../core/repair-history.ts';
import type { Checker } from './checker.ts';
import type { Logger, RepairObserver, RepairSettings } from './ports.ts';

export interface RepairState {
  lastRepairAt: number | null;
  /** Last RepairBlocked event per guard, to send at most one per hour. */
  readonly blockedEventAt: Map<string, number>;
  /** Drift waiting out the grace period: when the youngest of it becomes repairable (for the status page). */
  repairableAt: number | null;
  /** The guard other than the grace period that held the last attempt back. */
  blocked: { readonly reason: string; readonly message: string; readonly at: number } | null;
  /** The last repair that ran (or was planned, with --dry-run), and its result. */
  last: RepairRecord | null;
  /** Repairs without progress and destinations that keep drifting back. */
  readonly history: RepairHistory;
  /** --dry-run: the drift whose plan (from scratch) the last dry run logged, as planKey() gives it. */
  dryRunOf: string | null;
}

export interface RepairRecord {
  readonly at: number;
  readonly result: 'success' | 'failure' | 'dry-run';
  /** Routes added and deleted (planned, for a dry run). */
  readonly added: number;
  readonly deleted: number;
  readonly failures: number;
}

export const newRepairState = (): RepairState => ({
  lastRepairAt: null,
  blockedEventAt: new Map(),
  repairableAt: null,
  blocked: null,
  last: null,
  history: newRepairHistory(),
  dryRunOf: null,
});

export interface RepairDeps {
  readonly config: RepairSettings;
  readonly kernel: KernelTable;
  readonly checker: Checker;
  readonly logger: Logger;
  /** Told what each attempt did (the metrics). */
  readonly observer?: RepairObserver;
  readonly events?: EventSink;
  readonly clock?: () => number;
  /** False without CAP_NET_ADMIN: every repair is refused (guard not_permitted) instead of failing. */
  readonly capable?: boolean | null;
  /** The Kubernetes side, for how fresh its view is shown to be (the kube_view_stale guard). */
  readonly cluster?: Pick<ClusterSource, 'freshness'>;
}

export type RepairOutcome =
  | { readonly kind: 'nothing-to-do' }
  | { readonly kind: 'blocked'; readonly guard: GuardVerdict }
  | { readonly kind: 'dry-run'; readonly plan: RepairPlan }
  /** --dry-run on an incremental verdict with the drift of the last dry run: its plan stands, not made again. */
  | { readonly kind: 'dry-run-again'; readonly since: number }
  | {
      readonly kind: 'applied';
      readonly plan: RepairPlan;
      readonly added: number;
      readonly deleted: number;
      readonly failures: readonly string[];
      readonly verified: CheckResult;
    };

const HOUR = 3_600_000;

const describeStep = (s: Step): string => `${s.op} ${s.route.destination} dev ${s.route.device}`;

/**
 * One repair attempt on the result of a check. Repair changes the table only
 * on a verdict computed from scratch: an incremental one (`incremental: true`,
 * which carries neither the expected set nor the table a plan is made from)
 * is judged from its diff alone, and only when a guard certainly refuses the
 * repair whatever its plan, and that refusal posts no Event, is the attempt
 * recorded on it. Otherwise (the repair may run, or an Event is due) a full
 * check confirms it first and the attempt is decided again on that verdict,
 * so drift that persists while a guard holds repair back (the grace period,
 * --max-deletions, flapping, no progress) costs no full check per event.
 */
export async function attemptRepair(deps: RepairDeps, state: RepairState, result: CheckResult, graceMs: number): Promise<RepairOutcome> {
  const incremental = 'incremental' in result && result.incremental === true;
  if (!incremental || (result.diff !== null && result.report.inSync)) return attemptOn(deps, state, result, graceMs);
  const now = (deps.clock ?? Date.now)();
  const { input, leaveAlone } = guardInput(deps, state, result, graceMs, now);
  const verdict = result.diff ? certainHold(input, sketchPlan(deps.config.strategy, result.diff, leaveAlone)) : guards({ ...input, plan: emptyPlan(deps) });
  if (verdict && !eventDue(deps, state, verdict, now)) return holdBack(deps, state, verdict, now, graceMs, input.youngestDriftAgeMs);
  if (!verdict && result.diff && deps.config.dryRun && state.last?.result === 'dry-run' && state.dryRunOf === planKey(result.diff, leaveAlone)) {
    // The drift a full check last planned for: the same plan, which only the full table could make again.
    state.repairableAt = null;
    state.blocked = null;
    deps.observer?.dryRun(deps.config.strategy);
    deps.logger.debug(
      { strategy: deps.config.strategy, since: new Date(state.last.at).toISOString() },
      'dry run: the same drift as the plan logged then (nothing changed)',
    );
    return { kind: 'dry-run-again', since: state.last.at };
  }
  return attemptOn(deps, state, await deps.checker.check({ full: true }), graceMs);
}

/** What the guards read of a result at `now`, but the plan; and the destinations plans leave alone (flapping). */
function guardInput(deps: RepairDeps, state: RepairState, result: CheckResult, graceMs: number, now: number) {
  const { config } = deps;
  const report = result.report;
  const d = result.diff;
  const flapping = flappingAt(state.history, now);
  deps.observer?.flapping(flapping.length);
  const drifted = d ? new Set(driftedDestinations(d)) : new Set<string>();
  // The grace period runs over actionable drift only; transient drift is skipped by the plan.
  const keys = d
    ? [
        ...d.orphans.filter((o) => !o.transient).map((o) => driftKey('orphan', o.destination, o.device)),
        ...d.missing.filter((m) => !m.transient).map((m) => driftKey('missing', m.destination, m.device)),
      ]
    : [];
  const youngestDriftAgeMs = graceMs === 0 ? Infinity : deps.checker.tracker.youngestAge(keys, now);
  const input = {
    report,
    expectedCount: report.counts.expected,
    ownedCount: report.counts.kernel,
    youngestDriftAgeMs,
    graceMs,
    maxDeletions: config.maxDeletions,
    allowEmpty: config.allowEmpty,
    minRepairIntervalMs: config.minRepairIntervalMs,
    lastRepairAt: state.lastRepairAt,
    now,
    capable: deps.capable,
    flapping: flapping.filter((dest) => drifted.has(dest)),
    noProgress: d ? noProgressHold(state.history, driftSignature(d), now) : null,
    ...kubeViewOf(deps, now),
  };
  return { input, leaveAlone: new Set(flapping) };
}

/**
 * What a plan is made from in the diff: each drifted route acted on or left
 * alone, its reason (a destination a foreign route holds is not added) and
 * whether it is transient, and the destinations left alone (flapping).
 */
function planKey(d: DiffResult, leaveAlone: ReadonlySet<string>): string {
  const t = (r: { transient?: unknown }) => (r.transient ? ' transient' : '');
  return [
    ...d.orphans.map((o) => `orphan ${o.destination} ${o.route.device ?? '-'} ${o.reason}${t(o)}`),
    ...d.missing.map((m) => `missing ${m.destination} ${m.device} ${m.reason}${t(m)}`),
    ...[...leaveAlone].map((dest) => `alone ${dest}`),
  ].join('\n');
}

const emptyPlan = (deps: RepairDeps): RepairPlan => ({ strategy: deps.config.strategy, steps: [], netDeletions: 0, skipped: [], transient: 0 });

/** Whether recording this refusal now posts a RepairBlocked Event (at most one per guard per hour; none for routine ones). */
function eventDue(deps: RepairDeps, state: RepairState, verdict: GuardVerdict, now: number): boolean {
  if (routine(verdict) || !deps.events) return false;
  const last = state.blockedEventAt.get(verdict.reason);
  return last === undefined || now - last >= HOUR;
}

/** Waiting out the grace period is routine, not news; so is a view not yet confirmed. */
const routine = (verdict: GuardVerdict): boolean => verdict.reason === 'grace_period' || verdict.reason === 'kube_view_unconfirmed';

/** A repair a guard refused: the status page, the metric, the log and (when due) the Event. */
async function holdBack(
  deps: RepairDeps,
  state: RepairState,
  verdict: GuardVerdict,
  now: number,
  graceMs: number,
  youngestDriftAgeMs: number,
): Promise<RepairOutcome> {
  const { config, logger } = deps;
  state.repairableAt = verdict.reason === 'grace_period' ? now + graceMs - youngestDriftAgeMs : null;
  state.blocked = verdict.reason !== 'grace_period' ? { reason: verdict.reason, message: verdict.message, at: now } : null;
  deps.observer?.blocked(config.strategy, verdict.reason);
  const log = routine(verdict) ? logger.debug.bind(logger) : logger.warn.bind(logger);
  log({ guard: verdict.reason, strategy: config.strategy }, `repair blocked: ${verdict.message}`);
  if (eventDue(deps, state, verdict, now)) {
    state.blockedEventAt.set(verdict.reason, now);
    await emitSafely(deps, {
      type: 'Warning',
      reason: 'RepairBlocked',
      message: `routewarden did not repair kube-vip's table ${config.model.table}: ${verdict.message}`,
    });
  }
  return { kind: 'blocked', guard: verdict };
}

/** One repair attempt on a verdict computed from scratch (or on one that cannot be repaired from). */
async function attemptOn(deps: RepairDeps, state: RepairState, result: CheckResult, graceMs: number): Promise<RepairOutcome> {
  const { config, logger, observer } = deps;
  const clock = deps.clock ?? Date.now;
  const report = result.report;
  const compared = result.diff !== null;
  if (compared && report.inSync) {
    state.repairableAt = null;
    state.blocked = null;
    state.dryRunOf = null;
    return { kind: 'nothing-to-do' };
  }
  const now = clock();
  const d = result.diff;
  const { input, leaveAlone } = guardInput(deps, state, result, graceMs, now);
  const plan = d && result.expected && result.kernel ? makePlan(config.strategy, config.model, result.expected, result.kernel, d, leaveAlone) : emptyPlan(deps);
  const verdict = guards({ ...input, plan });
  if (verdict) return holdBack(deps, state, verdict, now, graceMs, input.youngestDriftAgeMs);
  state.repairableAt = null;
  state.blocked = null;
  if (config.dryRun) {
    state.dryRunOf = d ? planKey(d, leaveAlone) : null;
    observer?.dryRun(config.strategy);
    logger.info({ strategy: config.strategy, steps: plan.steps.map(describeStep), skipped: plan.skipped }, 'dry run: repair plan (nothing changed)');
    state.last = {
      at: now,
      result: 'dry-run',
      added: plan.steps.filter((s) => s.op === 'add').length,
      deleted: plan.steps.filter((s) => s.op === 'delete').length,
      failures: 0,
    };
    return { kind: 'dry-run', plan };
  }

  let added = 0;
  let deleted = 0;
  const failures: string[] = [];
  const outcomes = deps.kernel.applyAll ? await deps.kernel.applyAll(plan.steps) : await applyEach(deps.kernel, plan.steps);
  plan.steps.forEach((step, i) => {
    const err = outcomes[i];
    if (err === null) {
      if (step.op === 'add') added++;
      else deleted++;
      return;
    }
    // "No such route" on delete is the goal reached; "exists" on add is
    // judged by the read-back below (identical attributes = success).
    if (err instanceof KernelError && ((step.op === 'delete' && err.code === 'ESRCH') || (step.op === 'add' && err.code === 'EEXIST'))) return;
    failures.push(err instanceof Error ? err.message : `${describeStep(step)}: ${String(err)}`);
  });
  state.lastRepairAt = clock();
  observer?.changed(added, deleted);

  // Read back from scratch: a full dump, not a mirror the repair's own notifications may not have reached yet.
  const verified = await deps.checker.check({ full: true });
  const ok = verified.report.inSync && failures.length === 0;
  state.last = { at: state.lastRepairAt, result: ok ? 'success' : 'failure', added, deleted, failures: failures.length };
  const judged = d ? recordRepair(state.history, d, verified.diff, clock()) : { noProgress: false, newlyFlapping: [] };
  if (judged.noProgress) {
    const hold = state.history.noProgress;
    state.blockedEventAt.set('no_progress', clock()); // this Event says it; the blocks that follow do not repeat it within the hour
    logger.warn(
      { strategy: config.strategy, attempts: hold?.attempts, retryInSeconds: hold ? Math.round((hold.until - clock()) / 1000) : undefined },
      'repair made no progress: the drift is the same as before; not repeating it until the hold ends or the drift changes',
    );
    await emitSafely(deps, {
      type: 'Warning',
      reason: 'RepairBlocked',
      message: `routewarden's ${config.strategy} repair of table ${config.model.table} changed nothing (the same drift before and after); it is not repeated for ${hold ? Math.round((hold.until - clock()) / 1000) : 0}s unless the drift changes`,
    });
  }
  if (judged.newlyFlapping.length > 0) {
    observer?.flapping(flappingAt(state.history, clock()).length);
    state.blockedEventAt.set('flapping', clock()); // one Event for this, not one per blocked repair
    const list =
      judged.newlyFlapping.length > 10
        ? `${judged.newlyFlapping.slice(0, 10).join(', ')} and ${judged.newlyFlapping.length - 10} more`
        : judged.newlyFlapping.join(', ');
    logger.warn({ destinations: judged.newlyFlapping }, 'routes keep drifting back after repair: another writer competes for them; leaving them alone');
    await emitSafely(deps, {
      type: 'Warning',
      reason: 'RepairBlocked',
      message: `routewarden stops repairing ${list} in table ${config.model.table}: each repair was undone (flapping); it leaves them alone for an hour`,
    });
  }
  observer?.finished(config.strategy, ok);
  const summary = {
    strategy: config.strategy,
    added: plan.steps.filter((s) => s.op === 'add').map((s) => s.route.destination),
    deleted: plan.steps.filter((s) => s.op === 'delete').map((s) => s.route.destination),
    failures,
    skipped: plan.skipped,
    inSyncAfter: verified.report.inSync,
  };
  if (ok) logger.info(summary, `repaired: ${added} added, ${deleted} deleted`);
  else
    logger.error(
      summary,
      `repair incomplete: ${added} added, ${deleted} deleted, ${failures.length} failed; table in sync afterwards: ${verified.report.inSync}`,
    );
  const list = (xs: string[]) => (xs.length > 10 ? `${xs.slice(0, 10).join(', ')} and ${xs.length - 10} more` : xs.join(', ') || 'none');
  await emitSafely(deps, {
    type: ok ? 'Normal' : 'Warning',
    reason: 'RoutesRepaired',
    message: `${config.strategy} repair of table ${config.model.table}: added ${list(summary.added)}; deleted ${list(summary.deleted)}${failures.length ? `; ${failures.length} failed` : ''}${verified.report.inSync ? '' : '; drift remains'}`,
  });
  return { kind: 'applied', plan, added, deleted, failures, verified };
}

function kubeViewOf(deps: RepairDeps, now: number): { kubeView?: { ageMs: number; staleAfterMs: number } } {
  const fresh = deps.cluster?.freshness?.();
  if (!fresh) return {};
  return {
    kubeView: { ageMs: fresh.lastHeardAt === undefined ? Infinity : Math.max(0, now - fresh.lastHeardAt), staleAfterMs: deps.config.watchIdleTimeoutMs },
  };
}

/** One change after the other, for tables without applyAll(): null when done, else what was thrown. */
async function applyEach(kernel: KernelTable, steps: readonly Step[]): Promise<unknown[]> {
  const outcomes: unknown[] = [];
  for (const step of steps) {
    try {
      if (step.op === 'delete') await kernel.delete(step.route);
      else await kernel.add(step.route);
      outcomes.push(null);
    } catch (err) {
      outcomes.push(err ?? new Error('unknown failure'));
    }
  }
  return outcomes;
}

async function emitSafely(deps: RepairDeps, e: Parameters<EventSink['emit']>[0]): Promise<void> {
  try {
    await deps.events?.emit(e);
  } catch (err) {
    deps.logger.warn({ err, reason: e.reason }, 'could not post a Kubernetes Event');
  }
}

/** `run --remediate`: a hook for the loop, repairing after each check that found drift. */
export function repairAfterCheck(
  deps: Omit<RepairDeps, 'checker' | 'observer'>,
  state: RepairState = newRepairState(),
): (result: CheckResult, ctx: { observer: RepairObserver; checker: Checker }) => Promise<void> {
  return async (result, ctx) => {
    // An incremental verdict is confirmed by a full check (which also
    // reconciles it) only when the repair may act on it: attemptRepair().
    await attemptRepair({ ...deps, checker: ctx.checker, observer: ctx.observer }, state, result, deps.config.graceMs);
  };
}

/**
 * `check --remediate`: act on what is seen; with --grace, first wait until the
 * drift has persisted that long (re-checking every second).
 */
export async function repairOnce(deps: RepairDeps, first: CheckResult): Promise<{ result: CheckResult; outcome: RepairOutcome }> {
  const clock = deps.clock ?? Date.now;
  let result = first;
  const graceMs = deps.config.graceMs;
  if (graceMs > 0) {
    const until = clock() + graceMs;
    while (!result.report.inSync && result.diff && clock() < until) {
      await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, until - clock()))));
      result = await deps.checker.check();
    }
  }
  const outcome = await attemptRepair(deps, newRepairState(), result, graceMs);
  return { result: outcome.kind === 'applied' ? outcome.verified : result, outcome };
}
