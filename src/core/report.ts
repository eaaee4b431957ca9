// The report (docs/report.md): what `check --output json`, GET /drift, the
// metrics and the status page all show. Built by a pure function from what
// one check read. A side that could not be read yields no drift at all: an
// API failure is not a deletion (docs/repair.md rule 2, E8).

import type { ClusterSnapshot, InterfaceInfo, RejectedObject } from './cluster.ts';
import { diff } from './diff.ts';
import { byDestination, driftClass } from './diff.ts';
import type { DiffResult, DriftClass, MissingRoute, OrphanRoute, UnjudgedRoute } from './diff.ts';
import { ExpectedMemo } from './expected-memo.ts';
import type { ExcludedVip, ExpectedRoute, ExpectedSet } from './expected.ts';
import { annotate } from './kubevip-context.ts';
import type { KubeVipContext, LimitationNote } from './kubevip-context.ts';
import type { KubeVipModel, KubeVipReport } from './model.ts';
import type { Family, KernelDump, SourceState, SourceStatus } from './types.ts';

/** Drifted routes as the report shows them: the diff's, without the raw kernel objects. */
export type ReportOrphan = Omit<OrphanRoute, 'route'> & { readonly class: DriftClass };
export type ReportMissing = Omit<MissingRoute, 'expected'> & { readonly class: DriftClass };

/** Not-judged routes as the report shows them: never drift, never repaired. */
export type ReportUnjudged = Omit<UnjudgedRoute, 'route'>;

export type Verdict = 'ok' | 'orphan' | 'missing' | 'not-judged';

/** One row per expected or kernel route, for the status page. */
export interface ReportRow {
  readonly destination: string;
  readonly family: Family;
  readonly device: string | null;
  readonly verdict: Verdict;
  readonly reason?: string;
  /** Drifted rows: drift, expected-transient or kube-vip-limitation. */
  readonly class?: DriftClass;
  readonly services: readonly string[];
  readonly inKernel: boolean;
  readonly expected: boolean;
}

/**
 * What the metrics read of a report's rows: those of expected routes
 * (`expected: true`), counted, and the first few in order.
 */
export interface ExpectedRows {
  readonly count: number;
  /** The first `k` rows of expected routes, in the report's order. */
  head(k: number): readonly ReportRow[];
}

/**
 * A report's ExpectedRows when whoever built it can give them without
 * building `routes` (the incremental engine); a non-enumerable property, never
 * in the JSON. Read it with expectedRows().
 */
const EXPECTED_ROWS: unique symbol = Symbol('expectedRows');

export interface Report {
  readonly [EXPECTED_ROWS]?: ExpectedRows;
  readonly node: string;
  readonly table: number;
  readonly protocol: number;
  readonly checkedAt: string;
  readonly inSync: boolean;
  readonly sources: { readonly kernel: SourceState; readonly kubernetes: SourceState };
  readonly counts: {
    readonly expected: number;
    readonly kernel: number;
    readonly orphan: number;
    readonly missing: number;
    readonly foreign: number;
    /** Extra: drifted routes in a transient window (repair skips them). */
    readonly transient: number;
    /** Extra: drifted routes explained by a known kube-vip limitation. */
    readonly limitation: number;
    /** Extra: routes routewarden cannot judge (never drift, never repaired; not in orphan/missing). */
    readonly unjudged: number;
  };
  readonly orphans: readonly ReportOrphan[];
  readonly missing: readonly ReportMissing[];
  /** Extra: per-family counts, for metrics. */
  readonly byFamily: Readonly<Record<Family, { expected: number; kernel: number; orphan: number; missing: number; foreign: number }>>;
  /** Extra: VIPs kube-vip cannot install (judged: no route for them anywhere). */
  readonly excluded: readonly ExcludedVip[];
  /** Extra: routes routewarden cannot judge, each with its reason (docs/kube-vip-fidelity.md, "Not judged"). */
  readonly unjudged: readonly ReportUnjudged[];
  /** Extra: one line per source that is not ok. */
  readonly errors: { readonly kernel?: string; readonly kubernetes?: string };
  readonly routes: readonly ReportRow[];
  /** Extra: kube-vip's effective configuration and where each value came from (--kube-vip-config). */
  readonly kubeVip?: KubeVipReport;
  /** Extra: known kube-vip limitations seen in the cluster, drift or not (docs/kube-vip-routing.md §8). */
  readonly limitations: readonly LimitationNote[];
  /** Extra: Kubernetes objects left out of the view (they could not be translated); absent when none. */
  readonly rejected?: readonly RejectedObject[];
}

