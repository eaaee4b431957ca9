// Generates dashboards/routewarden.json with the Grafana Foundation SDK. The
// JSON imports into Grafana 10, 11 and 12 and works as a provisioned file: the
// datasource is a variable (never a hard-coded uid) and so are job and node.
// Run `npm run gen`; a test fails while the committed file differs.
//
// routewarden's series carry no `node` label (the node is a fact of the
// instance, in routewarden_config_info), so every per-node query joins it in;
// the join is also what the $node variable filters on.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder,
  DashboardCursorSync,
  DatasourceVariableBuilder,
  MappingType,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  type DataSourceRef,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelineBuilder } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TableBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

export const DASHBOARD_UID = 'routewarden';
export const DASHBOARD_FILE = fileURLToPath(new URL('./routewarden.json', import.meta.url));

const DS: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };
const JOB = 'job=~"$job"';
const INSTANCE = 'job, instance';
const CONFIG_INFO = `routewarden_config_info{${JOB}, node=~"$node"}`;

/** A routewarden series selector limited to the chosen jobs. */
const m = (name: string, ...extra: string[]): string => `${name}{${[JOB, ...extra].join(', ')}}`;

/** Joins the node label in and filters by $node; config_info is deduplicated per instance. */
const NODE_JOIN = `* on (${INSTANCE}) group_left (node)\n  topk by (${INSTANCE}) (1, ${CONFIG_INFO})`;
const withNode = (expr: string): string => `${expr}\n${NODE_JOIN}`;
const nest = (expr: string): string => expr.replaceAll('\n', '\n  ');
/** `sum by (labels) (expr)`, or a plain `sum` without labels. */
const sumBy = (labels: string, expr: string): string => `sum${labels === '' ? '' : ` by (${labels})`} (\n  ${nest(expr)}\n)`;
const sumByNodeFamily = (metric: string): string => sumBy('node, family', withNode(m(metric)));
const sumRoutes = (metric: string): string => sumBy('', withNode(m(metric)));
/** Per-interval increase of a counter, summed by `labels` over the selected nodes. */
const increaseBy = (labels: string, metric: string): string => sumBy(labels, withNode(`increase(${m(metric)}[$__rate_interval])`));

function target(expr: string, legend?: string, refId = 'A'): DataqueryBuilder {
  const t = new DataqueryBuilder().datasource(DS).expr(expr).refId(refId).range();
  return legend === undefined ? t : t.legendFormat(legend);
}

function tableTarget(expr: string): DataqueryBuilder {
  return new DataqueryBuilder().datasource(DS).expr(expr).refId('A').instant().format(PromQueryFormat.Table);
}

const thresholds = (...steps: [number | null, string][]): ThresholdsConfigBuilder =>
  new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(steps.map(([value, color]) => ({ value, color })));

const legendTable = (): common.VizLegendOptionsBuilder =>
  new common.VizLegendOptionsBuilder()
    .displayMode(common.LegendDisplayMode.Table)
    .placement(common.LegendPlacement.Bottom)
    .showLegend(true)
    .calcs(['lastNotNull', 'max']);

function stat(title: string, description: string, expr: string, steps: [number | null, string][]): StatBuilder {
  return new StatBuilder()
    .title(title)
    .description(description)
    .datasource(DS)
    .withTarget(target(expr))
    .height(4)
    .span(4)
    .graphMode(common.BigValueGraphMode.Area)
    .colorMode(common.BigValueColorMode.Background)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .thresholds(thresholds(...steps))
    .noValue('0');
}

function timeseries(title: string, description: string, unit: string): TimeseriesBuilder {
  return new TimeseriesBuilder()
    .title(title)
    .description(description)
    .datasource(DS)
    .unit(unit)
    .min(0)
    .height(8)
    .span(12)
    .fillOpacity(10)
    .legend(legendTable());
}

/** Bars of a counter's increase per interval, summed by `labels` over the selected nodes. */
function increasePanel(title: string, description: string, labels: string, metric: string): TimeseriesBuilder {
  const legend = labels
    .split(', ')
    .map((l) => `{{${l}}}`)
    .join(' ');
  return timeseries(title, description, 'short')
    .withTarget(target(increaseBy(labels, metric), legend))
    .drawStyle(common.GraphDrawStyle.Bars);
}

/** Hides the join's bookkeeping columns and orders the rest. */
function organize(order: readonly string[], rename: Readonly<Record<string, string>> = {}) {
  const exclude = ['Time', 'Value', '__name__', 'job', 'instance'].filter((c) => !order.includes(c));
  return {
    id: 'organize',
    options: {
      excludeByName: Object.fromEntries(exclude.map((c) => [c, true])),
      indexByName: Object.fromEntries(order.map((c, i) => [c, i])),
      renameByName: rename,
    },
  };
}

