// Names stay in sync (practices.md habit 9): every metric the alerts and the
// dashboard use exists in the registry, every registered metric is documented
// in docs/metrics.md with its type and labels, every alert has a runbook and
// promtool tests that make it fire and keep it quiet.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALERT_NAMES } from '../../alerts/rules.ts';
import {
  alertingRules,
  dashboardQueries,
  metricNames,
  PENDING_EXPORTER_METRICS,
  recordingRuleNames,
  recordingRules,
  registeredMetrics,
  type RegisteredMetric,
} from './names.ts';

const root = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));

let registered: RegisteredMetric[];
let exposed: Set<string>;

beforeAll(async () => {
  registered = (await registeredMetrics()).filter((m) => m.name.startsWith('routewarden_'));
  exposed = new Set(registered.flatMap((m) => m.exposedAs));
});

describe('metricNames', () => {
  it('finds metric names, histogram series included, and ignores label values and recording rules', () => {
    expect(
      metricNames(
        'histogram_quantile(0.9, sum by (le) (rate(routewarden_check_duration_seconds_bucket{job="routewarden_x"}[5m]))) + routewarden:vip_holding_nodes:count',
      ),
    ).toEqual(['routewarden_check_duration_seconds_bucket']);
  });
});

describe('the registry is the source of truth', () => {
  it('registers the docs/metrics.md metrics (sanity check of the harness)', () => {
    expect(registered.map((m) => m.name)).toContain('routewarden_missing_routes');
    expect(registered.find((m) => m.name === 'routewarden_check_duration_seconds')?.exposedAs).toContain('routewarden_check_duration_seconds_bucket');
  });

  it('every metric in the alert rules exists (or is a pending series the exporter will add)', () => {
    const rules = [...alertingRules(), ...recordingRules()];
    const unknown = rules.flatMap((r) =>
      metricNames(r.expr)
        .filter((n) => !exposed.has(n) && !PENDING_EXPORTER_METRICS.includes(n))
        .map((n) => `${'alert' in r ? r.alert : r.record}: ${n}`),
    );
    expect(unknown).toEqual([]);
  });

  it('every recording rule the alerts read is defined', () => {
    const defined = new Set(recordingRules().map((r) => r.record));
    const used = alertingRules().flatMap((r) => recordingRuleNames(r.expr));
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((n) => !defined.has(n))).toEqual([]);
  });

  it('every metric in the dashboard exists (no pending series: every panel must show data)', () => {
    const queries = dashboardQueries();
    const unknown = queries.flatMap((q) =>
      metricNames(q.expr)
        .filter((n) => !exposed.has(n))
        .map((n) => `${q.panel}: ${n}`),
    );
    expect(unknown).toEqual([]);
  });

  it('pending series are not registered yet: once the exporter has one, remove it from PENDING_EXPORTER_METRICS', () => {
    expect(PENDING_EXPORTER_METRICS.filter((n) => exposed.has(n))).toEqual([]);
  });
});

interface DocSection {
  readonly type: string | undefined;
  readonly labels: string[];
  readonly text: string;
}

/** `### \`name\`` sections of docs/metrics.md with their Type and Labels lines. */
function metricDocs(): Map<string, DocSection> {
  const doc = readFileSync(root('docs/metrics.md'), 'utf8');
  const sections = new Map<string, DocSection>();
  const parts = doc.split(/^### /m).slice(1);
  for (const part of parts) {
    const name = /^`([a-z_:]+)`/.exec(part)?.[1];
    if (!name) continue;
    const body = part.split(/^## /m)[0] ?? '';
    const type = /^- Type: (\w+)/m.exec(body)?.[1];
    const labelsLine = /^- Labels: (.*)$/m.exec(body)?.[1] ?? '';
    // Label names are the backticked words; values follow in parentheses.
    const labels = [...labelsLine.replace(/\([^)]*\)/g, '').matchAll(/`([a-z_]+)`/g)].map((m) => m[1] as string);
    sections.set(name, { type, labels, text: body });
  }
  return sections;
}

describe('docs/metrics.md', () => {
  const docs = metricDocs();

  it('documents every registered routewarden_ metric with its type, its labels and an example query', () => {
    const problems: string[] = [];
    for (const m of registered) {
      const d = docs.get(m.name);
      if (!d) {
        problems.push(`${m.name}: no "### \`${m.name}\`" section`);
        continue;
      }
      if (d.type !== m.type) problems.push(`${m.name}: documented as ${d.type}, registered as ${m.type}`);
      if ([...d.labels].sort().join(',') !== [...m.labelNames].sort().join(',')) {
        problems.push(`${m.name}: documented labels [${d.labels}], registered [${m.labelNames}]`);
      }
      if (!/```promql\n[^`]*routewarden_/.test(d.text)) problems.push(`${m.name}: no example PromQL`);
    }
    expect(problems).toEqual([]);
  });

  it('documents the pending series the alerts rely on', () => {
    for (const name of PENDING_EXPORTER_METRICS) expect(docs.has(name), name).toBe(true);
  });

  it('documents nothing that is neither registered nor pending', () => {
    const known = new Set([...registered.map((m) => m.name), ...PENDING_EXPORTER_METRICS]);
    expect([...docs.keys()].filter((n) => !known.has(n))).toEqual([]);
  });
});

describe('runbooks', () => {
  const dir = root('docs/runbooks');

  it('exist for every alert, and only for alerts', () => {
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.md')) : [];
    expect(files.map((f) => f.replace(/\.md$/, '')).sort()).toEqual([...ALERT_NAMES].sort());
  });

  it.each(ALERT_NAMES)('%s: says what it means, how to confirm on the node, and how to fix', (name) => {
    const text = readFileSync(`${dir}/${name}.md`, 'utf8');
    expect(text).toMatch(new RegExp(`^# ${name}$`, 'm'));
    for (const heading of ['## Meaning', '## Confirm', '## Fix']) expect(text, heading).toContain(heading);
  });

  it('show the node commands where the alert is about routes', () => {
    for (const name of ['RouteWardenMissingRoutes', 'RouteWardenOrphanRoutes', 'RouteWardenVIPNotHeld', 'RouteWardenVIPMultipleHolders']) {
      const text = readFileSync(`${dir}/${name}.md`, 'utf8');
      for (const cmd of [
        'ip route show table 198 proto 248',
        'ip -6 route show table 198 proto 248',
        'kubectl get svc,endpointslices,leases -A',
        'routewarden check',
      ]) {
        expect(text, `${name}: ${cmd}`).toContain(cmd);
      }
    }
  });
});

describe('promtool unit tests (alerts/tests/*.yaml)', () => {
  // A shape check only; promtool itself runs them (promtool.test.ts).
  const cases = readdirSync(root('alerts/tests'))
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) =>
      readFileSync(root(`alerts/tests/${f}`), 'utf8')
        .split(/^\s+- eval_time:/m)
        .slice(1),
    )
    .map((c) => ({
      alertname: /^\s+alertname: (\S+)/m.exec(c)?.[1],
      fires: /^\s+exp_alerts:\s*\n\s+- exp_labels:/m.test(c),
      quiet: /^\s+exp_alerts: \[\]/m.test(c),
    }));

  it.each(ALERT_NAMES)('%s is tested both firing and not firing', (name) => {
    const mine = cases.filter((c) => c.alertname === name);
    expect(
      mine.some((c) => c.fires),
      'a case where it fires',
    ).toBe(true);
    expect(
      mine.some((c) => c.quiet),
      'a case where it does not',
    ).toBe(true);
  });
});