export interface CheckInput {
  /** The primary model: report header (table, protocol) and, without `kubeVip`, the only model. */
  readonly model: KubeVipModel;
  /** The node checked; defaults to the model's kube-vip identity. */
  readonly node?: string;
  /** kube-vip instances on the node and their state; absent = the one `model`, no kube-vip context. */
  readonly kubeVip?: { readonly context: KubeVipContext; readonly report: KubeVipReport };
  readonly now: number;
  readonly kernel: { readonly status: SourceStatus; readonly dump: KernelDump | null; readonly interfaces: readonly InterfaceInfo[] | null };
  readonly kubernetes: { readonly status: SourceStatus; readonly snapshot: ClusterSnapshot | null };
}

export interface CheckResult {
  readonly report: Report;
  /** Present only when both sides were read. */
  readonly diff: DiffResult | null;
  readonly expected: ExpectedSet | null;
  /** The kernel table as read for this check, null when it could not be read. */
  readonly kernel: KernelDump | null;
}

const zeroFamily = () => ({ expected: 0, kernel: 0, orphan: 0, missing: 0, foreign: 0 });

/** One full comparison from what was read. */
export function evaluate(input: CheckInput, cache: EvaluationCache = new EvaluationCache()): CheckResult {
  const { model, now } = input;
  const kernelOk = input.kernel.status.state === 'ok' && input.kernel.dump !== null;
  const kubeOk = input.kubernetes.status.state === 'ok' && input.kubernetes.snapshot !== null;
  const snapshot = input.kubernetes.snapshot!;
  const instances = input.kubeVip?.context.instances;
  // Stages: placement decisions and expected routes (expected.ts), the diff
  // against the kernel (diff.ts), classification (kubevip-context.ts), the
  // report (assembleReport). engine.ts runs the same stages slot by slot.
  const expected = !kubeOk
    ? null
    : instances && instances.length > 0
      ? cache.expected.mergeExpected(
          instances.map((i) => ({ id: i.id, set: cache.expected.expectedRoutes({ snapshot, model: i.model, interfaces: input.kernel.interfaces, now }) })),
        )
      : cache.expected.expectedRoutes({ snapshot, model, interfaces: input.kernel.interfaces, now });
  const raw = kernelOk && expected ? diff(expected, input.kernel.dump!, input.kernel.interfaces) : null;
  const annotated = raw && input.kubeVip ? annotate(raw, input.kubeVip.context, snapshot, expected!, input.kernel.dump!, now) : null;
  const d = annotated?.diff ?? raw;

  const byFamily = { ipv4: zeroFamily(), ipv6: zeroFamily() };
  if (kernelOk) {
    for (const r of input.kernel.dump!.owned) byFamily[r.family].kernel++;
    for (const r of input.kernel.dump!.foreign) byFamily[r.family].foreign++;
  }
  if (expected) for (const r of expected.routes.values()) byFamily[r.family].expected++;
  if (d) {
    for (const o of d.orphans) byFamily[o.family].orphan++;
    for (const m of d.missing) byFamily[m.family].missing++;
  }
  let rows: ReportRow[] = [];
  if (d) {
    for (const u of d.unjudged) {
      const row = unjudgedRow(u);
      if (row) rows.push(row);
    }
    for (const o of d.orphans) rows.push(driftRow('orphan', o));
    for (const m of d.missing) rows.push(driftRow('missing', m));
    if (rows.length === 0 && expected && d.matched.every((ok) => ok.route.device === ok.expected.device)) {
      rows = inSyncRows(cache, expected);
    } else {
      for (const ok of d.matched) rows.push(okRow(ok.expected, ok.route.device));
      rows.sort(byDestination);
    }
  }
  const report = assembleReport(
    input,
    { kernelOk, kubeOk, snapshot },
    { diff: d, byFamily, excluded: expected?.excluded ?? [], rows, limitations: annotated?.limitations ?? [] },
  );
  return { report, diff: d, expected, kernel: kernelOk ? input.kernel.dump : null };
}

