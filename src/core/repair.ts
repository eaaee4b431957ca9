// Repair planning and guards (docs/repair.md, safety rules), pure. plan() says exactly which
// routes to delete and add, in which order; guards() says whether a repair
// may run at all. Applying the plan is the app layer's job.

import type { DiffResult } from './diff.ts';
import type { ExpectedSet } from './expected.ts';
import type { KubeVipModel } from './model.ts';
import type { Report } from './report.ts';
import type { KernelDump, KernelRoute, RouteSpec } from './types.ts';

export type Strategy = 'flush-rebuild' | 'surgical';

export type Step =
  { readonly op: 'delete'; readonly route: RouteSpec; readonly why: string } | { readonly op: 'add'; readonly route: RouteSpec; readonly why: string };

export interface RepairPlan {
  readonly strategy: Strategy;
  /** In execution order. */
  readonly steps: readonly Step[];
  /** Routes that end up removed from the table (not re-added): what --max-deletions caps. */
  readonly netDeletions: number;
  /** Expected routes the plan cannot add (the destination is taken by a foreign route), and transient drift it leaves alone. */
  readonly skipped: readonly { readonly destination: string; readonly why: string }[];
  /** Drifted routes left alone because they are in a transient window (E1–E3, E5, E6). */
  readonly transient: number;
}

/** A kernel route as a delete request; only ever built from owned routes. */
function deleteSpec(r: KernelRoute): RouteSpec {
  return { family: r.family, destination: r.destination, table: r.table, protocol: r.protocol, type: r.type, device: r.device ?? '', scope: r.scope };
}

/** An expected route with exactly kube-vip's attributes (docs/kube-vip-routing.md §2.1, E26). */
function addSpec(model: KubeVipModel, e: { family: RouteSpec['family']; destination: string; device: string }): RouteSpec {
  return { family: e.family, destination: e.destination, table: model.table, protocol: model.protocol, type: model.routeType, device: e.device };
}

/**
 * Never touch a route outside (table, protocol) (docs/repair.md rule 1): a last
 * check on every delete, whatever the plan's construction already ensures.
 */
export function isOwned(model: KubeVipModel, r: { table: number; protocol: number }): boolean {
  return r.table === model.table && r.protocol === model.protocol;
}

const TAKEN = 'destination taken by a route of another protocol (never touched)';
const NOT_JUDGED = 'not judged: never touched';

/** The kernel routes routewarden cannot judge (never touched). */
const unjudgedRoutes = (all: DiffResult): Set<KernelRoute> => new Set(all.unjudged.flatMap((u) => (u.route ? [u.route] : [])));

/**
 * The drift a repair leaves alone and the drift it acts on. Transient drift
 * (kube-vip starting or terminating, a lease changing hands, kube-vip's own
 * start-up cleanup) resolves by itself: never act on it; nor on drift at a
 * destination in `leaveAlone`. `skipped` says why, transient first.
 */
function triage(
  all: DiffResult,
  leaveAlone: ReadonlySet<string>,
): { waiting: readonly { destination: string }[]; d: DiffResult; skipped: { destination: string; why: string }[] } {
  const skipped: { destination: string; why: string }[] = [];
  const waiting = [...all.orphans, ...all.missing].filter((r) => r.transient);
  for (const r of waiting) skipped.push({ destination: r.destination, why: `transient: ${r.transient!.window} until ${r.transient!.until}` });
  const alone = new Set<string>();
  const acted = (r: { destination: string; transient?: unknown }): boolean => {
    if (r.transient) return false;
    if (!leaveAlone.has(r.destination)) return true;
    alone.add(r.destination);
    return false;
  };
  const d: DiffResult = { ...all, orphans: all.orphans.filter(acted), missing: all.missing.filter(acted) };
  for (const destination of [...alone].sort()) skipped.push({ destination, why: 'flapping: repairs of it keep being undone' });
  return { waiting, d, skipped };
}

/** What the guards read of a plan: all of it but the steps, of which only whether there are any. */
export type PlanSummary = Omit<RepairPlan, 'steps'> & { readonly steps: { readonly length: number } };

/**
 * What plan() would say of `all`'s drift that the guards read, from the diff
 * alone, without the expected set and the table plan() needs (an incremental
 * check carries neither): exactly its transient count, its net deletions and
 * its transient and flapping skips; its steps only when there are certainly
 * none (nothing acted on but drift at a destination a foreign route holds,
 * which plan() never adds), else 'unknown'.
 */
