// routewarden's Prometheus alerting rules, built from one config object so the
// job selector, `for:` durations and thresholds live in one place
// (alerts/generate.ts). Pure: no I/O.
//
// The exporter's series carry no `node` label (the node is a fact of the
// instance, in routewarden_config_info), so per-node alerts join it in. If
// that join partner is ever missing, the alert still fires, keyed by instance:
// an alert that silently never fires is the worst failure of monitoring.

import type { GuardReason } from '../src/core/repair.ts';
import { durationSeconds, formatSeconds, indent, labelList, selector, type Duration } from './promql.ts';

export const ALERT_NAMES = [
  'RouteWardenMissingRoutes',
  'RouteWardenOrphanRoutes',
  'RouteWardenVIPNotHeld',
  'RouteWardenVIPMultipleHolders',
  'RouteWardenChecksFailing',
  'RouteWardenNoRecentSuccessfulCheck',
  'RouteWardenSourceDown',
  'RouteWardenExporterAbsent',
  'RouteWardenTargetDown',
  'RouteWardenRepairFailing',
  'RouteWardenRepairBlocked',
  'RouteWardenRepairsFlapping',
  'RouteWardenRouteSeriesCapped',
  'RouteWardenForeignRoutes',
  'RouteWardenRoutesNotJudged',
  'RouteWardenResyncCorrections',
] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

export type Severity = 'critical' | 'warning' | 'info';

export interface AlertConfig {
  /** Matchers selecting routewarden's scrape targets, without braces: `job="routewarden"`. */
  readonly selector: string;
  /** Labels that tell clusters apart when one Prometheus watches several (e.g. `cluster`). */
  readonly clusterLabels: readonly string[];
  /** Where `<AlertName>.md` runbooks live; each alert's runbook_url is `<base>/<AlertName>.md`. */
  readonly runbookBaseUrl: string;
  /** routewarden's `--interval` (docs/configuration.md). */
  readonly checkInterval: Duration;
  /** How long each condition must hold before the alert fires; `0s` fires at once. */
  readonly for: Readonly<Record<AlertName, Duration>>;
  readonly thresholds: AlertThresholds;
}

export interface AlertThresholds {
  /** No successful check for this many check intervals is an alert. */
  readonly staleCheckIntervals: number;
  /** Share of failed checks (0..1) over `checkErrorWindow` that is an alert. */
  readonly checkErrorRatio: number;
  readonly checkErrorWindow: Duration;
  /** A failed repair keeps RouteWardenRepairFailing firing this long. */
  readonly repairFailureWindow: Duration;
  /** A correction of the incremental state by the periodic full check within this window is an alert (each one is a bug). */
  readonly resyncCorrectionWindow: Duration;
  /**
   * Refused repairs are counted over this window; with the alert's `for:`
   * longer than it, only refusals that keep coming fire, not a one-off.
   */
  readonly repairBlockedWindow: Duration;
  /** Guards whose refusals are routine, not a reason to alert. */
  readonly ignoredBlockReasons: readonly GuardReason[];
  /** More repairs than this in one hour: routewarden is fighting kube-vip. */
  readonly repairsPerHour: number;
  /** How far back RouteWardenTargetDown looks for the node of a target that stopped answering. */
  readonly targetNodeLookback: Duration;
}

// A type alias, not an interface, so it fits YamlValue's index signature.
export type AlertingRule = {
  readonly alert: AlertName;
  readonly expr: string;
  readonly for?: Duration;
  readonly labels: { readonly severity: Severity };
  readonly annotations: { readonly summary: string; readonly description: string; readonly runbook_url: string };
};

export type RecordingRule = {
  readonly record: string;
  readonly expr: string;
};

export type RuleGroup = {
  readonly name: string;
  readonly rules: readonly (AlertingRule | RecordingRule)[];
};

/**
 * Recording rules the cluster-wide alerts read. They are computed from the
 * selected targets only, and read back without the selector: aggregation may
 * have dropped the labels it matches on.
 */
export const VIP_HOLDING_NODES = 'routewarden:vip_holding_nodes:count';
export const VIP_EXPECTING_NODES = 'routewarden:vip_expecting_nodes:count';

/** Node name in annotations, falling back to the instance when the join partner is missing. */
const NODE = '{{ with $labels.node }}{{ . }}{{ else }}{{ $labels.instance }}{{ end }}';

