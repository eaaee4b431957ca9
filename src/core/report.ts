// The report (design.md §4): what `check --output json`, GET /drift, the
// metrics and the status page all show. Built by a pure function from what
// one check read. A side that could not be read yields no drift at all: an
// API failure is not a deletion (design.md §7.2, E8).

import type { ClusterSnapshot, InterfaceInfo } from './cluster.ts';
import { diff } from './diff.ts';
import type { DiffResult, MissingRoute, OrphanRoute } from './diff.ts';
import { expectedRoutes } from './expected.ts';
import type { ExcludedVip, ExpectedSet } from './expected.ts';
import type { KubeVipModel } from './model.ts';
import type { Family, KernelDump, SourceState, SourceStatus } from './types.ts';

/** Drifted routes as the report shows them: the diff's, without the raw kernel objects. */
export type ReportOrphan = Omit<OrphanRoute, 'route'>;
export type ReportMissing = Omit<MissingRoute, 'expected'>;

export type Verdict = 'ok' | 'orphan' | 'missing';

/** One row per expected or kernel route, for the status page. */
export interface ReportRow {
  readonly destination: string;
  readonly family: Family;
  readonly device: string | null;
  readonly verdict: Verdict;
  readonly reason?: string;
  readonly services: readonly string[];
  readonly inKernel: boolean;
  readonly expected: boolean;
}

export interface Report {
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
  };
  readonly orphans: readonly ReportOrphan[];
  readonly missing: readonly ReportMissing[];
  /** Extra: per-family counts, for metrics. */
  readonly byFamily: Readonly<Record<Family, { expected: number; kernel: number; orphan: number; missing: number; foreign: number }>>;
  /** Extra: VIPs kube-vip has but routewarden does not judge (DHCP, hostnames, uninstallable). */
  readonly excluded: readonly ExcludedVip[];
  /** Extra: one line per source that is not ok. */
  readonly errors: { readonly kernel?: string; readonly kubernetes?: string };
  readonly routes: readonly ReportRow[];
}

export interface CheckInput {
  readonly model: KubeVipModel;
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
export function evaluate(input: CheckInput): CheckResult {
  const { model, now } = input;
  const kernelOk = input.kernel.status.state === 'ok' && input.kernel.dump !== null;
  const kubeOk = input.kubernetes.status.state === 'ok' && input.kubernetes.snapshot !== null;
  const expected = kubeOk
    ? expectedRoutes({ snapshot: input.kubernetes.snapshot!, model, interfaces: input.kernel.interfaces, now })
    : null;
  const d = kernelOk && expected ? diff(expected, input.kernel.dump!, input.kernel.interfaces) : null;

  const byFamily = { ipv4: zeroFamily(), ipv6: zeroFamily() };
  if (kernelOk) {
    for (const r of input.kernel.dump!.owned) byFamily[r.family].kernel++;
    for (const r of input.kernel.dump!.foreign) byFamily[r.family].foreign++;
  }
  if (expected) for (const r of expected.routes.values()) byFamily[r.family].expected++;
  const orphans: ReportOrphan[] = [];
  const missing: ReportMissing[] = [];
  const rows: ReportRow[] = [];
  if (d) {
    for (const o of d.orphans) {
      byFamily[o.family].orphan++;
      orphans.push(strip({ destination: o.destination, family: o.family, device: o.device, reason: o.reason, services: o.services, detail: o.detail }));
      rows.push({ destination: o.destination, family: o.family, device: o.device, verdict: 'orphan', reason: o.reason, services: o.services, inKernel: true, expected: false });
    }
    for (const m of d.missing) {
      byFamily[m.family].missing++;
      missing.push(strip({ destination: m.destination, family: m.family, device: m.device, services: m.services, reason: m.reason, detail: m.detail }));
      rows.push({ destination: m.destination, family: m.family, device: m.device, verdict: 'missing', reason: m.reason, services: m.services, inKernel: false, expected: true });
    }
    for (const ok of d.matched) {
      rows.push({ destination: ok.route.destination, family: ok.route.family, device: ok.route.device, verdict: 'ok', services: ok.expected.services, inKernel: true, expected: true });
    }
    rows.sort((a, b) => (a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0));
  }
  const sum = (k: keyof ReturnType<typeof zeroFamily>) => byFamily.ipv4[k] + byFamily.ipv6[k];
  const errors: { kernel?: string; kubernetes?: string } = {};
  if (!kernelOk) errors.kernel = input.kernel.status.message ?? 'kernel table not read';
  if (!kubeOk) errors.kubernetes = input.kubernetes.status.message ?? 'Kubernetes view not synced';

  const report: Report = {
    node: model.nodeName,
    table: model.table,
    protocol: model.protocol,
    checkedAt: new Date(now).toISOString(),
    inSync: d !== null && d.orphans.length === 0 && d.missing.length === 0,
    sources: { kernel: kernelOk ? 'ok' : errorState(input.kernel.status), kubernetes: kubeOk ? 'ok' : errorState(input.kubernetes.status) },
    counts: { expected: sum('expected'), kernel: sum('kernel'), orphan: sum('orphan'), missing: sum('missing'), foreign: sum('foreign') },
    orphans,
    missing,
    byFamily,
    excluded: expected?.excluded ?? [],
    errors,
    routes: rows,
  };
  return { report, diff: d, expected, kernel: kernelOk ? input.kernel.dump : null };
}

function errorState(s: SourceStatus): SourceState {
  return s.state === 'ok' ? 'error' : s.state;
}

function strip<T extends { detail?: string | undefined }>(o: T): T {
  if (o.detail === undefined) delete o.detail;
  return o;
}
