// The flag reference of docs/configuration.md, generated from OPTIONS so the
// doc cannot drift from the CLI (a test compares the committed file).

import { OPTIONS, envName } from './options.ts';

const KUBE_VIP: Record<string, string> = {
  'node-name': 'vip_nodename',
  table: 'vip_routingtableid',
  protocol: 'vip_routingprotocol',
  'route-type': 'vip_routingtabletype',
  election: 'svc_election / vip_leaderelection',
  services: 'svc_enable',
  'services-namespace': 'svc_namespace',
  'lease-name': 'svc_leasename',
  'lease-namespace': 'cp_namespace',
  'per-service-election-on-demand': 'per_service_election_on_demand',
  'lb-class-name': 'lb_class_name',
  'lb-class-only': 'lb_class_only',
  'lb-class-legacy-handling': 'lb_class_legacy_handling',
  interface: 'vip_interface',
  'services-interface': 'vip_servicesinterface',
  'vip-subnet': 'vip_subnet',
  'control-plane': 'cp_enable',
  'control-plane-address': 'address',
};

export const BEGIN = '<!-- BEGIN GENERATED: flags (npm run gen) -->';
export const END = '<!-- END GENERATED: flags -->';

export function renderOptionsTable(): string {
  const esc = (s: string) => s.replaceAll('|', '\\|');
  const rows = OPTIONS.map((o) => {
    const def = o.default === undefined ? '(derived)' : o.default === '' ? '""' : `\`${o.default}\``;
    const kind = o.kind === 'enum' ? o.choices!.map((c) => `\`${c}\``).join(' \\| ') : o.kind === 'integer' ? `integer ${o.min}–${o.max}` : o.kind;
    return `| \`--${o.flag}\` | \`${envName(o.flag)}\` | ${def} | ${kind} | ${KUBE_VIP[o.flag] ? `\`${KUBE_VIP[o.flag]}\`` : ''} | ${o.commands.join(', ')} | ${esc(o.description)} |`;
  });
  return [BEGIN, '| flag | environment | default | values | kube-vip setting | commands | meaning |', '|---|---|---|---|---|---|---|', ...rows, END].join('\n');
}

/** Replace the generated block of a document. */
export function withOptionsTable(doc: string): string {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < 0) throw new Error('docs/configuration.md lacks the generated-flags markers');
  return doc.slice(0, start) + renderOptionsTable() + doc.slice(end + END.length);
}
