// One check: read both sides, evaluate, remember drift, tell the observer (the metrics).
// The only place that turns adapter failures into report states.
//
// Two ways to evaluate (docs/performance.md, "The incremental engine"):
//
// - from scratch: a full kernel dump and evaluate() over the whole snapshot.
//   `check` (one shot) always does this;
// - incremental (`incremental: true`, the `run` service): a KernelMirror
//   kept current from the kernel's route notifications (kernelChanged()),
//   the cluster source's change journal, and the IncrementalEngine patching
//   only what changed. A check after an event then costs in proportion to
//   the event, not to the cluster.
//
// With `incremental`, a full check (`check({ full: true })`: the loop's
// --interval tick, the first check, a mirror gone stale) dumps the table,
// computes the verdict from scratch, and compares: every difference is a bug
// of the incremental side, counted in routewarden_resync_corrections_total
// {side} and logged, and the from-scratch state is adopted. The kernel side
// is confirmed by a second dump before it counts: a difference may be a
// notification still in flight, which the second read settles. A full check
// in which the engine rebuilt everything (the first one) and found the table
// in sync has nothing incremental to confirm and is not computed twice.

import type { ClusterSource, KernelTable } from '../core/ports.ts';
import { KernelError } from '../core/ports.ts';
import type { KubeVipModel } from '../core/model.ts';
import { EvaluationCache, evaluate } from '../core/report.ts';
import type { CheckResult, Report } from '../core/report.ts';
import { DriftTracker } from '../core/tracker.ts';
import type { InterfaceInfo } from '../core/cluster.ts';
import type { KernelDump, KernelRoute, SourceStatus } from '../core/types.ts';
import type { ClusterChanges, ClusterSnapshot } from '../core/cluster.ts';
import { IncrementalEngine } from '../core/engine.ts';
import { KernelMirror, type KernelChange } from '../core/kernel-mirror.ts';
import type { CheckInput } from '../core/report.ts';
import type { CheckObserver, Logger } from './ports.ts';
import { LeaseChangeTracker } from '../core/lease-handover.ts';
import { resolveFrom } from './kubevip.ts';
import { DefaultGatewayTracker } from '../core/default-gateway.ts';
import type { DefaultGateway } from '../core/default-gateway.ts';
import type { KubeVipDiscovery } from './kubevip.ts';

export interface CheckerDeps {
  readonly kernel: KernelTable;
  readonly cluster: ClusterSource;
  /** The model when kube-vip discovery is off; with `kubeVip`, its primary instance's model. */
  readonly model: KubeVipModel;
  /** --kube-vip-config: the kube-vip instances on this node, re-read at every check. */
  readonly kubeVip?: KubeVipDiscovery;
  /** Told about every finished check (the metrics). */
  readonly observer?: CheckObserver;
  readonly logger: Logger;
  readonly clock?: () => number;
  /**
   * Evaluate incrementally between full checks: the caller forwards every
   * kernel notification to kernelChanged() from before the first check.
   */
  readonly incremental?: boolean;
  /** Pause before the confirming second dump of a full check (lets notifications in flight arrive); default 100 ms. */
  readonly confirmDelayMs?: number;
}

export interface CheckOptions {
  /** Compute from scratch and reconcile the incremental state with it (the --interval tick). */
  readonly full?: boolean;
}

export interface Checker {
  /** One check; incremental unless `full`, the checker is not incremental, or it has to be from scratch. */
  check(opts?: CheckOptions): Promise<CheckResult & { readonly incremental?: boolean }>;
  /** A kernel notification (KernelTable.subscribe's argument): keeps the mirror current. */
  kernelChanged?(change?: KernelChange): void;
  readonly tracker: DriftTracker;
  /**
   * The report of the last finished check, or null before the first. Only
   * the report is kept between checks: the kernel dump and the diff behind it
   * (10,000 routes each at scale) are garbage once the check has returned.
   */
  lastReport(): Report | null;
}

