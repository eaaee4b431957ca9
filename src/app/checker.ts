// One full check: read both sides, evaluate, remember drift, tell the observer (the metrics).
// The only place that turns adapter failures into report states.

import type { ClusterSource, KernelTable } from '../core/ports.ts';
import { KernelError } from '../core/ports.ts';
import type { KubeVipModel } from '../core/model.ts';
import { EvaluationCache, evaluate } from '../core/report.ts';
import type { CheckResult, Report } from '../core/report.ts';
import { DriftTracker } from '../core/tracker.ts';
import type { InterfaceInfo } from '../core/cluster.ts';
import type { KernelDump, SourceStatus } from '../core/types.ts';
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
}

export interface Checker {
  check(): Promise<CheckResult>;
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

  async function readKernel(): Promise<{ status: SourceStatus; dump: KernelDump | null; interfaces: InterfaceInfo[] | null }> {
    try {
      const [dump, interfaces] = await Promise.all([deps.kernel.dump(), deps.kernel.interfaces()]);
      return { status: { state: 'ok' }, dump, interfaces };
    } catch (err) {
      const message = err instanceof KernelError ? err.message : `reading the kernel table: ${(err as Error).message}`;
      return { status: { state: 'error', message }, dump: null, interfaces: null };
    }
  }

  return {
    tracker,
    lastReport: () => last,
    async check() {
      const started = performance.now();
      // Take the API view first: a snapshot taken after the kernel read could
      // include a Service change whose route kube-vip has not made yet.
      const kubeStatus = deps.cluster.status();
      const snapshot = kubeStatus.state === 'ok' ? deps.cluster.snapshot() : null;
      const kernel = await readKernel();
      const now = clock();
      const kv = deps.kubeVip;
      let result: CheckResult;
      if (kv) {
        let view = resolveFrom(kv, snapshot, kv.bound);
        // vip_interface unset: kube-vip's interface is this node's default-gateway
        // interface, read from the kernel only when some instance needs it.
        if (view.needsGateway) view = resolveFrom(kv, snapshot, kv.bound, await readGateway(now));
        const leaseChanges = snapshot ? leases.observe(snapshot.leases, now) : undefined;
        if (kubeStatus.state === 'ok')
          logOnce(`discovery ${view.report.message}`, () => deps.logger.info({ kubeVip: view.report.message }, 'kube-vip discovery'));
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
        result = evaluate(
          {
            model: view.primary,
            node: kv.node,
            now,
            kernel,
            kubernetes: { status: kubeStatus, snapshot },
            kubeVip: { context: { instances: view.instances, startGraceMs: kv.startGraceMs, ...(leaseChanges ? { leaseChanges } : {}) }, report: view.report },
          },
          cache,
        );
      } else {
        result = evaluate({ model: deps.model, now, kernel, kubernetes: { status: kubeStatus, snapshot } }, cache);
      }
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