export function buildRuleGroups(config: AlertConfig): RuleGroup[] {
  validate(config);
  const q = queries(config);
  const alert = (name: AlertName, severity: Severity, expr: string, summary: string, description: string): AlertingRule => {
    const forDuration = config.for[name];
    return {
      alert: name,
      expr,
      ...(durationSeconds(forDuration) > 0 ? { for: forDuration } : {}),
      labels: { severity },
      annotations: {
        summary,
        description,
        runbook_url: `${config.runbookBaseUrl.replace(/\/+$/, '')}/${name}.md`,
      },
    };
  };
  const t = config.thresholds;
  const staleAfter = formatSeconds(durationSeconds(config.checkInterval) * t.staleCheckIntervals);

  return [
    {
      name: 'routewarden-drift',
      rules: [
        alert(
          'RouteWardenMissingRoutes',
          'critical',
          q.perNode(`${q.m('routewarden_missing_routes')} > 0`),
          "Routes kube-vip should hold are missing from the node's kernel.",
          `{{ $value }} {{ $labels.family }} route(s) that the Kubernetes API says node ${NODE} should hold are missing from kube-vip's routing table; traffic for those VIPs is not routed to this node.`,
        ),
        alert(
          'RouteWardenOrphanRoutes',
          'warning',
          q.perNode(`${q.m('routewarden_orphan_routes')} > 0`),
          "Routes in kube-vip's routing table that no Service justifies.",
          `{{ $value }} {{ $labels.family }} route(s) in kube-vip's routing table on node ${NODE} are justified by no current Service on this node; the node may attract traffic for VIPs it does not serve.`,
        ),
        alert(
          'RouteWardenForeignRoutes',
          'info',
          q.perNode(`${q.m('routewarden_foreign_routes')} > 0`),
          "Routes with another protocol sit in kube-vip's routing table.",
          `{{ $value }} {{ $labels.family }} route(s) in kube-vip's routing table on node ${NODE} carry another route protocol than kube-vip's. routewarden never touches them, but one for a VIP makes kube-vip's own add of that VIP fail with EEXIST.`,
        ),
        alert(
          'RouteWardenRoutesNotJudged',
          'info',
          q.perNode(`${q.m('routewarden_unjudged_routes')} > 0`),
          "routewarden cannot judge some of kube-vip's routes on a node.",
          `{{ $value }} {{ $labels.family }} route(s) on node ${NODE} are not judged ({{ $labels.reason }}): routewarden cannot know whether kube-vip puts them there, so it neither alerts on them nor repairs them.`,
        ),
        alert(
          'RouteWardenRouteSeriesCapped',
          'info',
          q.perNode(
            `${q.m('routewarden_drifted_route_series_dropped')} > 0\nor on (${q.instanceKey})\n${q.m('routewarden_expected_route_series_dropped')} > 0`,
          ),
          'Per-route series are capped; route details and cluster-wide VIP alerts are incomplete.',
          `{{ $value }} route series on node ${NODE} were left out of routewarden_drifted_route_info or routewarden_expected_route_info because of the series cap. Route counts stay exact, but the drifted-route table is incomplete and RouteWardenVIPNotHeld is suppressed for this cluster.`,
        ),
      ],
    },
    {
      name: 'routewarden-cluster',
      rules: [
        {
          record: VIP_HOLDING_NODES,
          expr: q.vipHoldingNodes(),
        },
        {
          record: VIP_EXPECTING_NODES,
          expr: q.vipExpectingNodes(),
        },
        alert(
          'RouteWardenVIPNotHeld',
          'critical',
          q.vipNotHeld(),
          'A VIP that the Kubernetes API places on some node is held by no node.',
          "VIP {{ $labels.destination }} ({{ $labels.family }}, services {{ $labels.services }}) is expected on {{ $value }} node(s), but no node has its route in kube-vip's routing table: the VIP is unreachable.",
        ),
        alert(
          'RouteWardenVIPMultipleHolders',
          'warning',
          q.vipMultipleHolders(),
          "A VIP is held by more nodes than kube-vip's election mode allows.",
          'VIP {{ $labels.destination }} ({{ $labels.family }}) is held by {{ $value }} nodes, more than the Kubernetes API places it on while kube-vip runs with leader election; traffic for it is split between nodes.',
        ),
      ],
    },
    {
      name: 'routewarden-health',
      rules: [
        alert(
          'RouteWardenExporterAbsent',
          'warning',
          `absent(up${selector(config.selector)})`,
          'Prometheus has discovered no routewarden target.',
          `Prometheus has no target matching ${selector(config.selector)}: drift in kube-vip's routing tables goes unnoticed on every node.`,
        ),
        alert(
          'RouteWardenTargetDown',
          'warning',
          q.targetDown(),
          'Prometheus cannot scrape routewarden.',
          'Prometheus cannot scrape routewarden at {{ $labels.instance }}{{ with $labels.node }} on node {{ . }}{{ end }}; drift on that node goes unnoticed.',
        ),
        alert(
          'RouteWardenSourceDown',
          'warning',
          q.perNode(`${q.m('routewarden_source_up')} == 0`),
          'routewarden cannot read one of its sources.',
          `routewarden on node ${NODE} cannot read its {{ $labels.source }} source, or has not synced it; its checks fail and it will not repair.`,
        ),
        alert(
          'RouteWardenChecksFailing',
          'warning',
          q.perNode(
            `sum without (result) (increase(${q.m('routewarden_checks_total', 'result="error"')}[${t.checkErrorWindow}]))\n/\nsum without (result) (increase(${q.m('routewarden_checks_total')}[${t.checkErrorWindow}]))\n> ${t.checkErrorRatio}`,
          ),
          "routewarden's checks are failing.",
          `{{ $value | humanizePercentage }} of routewarden's checks on node ${NODE} failed over the last ${t.checkErrorWindow}.`,
        ),
        alert(
          'RouteWardenResyncCorrections',
          'warning',
          q.perNode(`increase(${q.m('routewarden_resync_corrections_total')}[${t.resyncCorrectionWindow}]) > 0`),
          "routewarden's incremental state disagreed with a full check.",
          `routewarden on node ${NODE} corrected {{ $value | humanize }} difference(s) on the {{ $labels.side }} side in the last ${t.resyncCorrectionWindow}: its incremental state missed a change that the periodic full check found. The verdict was corrected at that check, but between checks it may have been wrong: a bug to report.`,
        ),
        alert(
          'RouteWardenNoRecentSuccessfulCheck',
          'warning',
          q.perNode(`time() - ${q.m('routewarden_last_successful_check_timestamp_seconds')} > ${durationSeconds(staleAfter)}`),
          'routewarden has not completed a successful check recently; its drift metrics are stale.',
          `routewarden on node ${NODE} has not completed a check that read both the kernel and the Kubernetes API {{ if gt $value 1e9 }}since it started{{ else }}for {{ $value | humanizeDuration }}{{ end }} (more than ${t.staleCheckIntervals} check intervals of ${config.checkInterval}).`,
        ),
      ],
    },
    {
      name: 'routewarden-remediation',
      rules: [
        alert(
          'RouteWardenRepairFailing',
          'warning',
          q.perNode(`sum without (strategy, result) (increase(${q.m('routewarden_remediations_total', 'result="failure"')}[${t.repairFailureWindow}])) > 0`),
          "A repair of kube-vip's routing table failed.",
          `{{ $value | humanize }} repair(s) of kube-vip's routing table on node ${NODE} failed in the last ${t.repairFailureWindow}; the table may be half repaired.`,
        ),
        alert(
          'RouteWardenRepairBlocked',
          'warning',
          q.perNode(`increase(${q.m('routewarden_remediation_blocked_total', ...q.notIn('reason', t.ignoredBlockReasons))}[${t.repairBlockedWindow}]) > 0`),
          'A safety guard keeps refusing to repair drift.',
          `routewarden on node ${NODE} refused to repair drift {{ $value | humanize }} time(s) in the last ${t.repairBlockedWindow}: guard {{ $labels.reason }}. The drift stays until someone acts.`,
        ),
        alert(
          'RouteWardenRepairsFlapping',
          'warning',
          q.perNode(
            `sum without (strategy, result) (increase(${q.m('routewarden_remediations_total', 'result=~"success|failure"')}[1h])) > ${t.repairsPerHour}`,
          ),
          'routewarden keeps repairing the same table: it is probably fighting kube-vip.',
          `routewarden repaired kube-vip's routing table on node ${NODE} {{ $value | humanize }} times in the last hour (more than ${t.repairsPerHour}); the drift keeps coming back, so something (most likely kube-vip itself) undoes the repairs.`,
        ),
      ],
    },
  ];
}