export function createChecker(deps: CheckerDeps): Checker {
  const clock = deps.clock ?? Date.now;
  const tracker = new DriftTracker();
  /** Expected sets and in-sync rows reused between this checker's checks. */
  const cache = new EvaluationCache();
  const leases = new LeaseChangeTracker();
  const gateway = new DefaultGatewayTracker();
  const logged = new Set<string>();
  /** Rejections already counted, by kind (the source's counter is cumulative). */
  const rejectedSeen: Record<string, number> = {};
  let last: Report | null = null;

  /** Log each kube-vip discovery outcome and each config mismatch once, not at every check. */
  function logOnce(key: string, log: () => void): void {
    if (logged.has(key)) return;
    logged.add(key);
    log();
  }

  /** The default routes, tracked for changes; null when they cannot be read (the interface is then not judged). */
  async function readGateway(now: number): Promise<DefaultGateway | null> {
    if (!deps.kernel.defaultRoutes) return null;
    try {
      return gateway.observe(await deps.kernel.defaultRoutes(), now);
    } catch (err) {
      logOnce(`gateway ${(err as Error).message}`, () =>
        deps.logger.warn({ err: (err as Error).message }, "cannot read this node's default routes: kube-vip's default-gateway interface is not judged"),
      );
      return null;
    }
  }

  // The incremental side: the kernel mirror, the destinations it changed
  // since the last check, the journal cursor, the engine.
  const mirror = deps.incremental ? new KernelMirror(deps.model.protocol) : null;
  let touched = new Set<string>();
  let cursor: number | undefined;
  const engine = new IncrementalEngine();

  function kernelChanged(change?: KernelChange): void {
    if (!mirror || !change) return;
    for (const d of mirror.take(change)) touched.add(d);
  }

  /** The cluster view and what changed in it since the last check (the journal when the source keeps one). */
  function clusterView(ok: boolean): { snapshot: ClusterSnapshot | null; changed: ClusterChanges | 'all' } {
    if (!ok) {
      cursor = undefined;
      return { snapshot: null, changed: 'all' };
    }
    if (deps.cluster.live && deps.cluster.changes) {
      const c = deps.cluster.changes(cursor);
      cursor = c.cursor;
      return { snapshot: deps.cluster.live(), changed: c.changed };
    }
    return { snapshot: deps.cluster.snapshot(), changed: 'all' };
  }

  async function readKernel(): Promise<{ status: SourceStatus; dump: KernelDump | null; interfaces: InterfaceInfo[] | null }> {
    try {
      const [dump, interfaces] = await Promise.all([deps.kernel.dump(), deps.kernel.interfaces()]);
      return { status: { state: 'ok' }, dump, interfaces };
    } catch (err) {
      const message = err instanceof KernelError ? err.message : `reading the kernel table: ${(err as Error).message}`;
      return { status: { state: 'error', message }, dump: null, interfaces: null };
    }
  }

  async function readInterfaces(): Promise<{ status: SourceStatus; interfaces: InterfaceInfo[] | null }> {
    try {
      return { status: { state: 'ok' }, interfaces: await deps.kernel.interfaces() };
    } catch (err) {
      const message = err instanceof KernelError ? err.message : `reading the kernel's interfaces: ${(err as Error).message}`;
      return { status: { state: 'error', message }, interfaces: null };
    }
  }

  /** The inputs of evaluate() besides the two sides: the model, kube-vip's instances and report. */
  async function context(
    snapshot: ClusterSnapshot | null,
    kubeOk: boolean,
    now: number,
    leaseChangesOf: (s: ClusterSnapshot) => ReadonlyMap<string, number> = (s) => leases.observe(s.leases, now),
  ): Promise<Pick<CheckInput, 'model' | 'node' | 'kubeVip'>> {
    const kv = deps.kubeVip;
    if (!kv) return { model: deps.model };
    let view = resolveFrom(kv, snapshot, kv.bound);
    // vip_interface unset: kube-vip's interface is this node's default-gateway
    // interface, read from the kernel only when some instance needs it.
    if (view.needsGateway) view = resolveFrom(kv, snapshot, kv.bound, await readGateway(now));
    const leaseChanges = snapshot ? leaseChangesOf(snapshot) : undefined;
    if (kubeOk) logOnce(`discovery ${view.report.message}`, () => deps.logger.info({ kubeVip: view.report.message }, 'kube-vip discovery'));
    for (const inst of view.report.instances) {
      const version = inst.version;
      if (version && !version.known)
        logOnce(`version ${inst.pod} ${inst.image}`, () =>
          deps.logger.warn({ pod: inst.pod, image: inst.image, judgedAs: version.judgedAs }, `kube-vip version: ${version.detail}`),
        );
      for (const [setting, s] of Object.entries(inst.settings)) {
        if (!s.kubeVip) continue;
        logOnce(`mismatch ${inst.pod} ${setting} ${s.value} ${s.kubeVip.value}`, () =>
          deps.logger.warn(
            { setting, used: s.value, source: s.source, kubeVip: s.kubeVip!.value, kubeVipSource: s.kubeVip!.source, pod: inst.pod },
            `routewarden uses ${setting}=${s.value} but kube-vip runs with ${s.kubeVip!.value}`,
          ),
        );
      }
    }
    return {
      model: view.primary,
      node: kv.node,
      kubeVip: { context: { instances: view.instances, startGraceMs: kv.startGraceMs, ...(leaseChanges ? { leaseChanges } : {}) }, report: view.report },
    };
  }

  const CATCHING_UP: SourceStatus = { state: 'unsynced', message: 'kernel table: reading the notifications queued before a loss' };

  /**
   * A full dump into the mirror. Until the mirror has been current once, or
   * when it went stale, nothing is compared. Otherwise the destinations where
   * the mirror and the dump differ are confirmed by a second dump after a
   * pause: a difference both dumps agree on that the notifications read
   * meanwhile did not settle is a correction (a bug), the rest was in flight.
   */
  async function resyncKernel(m: KernelMirror): Promise<{ status: SourceStatus; corrections: string[] }> {
    // Notifications were lost and older ones are still being read: no dump
    // can be trusted yet, so none is read (a 10,000-route dump per event of
    // a notification storm would only add to it). Not judged meanwhile.
    if (m.catchingUp) return { status: CATCHING_UP, corrections: [] };
    const compare = !m.stale;
    let corrections: string[] = [];
    try {
      let dump = await deps.kernel.dump();
      if (compare) {
        const suspects = differing(m, fromDump(dump), destinationsOf(m.dump(), dump));
        if (suspects.size > 0) {
          await new Promise((r) => setTimeout(r, deps.confirmDelayMs ?? 100));
          const second = await deps.kernel.dump();
          // Settled between the reads (the kernel changed): not a correction.
          const moved = differing(fromDump(dump), fromDump(second), suspects);
          corrections = [...differing(m, fromDump(second), suspects)].filter((d) => !moved.has(d)).sort();
          dump = second;
          if (corrections.length > 0) {
            // The mirror is wrong, and so may be the deltas it would replay: start it over from a dump.
            m.markStale();
            dump = await deps.kernel.dump();
          }
        }
      }
      for (const d of m.replace(dump)) touched.add(d);
      // A replay that could not be trusted: read again until one can (bounded).
      for (let i = 0; i < 3 && m.stale && !m.catchingUp; i++) for (const d of m.replace(await deps.kernel.dump())) touched.add(d);
      // Notifications were lost while the dumps were read: the mirror proves nothing now (no corrections).
      if (m.catchingUp) return { status: CATCHING_UP, corrections: [] };
      if (m.stale) return { status: { state: 'error', message: 'kernel table: notifications keep contradicting the dump' }, corrections: [] };
      return { status: { state: 'ok' }, corrections };
    } catch (err) {
      m.markStale();
      const message = err instanceof KernelError ? err.message : `reading the kernel table: ${(err as Error).message}`;
      return { status: { state: 'error', message }, corrections: [] };
    }
  }

  /** The incremental check: mirror, journal, engine; with `full`, reconciled with a from-scratch one. */
  async function incrementalCheck(m: KernelMirror, full: boolean): Promise<CheckResult & { incremental?: boolean }> {
    const kubeStatus = deps.cluster.status();
    const kubeOk = kubeStatus.state === 'ok';
    const ifs = await readInterfaces();
    const resync = full || m.stale ? await resyncKernel(m) : null;
    const kernelStatus = ifs.status.state !== 'ok' ? ifs.status : (resync?.status ?? ifs.status);
    const now = clock();
    // Read synchronously from here on: the live view and the mirror at one instant.
    // The journal is read once, after the last await (kube-vip discovery may
    // read the default routes), so that the engine sees exactly the changes
    // of the view it reads; the lease tracker takes the same changed keys.
    let read: ReturnType<typeof clusterView> | undefined;
    const readView = () => (read ??= clusterView(kubeOk));
    const ctx = await context(kubeOk ? (deps.cluster.live?.() ?? deps.cluster.snapshot()) : null, kubeOk, now, () => {
      const v = readView();
      return leases.observeChanged(v.snapshot!.leases, v.changed === 'all' ? 'all' : v.changed.leases, now);
    });
    const view = readView();
    const kernelOk = kernelStatus.state === 'ok';
    const kernelTouched: ReadonlySet<string> | 'all' = kernelOk ? touched : 'all';
    touched = new Set();
    const result = engine.update({
      ...ctx,
      now,
      kernel: { status: kernelStatus, view: kernelOk ? m : null, touched: kernelTouched, interfaces: ifs.interfaces },
      kubernetes: { status: kubeStatus, snapshot: view.snapshot, changed: view.changed },
    });
    // A rebuild (the first check, a re-list, a stale mirror) derived every
    // Service again from this view and the mirror from the dump just read:
    // no incremental state is left to confirm. When it found the table in
    // sync, computing the same verdict a second time from scratch would only
    // double the cost of the check that ends the initial sync
    // (docs/performance.md); drift is still computed from scratch, for the
    // repair to plan on.
    const rebuiltInSync = result.mode === 'rebuilt' && result.report.inSync;
    if (!full || !kernelOk || !kubeOk || rebuiltInSync) return { ...result, incremental: true };
    // Still synchronous since the engine's update: the live view is the same one (no copy needed).
    const snapshot = view.snapshot;
    // Truly from scratch: no EvaluationCache (whose reuse is itself
    // incremental logic), and none kept between full checks either.
    const scratch = evaluate({
      ...ctx,
      now,
      kernel: { status: kernelStatus, dump: m.dump(), interfaces: ifs.interfaces },
      kubernetes: { status: kubeStatus, snapshot },
    });
    const kernelCorrections = resync?.corrections ?? [];
    const expectedCorrections = reportDifferences(result.report, scratch.report);
    if (kernelCorrections.length > 0) {
      deps.observer?.resyncCorrected?.('kernel', kernelCorrections.length);
      deps.logger.warn(
        { side: 'kernel', corrections: kernelCorrections.length, destinations: kernelCorrections.slice(0, 20) },
        'resync: the kernel mirror differed from two dumps; adopted the dump (a bug: please report it)',
      );
    }
    if (expectedCorrections.length > 0) {
      deps.observer?.resyncCorrected?.('expected', expectedCorrections.length);
      deps.logger.warn(
        { side: 'expected', corrections: expectedCorrections.length, differences: expectedCorrections.slice(0, 20) },
        'resync: the incremental verdict differed from the one computed from scratch; adopted it (a bug: please report it)',
      );
      engine.invalidate();
    }
    return scratch;
  }

  return {
    tracker,
    lastReport: () => last,
    kernelChanged,
    async check(opts = {}) {
      const started = performance.now();
      const result: CheckResult & { incremental?: boolean } = mirror ? await incrementalCheck(mirror, opts.full === true) : await scratchCheck();
      const now = clock();
      const { entered } = tracker.update(result.report, now);
      const seconds = (performance.now() - started) / 1000;
      deps.observer?.checked(result.report, entered, seconds);
      const rejected = deps.cluster.rejectedTotal?.() ?? {};
      for (const [kind, n] of Object.entries(rejected)) {
        if (n > (rejectedSeen[kind] ?? 0)) deps.observer?.rejected?.(kind, n - (rejectedSeen[kind] ?? 0));
        rejectedSeen[kind] = n;
      }
      logCheck(deps.logger, result, entered.length, seconds);
      last = result.report;
      return result;
    },
  };

  /** The from-scratch check, as `check` runs it. */
  async function scratchCheck(): Promise<CheckResult> {
    // Take the API view first: a snapshot taken after the kernel read could
    // include a Service change whose route kube-vip has not made yet.
    const kubeStatus = deps.cluster.status();
    const snapshot = kubeStatus.state === 'ok' ? deps.cluster.snapshot() : null;
    const kernel = await readKernel();
    const now = clock();
    const ctx = await context(snapshot, kubeStatus.state === 'ok', now);
    return evaluate({ ...ctx, now, kernel, kubernetes: { status: kubeStatus, snapshot } }, cache);
  }
}

