// Every routewarden flag, once. commander, the ROUTEWARDEN_* environment, the
// zod schema that validates them and the Config type (src/cli/config.ts),
// --help, docs/configuration.md and the deploy manifests' check all read this
// table, so a flag cannot exist in one place and not another, and its default
// is written here only.

export type OptionKind = 'string' | 'integer' | 'boolean' | 'duration' | 'enum';

/**
 * What a string option must look like (the schemas are in config.ts). `text`
 * is any single line; the others are checked for what they name.
 */
export type StringFormat =
  | 'text'
  | 'node-name'
  | 'path'
  | 'listen'
  | 'label-selector'
  | 'namespace'
  | 'namespace-or-all'
  | 'lease'
  | 'interface'
  | 'interface-or-auto'
  | 'vip-subnet'
  | 'addresses'
  | 'lb-class';

export interface OptionDef {
  /** Flag name without dashes, e.g. "node-name". */
  readonly flag: string;
  readonly kind: OptionKind;
  readonly description: string;
  /** Default as the user would type it; undefined = no default (derived at load). */
  readonly default?: string;
  readonly choices?: readonly string[];
  /** Integer bounds, inclusive. */
  readonly min?: number;
  readonly max?: number;
  /** Durations: the shortest accepted, as typed (e.g. "1s"). */
  readonly atLeast?: string;
  /** Strings: what the value must be (`text` when absent). */
  readonly format?: StringFormat;
  /** Which commands take it. */
  readonly commands: readonly ('run' | 'check' | 'demo')[];
}

const ALL = ['run', 'check', 'demo'] as const;
const DETECT = ['run', 'check'] as const;

