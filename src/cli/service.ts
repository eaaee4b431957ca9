// The long-running service (`run`, and `demo` on top of simulated sources):
// one checker, one loop, one HTTP server over the adapters it is given. The
// composition root (cli/main.ts) decides which adapters those are; this file
// wires app's checker and loop to surface's metrics and HTTP, which is why it
// lives in cli (only cli composes: docs/architecture.md, "Layers").

import type { RequestListener, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClusterSource, KernelTable } from '../core/ports.ts';
import type { CheckResult } from '../core/report.ts';
import type { Config } from './config.ts';
import { createChecker } from '../app/checker.ts';
import type { KubeVipDiscovery } from '../app/kubevip.ts';
import type { Checker } from '../app/checker.ts';
import { createLoop } from '../app/loop.ts';
import { compactAfterSyncAndPeaks } from '../app/sync-gc.ts';
import type { Loop } from '../app/loop.ts';
import type { RepairState } from '../app/repair.ts';
import { driftKey } from '../core/tracker.ts';
import type { RepairObserver } from '../app/ports.ts';
import { createMetrics, metricsObserver } from '../surface/metrics.ts';
import type { Metrics } from '../surface/metrics.ts';
import { createApp } from '../surface/http.ts';
import type { Logger } from '../surface/logger.ts';
import { createWebServer } from '../surface/web-server.ts';
import type { WebConfigSource } from '../surface/web-server.ts';
import { NODE_VERSION, REVISION, VERSION } from '../version.ts';

export interface ServiceDeps {
  readonly config: Config;
  readonly kernel: KernelTable;
  readonly cluster: ClusterSource;
  readonly logger: Logger;
  /** Called after each check inside the loop's single flight. */
  readonly afterCheck?: (result: CheckResult, ctx: { observer: RepairObserver; checker: Checker }) => Promise<void>;
  readonly banner?: () => string | undefined;
  readonly clock?: () => number;
  /** --kube-vip-config: kube-vip's instances on the node, re-read at every check. */
  readonly kubeVip?: KubeVipDiscovery;
  /**
   * Serve HTTP on this Unix socket instead of config.listen. `demo` runs the
   * service inside a network namespace, where the host's loopback is out of
   * reach; a socket file is not, so the demo relays host TCP to it.
   */
  readonly listenPath?: string;
  /** --web-config-file, already loaded: TLS, authentication and headers in front of every request. */
  readonly web?: WebConfigSource | null;
  /** The repair hook's state (repairAfterCheck's), shown on the status page; absent while nothing repairs. */
  readonly repairState?: () => RepairState | undefined;
  /** The metrics registry to use (one the caller already serves); default: a new one. */
  readonly metrics?: Metrics;
  /**
   * An HTTP server already listening (openHttpFront): the service takes it
   * over instead of listening itself. `run` binds its port before anything
   * else, so that /healthz and /metrics answer from the first second and a
   * port it cannot bind ends it at once.
   */
  readonly front?: HttpFront;
}

/**
 * /healthz fails once no check has finished well for this long: two full
 * intervals, at least 10 s. With the DaemonSet's liveness probe (every 10 s,
 * 3 failures) a wedged or failing loop is restarted about 2 x --interval +
 * 30 s after its last good check (docs/reliability.md).
 */
export const livenessBoundMs = (intervalMs: number): number => Math.max(2 * intervalMs, 10_000);

export interface HttpFront {
  /** Where it listens: port and host, or the Unix socket path. */
  readonly bound: { port: number; host: string; path?: string };
  /** Serve every request with this handler from now on. */
  use(handler: RequestListener): void;
  close(): Promise<void>;
}

/**
 * Binds the HTTP port now, serving `initial` until use() hands it another
 * handler. Rejects with one line when the address cannot be bound.
 */
export function openHttpFront(
  where: { host: string | undefined; port: number } | { path: string },
  initial: RequestListener,
  web: WebConfigSource | null = null,
): Promise<HttpFront> {
  let handler = initial;
  // Through the web configuration from the first request: TLS and authentication hold during start-up too.
  const server = createWebServer((req, res) => handler(req, res), web);
  const text = 'path' in where ? where.path : `${where.host ?? ''}:${where.port}`;
  return new Promise<HttpFront>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`listening on ${text}: ${err.message}`)));
    const done = (): void => {
      const addr = server.address();
      const bound =
        addr !== null && typeof addr === 'object'
          ? { port: (addr as AddressInfo).port, host: (addr as AddressInfo).address }
          : { port: 0, host: 'unix', path: 'path' in where ? where.path : undefined };
      resolve({
        bound,
        use: (h) => {
          handler = h;
        },
        close: () => {
          server.closeAllConnections();
          return new Promise<void>((r) => server.close(() => r()));
        },
      });
    };
    if ('path' in where) server.listen(where.path, done);
    else server.listen(where.port, where.host ?? '::', done);
  });
}