type AtView = Pick<KernelMirror, 'at'>;

/** Destinations where two views differ, among `dests`. */
function differing(a: AtView, b: AtView, dests: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const d of dests) if (!sameRoutes(a.at(d), b.at(d))) out.add(d);
  return out;
}

function destinationsOf(...dumps: KernelDump[]): Set<string> {
  const out = new Set<string>();
  for (const dump of dumps) for (const r of [...dump.owned, ...dump.foreign]) out.add(r.destination);
  return out;
}

/** A dump as a mirror (protocol null: the dump's own split). */
function fromDump(dump: KernelDump): AtView {
  const by = new Map<string, { owned: KernelRoute[]; foreign: KernelRoute[] }>();
  const put = (r: KernelRoute, owned: boolean) => {
    let e = by.get(r.destination);
    if (!e) by.set(r.destination, (e = { owned: [], foreign: [] }));
    (owned ? e.owned : e.foreign).push(r);
  };
  for (const r of dump.owned) put(r, true);
  for (const r of dump.foreign) put(r, false);
  return { at: (d) => by.get(d) ?? { owned: [], foreign: [] } };
}

/** The same routes at a destination, whatever their order (the kernel's order is not routewarden's verdict). */
function sameRoutes(
  a: { owned: readonly KernelRoute[]; foreign: readonly KernelRoute[] },
  b: { owned: readonly KernelRoute[]; foreign: readonly KernelRoute[] },
): boolean {
  const key = (l: readonly KernelRoute[]) =>
    l
      .map((r) => JSON.stringify(r))
      .sort()
      .join('\n');
  return key(a.owned) === key(b.owned) && key(a.foreign) === key(b.foreign);
}

