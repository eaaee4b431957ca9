// The committed alert rules, dashboard and deploy objects are exactly what
// their generators produce, and the generators produce sound output.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { config, RULES_FILE, renderRules } from '../../alerts/generate.ts';
import { ALERT_NAMES, buildRuleGroups, withShortFor, type AlertConfig } from '../../alerts/rules.ts';
import { buildDashboard, DASHBOARD_FILE, renderDashboard } from '../../dashboards/generate.ts';
import { DASHBOARDS_CONFIGMAP_FILE, PROMETHEUS_RULE_FILE, renderDashboardsConfigMap, renderPrometheusRule } from '../../scripts/gen-deploy-observability.ts';

const REGENERATE = 'run `npm run gen` and commit the result';

describe('committed files equal their generators', () => {
  it('alerts/routewarden.rules.yaml', () => {
    expect(readFileSync(RULES_FILE, 'utf8'), REGENERATE).toBe(renderRules());
  });

  it('dashboards/routewarden.json (deep-compared, then byte for byte)', () => {
    const committed = readFileSync(DASHBOARD_FILE, 'utf8');
    expect(JSON.parse(committed), REGENERATE).toEqual(JSON.parse(JSON.stringify(buildDashboard())));
    expect(committed, REGENERATE).toBe(renderDashboard());
  });

  it('deploy/observability/prometheusrule.yaml', () => {
    expect(readFileSync(PROMETHEUS_RULE_FILE, 'utf8'), REGENERATE).toBe(renderPrometheusRule());
  });

  it('deploy/observability/dashboards-configmap.yaml', () => {
    expect(readFileSync(DASHBOARDS_CONFIGMAP_FILE, 'utf8'), REGENERATE).toBe(renderDashboardsConfigMap());
  });
});

describe('deploy objects wrap the generated files', () => {
  it('the PrometheusRule holds the same groups as the rule file, indented under spec', () => {
    const rule = renderPrometheusRule();
    expect(rule).toMatch(/^apiVersion: monitoring\.coreos\.com\/v1\nkind: PrometheusRule\n/m);
    // The rule file's `groups:` block, re-indented by one level, is the spec.
    const groups = renderRules().slice(renderRules().indexOf('groups:\n'));
    const indented = groups
      .split('\n')
      .map((l) => (l === '' ? '' : `  ${l}`))
      .join('\n');
    expect(rule).toContain(`spec:\n${indented}`);
  });

  it('the ConfigMap is labelled for the Grafana sidecar and holds the dashboard JSON verbatim', () => {
    const cm = renderDashboardsConfigMap();
    expect(cm).toMatch(/^ {4}grafana_dashboard: "1"$/m);
    const body = cm.slice(cm.indexOf('  routewarden.json: |\n') + '  routewarden.json: |\n'.length);
    const unindented = body
      .split('\n')
      .map((l) => l.replace(/^ {4}/, ''))
      .join('\n');
    expect(unindented).toBe(renderDashboard());
  });
});

