// The two stories the demo tells. Each step does what happens in a real
// cluster (a Service changes, kube-vip writes or crashes, a link bounces),
// then waits until routewarden's own state says what it should, and shows it
// the way an operator would see it: /drift, /metrics, the status page.

import type { KubeObject } from '../apidouble/index.ts';
import type { Strategy } from '../../src/core/repair.ts';
import type { Report } from '../../src/core/report.ts';
import type { KubeVipPlayer, VipRoute } from './kube-vip.ts';
import type { Narrator } from './narrator.ts';
import type { DemoSession } from './session.ts';
import { deleteService, upsertService } from './cluster.ts';
import type { DemoService } from './cluster.ts';
import { until } from './wait.ts';

export interface StoryContext {
  readonly session: DemoSession;
  readonly kubeVip: KubeVipPlayer;
  readonly narrator: Narrator;
  readonly signal: AbortSignal;
  readonly node: string;
}

export interface Step {
  /** Stable id, for tests that pause the story at a step. */
  readonly id: string;
  readonly title: string;
  run(ctx: StoryContext): Promise<void>;
}

export interface Story {
  readonly name: 'seed-762' | 'dual-stack-bounce';
  readonly title: string;
  readonly intro: readonly string[];
  readonly steps: readonly Step[];
}

/** "ok", or the verdict and reason of a drifted route: "orphan no-service". */
export type RowState = 'ok' | `${'orphan' | 'missing'} ${string}`;

const rowState = (r: Report['routes'][number]): string => (r.verdict === 'ok' ? 'ok' : `${r.verdict} ${r.reason ?? ''}`);

/** True when both sources were read and the report's routes are exactly `rows`. */
export function reportMatches(report: Report | undefined, rows: Readonly<Record<string, RowState>>): boolean {
  if (!report || report.sources.kernel !== 'ok' || report.sources.kubernetes !== 'ok') return false;
  if (report.routes.length !== Object.keys(rows).length) return false;
  return report.routes.every((r) => rows[r.destination] === rowState(r));
}

const describeReport = (r: Report | undefined): string =>
  !r ? 'no check yet' : `sources ${JSON.stringify(r.sources)}, routes ${JSON.stringify(r.routes.map((x) => `${x.destination} ${rowState(x)}`))}`;

/** Waits until routewarden's last check says exactly `rows`, then prints its verdict. */
export async function settle(ctx: StoryContext, what: string, rows: Readonly<Record<string, RowState>>): Promise<Report> {
  const last = (): Report | undefined => ctx.session.service.checker.lastReport() ?? undefined;
  const report = await until(() => (reportMatches(last(), rows) ? last() : undefined), {
    signal: ctx.signal,
    what: `routewarden to report ${what}`,
    lastSeen: () => describeReport(last()),
  });
  ctx.narrator.verdict(report);
  return report;
}

const cidr = (ip: string): string => `${ip}/${ip.includes(':') ? 128 : 32}`;
const vip = (ip: string, device = 'lo'): VipRoute => ({ destination: cidr(ip), device });

function addService(ctx: StoryContext, s: Omit<DemoService, 'node'>): void {
  upsertService(ctx.session.api, { ...s, node: ctx.node });
  const where = s.annotations?.['kube-vip.io/serviceInterface'];
  ctx.narrator.act(
    'cluster',
    `Service ${s.namespace ?? 'default'}/${s.name} (LoadBalancer) VIP ${s.vips.join(' + ')}, endpoints on ${ctx.node}${where ? `, kube-vip.io/serviceInterface: ${where}` : ''}`,
  );
}

function removeService(ctx: StoryContext, namespace: string, name: string): void {
  deleteService(ctx.session.api, namespace, name);
  ctx.narrator.act('cluster', `Service ${namespace}/${name} deleted`);
}

/** kube-vip's table, read on the node. */
async function showTable(ctx: StoryContext): Promise<void> {
  const { command, lines } = await ctx.session.stage.showTable();
  ctx.narrator.excerpt(command, lines.length > 0 ? lines : ['(empty)']);
}

/** GET /drift, in a few lines. */
async function showDrift(ctx: StoryContext): Promise<void> {
  const res = await ctx.session.get('/drift');
  const r = JSON.parse(res.body) as Report;
  const c = r.counts;
  ctx.narrator.excerpt(`GET ${ctx.session.url}/drift → ${res.status}`, [
    `inSync ${r.inSync} · expected ${c.expected} · kernel ${c.kernel} · orphan ${c.orphan} · missing ${c.missing} · foreign ${c.foreign}`,
    ...r.orphans.map((o) => `orphan   ${o.destination} dev ${o.device ?? '-'}  reason ${o.reason}`),
    ...r.missing.map((m) => `missing  ${m.destination} dev ${m.device}  reason ${m.reason}  services ${m.services.join(',')}`),
  ]);
}

