// The Prometheus surface (docs/metrics.md). The registry is injected, never the
// global one, so tests and the demo can run several instances side by side.
// Gauges are *set* from the last report after each check; nothing here does
// netlink or API calls at scrape time.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Family } from '../core/types.ts';
import type { KubeVipReport } from '../core/model.ts';
import { UNJUDGED_REASONS } from '../core/model.ts';
import type { Report, ReportRow } from '../core/report.ts';
import { expectedRows } from '../core/report.ts';
import type { LimitationId, TransientWindow } from '../core/diff.ts';
import type { GuardReason } from '../core/repair.ts';
import { SETTINGS } from '../kubevip/resolve.ts';
import type { CheckObserver, RepairObserver } from '../app/ports.ts';

export const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];
export const DRIFT_KINDS = ['orphan', 'missing'] as const;
export const CHECK_RESULTS = ['in_sync', 'drift', 'error'] as const;
export const SOURCES = ['kernel', 'kubernetes'] as const;
export const STRATEGIES = ['flush-rebuild', 'surgical'] as const;
export const REMEDIATION_RESULTS = ['success', 'failure', 'blocked', 'dry_run'] as const;
export const REMEDIATION_ACTIONS = ['add', 'delete'] as const;
/**
 * Every guard that can refuse a repair (core/repair.ts, docs/repair.md) and
 * its `reason` label value, which is the guard's own name: `satisfies` makes a
 * guard without a label, a label without a guard, or a label that differs from
 * its guard's name a compile error, so a verdict's reason is a label as is.
 */
const BLOCK_REASON_LABELS = {
  kubernetes_not_synced: 'kubernetes_not_synced',
  kernel_read_failed: 'kernel_read_failed',
  grace_period: 'grace_period',
  empty_expected_set: 'empty_expected_set',
  max_deletions: 'max_deletions',
  rate_limited: 'rate_limited',
  kube_vip_transient: 'kube_vip_transient',
  not_permitted: 'not_permitted',
  no_progress: 'no_progress',
  flapping: 'flapping',
  kube_view_stale: 'kube_view_stale',
  kube_view_unconfirmed: 'kube_view_unconfirmed',
  objects_rejected: 'objects_rejected',
} as const satisfies { readonly [R in GuardReason]: R };
export const BLOCK_REASONS: readonly BlockReason[] = Object.values(BLOCK_REASON_LABELS);
export type BlockReason = (typeof BLOCK_REASON_LABELS)[GuardReason];
/** Sides of routewarden_resync_corrections_total. */
export const RESYNC_SIDES = ['kernel', 'expected'] as const;

/** Kinds whose objects can be rejected (routewarden_objects_rejected_total). */
export const REJECTED_KINDS = ['Service', 'EndpointSlice', 'Lease', 'Pod'] as const;
/** Transient windows and limitation ids (core/diff.ts), as label values. */
export const TRANSIENT_WINDOWS = [
  'kube-vip-starting',
  'kube-vip-terminating',
  'lease-handover',
  'startup-cleanup',
] as const satisfies readonly TransientWindow[];
export const LIMITATION_IDS = ['E11', 'E12', 'E15', 'E16', 'E17', 'proto-boot', 'ipv6-error-route', 'E2', 'E25'] as const satisfies readonly LimitationId[];

/** Per-route series are capped so a table gone wild cannot blow up Prometheus. */
export const DEFAULT_DRIFTED_ROUTE_SERIES_CAP = 100;
/** Per-expected-route series (for cluster-wide "VIP held by no node / by several" alerts). */
export const DEFAULT_EXPECTED_ROUTE_SERIES_CAP = 1000;

