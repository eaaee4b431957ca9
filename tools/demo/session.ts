// One demo session: the simulated cluster (the Kubernetes API double), and
// routewarden's service exactly as `run` builds it (createService, the
// client-node informers against the double over HTTP, run's repair hook and
// Kubernetes Events), over the stage's kernel.
//
// One difference from `run --remediate`: the repair hook is switched on only
// when the story reaches its repair step. `run` repairs as soon as drift has
// lasted --grace; the demo holds it back so that the drift can be looked at
// for as long as a person (or a test) wants, then lets the very same code run.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiDouble } from '../apidouble/index.ts';
import type { ApiDouble } from '../apidouble/index.ts';
import { newRepairState, repairAfterCheck, type RepairState } from '../../src/app/repair.ts';
import { createService } from '../../src/cli/service.ts';
import type { Service, ServiceDeps } from '../../src/cli/service.ts';
import { openCluster, openEvents } from '../../src/cli/adapters.ts';
import type { Config } from '../../src/cli/config.ts';
import type { Strategy } from '../../src/core/repair.ts';
import type { Logger } from '../../src/surface/logger.ts';
import { baseUrl, clientHost, httpGet } from './http.ts';
import type { HttpResponse, HttpTarget } from './http.ts';
import { withStrategy } from './options.ts';
import type { Stage } from './stage.ts';
import { until } from './wait.ts';

export interface DemoSession {
  readonly config: Config;
  readonly stage: Stage;
  readonly api: ApiDouble;
  readonly service: Service;
  /** What a person opens: `http://127.0.0.1:9798` (no trailing slash). */
  readonly url: string;
  /** GET one of the service's endpoints over real HTTP. */
  get(path: string): Promise<HttpResponse>;
  /** Let routewarden repair, with this strategy, after its next checks. */
  allowRepair(strategy: Strategy): void;
  holdRepair(): void;
  /** Shown on the status page banner: where the story is. */
  setProgress(text: string | undefined): void;
  stop(): Promise<void>;
}

export interface SessionOptions {
  readonly config: Config;
  readonly stage: Stage;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** Serve HTTP on this Unix socket instead of config.listen (namespace mode). */
  readonly listenPath?: string;
  /** The URL the demo's parent relays to listenPath. */
  readonly publicUrl?: string;
}

type AfterCheck = NonNullable<ServiceDeps['afterCheck']>;

export async function startSession(opts: SessionOptions): Promise<DemoSession> {
  const { stage, logger } = opts;
  const dir = mkdtempSync(join(tmpdir(), 'rw-demo-session-'));
  const api = createApiDouble();
  let service: Service | null = null;
  const stop = async (): Promise<void> => {
    // The service first: its informers would otherwise log the API going away.
    await service?.stop();
    await stage.close();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await api.listen({ host: '127.0.0.1', port: 0 });
    // From here on, exactly `run`'s adapters, pointed at the double by a kubeconfig file.
    const config: Config = Object.freeze({ ...opts.config, kubeconfig: api.kubeconfig(join(dir, 'kubeconfig')) });
    const events = openEvents(config, logger);
    let repair: AfterCheck | null = null;
    let repairState: RepairState | undefined;
    let progress: string | undefined;
    const svc = createService({
      config,
      kernel: stage.routewardenKernel,
      cluster: openCluster(config, logger),
      logger,
      afterCheck: async (result, ctx) => {
        if (repair) await repair(result, ctx);
      },
      repairState: () => repairState,
      banner: () => `Demo: simulated cluster, ${stage.description}.${progress ? ` ${progress}` : ''}`,
      ...(opts.listenPath !== undefined && { listenPath: opts.listenPath }),
    });
    service = svc;
    const bound = await svc.start();
    await until(() => svc.loop.ready(), {
      signal: opts.signal,
      what: 'routewarden to sync with the simulated cluster and finish its first check',
      lastSeen: () => JSON.stringify(svc.checker.lastReport()?.sources ?? 'no check yet'),
    });

    const target: HttpTarget = opts.listenPath !== undefined ? { socketPath: opts.listenPath } : { host: clientHost(config.listen.host), port: bound.port };
    const showStrategy = (strategy: Strategy): void => {
      // routewarden_config_info says which strategy repairs; it changes with the story.
      const labels = {
        node: config.model.nodeName,
        table: String(config.model.table),
        protocol: String(config.model.protocol),
        remediate: 'true',
        election: config.model.election,
      };
      svc.metrics.configInfo.reset();
      svc.metrics.configInfo.set({ ...labels, strategy }, 1);
    };

    return {
      config,
      stage,
      api,
      service: svc,
      url: opts.publicUrl ?? baseUrl(config.listen.host, bound.port),
      get: (path) => httpGet(target, path),
      allowRepair(strategy) {
        showStrategy(strategy);
        repairState = newRepairState();
        repair = repairAfterCheck({ config: withStrategy(config, strategy), kernel: stage.routewardenKernel, logger, events }, repairState);
        svc.loop.markDirty('demo: repair allowed');
      },
      holdRepair() {
        repair = null;
      },
      setProgress(text) {
        progress = text;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