/** The report row of a not-judged route; null for a VIP whose route is not known. */
export function unjudgedRow(u: UnjudgedRoute): ReportRow | null {
  if (u.destination === null || u.family === null) return null;
  return {
    destination: u.destination,
    family: u.family,
    device: u.device,
    verdict: 'not-judged',
    reason: u.reason,
    services: u.services,
    inKernel: u.inKernel,
    expected: false,
  };
}

/** The report row of a drifted route. */
export function driftRow(verdict: 'orphan' | 'missing', r: OrphanRoute | MissingRoute): ReportRow {
  return {
    destination: r.destination,
    family: r.family,
    device: r.device,
    verdict,
    reason: r.reason,
    class: driftClass(r),
    services: r.services,
    inKernel: verdict === 'orphan',
    expected: verdict === 'missing',
  };
}

/** The last stage: the report from the classified diff, the counts and the rows (shared by evaluate() and engine.ts). */
export function assembleReport(
  input: Pick<CheckInput, 'model' | 'node' | 'now' | 'kubeVip'> & {
    readonly kernel: { readonly status: SourceStatus };
    readonly kubernetes: { readonly status: SourceStatus };
  },
  ok: { readonly kernelOk: boolean; readonly kubeOk: boolean; readonly snapshot: ClusterSnapshot | null },
  parts: {
    readonly diff: DiffResult | null;
    readonly byFamily: Report['byFamily'];
    readonly excluded: readonly ExcludedVip[];
    /** The rows, or how to build them: then `routes` is built when first read, once. */
    readonly rows: readonly ReportRow[] | (() => readonly ReportRow[]);
    /** How the rows of expected routes can be read without building `routes`. */
    readonly expectedRows?: ExpectedRows;
    readonly limitations: readonly LimitationNote[];
  },
): Report {
  const { model, now } = input;
  const { kernelOk, kubeOk, snapshot } = ok;
  const d = parts.diff;
  const byFamily = parts.byFamily;
  const orphans: ReportOrphan[] = [];
  const missing: ReportMissing[] = [];
  const unjudged: ReportUnjudged[] = [];
  let transient = 0;
  let limitation = 0;
  const classed = (cls: DriftClass) => {
    if (cls === 'expected-transient') transient++;
    else if (cls === 'kube-vip-limitation') limitation++;
    return cls;
  };
  if (d) {
    for (const u of d.unjudged) {
      const { route: _route, ...shown } = u;
      unjudged.push(shown);
    }
    for (const o of d.orphans) {
      orphans.push(
        strip({
          destination: o.destination,
          family: o.family,
          device: o.device,
          reason: o.reason,
          class: classed(driftClass(o)),
          services: o.services,
          detail: o.detail,
          filter: o.filter,
          transient: o.transient,
          limitation: o.limitation,
        }),
      );
    }
    for (const m of d.missing) {
      missing.push(
        strip({
          destination: m.destination,
          family: m.family,
          device: m.device,
          services: m.services,
          reason: m.reason,
          class: classed(driftClass(m)),
          detail: m.detail,
          transient: m.transient,
          limitation: m.limitation,
        }),
      );
    }
  }
  const sum = (k: keyof ReturnType<typeof zeroFamily>) => byFamily.ipv4[k] + byFamily.ipv6[k];
  const errors: { kernel?: string; kubernetes?: string } = {};
  if (!kernelOk) errors.kernel = input.kernel.status.message ?? 'kernel table not read';
  if (!kubeOk) errors.kubernetes = input.kubernetes.status.message ?? 'Kubernetes view not synced';
  const rows = parts.rows;
  let built: readonly ReportRow[] | undefined = typeof rows === 'function' ? undefined : rows;
  const report: Report = {
    node: input.node ?? model.nodeName,
    table: model.table,
    protocol: model.protocol,
    checkedAt: new Date(now).toISOString(),
    inSync: d !== null && d.orphans.length === 0 && d.missing.length === 0,
    sources: { kernel: kernelOk ? 'ok' : errorState(input.kernel.status), kubernetes: kubeOk ? 'ok' : errorState(input.kubernetes.status) },
    counts: {
      expected: sum('expected'),
      kernel: sum('kernel'),
      orphan: sum('orphan'),
      missing: sum('missing'),
      foreign: sum('foreign'),
      transient,
      limitation,
      unjudged: unjudged.length,
    },
    orphans,
    missing,
    byFamily,
    excluded: parts.excluded,
    unjudged,
    errors,
    // A getter in place, so that the JSON keeps its order of fields.
    get routes(): readonly ReportRow[] {
      built ??= (rows as () => readonly ReportRow[])();
      return built;
    },
    ...(input.kubeVip ? { kubeVip: input.kubeVip.report } : {}),
    limitations: parts.limitations,
    ...(kubeOk && snapshot?.rejected && snapshot.rejected.length > 0 ? { rejected: snapshot.rejected } : {}),
  };
  if (parts.expectedRows) Object.defineProperty(report, EXPECTED_ROWS, { value: parts.expectedRows, enumerable: false });
  return report;
}