/** GET /metrics, only the series of these metrics (and, with nonZero, only those above 0). */
async function showMetrics(ctx: StoryContext, names: readonly string[], nonZero = false): Promise<void> {
  const res = await ctx.session.get('/metrics');
  const lines = res.body.split('\n').filter((l) => {
    if (l.startsWith('#') || !names.some((n) => l.startsWith(`${n}{`) || l.startsWith(`${n} `))) return false;
    return !nonZero || !/ 0$/.test(l);
  });
  ctx.narrator.excerpt(`GET ${ctx.session.url}/metrics → ${res.status}`, lines);
}

/** The RoutesRepaired Events routewarden posted (core/v1, on the Node), as run does. */
const repairEvents = (ctx: StoryContext): { name: string; message: string }[] =>
  ctx.session.api
    .list('Event')
    .map((e) => e as KubeObject & { reason?: string; message?: string })
    .filter((e) => e.reason === 'RoutesRepaired')
    .map((e) => ({ name: e.metadata?.name ?? '', message: e.message ?? '' }));

/** Lets routewarden repair with the story's strategy and waits for it: the table, the metrics, the Event. */
async function repair(ctx: StoryContext, strategy: Strategy, rows: Readonly<Record<string, RowState>>): Promise<void> {
  const { session, narrator } = ctx;
  const seen = new Set(repairEvents(ctx).map((e) => e.name));
  narrator.say(
    `routewarden runs with --remediate --strategy ${strategy} --grace ${session.config.graceMs / 1000}s: it repairs drift that has lasted the grace period (60s by default). The demo held the repair back until now so that you could look at the drift.`,
  );
  session.allowRepair(strategy);
  try {
    await settle(ctx, 'the repaired table in sync', rows);
    // The Event is posted after the read-back, so once it is there the metrics are final too.
    const event = await until(() => repairEvents(ctx).find((e) => !seen.has(e.name)), {
      signal: ctx.signal,
      what: 'the RoutesRepaired Kubernetes Event',
    });
    narrator.act('kubernetes', `Event RoutesRepaired on Node ${ctx.node}: ${event.message}`);
  } finally {
    session.holdRepair();
  }
  await showTable(ctx);
  await showMetrics(ctx, ['routewarden_remediations_total', 'routewarden_remediated_routes_total', 'routewarden_remediation_blocked_total'], true);
  narrator.say(`"blocked" counts the checks that found the drift younger than --grace and waited.`);
}

// Documentation addresses (RFC 5737, RFC 3849): they only ever exist in the
// simulated node's table.
const WEB_OLD = '192.0.2.10';
const API = '192.0.2.11';
const WEB_NEW = '192.0.2.20';

export const SEED_762: Story = {
  name: 'seed-762',
  title: 'kube-vip issue #762, a Service recreated while kube-vip is down',
  intro: [
    'kube-vip in routing-table mode puts one route per LoadBalancer VIP into its table (198), tagged with its protocol (248). If a Service changes while kube-vip is down, the old route stays forever (kube-vip #762).',
  ],
  steps: [
    {
      id: 'services',
      title: 'Two LoadBalancer Services get VIPs; kube-vip adds their routes',
      async run(ctx) {
        addService(ctx, { name: 'web', vips: [WEB_OLD] });
        addService(ctx, { name: 'api', vips: [API] });
        await ctx.kubeVip.add(vip(WEB_OLD));
        await ctx.kubeVip.add(vip(API));
        await settle(ctx, 'both routes in sync', { [cidr(WEB_OLD)]: 'ok', [cidr(API)]: 'ok' });
        await showTable(ctx);
      },
    },
    {
      id: 'crash',
      title: 'kube-vip crashes',
      async run(ctx) {
        ctx.kubeVip.crash();
        await settle(ctx, 'the table unchanged', { [cidr(WEB_OLD)]: 'ok', [cidr(API)]: 'ok' });
        ctx.narrator.say('Nothing is wrong yet: the routes still match the Services.');
      },
    },
    {
      id: 'recreate',
      title: `While kube-vip is down, Service default/web is deleted and recreated; it gets a new VIP`,
      async run(ctx) {
        removeService(ctx, 'default', 'web');
        addService(ctx, { name: 'web', vips: [WEB_NEW] });
        ctx.narrator.say(`Nobody is there to delete ${cidr(WEB_OLD)} or to add ${cidr(WEB_NEW)}.`);
      },
    },
    {
      id: 'drift',
      title: 'routewarden reports the drift: one orphan route, one missing route',
      async run(ctx) {
        await settle(ctx, 'the orphan and the missing route', {
          [cidr(WEB_OLD)]: 'orphan no-service',
          [cidr(API)]: 'ok',
          [cidr(WEB_NEW)]: 'missing not-in-kernel',
        });
        await showTable(ctx);
        await showDrift(ctx);
        await showMetrics(ctx, ['routewarden_orphan_routes', 'routewarden_missing_routes', 'routewarden_drift_detected_total']);
        ctx.narrator.say(`Status page: ${ctx.session.url}/ lists both routes in red.`);
        ctx.narrator.say(
          `When kube-vip starts again it adds ${cidr(WEB_NEW)}, but nothing ever deletes ${cidr(WEB_OLD)}: only vip_cleanroutingtable would, once, 10s after a start, racing its own adds.`,
        );
      },
    },
    {
      id: 'repair',
      title: 'routewarden repairs: flush the table, then rebuild it from the Services',
      async run(ctx) {
        await repair(ctx, 'flush-rebuild', { [cidr(API)]: 'ok', [cidr(WEB_NEW)]: 'ok' });
      },
    },
    {
      id: 'restart',
      title: 'kube-vip starts again and finds its routes in place',
      async run(ctx) {
        await ctx.kubeVip.restart([vip(API), vip(WEB_NEW)]);
        await settle(ctx, 'the table still in sync', { [cidr(API)]: 'ok', [cidr(WEB_NEW)]: 'ok' });
        ctx.narrator.say(
          "routewarden re-added the routes with kube-vip's exact attributes, so kube-vip adopts them and its own later deletes will match them (docs/repair.md rule 6).",
        );
      },
    },
  ],
};