/**
 * What differs between the incremental report and the one computed from
 * scratch, one line per difference: each route row, drifted route and
 * not-judged route by its JSON, then every other field. Empty when equal.
 */
export function reportDifferences(incremental: Report, scratch: Report): string[] {
  const out: string[] = [];
  const lists = ['routes', 'orphans', 'missing', 'unjudged', 'excluded', 'limitations'] as const;
  for (const name of lists) {
    const a = new Set((incremental[name] as readonly unknown[]).map((x) => JSON.stringify(x)));
    const b = new Set((scratch[name] as readonly unknown[]).map((x) => JSON.stringify(x)));
    for (const x of a) if (!b.has(x)) out.push(`${name}: incremental only ${x}`);
    for (const x of b) if (!a.has(x)) out.push(`${name}: from scratch only ${x}`);
  }
  const rest = (r: Report) => {
    const { routes: _r, orphans: _o, missing: _m, unjudged: _u, excluded: _e, limitations: _l, checkedAt: _c, ...others } = r;
    return JSON.stringify(others);
  };
  if (out.length === 0 && rest(incremental) !== rest(scratch)) out.push(`report: incremental ${rest(incremental)} from scratch ${rest(scratch)}`);
  if (out.length === 0) {
    // Same members, another order.
    for (const name of lists) if (JSON.stringify(incremental[name]) !== JSON.stringify(scratch[name])) out.push(`${name}: same entries in another order`);
  }
  return out;
}

function logCheck(logger: Logger, { report }: CheckResult, entered: number, seconds: number): void {
  const summary = {
    inSync: report.inSync,
    sources: report.sources,
    counts: report.counts,
    newlyDrifted: entered,
    durationMs: Math.round(seconds * 1000),
  };
  if (report.sources.kernel !== 'ok' || report.sources.kubernetes !== 'ok') {
    // Waiting for the informers' first sync is routine; a failure is not.
    const failed = report.sources.kernel === 'error' || report.sources.kubernetes === 'error';
    (failed ? logger.warn.bind(logger) : logger.info.bind(logger))({ ...summary, errors: report.errors }, 'check could not compare: a source is not ok');
  } else if (!report.inSync) {
    logger.info(
      {
        ...summary,
        orphans: report.orphans.slice(0, 20).map((o) => `${o.destination} ${o.device ?? '-'} (${o.reason})`),
        missing: report.missing.slice(0, 20).map((m) => `${m.destination} ${m.device} (${m.reason})`),
      },
      'drift found',
    );
  } else {
    logger.debug(summary, 'in sync');
  }
}