export function sketchPlan(
  strategy: Strategy,
  all: DiffResult,
  leaveAlone: ReadonlySet<string> = new Set(),
): { readonly summary: Omit<PlanSummary, 'steps'>; readonly steps: 'none' | 'unknown' } {
  const { waiting, d, skipped } = triage(all, leaveAlone);
  const flushWaits = strategy === 'flush-rebuild' && waiting.length > 0;
  const none = flushWaits || (d.orphans.length === 0 && d.missing.every((m) => m.reason === 'conflicting-route'));
  if (none && !flushWaits) {
    // As plan() lists them: the routes not judged, then the destinations it cannot add.
    for (const r of unjudgedRoutes(all)) skipped.push({ destination: r.destination, why: NOT_JUDGED });
    for (const m of d.missing) skipped.push({ destination: m.destination, why: TAKEN });
  }
  return { summary: { strategy, netDeletions: flushWaits ? 0 : d.orphans.length, skipped, transient: waiting.length }, steps: none ? 'none' : 'unknown' };
}

/**
 * The guard that refuses a repair whatever the steps of its plan (guards()
 * with no steps and with some agree), or null when the steps could decide:
 * then only the full plan can tell.
 */
export function certainHold(g: Omit<GuardInput, 'plan'>, sketch: ReturnType<typeof sketchPlan>): GuardVerdict | null {
  const none = guards({ ...g, plan: { ...sketch.summary, steps: { length: 0 } } });
  if (sketch.steps === 'none') return none;
  const some = guards({ ...g, plan: { ...sketch.summary, steps: { length: 1 } } });
  return none && some && none.reason === some.reason ? none : null;
}

/**
 * The repair of `all`'s drift. Drift at a destination in `leaveAlone`
 * (flapping: repairs of it keep being undone, repair-history.ts) is not acted
 * on, and flush-rebuild neither deletes nor re-adds anything there.
 */
export function plan(
  strategy: Strategy,
  model: KubeVipModel,
  expected: ExpectedSet,
  kernel: KernelDump,
  all: DiffResult,
  leaveAlone: ReadonlySet<string> = new Set(),
): RepairPlan {
  const foreignDest = new Set(kernel.foreign.map((r) => r.destination));
  const { waiting, d, skipped } = triage(all, leaveAlone);
  if (strategy === 'flush-rebuild' && waiting.length > 0) {
    // A flush while kube-vip is mid-change races its own adds and deletes
    // (E26): wait until the window ends; the guard says why.
    return { strategy, steps: [], netDeletions: 0, skipped, transient: waiting.length };
  }
  const addable = (dest: string): boolean => {
    if (leaveAlone.has(dest)) return false;
    if (!foreignDest.has(dest)) return true;
    skipped.push({ destination: dest, why: TAKEN });
    return false;
  };
  // Routes routewarden cannot judge are never touched, not even by a flush.
  const unjudged = unjudgedRoutes(all);
  for (const r of unjudged) skipped.push({ destination: r.destination, why: NOT_JUDGED });
  const owned = kernel.owned.filter((r) => isOwned(model, r) && !unjudged.has(r));
  const steps: Step[] = [];

  if (strategy === 'flush-rebuild') {
    // Drift the rebuild cannot fix (an expected route whose destination a
    // foreign route holds) is no reason to flush: without any other drift,
    // there is nothing to do, and the guard says so.
    const fixable = d.orphans.length > 0 || d.missing.some((m) => !foreignDest.has(m.destination));
    if (!fixable) {
      for (const m of d.missing) addable(m.destination);
      return { strategy, steps: [], netDeletions: 0, skipped, transient: 0 };
    }
    // Delete the owned routes, then add the expected set: the seed's "clean
    // first, then rebuild", done from outside kube-vip. Never delete what the
    // rebuild cannot put back: an owned route that is not an orphan stays
    // unless its destination is re-added (a foreign route at the same
    // destination makes the plan skip the add, and the kernel would refuse it).
    const rebuild: Step[] = [];
    const readded = new Set<string>();
    for (const e of expected.routes.values()) {
      if (!addable(e.destination)) continue;
      rebuild.push({ op: 'add', route: addSpec(model, e), why: 'rebuild' });
      readded.add(e.destination);
    }
    const orphaned = new Set(d.orphans.map((o) => o.route));
    for (const r of owned) {
      if (orphaned.has(r) || readded.has(r.destination)) steps.push({ op: 'delete', route: deleteSpec(r), why: 'flush' });
    }
    steps.push(...rebuild);
    return { strategy, steps, netDeletions: d.orphans.length, skipped, transient: 0 };
  }

  // Surgical: add what is missing first, then delete orphans one by one, so
  // that no expected route is ever absent. A route on the wrong device or of
  // the wrong type blocks the add (EEXIST), so it is replaced: delete, then add.
  const wrongAt = new Map<string, KernelRoute[]>();
  for (const o of d.orphans) {
    if (o.reason === 'wrong-device' || o.reason === 'wrong-type') {
      wrongAt.set(o.destination, [...(wrongAt.get(o.destination) ?? []), o.route]);
    }
  }
  const later: Step[] = [];
  for (const m of d.missing) {
    if (!addable(m.destination)) continue;
    const wrong = wrongAt.get(m.destination);
    if (wrong) {
      for (const r of wrong) later.push({ op: 'delete', route: deleteSpec(r), why: `replace (${m.reason})` });
      later.push({ op: 'add', route: addSpec(model, m), why: `replace (${m.reason})` });
    } else {
      steps.push({ op: 'add', route: addSpec(model, m), why: m.reason });
    }
  }
  steps.push(...later);
  for (const o of d.orphans) {
    if (wrongAt.has(o.destination) && d.missing.some((m) => m.destination === o.destination)) continue;
    if (!isOwned(model, o.route) || unjudged.has(o.route)) continue;
    steps.push({ op: 'delete', route: deleteSpec(o.route), why: o.reason });
  }
  return { strategy, steps, netDeletions: d.orphans.length, skipped, transient: waiting.length };
}

