// What the alert rules and the dashboard reference, and what the metrics
// registry exposes: the raw material of the names-stay-in-sync tests.

import { config } from '../../alerts/generate.ts';
import { buildRuleGroups, type AlertingRule, type RecordingRule } from '../../alerts/rules.ts';
import { buildDashboard } from '../../dashboards/generate.ts';
import { createMetrics } from '../../src/surface/metrics.ts';

/**
 * Series the alerts use that the exporter does not register yet, each with
 * the spec it must follow (docs/metrics.md, "Planned"). The names test fails
 * once the registry has one of them, so this list cannot go stale.
 */
export const PENDING_EXPORTER_METRICS: readonly string[] = [];

export interface RegisteredMetric {
  readonly name: string;
  readonly type: string;
  readonly labelNames: readonly string[];
  /** The names it appears under in the exposition (`_bucket`, `_sum`, `_count` for histograms). */
  readonly exposedAs: readonly string[];
}

export async function registeredMetrics(): Promise<RegisteredMetric[]> {
  const { registry } = createMetrics({ version: 'test', defaultMetrics: false });
  const json = await registry.getMetricsAsJSON();
  return json.map((m) => {
    const metric = registry.getSingleMetric(m.name) as unknown as { labelNames?: readonly string[] } | undefined;
    const type = String(m.type);
    const exposedAs = type === 'histogram' || type === 'summary' ? ['_bucket', '_sum', '_count', ''].map((s) => `${m.name}${s}`) : [m.name];
    return { name: m.name, type, labelNames: [...(metric?.labelNames ?? [])], exposedAs };
  });
}

/**
 * Metric names in a PromQL expression. String literals are dropped first, so
 * label values (`job="routewarden_x"`) never count; recording-rule names
 * (`routewarden:...`) have a colon and do not match.
 */
export function metricNames(expr: string): string[] {
  const code = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  return [...new Set(code.match(/\broutewarden_[a-z0-9_]+\b/g) ?? [])];
}

/** Recording-rule names (level:metric:operations) in a PromQL expression. */
export function recordingRuleNames(expr: string): string[] {
  const code = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...new Set(code.match(/\b[a-z_]+:[a-z0-9_]+:[a-z0-9_]+\b/g) ?? [])];
}

export function alertingRules(): AlertingRule[] {
  return buildRuleGroups(config).flatMap((g) => g.rules.filter((r): r is AlertingRule => 'alert' in r));
}

export function recordingRules(): RecordingRule[] {
  return buildRuleGroups(config).flatMap((g) => g.rules.filter((r): r is RecordingRule => 'record' in r));
}

export interface PanelQuery {
  readonly panel: string;
  readonly refId: string;
  readonly expr: string;
}

interface PanelLike {
  readonly title?: string;
  readonly targets?: readonly { readonly refId?: string; readonly expr?: string }[];
  readonly panels?: readonly PanelLike[];
}

/** Every query of every panel, rows' collapsed panels included. */
export function dashboardQueries(): PanelQuery[] {
  const walk = (panels: readonly PanelLike[]): PanelQuery[] =>
    panels.flatMap((p) => [
      ...(p.targets ?? []).map((t) => ({ panel: p.title ?? '(untitled)', refId: t.refId ?? '', expr: t.expr ?? '' })),
      ...walk(p.panels ?? []),
    ]);
  return walk((buildDashboard().panels ?? []) as readonly PanelLike[]);
}