export interface Metrics {
  readonly registry: Registry;
  readonly orphanRoutes: Gauge<'family'>;
  readonly missingRoutes: Gauge<'family'>;
  readonly expectedRoutes: Gauge<'family'>;
  readonly kernelRoutes: Gauge<'family'>;
  readonly foreignRoutes: Gauge<'family'>;
  readonly driftDetected: Counter<'kind'>;
  readonly driftedRouteInfo: Gauge<'kind' | 'destination' | 'family' | 'services' | 'reason'>;
  readonly transientRoutes: Gauge<'kind' | 'window'>;
  readonly limitationRoutes: Gauge<'kind' | 'limitation'>;
  readonly unjudgedRoutes: Gauge<'family' | 'reason'>;
  readonly driftedRoutesDropped: Gauge;
  readonly expectedRouteInfo: Gauge<'destination' | 'family' | 'services' | 'present'>;
  readonly expectedRoutesDropped: Gauge;
  readonly checks: Counter<'result'>;
  readonly checkDuration: Histogram;
  readonly lastCheck: Gauge;
  readonly lastSuccessfulCheck: Gauge;
  readonly sourceUp: Gauge<'source'>;
  readonly remediations: Counter<'strategy' | 'result'>;
  readonly remediatedRoutes: Counter<'action'>;
  readonly remediationBlocked: Counter<'reason'>;
  readonly repairCapable: Gauge;
  readonly flappingRoutes: Gauge;
  readonly kernelNotificationsLost: Counter;
  readonly objectsRejected: Counter<'kind'>;
  readonly resyncCorrections: Counter<'side'>;
  readonly buildInfo: Gauge<'version' | 'revision' | 'node_version'>;
  readonly configInfo: Gauge<'node' | 'table' | 'protocol' | 'remediate' | 'strategy' | 'election'>;
  readonly kubeVipConfigMismatch: Gauge<'setting'>;
  readonly kubeVipInstances: Gauge;
  readonly kubeVipReady: Gauge<'kube_vip_pod'>;
  readonly kubeVipStartTime: Gauge<'kube_vip_pod'>;
  readonly kubeVipRestarts: Gauge<'kube_vip_pod'>;
}

export interface MetricsOptions {
  readonly registry?: Registry;
  readonly version: string;
  /** Git revision of the build (routewarden_build_info); default "unknown". */
  readonly revision?: string;
  /** Node.js version (routewarden_build_info); default this process's. */
  readonly nodeVersion?: string;
  /** Collect process_* and nodejs_* metrics (default true). */
  readonly defaultMetrics?: boolean;
}