export type GuardReason =
  | 'kubernetes_not_synced'
  | 'kernel_read_failed'
  | 'grace_period'
  | 'empty_expected_set'
  | 'max_deletions'
  | 'rate_limited'
  | 'kube_vip_transient'
  | 'not_permitted'
  | 'no_progress'
  | 'flapping'
  | 'kube_view_stale'
  | 'kube_view_unconfirmed'
  | 'objects_rejected';

export interface GuardInput {
  readonly report: Report;
  readonly plan: PlanSummary;
  readonly expectedCount: number;
  readonly ownedCount: number;
  /** Age in ms of the youngest drifted route (how long it has persisted). */
  readonly youngestDriftAgeMs: number;
  readonly graceMs: number;
  readonly maxDeletions: number;
  readonly allowEmpty: boolean;
  readonly minRepairIntervalMs: number;
  /** Epoch ms of the last repair that changed something; null if none. */
  readonly lastRepairAt: number | null;
  readonly now: number;
  /** False when the process cannot change routes (no CAP_NET_ADMIN); unknown (null/absent) is let through. */
  readonly capable?: boolean | null;
  /** Destinations taken out of the plan because repairs of them keep being undone (repair-history.ts). */
  readonly flapping?: readonly string[];
  /** The same drift a repair already failed to change: held back until `until` (epoch ms). */
  readonly noProgress?: { readonly until: number; readonly attempts: number } | null;
  /**
   * How current the Kubernetes view is shown to be (docs/reliability.md).
   * Absent: a source that cannot tell; freshness is not judged.
   */
  readonly kubeView?: {
    /** ms since the server last proved the whole view current (LIST, event, bookmark); Infinity when unknown. */
    readonly ageMs: number;
    /** A view silent longer than this is stale (the informers' idle bound). */
    readonly staleAfterMs: number;
  };
}

export interface GuardVerdict {
  readonly reason: GuardReason;
  readonly message: string;
}

