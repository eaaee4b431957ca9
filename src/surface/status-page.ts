// The status page: plain server-rendered HTML and CSS, no front-end build,
// readable on a phone, refreshing itself. Everything user-controlled (service
// names, devices, reasons) is escaped.

import type { Report, ReportRow } from '../core/report.ts';

export interface StatusPageOptions {
  readonly version: string;
  readonly banner?: string | undefined;
  readonly refreshSeconds: number;
  readonly ready: boolean;
  /** How long routes have drifted and what repair is doing; without it the page shows neither. */
  readonly status?: StatusExtras | undefined;
}

/** Repair as the page shows it: the mode (--remediate, --dry-run) and what the repair loop last did. */
export interface RepairView {
  readonly mode: 'off' | 'dry-run' | 'on';
  readonly strategy: string;
  readonly graceMs: number;
  /** Drift is waiting out the grace period: when it becomes repairable. */
  readonly repairableAt: number | null;
  /** A guard other than the grace period held the last attempt back. */
  readonly blocked: { readonly reason: string; readonly message: string; readonly at: number } | null;
  readonly last: {
    readonly at: number;
    readonly result: 'success' | 'failure' | 'dry-run';
    readonly added: number;
    readonly deleted: number;
    readonly failures: number;
  } | null;
}

export interface StatusExtras {
  readonly now: number;
  /** Since when a route has been drifted in an unbroken run of checks (the drift tracker), or undefined. */
  readonly driftSince: (verdict: 'orphan' | 'missing', destination: string, device: string | null) => number | undefined;
  readonly repair: RepairView;
}

const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const CSS = `
:root{--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--muted:#57606a;--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;background:#fff}
header{padding:14px 16px;border-bottom:1px solid var(--line);background:var(--bg)}
h1{font-size:19px;margin:0 0 4px}main{padding:12px 16px;max-width:1100px}
.meta{color:var(--muted);font-size:13px}.banner{background:#fff8c5;border:1px solid #d4a72c;padding:8px 10px;border-radius:6px;margin:0 0 12px}
.state{display:inline-block;padding:2px 10px;border-radius:999px;font-weight:600;color:#fff}
.state.ok{background:var(--ok)}.state.drift{background:var(--bad)}.state.unknown{background:var(--warn)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(120px,1fr));gap:8px;margin:12px 0}
.card{border:1px solid var(--line);border-radius:8px;padding:8px 10px}.card b{display:block;font-size:22px}
.card.bad b{color:var(--bad)}
.src{margin:4px 0}.src span{font-weight:600}.src .ok{color:var(--ok)}.src .error,.src .unsynced{color:var(--bad)}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--bg);font-weight:600}td.dst{font-family:ui-monospace,Menlo,monospace;word-break:break-all}
tr.orphan td,tr.missing td{background:#ffebe9}tr.not-judged td{background:#f6f8fa;color:var(--muted)}.verdict{font-weight:700}.verdict.ok{color:var(--ok)}.verdict.orphan,.verdict.missing{color:var(--bad)}
.wrap{overflow-x:auto}.reason{color:var(--muted);font-size:13px}.since{color:var(--bad)}.since .at{color:var(--muted)}
.card.unknown b{color:var(--muted)}.repair{margin:6px 0}.mode.on{color:var(--bad)}.mode.dry-run{color:var(--warn)}.mode.off{color:var(--muted)}
.countdown{color:var(--warn);font-weight:600}.blocked{color:var(--bad)}.last.failure b{color:var(--bad)}.last.success b{color:var(--ok)}a{color:#0969da}
.svc-inline{display:none;font-family:system-ui,-apple-system,"Segoe UI",sans-serif}.legend{color:var(--muted);font-size:13px;margin:8px 0 0}
@media (max-width:600px){th.svc,td.svc,th.fam,td.fam{display:none}.svc-inline{display:block}
.cards{grid-template-columns:repeat(3,1fr);gap:6px}.card{padding:6px 8px}.card b{font-size:18px}main,header{padding-left:10px;padding-right:10px}}
`;