const TABLE = [
  {
    flag: 'node-name',
    kind: 'string',
    format: 'node-name',
    description: "the node this instance checks; kube-vip's identity on it (default: NODE_NAME, else the hostname, lowercased)",
    commands: DETECT,
  },
  {
    flag: 'kubeconfig',
    kind: 'string',
    format: 'path',
    description: 'kubeconfig path (default: KUBECONFIG, else in-cluster, else ~/.kube/config)',
    commands: DETECT,
  },
  { flag: 'table', kind: 'integer', default: '198', min: 1, max: 4294967295, description: "kube-vip's routing table (vip_routingtableid)", commands: ALL },
  { flag: 'protocol', kind: 'integer', default: '248', min: 1, max: 255, description: "kube-vip's route protocol tag (vip_routingprotocol)", commands: ALL },
  {
    flag: 'route-type',
    kind: 'integer',
    default: '1',
    min: 1,
    max: 11,
    description: "kube-vip's route type (vip_routingtabletype; 1 = unicast)",
    commands: DETECT,
  },
  {
    flag: 'interval',
    kind: 'duration',
    default: '30s',
    atLeast: '1s',
    description: 'full re-check period (events trigger checks in between)',
    commands: ['run', 'demo'],
  },
  {
    flag: 'listen',
    kind: 'string',
    format: 'listen',
    default: ':9798',
    description: 'HTTP address for /metrics, /healthz, /readyz, /drift and /',
    commands: ['run', 'demo'],
  },
  {
    flag: 'web-config-file',
    kind: 'string',
    format: 'path',
    description:
      "exporter-toolkit web configuration file (node_exporter's --web.config.file): TLS, client certificates, basic auth, headers; re-read when it or its certificates change (default: none, plain HTTP without authentication)",
    commands: ['run'],
  },
  {
    flag: 'web-disable-status',
    kind: 'boolean',
    default: 'false',
    description: 'serve only /metrics, /healthz and /readyz: no /drift and no status page',
    commands: ['run'],
  },
  {
    flag: 'remediate',
    kind: 'boolean',
    default: 'false',
    description: 'turn automatic repair on (check: only this flag on its command line; check ignores ROUTEWARDEN_REMEDIATE)',
    commands: DETECT,
  },
  { flag: 'strategy', kind: 'enum', default: 'flush-rebuild', choices: ['flush-rebuild', 'surgical'], description: 'repair strategy', commands: DETECT },
  { flag: 'dry-run', kind: 'boolean', default: 'false', description: 'with --remediate: log and count the plan, change nothing', commands: DETECT },
  {
    flag: 'grace',
    kind: 'duration',
    default: '60s',
    description: 'drift must persist this long before run repairs it (check: how long to wait)',
    commands: DETECT,
  },
  {
    flag: 'max-deletions',
    kind: 'integer',
    default: '100',
    min: 0,
    max: 1_000_000,
    description: 'a repair that would delete more routes is refused',
    commands: DETECT,
  },
  { flag: 'allow-empty', kind: 'boolean', default: 'false', description: 'allow a repair that empties the table (expected set empty)', commands: DETECT },
  { flag: 'min-repair-interval', kind: 'duration', default: '30s', description: 'at most one repair per interval', commands: DETECT },
  {
    flag: 'allow-system-table',
    kind: 'boolean',
    default: 'false',
    description:
      "with --remediate: allow repairs when the table is one of the kernel's own, 253 (default), 254 (main) or 255 (local); without it such a --table is refused (exit 2)",
    commands: DETECT,
  },
  {
    flag: 'notification-buffer',
    kind: 'integer',
    default: '4194304',
    min: 4096,
    max: 1_073_741_824,
    description:
      'receive buffer asked for kernel route notifications, bytes (the kernel caps it at net.core.rmem_max; an overflow is detected, counted and followed by a full re-read)',
    commands: ['run'],
  },
  {
    flag: 'watch-idle-timeout',
    kind: 'duration',
    default: '90s',
    atLeast: '1s',
    description: 'a Kubernetes watch that delivers no event and no bookmark this long is dead: re-listed, and no repair meanwhile',
    commands: DETECT,
  },
  { flag: 'output', kind: 'enum', default: 'text', choices: ['text', 'json'], description: 'check only: report format', commands: ['check'] },
  {
    flag: 'kube-vip-config',
    kind: 'enum',
    default: 'auto',
    choices: ['auto', 'off'],
    description: "read kube-vip's effective settings from its pod on this node (auto; explicit flags still win), or use flags only (off)",
    commands: DETECT,
  },
  {
    flag: 'kube-vip-selector',
    kind: 'string',
    format: 'label-selector',
    default: '',
    description: 'label selector of the kube-vip pods on this node ("" = any pod with a kube-vip image)',
    commands: DETECT,
  },
  {
    flag: 'kube-vip-start-grace',
    kind: 'duration',
    default: '60s',
    description: 'missing routes are not actionable this long after the kube-vip container starts (plus 30s per LoadBalancer Service without an address)',
    commands: DETECT,
  },
  {
    flag: 'election',
    kind: 'enum',
    default: 'none',
    choices: ['none', 'service', 'global'],
    description: "kube-vip's placement mode: none, service (svc_election), global (vip_leaderelection)",
    commands: DETECT,
  },
  { flag: 'services', kind: 'boolean', default: 'true', description: 'kube-vip runs with svc_enable (service routes exist)', commands: DETECT },
  {
    flag: 'services-namespace',
    kind: 'string',
    format: 'namespace-or-all',
    default: '',
    description: 'svc_namespace: only Services in this namespace ("" = all)',
    commands: DETECT,
  },
  {
    flag: 'lease-name',
    kind: 'string',
    format: 'lease',
    default: 'plndr-svcs-lock',
    description: 'global services lease (svc_leasename), name or namespace/name',
    commands: DETECT,
  },
  {
    flag: 'lease-namespace',
    kind: 'string',
    format: 'namespace',
    default: 'kube-system',
    description: 'namespace of the global lease when --lease-name has none (cp_namespace)',
    commands: DETECT,
  },
  { flag: 'lease-skew', kind: 'duration', default: '2s', description: 'clock skew tolerated when judging whether a lease is still valid', commands: DETECT },
  { flag: 'per-service-election-on-demand', kind: 'boolean', default: 'false', description: 'per_service_election_on_demand (Mode D)', commands: DETECT },
  {
    flag: 'lb-class-name',
    kind: 'string',
    format: 'lb-class',
    default: 'kube-vip.io/kube-vip-class',
    description: 'lb_class_name (may be "")',
    commands: DETECT,
  },
  { flag: 'lb-class-only', kind: 'boolean', default: 'false', description: 'lb_class_only', commands: DETECT },
  { flag: 'lb-class-legacy-handling', kind: 'boolean', default: 'true', description: 'lb_class_legacy_handling', commands: DETECT },
  {
    flag: 'interface',
    kind: 'string',
    format: 'interface',
    default: 'lo',
    description: 'vip_interface: device of the CP route and the services fallback',
    commands: DETECT,
  },
  {
    flag: 'services-interface',
    kind: 'string',
    format: 'interface-or-auto',
    default: '',
    description: 'vip_servicesinterface ("" = unset, "auto" = by subnet)',
    commands: DETECT,
  },
  {
    flag: 'vip-subnet',
    kind: 'string',
    format: 'vip-subnet',
    default: '',
    description: 'vip_subnet as "v4[,v6]" prefix lengths ("" = 32/128)',
    commands: DETECT,
  },
  { flag: 'control-plane', kind: 'boolean', default: 'false', description: 'kube-vip runs with cp_enable on this node', commands: DETECT },
  {
    flag: 'control-plane-address',
    kind: 'string',
    format: 'addresses',
    default: '',
    description: 'the CP VIP(s), comma-separated (kube-vip `address`)',
    commands: DETECT,
  },
  {
    flag: 'log-level',
    kind: 'enum',
    default: 'info',
    choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    description: 'log level',
    commands: ALL,
  },
  {
    flag: 'log-format',
    kind: 'enum',
    default: 'json',
    choices: ['json', 'text'],
    description: 'log line format: json (one object a line, level names) or text (logfmt)',
    commands: ALL,
  },
] as const satisfies readonly OptionDef[];

/** The table's literal type: config.ts maps it to the Config type. */
export type OptionTable = typeof TABLE;
export const OPTIONS: readonly OptionDef[] = TABLE;

export { envName } from '../core/env-name.ts';

/** camelCase key of a flag, as commander and the config object use. */
export const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export function optionsFor(command: 'run' | 'check' | 'demo'): OptionDef[] {
  return OPTIONS.filter((o) => o.commands.includes(command));
}
