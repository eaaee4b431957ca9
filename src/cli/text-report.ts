// `check --output text`: a readable table of the report.

import type { Report } from '../core/report.ts';
import type { RepairOutcome } from '../app/repair.ts';
import type { Step } from '../core/repair.ts';

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

export function formatTextReport(report: Report, repair?: RepairOutcome): string {
  const lines: string[] = [];
  lines.push(`routewarden check: node ${report.node}, table ${report.table}, protocol ${report.protocol}, at ${report.checkedAt}`);
  lines.push(`sources: kernel ${report.sources.kernel}, kubernetes ${report.sources.kubernetes}`);
  for (const [side, msg] of Object.entries(report.errors)) lines.push(`  ${side}: ${msg}`);
  if (report.kubeVip) lines.push(...formatKubeVip(report.kubeVip));
  const c = report.counts;
  lines.push(
    `routes: expected ${c.expected}, kernel ${c.kernel}, orphan ${c.orphan}, missing ${c.missing}, foreign ${c.foreign} (never touched), not judged ${c.unjudged}`,
  );
  if (report.routes.length > 0) {
    lines.push('');
    const notes = new Map<string, string>();
    for (const d of [...report.orphans, ...report.missing]) {
      const note = d.transient ? `transient (${d.transient.window}) until ${d.transient.until}` : d.limitation ? `kube-vip limitation ${d.limitation.id}` : '';
      if (note) notes.set(`${d.destination} ${d.device ?? '-'}`, note);
    }
    const rows = [['VERDICT', 'DESTINATION', 'FAMILY', 'DEVICE', 'REASON', 'SERVICES', 'NOTE']];
    for (const r of report.routes) {
      const note = r.verdict === 'ok' ? '' : (notes.get(`${r.destination} ${r.device ?? '-'}`) ?? '');
      rows.push([r.verdict.toUpperCase(), r.destination, r.family, r.device ?? '-', r.reason ?? '', r.services.join(',') || '-', note]);
    }
    lines.push(table(rows));
  }
  for (const l of report.limitations) {
    lines.push('', `kube-vip limitation ${l.id}: ${l.text}${l.services ? ` (${l.services.join(', ')})` : ''}${l.destination ? ` (${l.destination})` : ''}`);
  }
  if (report.unjudged.length > 0) {
    lines.push(
      '',
      `not judged (never drift, never repaired): ${report.unjudged.map((u) => `${u.destination ?? u.address ?? '?'}${u.inKernel ? ' in table' : ''} (${u.reason}: ${u.detail})`).join('; ')}`,
    );
  }
  if (report.excluded.length > 0) {
    lines.push('', `not installable by kube-vip: ${report.excluded.map((e) => `${e.service} ${e.address || '(no address)'} (${e.reason})`).join('; ')}`);
  }
  if (report.rejected && report.rejected.length > 0) {
    lines.push('', `rejected (left out of the view): ${report.rejected.map((r) => `${r.kind} ${r.namespace}/${r.name} (${r.reason})`).join('; ')}`);
  }
  if (repair) lines.push('', ...formatRepair(repair));
  lines.push('');
  if (report.sources.kernel !== 'ok' || report.sources.kubernetes !== 'ok')
    lines.push('RESULT: could not check (no drift is reported from a view that is not ok)');
  else if (report.inSync) lines.push('RESULT: in sync');
  else lines.push(`RESULT: drift: ${c.orphan} orphan, ${c.missing} missing${c.transient ? ` (${c.transient} transient: not repaired yet)` : ''}`);
  return lines.join('\n') + '\n';
}

/** The effective kube-vip configuration and where each value came from. */
function formatKubeVip(kv: NonNullable<Report['kubeVip']>): string[] {
  const out = [`kube-vip (--kube-vip-config ${kv.mode}): ${kv.message}`];
  const settings = (s: Readonly<Record<string, { value: string; source: string; kubeVip?: { value: string; source: string } }>>, indent: string) => {
    for (const [name, v] of Object.entries(s)) {
      out.push(
        `${indent}${name} = ${JSON.stringify(v.value)}  (${v.source})${v.kubeVip ? `  MISMATCH: kube-vip uses ${JSON.stringify(v.kubeVip.value)} (${v.kubeVip.source})` : ''}`,
      );
    }
  };
  for (const i of kv.instances) {
    const state = i.terminating ? 'terminating' : i.ready ? 'ready' : 'not ready';
    out.push(
      `  pod ${i.pod} (container ${i.container}, ${state}, started ${i.startedAt ?? 'never'}, ${i.restarts} restarts)${i.included ? '' : `: not judged, ${i.excludedBecause ?? ''}`}`,
    );
    if (i.included) settings(i.settings, '    ');
    for (const n of i.notes) out.push(`    note: ${n}`);
  }
  if (kv.settings) settings(kv.settings, '  ');
  return out;
}

const stepLine = (s: Step): string => `${s.op} ${s.route.destination} dev ${s.route.device} (${s.why})`;

/** `check --remediate`: what was planned, what was done, what was refused and why. */
export function formatRepair(o: RepairOutcome): string[] {
  switch (o.kind) {
    case 'nothing-to-do':
      return ['REPAIR: nothing to do'];
    case 'blocked':
      return [`REPAIR REFUSED (${o.guard.reason}): ${o.guard.message}`, 'nothing was changed'];
    case 'dry-run':
      return [
        `REPAIR PLAN (--dry-run, nothing changed): ${o.plan.strategy}, ${o.plan.steps.length} steps`,
        ...o.plan.steps.map((s) => `  would ${stepLine(s)}`),
        ...o.plan.skipped.map((s) => `  left alone: ${s.destination} (${s.why})`),
      ];
    case 'dry-run-again':
      return ['REPAIR PLAN (--dry-run, nothing changed): the same as the last one'];
    case 'applied': {
      const failed = o.failures.length;
      return [
        `REPAIR DONE: ${o.plan.strategy}, ${o.added} added, ${o.deleted} deleted, ${failed} failed; table in sync afterwards: ${o.verified.report.inSync ? 'yes' : 'no'}`,
        ...o.plan.steps.map((s) => `  ${stepLine(s)}`),
        ...o.plan.skipped.map((s) => `  left alone: ${s.destination} (${s.why})`),
        ...o.failures.map((f) => `  failed: ${f}`),
      ];
    }
  }
}
