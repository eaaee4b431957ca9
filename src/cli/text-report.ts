// `check --output text`: a readable table of the report.

import type { Report } from '../core/report.ts';

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

export function formatTextReport(report: Report): string {
  const lines: string[] = [];
  lines.push(`routewarden check: node ${report.node}, table ${report.table}, protocol ${report.protocol}, at ${report.checkedAt}`);
  lines.push(`sources: kernel ${report.sources.kernel}, kubernetes ${report.sources.kubernetes}`);
  for (const [side, msg] of Object.entries(report.errors)) lines.push(`  ${side}: ${msg}`);
  const c = report.counts;
  lines.push(`routes: expected ${c.expected}, kernel ${c.kernel}, orphan ${c.orphan}, missing ${c.missing}, foreign ${c.foreign} (never touched)`);
  if (report.routes.length > 0) {
    lines.push('');
    const rows = [['VERDICT', 'DESTINATION', 'FAMILY', 'DEVICE', 'REASON', 'SERVICES']];
    for (const r of report.routes) {
      rows.push([r.verdict.toUpperCase(), r.destination, r.family, r.device ?? '-', r.reason ?? '', r.services.join(',') || '-']);
    }
    lines.push(table(rows));
  }
  if (report.excluded.length > 0) {
    lines.push('', `not judged: ${report.excluded.map((e) => `${e.service} ${e.address || '(no address)'} (${e.reason})`).join('; ')}`);
  }
  lines.push('');
  if (report.sources.kernel !== 'ok' || report.sources.kubernetes !== 'ok') lines.push('RESULT: could not check (no drift is reported from a view that is not ok)');
  else if (report.inSync) lines.push('RESULT: in sync');
  else lines.push(`RESULT: drift: ${c.orphan} orphan, ${c.missing} missing`);
  return lines.join('\n') + '\n';
}