/** The same rules with every non-zero `for:` replaced, for end-to-end tests. */
export function withShortFor(config: AlertConfig, d: Duration): AlertConfig {
  durationSeconds(d);
  const shortened = Object.fromEntries(ALERT_NAMES.map((name) => [name, durationSeconds(config.for[name]) > 0 ? d : config.for[name]])) as Record<
    AlertName,
    Duration
  >;
  return { ...config, for: shortened };
}

function validate(config: AlertConfig): void {
  if (config.selector.trim() === '') throw new Error('alerts: selector must not be empty (absent() needs it)');
  for (const name of ALERT_NAMES) durationSeconds(config.for[name]);
  const t = config.thresholds;
  for (const d of [config.checkInterval, t.checkErrorWindow, t.repairFailureWindow, t.repairBlockedWindow, t.resyncCorrectionWindow, t.targetNodeLookback]) {
    durationSeconds(d);
  }
  if (!(t.checkErrorRatio > 0 && t.checkErrorRatio < 1)) throw new Error('alerts: checkErrorRatio must be in (0, 1)');
  if (!(Number.isInteger(t.staleCheckIntervals) && t.staleCheckIntervals >= 1)) {
    throw new Error('alerts: staleCheckIntervals must be a positive integer');
  }
  if (!(t.repairsPerHour >= 1)) throw new Error('alerts: repairsPerHour must be at least 1');
  for (const l of config.clusterLabels) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(l)) throw new Error(`alerts: invalid cluster label ${JSON.stringify(l)}`);
  }
}