describe('alert rules', () => {
  const alerts = buildRuleGroups(config).flatMap((g) => g.rules.filter((r) => 'alert' in r));

  it('define every named alert once, each with a severity and the three annotations', () => {
    expect(alerts.map((a) => ('alert' in a ? a.alert : '')).sort()).toEqual([...ALERT_NAMES].sort());
    for (const a of alerts) {
      if (!('alert' in a)) continue;
      expect(['critical', 'warning', 'info']).toContain(a.labels.severity);
      expect(a.annotations.summary).not.toBe('');
      // Templated with the node, family, count...; absent() has no series to template from.
      if (a.alert !== 'RouteWardenExporterAbsent') expect(a.annotations.description).toMatch(/\{\{ \$(labels|value)/);
      expect(a.annotations.runbook_url).toBe(`${config.runbookBaseUrl}/${a.alert}.md`);
    }
  });

  it('select routewarden by the configured selector only', () => {
    const custom: AlertConfig = { ...config, selector: 'job="kube-system/routewarden", cluster="c1"', clusterLabels: ['cluster'] };
    const text = renderRules(custom);
    expect(text).not.toContain('job="routewarden"');
    expect(text).toContain('absent(up{job="kube-system/routewarden", cluster="c1"})');
    expect(text).toContain('on (cluster, job, instance) group_left (node)');
    expect(text).toContain('count by (cluster, job, destination, family)');
  });

  it('shorten every non-zero for: for end-to-end tests, and leave immediate alerts immediate', () => {
    const short = withShortFor(config, '2s');
    for (const name of ALERT_NAMES) {
      expect(short.for[name]).toBe(config.for[name] === '0s' ? '0s' : '2s');
    }
    expect(renderRules(short)).not.toMatch(/^ {4}for: (?!2s$)/m);
  });

  it('leave out for: when it is zero', () => {
    const flapping = renderRules()
      .split('- alert: ')
      .find((r) => r.startsWith('RouteWardenRepairsFlapping'));
    expect(flapping).toBeDefined();
    expect(flapping).not.toMatch(/\n {4}for:/);
  });

  it.each([
    ['an empty selector', { selector: ' ' }, /selector must not be empty/],
    ['a duration with a space', { checkInterval: '30 s' }, /invalid duration "30 s"/],
    ['a cluster label with a dash', { clusterLabels: ['bad-label'] }, /invalid cluster label "bad-label"/],
    ['a for: in words', { for: { ...config.for, RouteWardenMissingRoutes: '3 minutes' } }, /invalid duration "3 minutes"/],
    ['an error ratio above 1', { thresholds: { ...config.thresholds, checkErrorRatio: 1.5 } }, /checkErrorRatio must be in \(0, 1\)/],
    ['zero stale intervals', { thresholds: { ...config.thresholds, staleCheckIntervals: 0 } }, /staleCheckIntervals must be a positive integer/],
  ] as [string, Partial<AlertConfig>, RegExp][])('refuse a config with %s', (_name, override, message) => {
    expect(() => buildRuleGroups({ ...config, ...override })).toThrow(message);
  });

  it('derive the staleness threshold from the check interval', () => {
    const text = renderRules({ ...config, checkInterval: '1m' });
    expect(text).toContain('time() - routewarden_last_successful_check_timestamp_seconds{job="routewarden"} > 180');
    expect(text).toContain('more than 3 check intervals of 1m');
  });
});

describe('dashboard', () => {
  const dashboard = buildDashboard();
  const json = JSON.stringify(dashboard);

  it('takes its datasource from a variable, never a hard-coded uid', () => {
    const refs = [...json.matchAll(/"datasource":\{"type":"([^"]*)","uid":"([^"]*)"\}/g)];
    expect(refs.length).toBeGreaterThan(10);
    for (const [, type, uid] of refs) {
      expect(type).toBe('prometheus');
      expect(uid).toBe('${datasource}');
    }
    // Every "uid" in the file is either the dashboard's own or the variable.
    const uids = [...json.matchAll(/"uid":"([^"]*)"/g)].map((m) => m[1]);
    expect(new Set(uids)).toEqual(new Set(['${datasource}', 'routewarden']));
  });

  it('has datasource, job and node variables, job and node filtering every query', () => {
    const vars = dashboard.templating.list ?? [];
    expect(vars.map((v) => [v.name, v.type])).toEqual([
      ['datasource', 'datasource'],
      ['job', 'query'],
      ['node', 'query'],
    ]);
    const targets = (dashboard.panels ?? []).flatMap((p) => ('targets' in p ? (p.targets ?? []) : [])) as { expr?: string }[];
    expect(targets.length).toBeGreaterThan(10);
    for (const t of targets) {
      expect(t.expr).toMatch(/job=~"\$job"/);
      if (!t.expr?.startsWith('ALERTS')) expect(t.expr).toMatch(/node=~"\$node"/);
    }
  });

  it('has unique panel ids and no overlapping panels', () => {
    const panels = dashboard.panels ?? [];
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(panels.length);
    const cells = new Set<string>();
    for (const p of panels) {
      const g = p.gridPos;
      expect(g).toBeDefined();
      if (!g) continue;
      expect(g.x + g.w).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          const cell = `${x},${y}`;
          expect(cells.has(cell), `panel "${'title' in p ? p.title : ''}" overlaps at ${cell}`).toBe(false);
          cells.add(cell);
        }
      }
    }
  });

  it('has the panels the issue asks for', () => {
    const titles = (dashboard.panels ?? []).map((p) => ('title' in p ? p.title : ''));
    for (const t of [
      'Missing routes by node and family',
      'Orphan routes by node and family',
      'Drifted routes now',
      'Checks per second by result',
      'Check latency',
      'Source health by node',
      'Repairs by strategy and result',
      'Repairs refused by guard',
      'Configuration and version by node',
    ]) {
      expect(titles).toContain(t);
    }
  });
});