/** The rows of a report's expected routes: as its builder gave them, or read from `routes`. */
export function expectedRows(report: Report): ExpectedRows {
  const given = report[EXPECTED_ROWS];
  if (given) return given;
  let count = 0;
  for (const r of report.routes) if (r.expected) count++;
  return {
    count,
    head(k) {
      const out: ReportRow[] = [];
      for (const r of report.routes) {
        if (out.length >= k) break;
        if (r.expected) out.push(r);
      }
      return out;
    },
  };
}

/** The report row of an expected route the kernel holds (on `device`). */
export const okRow = (exp: ExpectedRoute, device: string | null): ReportRow => ({
  destination: exp.destination,
  family: exp.family,
  device,
  verdict: 'ok',
  services: exp.services,
  inKernel: true,
  expected: true,
});

/**
 * What evaluate() reuses from one check to the next: the expected sets
 * (expected-memo.ts) and the rows of an in-sync table. The checker owns one;
 * a call without one computes everything afresh. No state lives in the
 * module.
 */
export class EvaluationCache {
  readonly expected = new ExpectedMemo();
  readonly syncedRows = new WeakMap<ExpectedSet, ReportRow[]>();
}

/**
 * The rows of a table that holds exactly `expected`, each route on its
 * expected device: a function of the expected set alone, so they are built
 * and sorted once per set and shared by every report while nothing changes
 * (at 10,000 routes, building them again was a third of a warm check).
 * Frozen: reports hand them out.
 */
function inSyncRows(cache: EvaluationCache, expected: ExpectedSet): ReportRow[] {
  let rows = cache.syncedRows.get(expected);
  if (!rows) {
    rows = [...expected.routes.values()].map((exp) => Object.freeze(okRow(exp, exp.device))).sort(byDestination);
    Object.freeze(rows);
    cache.syncedRows.set(expected, rows);
  }
  return rows;
}

function errorState(s: SourceStatus): SourceState {
  return s.state === 'ok' ? 'error' : s.state;
}

/** Optional fields that are undefined are left out of the JSON. */
function strip<T extends object>(o: T): T {
  for (const [k, v] of Object.entries(o)) if (v === undefined) delete (o as Record<string, unknown>)[k];
  return o;
}
