// The HTTP surface (docs/architecture.md, "HTTP endpoints"). createApp() builds the express app;
// listening is the caller's business, so tests run it on port 0. Nothing here
// does netlink or API calls: every handler reads what the loop last produced.

import express from 'express';
import type { Express } from 'express';
import { Registry } from 'prom-client';
import type { Metric } from 'prom-client';
import type { Report } from '../core/report.ts';
import { renderStatusPage, type StatusExtras } from './status-page.ts';

export interface AppDeps {
  readonly registry: Registry;
  /** The last report, or null before the first check. */
  readonly report: () => Report | null;
  /** Milliseconds since the check loop last made progress. */
  readonly heartbeatAgeMs: () => number;
  /** A heartbeat older than this makes /healthz fail. */
  readonly heartbeatTimeoutMs: number;
  /** Why the last check did not finish well, for /healthz's answer. */
  readonly lastProblem?: () => string | undefined;
  /** Both sources synced and a full check finished. */
  readonly ready: () => boolean;
  readonly version: string;
  /** Extra context shown on the status page (e.g. "demo: in-memory kernel table"). */
  readonly banner?: () => string | undefined;
  /** Status page refresh period. */
  readonly refreshSeconds?: number;
  /** false (--web-disable-status): no /drift and no status page, only /metrics, /healthz and /readyz. */
  readonly statusPages?: boolean;
  /** Drift ages and the repair state, for the status page. */
  readonly status?: () => StatusExtras;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/metrics', async (req, res) => {
    try {
      const registry = wantsOpenMetrics(req.headers.accept) ? openMetricsView(deps.registry) : deps.registry;
      res.type(registry.contentType).send(await registry.metrics());
    } catch (err) {
      res
        .status(500)
        .type('text/plain')
        .send(`collecting metrics: ${(err as Error).message}\n`);
    }
  });

  app.get('/healthz', (_req, res) => {
    const age = deps.heartbeatAgeMs();
    if (age <= deps.heartbeatTimeoutMs) res.type('text/plain').send('ok\n');
    else {
      const problem = deps.lastProblem?.();
      res
        .status(503)
        .type('text/plain')
        .send(`check loop stalled: no check finished well for ${Math.round(age / 1000)}s${problem ? ` (last: ${problem})` : ''}\n`);
    }
  });

  app.get('/readyz', (_req, res) => {
    if (deps.ready()) res.type('text/plain').send('ok\n');
    else res.status(503).type('text/plain').send('not ready: waiting for both sources to sync and a first full check\n');
  });

  const statusPages = deps.statusPages ?? true;
  if (statusPages)
    app.get('/drift', (_req, res) => {
      const report = deps.report();
      if (!report) {
        res.status(503).json({ error: 'no check has finished yet' });
        return;
      }
      res.json(report);
    });

  if (statusPages)
    app.get('/', (_req, res) => {
      res.type('html').send(
        renderStatusPage(deps.report(), {
          version: deps.version,
          banner: deps.banner?.(),
          refreshSeconds: deps.refreshSeconds ?? 5,
          ready: deps.ready(),
          status: deps.status?.(),
        }),
      );
    });

  app.use((_req, res) => {
    res
      .status(404)
      .type('text/plain')
      .send(`not found: try ${statusPages ? '/, /metrics, /drift' : '/metrics'}, /healthz, /readyz\n`);
  });
  return app;
}

/** True when the scraper prefers OpenMetrics (Prometheus sends it first in Accept). */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return (
    accept !== undefined &&
    /(^|,)\s*application\/openmetrics-text\s*(;|,|$)/i.test(accept) &&
    !/application\/openmetrics-text[^,]*;\s*q=0(\.0*)?\s*(,|$)/i.test(accept)
  );
}

/**
 * The same metrics in an OpenMetrics registry (prom-client's format switch is
 * per registry). Each metric is wrapped in an object inheriting from it:
 * prom-client's OpenMetrics rendering renames counters in place (drops
 * `_total` from `metric.name`), which on the shared objects would break every
 * later text-format scrape; the rename lands on the wrapper instead.
 */
function openMetricsView(registry: Registry): Registry {
  const view = new Registry();
  view.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as typeof Registry.PROMETHEUS_CONTENT_TYPE);
  for (const metric of registry.getMetricsAsArray()) view.registerMetric(Object.create(metric) as Metric);
  return view;
}