export function buildDashboard(): Dashboard {
  const overview = new RowBuilder('Overview');
  const drift = new RowBuilder('Drift');
  const checks = new RowBuilder('Checks');
  const sources = new RowBuilder('Sources');
  const repairs = new RowBuilder('Repairs');
  const build = new RowBuilder('Build and configuration');

  const builder = new DashboardBuilder('routewarden')
    .uid(DASHBOARD_UID)
    .description("kube-vip's routing table against what Kubernetes says: orphan and missing routes, checks, sources and repairs, per node.")
    .tags(['routewarden', 'kube-vip', 'networking'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .refresh('30s')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus').regex(''))
    .withVariable(
      new QueryVariableBuilder('job')
        .label('Job')
        .datasource(DS)
        .query('label_values(routewarden_build_info, job)')
        .definition('label_values(routewarden_build_info, job)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue('.+'),
    )
    .withVariable(
      new QueryVariableBuilder('node')
        .label('Node')
        .datasource(DS)
        .query(`label_values(routewarden_config_info{${JOB}}, node)`)
        .definition(`label_values(routewarden_config_info{${JOB}}, node)`)
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue('.+'),
    )

    .withRow(overview)
    .withPanel(
      stat('Missing routes', 'Routes the Kubernetes API says the selected nodes should hold but their kernels lack.', sumRoutes('routewarden_missing_routes'), [
        [null, 'green'],
        [1, 'red'],
      ]),
    )
    .withPanel(
      stat('Orphan routes', "Routes in kube-vip's table on the selected nodes that no Service justifies.", sumRoutes('routewarden_orphan_routes'), [
        [null, 'green'],
        [1, 'orange'],
      ]),
    )
    .withPanel(stat('Expected routes', 'Routes the Kubernetes API places on the selected nodes.', sumRoutes('routewarden_expected_routes'), [[null, 'blue']]))
    .withPanel(stat('Kernel routes', "Routes in kube-vip's (table, protocol) on the selected nodes.", sumRoutes('routewarden_kernel_routes'), [[null, 'blue']]))
    .withPanel(stat('Nodes reporting', 'routewarden instances scraped for the selected jobs and nodes.', `count(${CONFIG_INFO})`, [[null, 'blue']]))
    .withPanel(
      stat(
        'Sources down',
        'Sources (kernel, kubernetes) that the selected nodes cannot read or have not synced.',
        `count (\n  ${nest(withNode(`(${m('routewarden_source_up')} == 0)`))}\n)\nor vector(0)`,
        [
          [null, 'green'],
          [1, 'red'],
        ],
      ),
    )
    .withPanel(
      new TableBuilder()
        .title('Active routewarden alerts')
        .description('Pending and firing RouteWarden alerts for the selected jobs (see docs/runbooks/).')
        .datasource(DS)
        .withTarget(tableTarget(`ALERTS{alertname=~"RouteWarden.*", ${JOB}}`))
        .withTransformation(organize(['alertname', 'alertstate', 'severity', 'node', 'instance', 'family', 'source', 'reason', 'destination']))
        .height(6)
        .span(24)
        .noValue('No routewarden alert is pending or firing'),
    )

    .withRow(drift)
    .withPanel(
      timeseries('Missing routes by node and family', 'Expected routes absent from the kernel (routewarden_missing_routes).', 'short')
        .withTarget(target(sumByNodeFamily('routewarden_missing_routes'), '{{node}} {{family}}'))
        .thresholds(thresholds([null, 'green'], [1, 'red'])),
    )
    .withPanel(
      timeseries('Orphan routes by node and family', 'Owned kernel routes nothing justifies (routewarden_orphan_routes).', 'short')
        .withTarget(target(sumByNodeFamily('routewarden_orphan_routes'), '{{node}} {{family}}'))
        .thresholds(thresholds([null, 'green'], [1, 'orange'])),
    )
    .withPanel(
      new TableBuilder()
        .title('Drifted routes now')
        .description(
          'One row per drifted route (routewarden_drifted_route_info). The list is capped per node; "Drifted routes not listed" counts what the cap left out.',
        )
        .datasource(DS)
        .withTarget(tableTarget(withNode(m('routewarden_drifted_route_info'))))
        .withTransformation(organize(['node', 'kind', 'family', 'destination', 'services', 'reason']))
        .height(8)
        .span(18)
        .filterable(true)
        .noValue('No drifted route'),
    )
    .withPanel(
      stat(
        'Drifted routes not listed',
        'Drifted routes left out of the table above by the per-node series cap (routewarden_drifted_route_series_dropped).',
        sumRoutes('routewarden_drifted_route_series_dropped'),
        [
          [null, 'green'],
          [1, 'orange'],
        ],
      )
        .height(8)
        .span(6),
    )
    .withPanel(
      increasePanel(
        'Routes entering drift',
        'Routes that newly became orphan or missing (routewarden_drift_detected_total).',
        'kind',
        'routewarden_drift_detected_total',
      ),
    )
    .withPanel(
      timeseries(
        'Expected, kernel and foreign routes by node',
        'What the API expects, what the kernel holds, and routes with another protocol in the table.',
        'short',
      )
        .withTarget(target(sumByNodeFamily('routewarden_expected_routes'), 'expected {{node}} {{family}}', 'A'))
        .withTarget(target(sumByNodeFamily('routewarden_kernel_routes'), 'kernel {{node}} {{family}}', 'B'))
        .withTarget(target(sumByNodeFamily('routewarden_foreign_routes'), 'foreign {{node}} {{family}}', 'C')),
    )

    .withRow(checks)
    .withPanel(
      timeseries('Checks per second by result', 'Finished checks (routewarden_checks_total): in_sync, drift, or error.', 'ops').withTarget(
        target(sumBy('result', withNode(`rate(${m('routewarden_checks_total')}[$__rate_interval])`)), '{{result}}'),
      ),
    )
    .withPanel(
      timeseries('Check latency', 'Time of one full check (routewarden_check_duration_seconds), quantiles over the selected nodes.', 's')
        .withTarget(target(quantile(0.5), 'p50', 'A'))
        .withTarget(target(quantile(0.9), 'p90', 'B'))
        .withTarget(target(quantile(0.99), 'p99', 'C')),
    )
    .withPanel(
      timeseries(
        'Time since last successful check',
        'Seconds since each node last read both the kernel and the API (routewarden_last_successful_check_timestamp_seconds). Above three check intervals, RouteWardenNoRecentSuccessfulCheck fires.',
        's',
      ).withTarget(target(withNode(`(time() - ${m('routewarden_last_successful_check_timestamp_seconds')})`), '{{node}}')),
    )
    .withPanel(
      timeseries('Time since last check', 'Seconds since each node last finished any check (routewarden_last_check_timestamp_seconds).', 's').withTarget(
        target(withNode(`(time() - ${m('routewarden_last_check_timestamp_seconds')})`), '{{node}}'),
      ),
    )

    .withRow(sources)
    .withPanel(
      new StateTimelineBuilder()
        .title('Source health by node')
        .description('1 when routewarden can read that source and it is synced (routewarden_source_up).')
        .datasource(DS)
        .withTarget(target(withNode(m('routewarden_source_up')), '{{node}} {{source}}'))
        .mappings([
          {
            type: MappingType.ValueToText,
            options: { '0': { text: 'down', color: 'red', index: 0 }, '1': { text: 'up', color: 'green', index: 1 } },
          },
        ])
        .height(8)
        .span(24),
    )

    .withRow(repairs)
    .withPanel(
      increasePanel(
        'Repairs by strategy and result',
        'Repair attempts (routewarden_remediations_total).',
        'strategy, result',
        'routewarden_remediations_total',
      ),
    )
    .withPanel(
      increasePanel(
        'Routes changed by repairs',
        'Kernel route adds and deletes made by repairs (routewarden_remediated_routes_total).',
        'node, action',
        'routewarden_remediated_routes_total',
      ),
    )
    .withPanel(
      increasePanel(
        'Repairs refused by guard',
        'Repairs a safety guard refused (routewarden_remediation_blocked_total), by guard.',
        'node, reason',
        'routewarden_remediation_blocked_total',
      ).span(24),
    )

    .withRow(build)
    .withPanel(
      new TableBuilder()
        .title('Configuration and version by node')
        .description('routewarden_config_info joined with routewarden_build_info: what each instance checks and how it repairs.')
        .datasource(DS)
        .withTarget(tableTarget(`${CONFIG_INFO}\n* on (${INSTANCE}) group_left (version)\n  topk by (${INSTANCE}) (1, ${m('routewarden_build_info')})`))
        .withTransformation(organize(['node', 'version', 'table', 'protocol', 'election', 'remediate', 'strategy', 'instance']))
        .height(8)
        .span(24),
    );

  const dashboard = builder.build();
  // Stable ids keep panel links (?viewPanel=N) valid across regenerations.
  (dashboard.panels ?? []).forEach((panel, i) => {
    panel.id = i + 1;
  });
  return dashboard;
}

function quantile(q: number): string {
  return `histogram_quantile(${q}, ${sumBy('le', withNode(`rate(${m('routewarden_check_duration_seconds_bucket')}[$__rate_interval])`))})`;
}

/** The committed file's text. */
export function renderDashboard(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}

export function writeDashboard(path = DASHBOARD_FILE): string {
  writeFileSync(path, renderDashboard());
  return path;
}

if (import.meta.main) console.log(`wrote ${writeDashboard()}`);