/** The first guard that refuses this repair, or null when it may run. */
export function guards(g: GuardInput): GuardVerdict | null {
  if (g.report.sources.kubernetes !== 'ok') {
    return { reason: 'kubernetes_not_synced', message: `Kubernetes view is ${g.report.sources.kubernetes}: an API failure is not a deletion` };
  }
  if (g.report.sources.kernel !== 'ok')
    return { reason: 'kernel_read_failed', message: `kernel table could not be read: ${g.report.errors.kernel ?? 'unknown error'}` };
  if (g.capable === false) {
    return { reason: 'not_permitted', message: 'routewarden lacks CAP_NET_ADMIN: it cannot change routes (grant NET_ADMIN, or run without --remediate)' };
  }
  if (g.plan.transient > 0 && g.plan.steps.length === 0) {
    const first = g.plan.skipped.find((s) => s.why.startsWith('transient'));
    return {
      reason: 'kube_vip_transient',
      message:
        g.plan.strategy === 'flush-rebuild'
          ? `${g.plan.transient} drifted routes are in a kube-vip transient window (${first?.why ?? ''}): flush-rebuild waits for it to end`
          : `only transient drift (${first?.why ?? ''}): nothing to repair yet`,
    };
  }
  if (g.youngestDriftAgeMs < g.graceMs) {
    return {
      reason: 'grace_period',
      message: `drift has persisted ${Math.round(g.youngestDriftAgeMs / 1000)}s, less than the grace period of ${Math.round(g.graceMs / 1000)}s`,
    };
  }
  const rejected = g.report.rejected ?? [];
  if (rejected.length > 0) {
    const first = rejected[0]!;
    return {
      reason: 'objects_rejected',
      message: `${rejected.length} Kubernetes object(s) could not be read (${first.kind} ${first.namespace}/${first.name}: ${first.reason}): routes they may decide cannot be judged`,
    };
  }
  const stale = g.kubeView ? staleView(g.kubeView, g.graceMs > 0 ? g.youngestDriftAgeMs : Infinity) : null;
  if (stale) return stale;
  // Routes that are not judged are never touched: they are not the table a repair would empty.
  const judgedOwned = g.ownedCount - g.report.unjudged.filter((u) => u.inKernel).length;
  if (g.expectedCount === 0 && judgedOwned > 0 && !g.allowEmpty) {
    return {
      reason: 'empty_expected_set',
      message: `refusing to empty the table (${judgedOwned} routes) while the expected set is empty; --allow-empty permits it`,
    };
  }
  if (g.plan.netDeletions > g.maxDeletions) {
    return { reason: 'max_deletions', message: `repair would delete ${g.plan.netDeletions} routes, more than --max-deletions ${g.maxDeletions}` };
  }
  const flapping = g.flapping ?? [];
  if (flapping.length > 0 && g.plan.steps.length === 0) {
    return { reason: 'flapping', message: `repairs of ${listed(flapping)} keep being undone (another writer competes for them): left alone` };
  }
  if (g.noProgress && g.now < g.noProgress.until) {
    return {
      reason: 'no_progress',
      message: `the last ${g.noProgress.attempts === 1 ? 'repair' : `${g.noProgress.attempts} repairs`} of this drift changed nothing; next try in ${Math.ceil((g.noProgress.until - g.now) / 1000)}s unless the drift changes`,
    };
  }
  if (g.plan.steps.length === 0) {
    const why = g.plan.skipped.filter((s) => !s.why.startsWith('transient'));
    return {
      reason: 'no_progress',
      message: `no repair can change this drift: ${why.length ? why.map((s) => `${s.destination} (${s.why})`).join(', ') : 'the plan is empty'}`,
    };
  }
  if (g.lastRepairAt !== null && g.now - g.lastRepairAt < g.minRepairIntervalMs) {
    return {
      reason: 'rate_limited',
      message: `last repair ${Math.round((g.now - g.lastRepairAt) / 1000)}s ago, less than --min-repair-interval ${Math.round(g.minRepairIntervalMs / 1000)}s`,
    };
  }
  return null;
}

function listed(xs: readonly string[]): string {
  return xs.length > 5 ? `${xs.slice(0, 5).join(', ')} and ${xs.length - 5} more` : xs.join(', ');
}

/**
 * Why a view cannot be shown to be current, or null (kube_view_stale needs a
 * person when it lasts; kube_view_unconfirmed is routine). A watch can hang after
 * its headers with the socket open: only what the server delivered (an event
 * or a bookmark, about once a minute from the apiserver) proves the view
 * current. Two rules: nothing heard for longer than the idle bound; and
 * nothing heard since the newest drift appeared (a change the view missed
 * would show up as exactly that drift, so it must be confirmed by something
 * the server sent afterwards).
 */
function staleView(view: NonNullable<GuardInput['kubeView']>, youngestDriftAgeMs: number): GuardVerdict | null {
  const s = (ms: number): string => (Number.isFinite(ms) ? `${Math.round(ms / 1000)}s` : 'never');
  if (!(view.ageMs <= view.staleAfterMs)) {
    return {
      reason: 'kube_view_stale',
      message: `Kubernetes view not confirmed for ${s(view.ageMs)} (no event or bookmark; bound ${s(view.staleAfterMs)}): it may be stale`,
    };
  }
  if (view.ageMs >= youngestDriftAgeMs) {
    // Routine on a quiet cluster: the next bookmark (about a minute) confirms it.
    return {
      reason: 'kube_view_unconfirmed',
      message: `the API has sent nothing since the newest drift appeared ${s(youngestDriftAgeMs)} ago (last heard ${s(view.ageMs)} ago): waiting for an event or bookmark to confirm the view`,
    };
  }
  return null;
}