export interface Service {
  readonly metrics: Metrics;
  readonly checker: Checker;
  readonly loop: Loop;
  /** Start the adapters, the loop and the HTTP server. Resolves once listening (port 0 and the path on a Unix socket). */
  start(): Promise<{ port: number; host: string; path?: string }>;
  stop(): Promise<void>;
}

export function createService(deps: ServiceDeps): Service {
  const { config, logger } = deps;
  const metrics = deps.metrics ?? createMetrics({ version: VERSION, revision: REVISION, nodeVersion: NODE_VERSION });
  metrics.configInfo.set(
    {
      node: config.model.nodeName,
      table: String(config.model.table),
      protocol: String(config.model.protocol),
      remediate: String(config.remediate),
      strategy: config.strategy,
      election: config.model.election,
    },
    1,
  );
  const observer = metricsObserver(metrics);
  const checker = createChecker({
    kernel: deps.kernel,
    cluster: deps.cluster,
    model: config.model,
    ...(deps.kubeVip ? { kubeVip: deps.kubeVip } : {}),
    observer,
    logger,
    clock: deps.clock,
    // Between --interval's full checks, a check costs what changed (docs/performance.md).
    incremental: true,
  });
  const afterCheck = deps.afterCheck;
  const compact = compactAfterSyncAndPeaks(logger);
  const loop = createLoop({
    checker,
    intervalMs: config.intervalMs,
    logger,
    clock: deps.clock,
    afterCheck: async (r) => {
      if (afterCheck) await afterCheck(r, { observer, checker });
      compact(r);
    },
  });
  const app = createApp({
    registry: metrics.registry,
    report: () => checker.lastReport(),
    heartbeatAgeMs: loop.heartbeatAgeMs,
    heartbeatTimeoutMs: livenessBoundMs(config.intervalMs),
    lastProblem: loop.lastProblem,
    ready: loop.ready,
    version: VERSION,
    banner: deps.banner,
    refreshSeconds: Math.max(2, Math.min(30, Math.round(config.intervalMs / 1000))),
    statusPages: !config.webDisableStatus,
    status: () => {
      const state = deps.repairState?.();
      return {
        now: (deps.clock ?? Date.now)(),
        driftSince: (kind, destination, device) => checker.tracker.since(driftKey(kind, destination, device)),
        repair: {
          mode: !config.remediate ? 'off' : config.dryRun ? 'dry-run' : 'on',
          strategy: config.strategy,
          graceMs: config.graceMs,
          repairableAt: state?.repairableAt ?? null,
          blocked: state?.blocked ?? null,
          last: state?.last ?? null,
        },
      };
    },
  });
  let server: Server | null = null;
  let front: HttpFront | null = null;
  const unsubscribe: (() => void)[] = [];

  return {
    metrics,
    checker,
    loop,
    async start() {
      const where = deps.listenPath ?? `${config.listen.host ?? ''}:${config.listen.port}`;
      if (deps.front) {
        front = deps.front;
        front.use(app);
      } else
        server = await new Promise<Server>((resolve, reject) => {
          // Express 5 calls the listen callback with the error when binding fails
          // (EADDRINUSE): without this check the service "starts" serving nothing.
          const done = (err?: Error): void => (err ? reject(new Error(`listening on ${where}: ${err.message}`)) : resolve(s));
          const s = createWebServer(app, deps.web ?? null).once('error', done);
          if (deps.listenPath !== undefined) s.listen(deps.listenPath, done);
          else s.listen(config.listen.port, config.listen.host ?? '::', done);
        });
      unsubscribe.push(
        deps.kernel.subscribe((change) => {
          checker.kernelChanged?.(change);
          // Lost notifications: only a full re-read (the next check) knows what changed.
          const lost = change?.lost ?? 0;
          if (lost > 0) metrics.kernelNotificationsLost.inc(lost);
          loop.markDirty(lost > 0 ? 'kernel notifications lost' : change?.caughtUp ? 'kernel notifications caught up' : 'kernel route event');
        }),
      );
      unsubscribe.push(deps.cluster.onChange(() => loop.markDirty('kubernetes event')));
      // The loop first: the kernel side is checked and /healthz fed even while
      // the API server is slow to answer the informers' first LIST.
      loop.start();
      await deps.cluster.start();
      const addr = front ? null : server!.address();
      const bound = front
        ? front.bound
        : addr !== null && typeof addr === 'object'
          ? { port: (addr as AddressInfo).port, host: (addr as AddressInfo).address }
          : { port: 0, host: 'unix', path: deps.listenPath };
      logger.info(
        {
          listen: bound.path ?? `${bound.host}:${bound.port}`,
          node: config.model.nodeName,
          table: config.model.table,
          protocol: config.model.protocol,
          election: config.model.election,
          remediate: config.remediate,
        },
        'routewarden started',
      );
      return bound;
    },
    async stop() {
      for (const u of unsubscribe.splice(0)) u();
      await loop.stop();
      await deps.cluster.stop();
      await deps.kernel.close();
      if (front) {
        await front.close();
        front = null;
      }
      if (server) {
        const s = server;
        server = null;
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    },
  };
}