const DUAL_V4 = '192.0.2.30';
const DUAL_V6 = '2001:db8::30';
const DNS_V6 = '2001:db8::31';
const BOUNCED = 'vips0';

export const DUAL_STACK_BOUNCE: Story = {
  name: 'dual-stack-bounce',
  title: 'dual-stack, and routes lost when an interface bounces',
  intro: [
    'A dual-stack Service has one route per family. When its interface goes down, the kernel flushes the routes on it; when it comes back, kube-vip does not notice and never re-adds them (E20).',
  ],
  steps: [
    {
      id: 'services',
      title: `A dual-stack Service on interface ${BOUNCED}, an IPv6 Service on lo`,
      async run(ctx) {
        await ctx.session.stage.addInterface(BOUNCED);
        ctx.narrator.act('node', `interface ${BOUNCED} added, up`);
        addService(ctx, { name: 'dual', vips: [DUAL_V4, DUAL_V6], annotations: { 'kube-vip.io/serviceInterface': BOUNCED } });
        addService(ctx, { name: 'dns', vips: [DNS_V6] });
        await ctx.kubeVip.add(vip(DUAL_V4, BOUNCED));
        await ctx.kubeVip.add(vip(DUAL_V6, BOUNCED));
        await ctx.kubeVip.add(vip(DNS_V6));
        await settle(ctx, 'three routes in sync', { [cidr(DUAL_V4)]: 'ok', [cidr(DUAL_V6)]: 'ok', [cidr(DNS_V6)]: 'ok' });
        await showTable(ctx);
      },
    },
    {
      id: 'link-down',
      title: `Interface ${BOUNCED} goes down: the kernel flushes both of its routes`,
      async run(ctx) {
        await ctx.session.stage.setInterfaceUp(BOUNCED, false);
        ctx.narrator.act('node', `ip link set dev ${BOUNCED} down`);
        await settle(ctx, 'both routes of the dual-stack Service missing', {
          [cidr(DUAL_V4)]: 'missing interface-down',
          [cidr(DUAL_V6)]: 'missing interface-down',
          [cidr(DNS_V6)]: 'ok',
        });
        await showTable(ctx);
        await showDrift(ctx);
        await showMetrics(ctx, ['routewarden_missing_routes', 'routewarden_kernel_routes']);
        ctx.narrator.say('The reason says why: the device is down. Nothing can be repaired while it is.');
      },
    },
    {
      id: 'link-up',
      title: `${BOUNCED} comes back up; nothing puts the routes back`,
      async run(ctx) {
        await ctx.session.stage.setInterfaceUp(BOUNCED, true);
        ctx.narrator.act('node', `ip link set dev ${BOUNCED} up`);
        await settle(ctx, 'the routes still missing, now for good', {
          [cidr(DUAL_V4)]: 'missing not-in-kernel',
          [cidr(DUAL_V6)]: 'missing not-in-kernel',
          [cidr(DNS_V6)]: 'ok',
        });
        await showDrift(ctx);
        ctx.narrator.say('kube-vip never re-reads the kernel for service routes: in its own tracker they still exist.');
      },
    },
    {
      id: 'repair',
      title: 'routewarden repairs surgically: it adds the two missing routes and touches nothing else',
      async run(ctx) {
        await repair(ctx, 'surgical', { [cidr(DUAL_V4)]: 'ok', [cidr(DUAL_V6)]: 'ok', [cidr(DNS_V6)]: 'ok' });
      },
    },
  ],
};

export const STORIES: Readonly<Record<Story['name'], Story>> = { 'seed-762': SEED_762, 'dual-stack-bounce': DUAL_STACK_BOUNCE };

/**
 * Between two stories: the previous story's Services are deleted and kube-vip
 * (running again) removes their routes, as it does on a Service deletion.
 */
export async function clearStage(ctx: StoryContext): Promise<void> {
  const services = ctx.session.api.list('Service');
  if (services.length === 0 && ctx.kubeVip.tracked().length === 0) return;
  ctx.narrator.say('First, the previous story is cleared away: its Services are deleted, kube-vip removes their routes.');
  for (const s of services) removeService(ctx, s.metadata?.namespace ?? 'default', s.metadata?.name ?? '');
  for (const r of ctx.kubeVip.tracked()) await ctx.kubeVip.remove(r);
  await settle(ctx, 'an empty table', {});
}
