// The HTTP surface (docs/architecture.md, "HTTP endpoints"). createApp() builds the express app;
// listening is the caller's business, so tests run it on port 0. Nothing here
// does netlink or API calls: every handler reads what the loop last produced.

import express from 'express';
import type { Express } from 'express';
import type { Registry } from 'prom-client';
import type { Report } from '../core/report.ts';
import { renderStatusPage } from './status-page.ts';

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
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/metrics', async (_req, res) => {
    try {
      res.type(deps.registry.contentType).send(await deps.registry.metrics());
    } catch (err) {
      res.status(500).type('text/plain').send(`collecting metrics: ${(err as Error).message}\n`);
    }
  });

  app.get('/healthz', (_req, res) => {
    const age = deps.heartbeatAgeMs();
    if (age <= deps.heartbeatTimeoutMs) res.type('text/plain').send('ok\n');
    else {
      const problem = deps.lastProblem?.();
      res.status(503).type('text/plain').send(`check loop stalled: no check finished well for ${Math.round(age / 1000)}s${problem ? ` (last: ${problem})` : ''}\n`);
    }
  });

  app.get('/readyz', (_req, res) => {
    if (deps.ready()) res.type('text/plain').send('ok\n');
    else res.status(503).type('text/plain').send('not ready: waiting for both sources to sync and a first full check\n');
  });

  app.get('/drift', (_req, res) => {
    const report = deps.report();
    if (!report) {
      res.status(503).json({ error: 'no check has finished yet' });
      return;
    }
    res.json(report);
  });

  app.get('/', (_req, res) => {
    res.type('html').send(renderStatusPage(deps.report(), {
      version: deps.version,
      banner: deps.banner?.(),
      refreshSeconds: deps.refreshSeconds ?? 5,
      ready: deps.ready(),
    }));
  });

  app.use((_req, res) => {
    res.status(404).type('text/plain').send('not found: try /, /metrics, /drift, /healthz, /readyz\n');
  });
  return app;
}
