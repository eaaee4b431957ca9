// The example Alertmanager configuration's inhibition rules, on a real
// Alertmanager (Debian's prometheus-alertmanager) on loopback: per-route
// alerts are muted while routewarden on that node is down or blind to the
// Kubernetes API, and only there.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBinary, startLoopbackServer, type LoopbackServer } from '../helpers/prometheus.ts';

const binary = findBinary('prometheus-alertmanager', 'ALERTMANAGER_BIN') ?? findBinary('alertmanager');
if (binary === null) {
  console.warn('SKIPPED alertmanager inhibition tests: alertmanager is not installed (apt-get install prometheus-alertmanager)');
}

const AM_CONFIG = fileURLToPath(new URL('../../alerts/alertmanager.example.yaml', import.meta.url));

type Labels = Record<string, string>;
interface AmAlert {
  readonly labels: Labels;
  readonly status: { readonly state: string; readonly inhibitedBy: readonly string[] };
}

// Each scenario has its own job, so cluster-wide rules (equal: [job]) of one
// cannot mute the alerts of another.
const posted: Labels[] = [
  // routewarden on 10.0.0.1 is not scraped: its node's per-route alerts are muted, 10.0.0.2's are not.
  { alertname: 'RouteWardenTargetDown', severity: 'warning', job: 'a', instance: '10.0.0.1:9798', node: 'worker-1' },
  { alertname: 'RouteWardenMissingRoutes', severity: 'critical', job: 'a', instance: '10.0.0.1:9798', node: 'worker-1', family: 'ipv4' },
  { alertname: 'RouteWardenMissingRoutes', severity: 'critical', job: 'a', instance: '10.0.0.2:9798', node: 'worker-2', family: 'ipv4' },
  // routewarden on 10.0.0.3 cannot see the API: its verdicts and the cluster-wide ones are muted.
  { alertname: 'RouteWardenSourceDown', severity: 'warning', job: 'b', instance: '10.0.0.3:9798', node: 'worker-3', source: 'kubernetes' },
  { alertname: 'RouteWardenOrphanRoutes', severity: 'warning', job: 'b', instance: '10.0.0.3:9798', node: 'worker-3', family: 'ipv6' },
  { alertname: 'RouteWardenVIPNotHeld', severity: 'critical', job: 'b', destination: '10.0.0.6/32', family: 'ipv4', services: 'default/web' },
  // A kernel source down does not excuse a refused repair.
  { alertname: 'RouteWardenSourceDown', severity: 'warning', job: 'c', instance: '10.0.0.4:9798', node: 'worker-4', source: 'kernel' },
  { alertname: 'RouteWardenRepairBlocked', severity: 'warning', job: 'c', instance: '10.0.0.4:9798', node: 'worker-4', reason: 'max_deletions' },
  // Nothing is down in job d: its VIP alert goes out.
  { alertname: 'RouteWardenVIPNotHeld', severity: 'critical', job: 'd', destination: '10.0.0.7/32', family: 'ipv4', services: 'default/api' },
];

const key = (l: Labels): string => `${l.job}/${l.alertname}/${l.instance ?? l.destination}/${l.source ?? ''}`;

describe.skipIf(binary === null)('alertmanager.example.yaml inhibition on a real Alertmanager', () => {
  let dir: string;
  let am: LoopbackServer;
  let states: Map<string, AmAlert>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'routewarden-am-'));
    am = await startLoopbackServer({
      name: 'alertmanager',
      binary: binary as string,
      args: (port) => [
        `--config.file=${AM_CONFIG}`,
        `--storage.path=${dir}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // No gossip: a single instance, nothing on other addresses.
        '--cluster.listen-address=',
      ],
    });
    const startsAt = new Date().toISOString();
    const res = await fetch(`${am.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(posted.map((labels) => ({ labels, annotations: {}, startsAt }))),
    });
    expect(res.status).toBe(200);
    // Inhibition settles as the inhibitor sees the source alerts: poll until
    // every posted alert is there and the expected number is muted.
    states = await am.waitFor('all alerts received and inhibition settled', async () => {
      const r = await fetch(`${am.url}/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true`);
      const alerts = (await r.json()) as AmAlert[];
      const muted = alerts.filter((a) => a.status.inhibitedBy.length > 0).length;
      return alerts.length === posted.length && muted === 3 ? new Map(alerts.map((a) => [key(a.labels), a])) : undefined;
    });
  });

  afterAll(async () => {
    await am?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const inhibited = (labels: Labels): boolean => (states.get(key(labels))?.status.inhibitedBy.length ?? 0) > 0;

  it.each([
    ['missing routes on a node whose routewarden is down are muted', posted[1], true],
    ['missing routes on another node of the same job are not', posted[2], false],
    ['orphans on a node blind to the Kubernetes API are muted', posted[4], true],
    ['cluster-wide VIP alerts of a job with a node blind to the API are muted', posted[5], true],
    ['a refused repair on a node whose kernel source is down is not', posted[7], false],
    ['cluster-wide VIP alerts of a healthy job are not', posted[8], false],
  ] as [string, Labels, boolean][])('%s', (_name, labels, expected) => {
    expect(inhibited(labels), key(labels)).toBe(expected);
  });

  it('never mutes the alerts that explain the muting', () => {
    for (const source of [posted[0], posted[3], posted[6]] as Labels[]) expect(inhibited(source), key(source)).toBe(false);
  });
});