/** 95s -> "1m 35s"; the two largest units, so that it reads at a glance. */
export function formatAge(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const units: [string, number][] = [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  let rest = total;
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    // From the first unit that is not 0, that one and the next: 1h 0m, not 1h 5s.
    if (parts.length > 0 || n > 0 || size === 1) parts.push(`${n}${name}`);
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

const isoSeconds = (t: number): string => new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');

/** The one-line explanation of a drifted route (e.g. "vips0 is down"), kept in the report's orphans/missing. */
function details(report: Report): Map<string, string> {
  const out = new Map<string, string>();
  for (const o of report.orphans) if (o.detail) out.set(`orphan ${o.destination}`, o.detail);
  for (const m of report.missing) if (m.detail) out.set(`missing ${m.destination}`, m.detail);
  return out;
}

function row(r: ReportRow, detail: string | undefined, status: StatusExtras | undefined): string {
  const services = r.services.map(esc).join('<br>');
  const since = status && (r.verdict === 'orphan' || r.verdict === 'missing') ? status.driftSince(r.verdict, r.destination, r.device) : undefined;
  const age =
    since === undefined
      ? ''
      : `<div class="reason since" data-since="${esc(isoSeconds(since))}">drifting for ${esc(formatAge(status!.now - since))} <span class="at">(since ${esc(isoSeconds(since))})</span></div>`;
  return (
    `<tr class="${esc(r.verdict)}" data-destination="${esc(r.destination)}" data-verdict="${esc(r.verdict)}">` +
    // On a phone the services column is hidden; they move under the destination.
    `<td class="dst">${esc(r.destination)}${services ? `<div class="svc-inline reason">${services}</div>` : ''}</td>` +
    `<td class="fam">${esc(r.family)}</td><td>${esc(r.device ?? '-')}</td>` +
    `<td><span class="verdict ${esc(r.verdict)}">${esc(r.verdict)}</span>${r.reason ? `<div class="reason">${esc(r.reason)}</div>` : ''}` +
    `${detail ? `<div class="reason detail">${esc(detail)}</div>` : ''}${age}</td>` +
    `<td class="svc">${services || '<span class="reason">none</span>'}</td></tr>`
  );
}

// Relative links, so that they also work behind a path prefix (kubectl proxy, an ingress).
const LINKS = ' · <a href="metrics" id="link-metrics">/metrics</a> · <a href="drift" id="link-drift">/drift</a> (JSON)';

const LEGEND =
  '<p class="legend"><b>orphan</b>: in the table, but no Service puts it on this node · ' +
  '<b>missing</b>: a Service puts it on this node, the kernel lacks it · ' +
  '<b>not-judged</b>: routewarden cannot know whether kube-vip puts it here (never drift, never repaired) · ' +
  '<b>foreign</b>: another protocol in the table, never touched.</p>';

/** CSS class and words for the overall state. */
function stateOf(report: Report): readonly [string, string] {
  if (report.sources.kernel !== 'ok' || report.sources.kubernetes !== 'ok') return ['unknown', 'cannot compare'];
  return report.inSync ? ['ok', 'in sync'] : ['drift', 'drift'];
}

/** One line on repair: off, dry-run or on; the grace countdown; a guard holding it back; the last repair and its result. */
function repairSection(status: StatusExtras): string {
  const r = status.repair;
  const parts: string[] = [];
  if (r.mode === 'off') parts.push('<b class="mode off">off</b> (detection only; --remediate turns it on)');
  else parts.push(`<b class="mode ${r.mode}">${r.mode === 'on' ? 'on' : 'dry-run'}</b> · ${esc(r.strategy)} · grace ${esc(formatAge(r.graceMs))}`);
  if (r.mode !== 'off') {
    if (r.repairableAt !== null) {
      parts.push(
        `<span class="countdown" data-repairable-at="${esc(isoSeconds(r.repairableAt))}">${r.mode === 'on' ? 'repair' : 'dry run'} in ${esc(formatAge(r.repairableAt - status.now))} if the drift persists</span>`,
      );
    }
    if (r.blocked !== null) parts.push(`<span class="blocked">held back (${esc(r.blocked.reason)}): ${esc(r.blocked.message)}</span>`);
    const last = r.last;
    parts.push(
      last === null
        ? '<span class="last">no repair yet</span>'
        : `<span class="last ${esc(last.result)}" data-result="${esc(last.result)}">last ${last.result === 'dry-run' ? 'plan (dry run)' : 'repair'} ${esc(formatAge(status.now - last.at))} ago (${esc(isoSeconds(last.at))}): ` +
            `<b>${esc(last.result)}</b>, ${last.added} added, ${last.deleted} deleted${last.failures ? `, ${last.failures} failed` : ''}</span>`,
    );
  }
  return `<div class="src repair" id="repair">repair: ${parts.join(' · ')}</div>`;
}

/** kube-vip as routewarden sees it: the instances found, their state, and settings that disagree. */
function kubeVipSection(report: Report): string {
  const kv = report.kubeVip;
  if (!kv) return '';
  const mismatch = kv.mismatches.length
    ? `<p class="reason">routewarden's flags differ from kube-vip's effective value for: ${kv.mismatches.map(esc).join(', ')}</p>`
    : '';
  const rows = kv.instances
    .map((i) => {
      const state = i.terminating ? 'terminating' : i.ready ? 'ready' : 'not ready';
      const judged = i.included ? 'judged' : `not judged: ${i.excludedBecause ?? ''}`;
      const version = i.version ? `${i.version.judgedAs}${i.version.known ? '' : ` (${i.version.detail})`}` : '-';
      return `<tr><td>${esc(i.pod)}</td><td>${esc(state)}</td><td>${esc(version)}</td><td>${esc(i.startedAt ?? '-')}</td><td>${i.restarts}</td><td class="reason">${esc(judged)}</td></tr>`;
    })
    .join('');
  const table = kv.instances.length
    ? `<div class="wrap"><table id="kube-vip"><thead><tr><th>Pod</th><th>State</th><th>Version</th><th>Started</th><th>Restarts</th><th>Routes</th></tr></thead><tbody>${rows}</tbody></table></div>`
    : '';
  return `<h2>kube-vip</h2><p class="reason">${esc(kv.message)} (--kube-vip-config ${esc(kv.mode)})</p>${mismatch}${table}`;
}

export function renderStatusPage(report: Report | null, opts: StatusPageOptions): string {
  const head =
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<meta http-equiv="refresh" content="${opts.refreshSeconds}">` +
    // The state first, so that a browser tab shows it.
    `<title>${report ? `${esc(stateOf(report)[1])} · routewarden — ${esc(report.node)}` : 'routewarden'}</title><style>${CSS}</style></head><body>`;
  const banner = opts.banner ? `<p class="banner">${esc(opts.banner)}</p>` : '';
  if (!report) {
    return (
      `${head}<header><h1>routewarden</h1><div class="meta">v${esc(opts.version)}</div></header>` +
      `<main>${banner}<p><span class="state unknown">waiting</span> no check has finished yet.</p><p class="meta">${LINKS.slice(3)}</p></main></body></html>`
    );
  }
  const compared = report.sources.kernel === 'ok' && report.sources.kubernetes === 'ok';
  const state = stateOf(report);
  const c = report.counts;
  // A count that depends on a side that cannot be read is unknown, not 0.
  const kernelOk = report.sources.kernel === 'ok';
  const kubeOk = report.sources.kubernetes === 'ok';
  const card = (label: string, n: number, known: boolean, bad = false) =>
    known
      ? `<div class="card${bad && n > 0 ? ' bad' : ''}"><span>${label}</span><b data-count="${label}">${n}</b></div>`
      : `<div class="card unknown"><span>${label}</span><b data-count="${label}" title="cannot be read">—</b></div>`;
  const sources = (['kernel', 'kubernetes'] as const)
    .map(
      (s) =>
        `<div class="src">${s}: <span class="${esc(report.sources[s])}">${esc(report.sources[s])}</span>${report.errors[s] ? ` <span class="reason">${esc(report.errors[s])}</span>` : ''}</div>`,
    )
    .join('');
  const notes = details(report);
  const rows = report.routes.length
    ? report.routes.map((r) => row(r, r.verdict === 'ok' ? undefined : notes.get(`${r.verdict} ${r.destination}`), opts.status)).join('')
    : `<tr><td colspan="5" class="reason">${compared ? 'no routes expected and none in the table' : 'not compared: a source is not ok'}</td></tr>`;
  const unjudged = report.unjudged ?? [];
  const reasons = [...new Set(unjudged.map((u) => u.reason))].sort();
  const notJudged = unjudged.length
    ? `<h2>Not judged</h2><p class="reason" id="not-judged">${unjudged.length} route${unjudged.length > 1 ? 's' : ''} not judged (${reasons.map(esc).join(', ')}): routewarden cannot know whether kube-vip puts them here; never drift, never repaired.</p>` +
      `<div class="wrap"><table><thead><tr><th>Route or address</th><th>In table</th><th>Why</th><th>Services</th></tr></thead><tbody>` +
      unjudged
        .map(
          (u) =>
            `<tr><td class="dst">${esc(u.destination ?? u.address ?? '(unknown)')}</td><td>${u.inKernel ? 'yes' : 'no'}</td><td>${esc(u.reason)}<div class="reason">${esc(u.detail)}</div></td><td>${u.services.map(esc).join('<br>')}</td></tr>`,
        )
        .join('') +
      `</tbody></table></div>`
    : '';
  const excluded = report.excluded.length
    ? `<h2>Not installable</h2><p class="reason">VIPs kube-vip cannot install (judged: no node gets their route).</p>` +
      `<div class="wrap"><table><thead><tr><th>Service</th><th>Address</th><th>Why</th></tr></thead><tbody>` +
      report.excluded.map((e) => `<tr><td>${esc(e.service)}</td><td class="dst">${esc(e.address || '(none)')}</td><td>${esc(e.reason)}</td></tr>`).join('') +
      `</tbody></table></div>`
    : '';
  return (
    `${head}<header><h1>routewarden <span class="state ${state[0]}" id="state">${state[1]}</span></h1>` +
    `<div class="meta">node <b>${esc(report.node)}</b> · table ${report.table} · protocol ${report.protocol} · checked ${esc(report.checkedAt)} · refreshes every ${opts.refreshSeconds}s · v${esc(opts.version)}${opts.ready ? '' : ' · not ready'}${LINKS}</div></header>` +
    `<main>${banner}${sources}${opts.status ? repairSection(opts.status) : ''}<div class="cards">${card('expected', c.expected, kubeOk)}${card('kernel', c.kernel, kernelOk)}${card('orphan', c.orphan, compared, true)}${card('missing', c.missing, compared, true)}${card('foreign', c.foreign, kernelOk)}${card('not judged', c.unjudged ?? 0, compared)}</div>` +
    `<div class="wrap"><table id="routes"><thead><tr><th>Destination</th><th class="fam">Family</th><th>Device</th><th>Verdict</th><th class="svc">Services</th></tr></thead><tbody>${rows}</tbody></table></div>${LEGEND}` +
    `${notJudged}${excluded}${kubeVipSection(report)}</main></body></html>`
  );
}