/** Expression builders bound to one config. */
function queries(config: AlertConfig) {
  const sel = config.selector;
  const cluster = config.clusterLabels;
  const instanceKey = labelList([...cluster, 'job', 'instance']);
  const vipKey = labelList([...cluster, 'job', 'destination', 'family']);
  const nodeVipKey = labelList([...cluster, 'job', 'instance', 'destination', 'family']);
  const m = (name: string, ...extra: string[]): string => `${name}${selector(sel, ...extra)}`;

  /** One config_info series per instance, whatever else its labels say. */
  const configInfo = (source = m('routewarden_config_info')): string => `topk by (${instanceKey}) (1, ${source})`;

  /** `expr` with the node label joined in, or keyed by instance alone when config_info is absent. */
  const perNode = (expr: string, info = configInfo()): string =>
    ['(', `  ${indent(expr)}`, ')', `* on (${instanceKey}) group_left (node)`, `  ${info}`, `or on (${instanceKey})`, '(', `  ${indent(expr)}`, ')'].join('\n');

  const notIn = (label: string, values: readonly string[]): string[] => (values.length === 0 ? [] : [`${label}!~"${values.map(escapeRegex).join('|')}"`]);

  return {
    m,
    instanceKey,
    vipKey,
    perNode,
    notIn,
    targetDown: (): string =>
      perNode(`${m('up')} == 0`, configInfo(`last_over_time(${m('routewarden_config_info')}[${config.thresholds.targetNodeLookback}])`)),
    // A node holds a VIP when its kernel has the route: as an expected route
    // that is present, or as an orphan (a route nothing justifies there).
    vipHoldingNodes: (): string =>
      [
        `count by (${vipKey}) (`,
        `  max by (${nodeVipKey}) (`,
        `    ${m('routewarden_expected_route_info', 'present="true"')}`,
        '    or',
        `    ${m('routewarden_drifted_route_info', 'kind="orphan"')}`,
        '  )',
        ')',
      ].join('\n'),
    // Series caps make "held by no node" unprovable: stay silent then
    // (RouteWardenRouteSeriesCapped says so).
    // Counted per node, not per series: a route whose `present` label just
    // flipped may show both series for a moment.
    vipExpectingNodes: (): string => [`count by (${vipKey}) (`, `  max by (${nodeVipKey}) (${m('routewarden_expected_route_info')})`, ')'].join('\n'),
    vipNotHeld: (): string =>
      [
        `count by (${vipKey}, services) (`,
        `  max by (${nodeVipKey}, services) (${m('routewarden_expected_route_info')})`,
        ')',
        `unless on (${vipKey})`,
        `  ${VIP_HOLDING_NODES}`,
        `unless on (${labelList([...cluster, 'job'])})`,
        '(',
        `  ${m('routewarden_expected_route_series_dropped')} > 0`,
        '  or',
        `  ${m('routewarden_drifted_route_series_dropped')} > 0`,
        ')',
      ].join('\n'),
    // More holders than nodes that should hold it (at least one), in a cluster
    // whose kube-vip elects one holder per VIP. Shared IPs on separate leases
    // legitimately sit on several nodes; they are expected on each.
    vipMultipleHolders: (): string =>
      [
        VIP_HOLDING_NODES,
        `> on (${vipKey})`,
        '(',
        `  ${VIP_EXPECTING_NODES}`,
        '  or',
        `  ${VIP_HOLDING_NODES} * 0 + 1`,
        ')',
        `and on (${labelList([...cluster, 'job'])})`,
        `  count by (${labelList([...cluster, 'job'])}) (${m('routewarden_config_info', 'election!="none"')})`,
      ].join('\n'),
  };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