export function createMetrics(opts: MetricsOptions): Metrics {
  const registry = opts.registry ?? new Registry();
  const registers = [registry];
  const familyGauge = (name: string, help: string): Gauge<'family'> => new Gauge({ name, help, labelNames: ['family'], registers });

  const m: Metrics = {
    registry,
    orphanRoutes: familyGauge('routewarden_orphan_routes', "Routes in kube-vip's (table, protocol) that no current Service justifies on this node."),
    missingRoutes: familyGauge('routewarden_missing_routes', 'Routes the Kubernetes API says this node should hold but the kernel lacks.'),
    expectedRoutes: familyGauge('routewarden_expected_routes', 'Routes the Kubernetes API says this node should hold.'),
    kernelRoutes: familyGauge('routewarden_kernel_routes', "Routes in kube-vip's (table, protocol)."),
    foreignRoutes: familyGauge('routewarden_foreign_routes', "Routes in kube-vip's table with another protocol; never touched."),
    driftDetected: new Counter({
      name: 'routewarden_drift_detected_total',
      help: 'Routes that newly entered drift, by kind.',
      labelNames: ['kind'],
      registers,
    }),
    driftedRouteInfo: new Gauge({
      name: 'routewarden_drifted_route_info',
      help: 'One series per drifted route (value 1), capped; see routewarden_drifted_route_series_dropped.',
      labelNames: ['kind', 'destination', 'family', 'services', 'reason'],
      registers,
    }),
    transientRoutes: new Gauge({
      name: 'routewarden_transient_drifted_routes',
      help: 'Drifted routes (also counted in the orphan/missing gauges) that kube-vip is expected to resolve itself, by window; repair skips them.',
      labelNames: ['kind', 'window'],
      registers,
    }),
    limitationRoutes: new Gauge({
      name: 'routewarden_limitation_drifted_routes',
      help: 'Drifted routes (also counted in the orphan/missing gauges) explained by a known kube-vip limitation, by spec id.',
      labelNames: ['kind', 'limitation'],
      registers,
    }),
    unjudgedRoutes: new Gauge({
      name: 'routewarden_unjudged_routes',
      help: 'Routes routewarden cannot judge (etcd leases, settings it cannot read, DHCP, hostnames...): never drift, never repaired; in the table or not.',
      labelNames: ['family', 'reason'],
      registers,
    }),
    driftedRoutesDropped: new Gauge({
      name: 'routewarden_drifted_route_series_dropped',
      help: 'Drifted routes left out of routewarden_drifted_route_info because of the series cap.',
      registers,
    }),
    expectedRouteInfo: new Gauge({
      name: 'routewarden_expected_route_info',
      help: 'One series per route this node should hold (value 1), present="true" when the kernel has it; capped.',
      labelNames: ['destination', 'family', 'services', 'present'],
      registers,
    }),
    expectedRoutesDropped: new Gauge({
      name: 'routewarden_expected_route_series_dropped',
      help: 'Expected routes left out of routewarden_expected_route_info because of the series cap.',
      registers,
    }),
    checks: new Counter({
      name: 'routewarden_checks_total',
      help: 'Finished checks, by result.',
      labelNames: ['result'],
      registers,
    }),
    checkDuration: new Histogram({
      name: 'routewarden_check_duration_seconds',
      help: 'Time of one full check (read both sides, compute, diff).',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    lastCheck: new Gauge({
      name: 'routewarden_last_check_timestamp_seconds',
      help: 'Unix time at the end of the last check.',
      registers,
    }),
    lastSuccessfulCheck: new Gauge({
      name: 'routewarden_last_successful_check_timestamp_seconds',
      help: 'Unix time at the end of the last check that read both sides.',
      registers,
    }),
    sourceUp: new Gauge({
      name: 'routewarden_source_up',
      help: '1 when that side could be read and is synced, else 0.',
      labelNames: ['source'],
      registers,
    }),
    remediations: new Counter({
      name: 'routewarden_remediations_total',
      help: 'Repair attempts, by strategy and result.',
      labelNames: ['strategy', 'result'],
      registers,
    }),
    remediatedRoutes: new Counter({
      name: 'routewarden_remediated_routes_total',
      help: 'Kernel route changes made by repair, by action.',
      labelNames: ['action'],
      registers,
    }),
    remediationBlocked: new Counter({
      name: 'routewarden_remediation_blocked_total',
      help: 'Repairs a safety guard refused, by guard.',
      labelNames: ['reason'],
      registers,
    }),
    repairCapable: new Gauge({
      name: 'routewarden_repair_capable',
      help: '1 when the process may change routes (CAP_NET_ADMIN is effective), else 0; read once at start.',
      registers,
    }),
    flappingRoutes: new Gauge({
      name: 'routewarden_flapping_routes',
      help: 'Destinations repair has stopped fighting for: their drift came back after too many repairs (guard flapping).',
      registers,
    }),
    kernelNotificationsLost: new Counter({
      name: 'routewarden_kernel_notifications_lost_total',
      help: "Kernel route notifications dropped because routewarden's receive buffer overflowed; each loss forces a full re-read of the table.",
      registers,
    }),
    objectsRejected: new Counter({
      name: 'routewarden_objects_rejected_total',
      help: 'Kubernetes objects (versions) left out of the view because they could not be translated or cost more than one object may, by kind.',
      labelNames: ['kind'],
      registers,
    }),
    resyncCorrections: new Counter({
      name: 'routewarden_resync_corrections_total',
      help: 'Differences the periodic full check found in the incremental state and corrected, by side (kernel: the route mirror; expected: the verdict). Each one is a bug.',
      labelNames: ['side'],
      registers,
    }),
    buildInfo: new Gauge({
      name: 'routewarden_build_info',
      help: 'Build information (value 1): version, git revision and Node.js version.',
      labelNames: ['version', 'revision', 'node_version'],
      registers,
    }),
    configInfo: new Gauge({
      name: 'routewarden_config_info',
      help: 'Effective configuration of this instance (value 1).',
      labelNames: ['node', 'table', 'protocol', 'remediate', 'strategy', 'election'],
      registers,
    }),
    kubeVipConfigMismatch: new Gauge({
      name: 'routewarden_kube_vip_config_mismatch',
      help: "1 when the value routewarden uses for a setting (an explicit flag) differs from kube-vip's effective value read from its pod, else 0.",
      labelNames: ['setting'],
      registers,
    }),
    kubeVipInstances: new Gauge({
      name: 'routewarden_kube_vip_instances',
      help: 'kube-vip pods in routing-table mode found on this node (--kube-vip-config auto); 0 = flags only.',
      registers,
    }),
    kubeVipReady: new Gauge({
      name: 'routewarden_kube_vip_ready',
      help: "1 when the kube-vip pod's Ready condition is True and it is not terminating, else 0.",
      labelNames: ['kube_vip_pod'],
      registers,
    }),
    kubeVipStartTime: new Gauge({
      name: 'routewarden_kube_vip_start_time_seconds',
      help: 'Unix time the kube-vip container started (state.running.startedAt); absent while it is not running.',
      labelNames: ['kube_vip_pod'],
      registers,
    }),
    kubeVipRestarts: new Gauge({
      name: 'routewarden_kube_vip_container_restarts',
      help: "The kube-vip container's restart count, as the kubelet reports it.",
      labelNames: ['kube_vip_pod'],
      registers,
    }),
  };

  // Both families exist from the start so `== 0` alerts work without absent().
  for (const family of FAMILIES) {
    for (const g of [m.orphanRoutes, m.missingRoutes, m.expectedRoutes, m.kernelRoutes, m.foreignRoutes]) {
      g.set({ family }, 0);
    }
  }
  for (const kind of DRIFT_KINDS) m.driftDetected.inc({ kind }, 0);
  for (const result of CHECK_RESULTS) m.checks.inc({ result }, 0);
  for (const source of SOURCES) m.sourceUp.set({ source }, 0);
  for (const strategy of STRATEGIES) {
    for (const result of REMEDIATION_RESULTS) m.remediations.inc({ strategy, result }, 0);
  }
  for (const action of REMEDIATION_ACTIONS) m.remediatedRoutes.inc({ action }, 0);
  for (const reason of BLOCK_REASONS) m.remediationBlocked.inc({ reason }, 0);
  for (const kind of REJECTED_KINDS) m.objectsRejected.inc({ kind }, 0);
  for (const side of RESYNC_SIDES) m.resyncCorrections.inc({ side }, 0);
  m.driftedRoutesDropped.set(0);
  m.expectedRoutesDropped.set(0);
  for (const setting of SETTINGS) m.kubeVipConfigMismatch.set({ setting }, 0);
  for (const kind of DRIFT_KINDS) {
    for (const window of TRANSIENT_WINDOWS) m.transientRoutes.set({ kind, window }, 0);
    for (const limitation of LIMITATION_IDS) m.limitationRoutes.set({ kind, limitation }, 0);
  }
  for (const family of FAMILIES) for (const reason of UNJUDGED_REASONS) m.unjudgedRoutes.set({ family, reason }, 0);
  m.kubeVipInstances.set(0);
  m.flappingRoutes.set(0);
  m.buildInfo.set({ version: opts.version, revision: opts.revision ?? 'unknown', node_version: opts.nodeVersion ?? process.version }, 1);

  if (opts.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    // prom-client exports these totals as gauges with a `_total` suffix, which
    // `promtool check metrics` rightly flags; the per-type nodejs_active_*
    // gauges it also exports carry the same information.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      registry.removeSingleMetric(name);
    }
  }
  return m;
}

/** The metrics as the checker's and repair's observers (src/app/ports.ts). */
export function metricsObserver(m: Metrics): CheckObserver & RepairObserver {
  return {
    checked: (report, entered, durationSeconds) => recordCheck(m, report, entered, durationSeconds),
    rejected: (kind, count) => m.objectsRejected.inc({ kind }, count),
    resyncCorrected: (side, count) => m.resyncCorrections.inc({ side }, count),
    blocked(strategy, reason) {
      m.remediations.inc({ strategy, result: 'blocked' });
      // Every guard's reason is a label value declared above.
      m.remediationBlocked.inc({ reason: reason satisfies BlockReason });
    },
    dryRun: (strategy) => m.remediations.inc({ strategy, result: 'dry_run' }),
    changed(added, deleted) {
      m.remediatedRoutes.inc({ action: 'add' }, added);
      m.remediatedRoutes.inc({ action: 'delete' }, deleted);
    },
    finished: (strategy, ok) => m.remediations.inc({ strategy, result: ok ? 'success' : 'failure' }),
    flapping: (destinations) => m.flappingRoutes.set(destinations),
  };
}

/**
 * The rows (and cap) routewarden_expected_route_info was last written from,
 * per Metrics, and the labels written for each row object.
 */
const expectedSeriesFrom = new WeakMap<
  Metrics,
  { readonly head: readonly ReportRow[]; readonly cap: number; readonly written: Map<ReportRow, Record<string, string>> }
>();

/** What one check leaves in the metrics; gauges are set from the report. */
export function recordCheck(
  m: Metrics,
  report: import('../core/report.ts').Report,
  entered: readonly { kind: 'orphan' | 'missing' }[],
  durationSeconds: number,
  cap = DEFAULT_DRIFTED_ROUTE_SERIES_CAP,
  expectedCap = DEFAULT_EXPECTED_ROUTE_SERIES_CAP,
): void {
  const now = Date.parse(report.checkedAt) / 1000;
  m.sourceUp.set({ source: 'kernel' }, report.sources.kernel === 'ok' ? 1 : 0);
  m.sourceUp.set({ source: 'kubernetes' }, report.sources.kubernetes === 'ok' ? 1 : 0);
  const compared = report.sources.kernel === 'ok' && report.sources.kubernetes === 'ok';
  for (const family of FAMILIES) {
    const f = report.byFamily[family];
    if (report.sources.kernel === 'ok') {
      m.kernelRoutes.set({ family }, f.kernel);
      m.foreignRoutes.set({ family }, f.foreign);
    }
    if (report.sources.kubernetes === 'ok') m.expectedRoutes.set({ family }, f.expected);
    // A view we could not compare says nothing about drift: keep the last
    // known values rather than claiming zero (staleness shows in source_up and
    // the last-successful-check timestamp).
    if (compared) {
      m.orphanRoutes.set({ family }, f.orphan);
      m.missingRoutes.set({ family }, f.missing);
    }
  }
  for (const e of entered) m.driftDetected.inc({ kind: e.kind });
  if (compared) {
    m.driftedRouteInfo.reset();
    let written = 0;
    let dropped = 0;
    const put = (kind: 'orphan' | 'missing', r: { destination: string; family: string; services: readonly string[]; reason: string }) => {
      if (written >= cap) {
        dropped++;
        return;
      }
      written++;
      m.driftedRouteInfo.set({ kind, destination: r.destination, family: r.family, services: r.services.join(','), reason: r.reason }, 1);
    };
    for (const r of report.missing) put('missing', r);
    for (const r of report.orphans) put('orphan', r);
    m.driftedRoutesDropped.set(dropped);
    setDriftClasses(m, report);
    for (const family of FAMILIES) {
      for (const reason of UNJUDGED_REASONS)
        m.unjudgedRoutes.set({ family, reason }, report.unjudged.filter((u) => u.family === family && u.reason === reason).length);
    }

    // The series are the first `expectedCap` rows of expected routes. Read
    // through expectedRows(): an incremental report gives them without
    // building its 10,000 rows. The same row objects as last time (the
    // engine keeps the rows of everything a change did not touch; an
    // unchanged in-sync table shares them between reports) give the same
    // series: only rows that are not the same objects are rewritten.
    const rows = expectedRows(report);
    const head = rows.head(expectedCap);
    m.expectedRoutesDropped.set(rows.count - head.length);
    const from = expectedSeriesFrom.get(m);
    if (!from || from.cap !== expectedCap || !sameItems(from.head, head)) {
      const before = from?.cap === expectedCap ? from.written : new Map<ReportRow, Record<string, string>>();
      if (from && from.cap !== expectedCap) m.expectedRouteInfo.reset();
      const written = new Map<ReportRow, Record<string, string>>();
      for (const r of head)
        written.set(r, before.get(r) ?? { destination: r.destination, family: r.family, services: r.services.join(','), present: String(r.verdict === 'ok') });
      const keep = new Set<string>();
      for (const [r, labels] of written) if (before.has(r)) keep.add(seriesKey(labels));
      for (const [r, labels] of before) if (!written.has(r) && !keep.has(seriesKey(labels))) m.expectedRouteInfo.remove(labels);
      for (const [r, labels] of written) if (!before.has(r)) m.expectedRouteInfo.set(labels, 1);
      expectedSeriesFrom.set(m, { head, cap: expectedCap, written });
    }
  }
  if (report.kubeVip) recordKubeVip(m, report.kubeVip);
  const result = !compared ? 'error' : report.inSync ? 'in_sync' : 'drift';
  m.checks.inc({ result });
  m.checkDuration.observe(durationSeconds);
  m.lastCheck.set(now);
  if (compared) m.lastSuccessfulCheck.set(now);
}

const seriesKey = (l: Record<string, string>): string => `${l.destination} ${l.family} ${l.services} ${l.present}`;

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** kube-vip's configuration mismatches and its pods' state, from the report's kubeVip section. */
export function recordKubeVip(m: Metrics, kv: KubeVipReport): void {
  const mismatched = new Set(kv.mismatches);
  for (const setting of SETTINGS) m.kubeVipConfigMismatch.set({ setting }, mismatched.has(setting) ? 1 : 0);
  m.kubeVipInstances.set(kv.found);
  // Pod names change with every restart of a DaemonSet pod: series of pods
  // that are gone must go too.
  m.kubeVipReady.reset();
  m.kubeVipStartTime.reset();
  m.kubeVipRestarts.reset();
  for (const i of kv.instances) {
    const labels = { kube_vip_pod: i.pod };
    m.kubeVipReady.set(labels, i.ready && !i.terminating ? 1 : 0);
    m.kubeVipRestarts.set(labels, i.restarts);
    if (i.startedAt !== null) m.kubeVipStartTime.set(labels, Date.parse(i.startedAt) / 1000);
  }
}

/** How many drifted routes are transient (by window) or explained by a limitation (by id). */
function setDriftClasses(m: Metrics, report: import('../core/report.ts').Report): void {
  for (const kind of DRIFT_KINDS) {
    const routes = kind === 'orphan' ? report.orphans : report.missing;
    for (const window of TRANSIENT_WINDOWS) m.transientRoutes.set({ kind, window }, routes.filter((r) => r.transient?.window === window).length);
    for (const limitation of LIMITATION_IDS)
      m.limitationRoutes.set({ kind, limitation }, routes.filter((r) => !r.transient && r.limitation?.id === limitation).length);
  }
}
