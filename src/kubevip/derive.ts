// kube-vip's effective configuration, derived from its pod spec exactly as
// kube-vip derives it (docs/kube-vip-routing.md §9; E19). Pure: a PodInfo and a
// container come in, typed knobs with their provenance go out.
//
// kube-vip's rules, and where they come from:
// - env > flag (explicit or default) > config file. `ParseEnvironment` runs
//   after cobra parsed the flags and overwrites them; the config file
//   (`--config-file` only, config-file.ts) fills the fields `mergeConfigValues`
//   lists while they are still at their zero value after the flags.
// - An env var counts only when non-empty (`os.Getenv(x) != ""`), except
//   `lb_class_name`, read with `LookupEnv` so it can be set to "".
// - `svc_election`, `lb_class_only`, `lb_class_name`, `lb_class_legacy_handling`,
//   `svc_namespace` and `svc_leasename` are read from env only inside the
//   `if svc_enable env != ""` block: with `--services` as a flag they are ignored.
// - Booleans parse with Go's strconv.ParseBool; integers with ParseInt. A value
//   that does not parse makes ParseEnvironment return an error: kube-vip exits.
// - `vip_routingprotocol=0` becomes 1 ("Change RTN_UNSPEC to default type").
// - Unknown names (`vip_routingtableprotocol`, `vip_cidr`,
//   `enable_endpointslices`) and `debounce_time` are never read.

import type { ContainerInfo, EnvVarInfo, PodInfo } from '../core/cluster.ts';
import { parseGoBool } from '../core/model.ts';

export type KnobKey =
  | 'routingTable'
  | 'tableId'
  | 'tableType'
  | 'protocol'
  | 'services'
  | 'controlPlane'
  | 'kubernetesAddr'
  | 'svcNamespace'
  | 'svcElection'
  | 'leaderElection'
  | 'svcLeaseName'
  | 'cpNamespace'
  | 'leaseDuration'
  | 'renewDeadline'
  | 'retryPeriod'
  | 'leaderElectionType'
  | 'onDemand'
  | 'nodeName'
  | 'lbClassOnly'
  | 'lbClassName'
  | 'lbClassLegacy'
  | 'enableEndpoints'
  | 'interface'
  | 'servicesInterface'
  | 'vipSubnet'
  | 'address'
  | 'vip'
  | 'cleanRoutingTable'
  | 'arp'
  | 'bgp'
  | 'wireguard'
  | 'configFile';

type KnobType = 'bool' | 'int' | 'string';
export type KnobValue = string | number | boolean;

interface Knob {
  readonly key: KnobKey;
  /** Env var name; none for flag-only knobs. */
  readonly env?: string;
  /** Long flag names (pflag), and a one-letter shorthand where kube-vip has one. */
  readonly flags: readonly string[];
  readonly type: KnobType;
  readonly def: KnobValue;
  /** Read from env only when `svc_enable` is set as an env var. */
  readonly svcGated?: true;
  /** Read with LookupEnv: an empty value counts. */
  readonly emptyCounts?: true;
}

/** The knobs that change kube-vip's routes (docs/kube-vip-routing.md §9), with kube-vip's flag defaults. */
export const KNOBS: readonly Knob[] = [
  { key: 'routingTable', env: 'vip_routingtable', flags: ['table'], type: 'bool', def: false },
  { key: 'tableId', env: 'vip_routingtableid', flags: ['tableID'], type: 'int', def: 198 },
  { key: 'tableType', env: 'vip_routingtabletype', flags: ['tableType'], type: 'int', def: 1 },
  { key: 'protocol', env: 'vip_routingprotocol', flags: ['routingProtocol'], type: 'int', def: 248 },
  { key: 'services', env: 'svc_enable', flags: ['services'], type: 'bool', def: false },
  { key: 'controlPlane', env: 'cp_enable', flags: ['controlplane'], type: 'bool', def: false },
  { key: 'kubernetesAddr', env: 'kubernetes_addr', flags: [], type: 'string', def: '' },
  { key: 'svcNamespace', env: 'svc_namespace', flags: [], type: 'string', def: '', svcGated: true },
  { key: 'svcElection', env: 'svc_election', flags: ['servicesElection'], type: 'bool', def: false, svcGated: true },
  { key: 'leaderElection', env: 'vip_leaderelection', flags: ['leaderElection'], type: 'bool', def: false },
  { key: 'svcLeaseName', env: 'svc_leasename', flags: ['servicesLeaseName'], type: 'string', def: 'plndr-svcs-lock', svcGated: true },
  { key: 'cpNamespace', env: 'cp_namespace', flags: ['namespace', 'n'], type: 'string', def: 'kube-system' },
  { key: 'leaseDuration', env: 'vip_leaseduration', flags: ['leaseDuration'], type: 'int', def: 15 },
  { key: 'renewDeadline', env: 'vip_renewdeadline', flags: ['leaseRenewDuration'], type: 'int', def: 10 },
  { key: 'retryPeriod', env: 'vip_retryperiod', flags: ['leaseRetry'], type: 'int', def: 2 },
  { key: 'leaderElectionType', flags: ['leaderElectionType'], type: 'string', def: 'kubernetes' },
  { key: 'onDemand', env: 'per_service_election_on_demand', flags: ['perServiceElectionOnDemand'], type: 'bool', def: false },
  { key: 'nodeName', env: 'vip_nodename', flags: ['nodeName'], type: 'string', def: '' },
  { key: 'lbClassOnly', env: 'lb_class_only', flags: ['lbClassOnly'], type: 'bool', def: false, svcGated: true },
  { key: 'lbClassName', env: 'lb_class_name', flags: ['lbClassName'], type: 'string', def: 'kube-vip.io/kube-vip-class', svcGated: true, emptyCounts: true },
  { key: 'lbClassLegacy', env: 'lb_class_legacy_handling', flags: ['lbClassNameLegacyHandling'], type: 'bool', def: true, svcGated: true },
  { key: 'enableEndpoints', env: 'enable_endpoints', flags: ['enableEndpoints'], type: 'bool', def: false },
  { key: 'interface', env: 'vip_interface', flags: ['interface'], type: 'string', def: '' },
  { key: 'servicesInterface', env: 'vip_servicesinterface', flags: ['serviceInterface'], type: 'string', def: '' },
  { key: 'vipSubnet', env: 'vip_subnet', flags: ['vipSubnet'], type: 'string', def: '' },
  { key: 'address', env: 'address', flags: ['address'], type: 'string', def: '' },
  { key: 'vip', env: 'vip_address', flags: ['vip'], type: 'string', def: '' },
  { key: 'cleanRoutingTable', env: 'vip_cleanroutingtable', flags: ['cleanRoutingTable'], type: 'bool', def: false },
  { key: 'arp', env: 'vip_arp', flags: ['arp'], type: 'bool', def: false },
  { key: 'bgp', env: 'bgp_enable', flags: ['bgp'], type: 'bool', def: false },
  { key: 'wireguard', env: 'vip_wireguard', flags: [], type: 'bool', def: false },
  // The env config_file is read by ParseEnvironment, after the file was loaded: it loads nothing.
  { key: 'configFile', flags: ['config-file'], type: 'string', def: '' },
];

/** Names people set that kube-vip never reads (E19), with what they probably meant. */
const IGNORED_ENV: Readonly<Record<string, string>> = {
  vip_routingtableprotocol: 'not a kube-vip setting (vip_routingprotocol is)',
  vip_cidr: 'not a kube-vip setting (vip_subnet is)',
  enable_endpointslices: 'removed in kube-vip v1.0.0 (EndpointSlices are the default)',
  debounce_time: 'declared but never read from env (only --debounceTime)',
  config_file: 'read by ParseEnvironment after kube-vip loaded its config file: it loads nothing (only --config-file does)',
};

/** Where a knob's value came from. */
export type Provenance =
  | { readonly kind: 'env'; readonly name: string; readonly fieldRef?: string }
  | { readonly kind: 'flag'; readonly flag: string }
  | { readonly kind: 'config-file'; readonly path: string; readonly key: string; readonly origin: string }
  | { readonly kind: 'kube-vip-default' };

/** What routewarden learnt of kube-vip's `--config-file` (config-file.ts). */
export type ConfigFileRead =
  /** The values mergeConfigValues would copy, by knob, with the file's key; `origin` says where the file came from. */
  | { readonly values: ReadonlyMap<KnobKey, { readonly value: KnobValue; readonly key: string }>; readonly origin: string; readonly notes: readonly string[] }
  /** The file cannot be read (hostPath, not a ConfigMap, RBAC, a key missing, written after kube-vip started). */
  | { readonly notVisible: string }
  /** kube-vip fails loading it and does not start. */
  | { readonly refused: string };

export type KnobResult =
  | { readonly value: KnobValue; readonly from: Provenance }
  /** The value comes from something routewarden cannot see (a Secret, a ConfigMap, status.podIP…). */
  | { readonly unresolved: string; readonly from: Provenance };

export interface Derivation {
  readonly knobs: Readonly<Record<KnobKey, KnobResult>>;
  /** Why kube-vip would refuse to start with this configuration; null when it starts. */
  readonly fatal: string | null;
  /** Things an operator should know: ignored names, unresolved values, quirks that applied. */
  readonly notes: readonly string[];
  /** `--config-file` and what was learnt of it; null without one. */
  readonly configFile: { readonly path: string; readonly read: ConfigFileRead } | null;
}

const goBool = parseGoBool;

const goInt = (s: string): number | null => (/^[+-]?\d+$/.test(s) ? Number(s) : null);

function parseValue(type: KnobType, text: string): KnobValue | null {
  if (type === 'bool') return goBool(text);
  if (type === 'int') return goInt(text);
  return text;
}

/** What an env entry resolves to in the container, or why it cannot be known. */
type EnvValue = { value: string; fieldRef?: string } | { unresolved: string };

/** Downward-API fields routewarden can resolve from the pod object itself. */
function fieldRefValue(pod: PodInfo, path: string): string | null {
  switch (path) {
    case 'spec.nodeName':
      return pod.nodeName;
    case 'metadata.name':
      return pod.name;
    case 'metadata.namespace':
      return pod.namespace;
    case 'metadata.uid':
      return pod.uid;
    default:
      return null;
  }
}

/**
 * Kubernetes' `$(VAR)` expansion in env values and args: references to env
 * vars defined earlier in the container are replaced, `$$` escapes, unknown
 * references stay as written.
 */
export function expandRefs(text: string, env: ReadonlyMap<string, EnvValue>): string | { unresolved: string } {
  let unresolved: string | null = null;
  const out = text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    const v = env.get(name!);
    if (v === undefined) return m;
    if ('unresolved' in v) {
      unresolved = v.unresolved;
      return m;
    }
    return v.value;
  });
  return unresolved !== null ? { unresolved } : out;
}

/** The container's environment as kube-vip's process sees it; the last entry of a name wins. */
export function containerEnv(pod: PodInfo, container: ContainerInfo): Map<string, EnvValue> {
  const env = new Map<string, EnvValue>();
  for (const e of container.env) env.set(e.name, resolveEnv(pod, e, env));
  return env;
}

function resolveEnv(pod: PodInfo, e: EnvVarInfo, earlier: ReadonlyMap<string, EnvValue>): EnvValue {
  if (e.fieldRef !== undefined) {
    const v = fieldRefValue(pod, e.fieldRef);
    return v === null ? { unresolved: `valueFrom.fieldRef ${e.fieldRef}` } : { value: v, fieldRef: e.fieldRef };
  }
  if (e.valueFromKind !== undefined) return { unresolved: `valueFrom.${e.valueFromKind}` };
  const expanded = expandRefs(e.value ?? '', earlier);
  return typeof expanded === 'string' ? { value: expanded } : expanded;
}

/**
 * pflag's view of the command line: `--name=value`, `--name value` (non-bool),
 * `--name` alone (bool true), `-n value`, `-nvalue`; `--` ends the flags.
 * Unknown flags are skipped (kube-vip would refuse them; that is its log's job).
 */
export function parseFlags(tokens: readonly string[]): Map<string, string> {
  const byName = new Map<string, Knob>();
  for (const k of KNOBS) for (const f of k.flags) byName.set(f, k);
  const out = new Map<string, string>();
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === '--') break;
    let name: string;
    let value: string | undefined;
    if (t.startsWith('--')) {
      const eq = t.indexOf('=');
      name = eq >= 0 ? t.slice(2, eq) : t.slice(2);
      value = eq >= 0 ? t.slice(eq + 1) : undefined;
    } else if (t.startsWith('-') && t.length > 1) {
      name = t[1]!;
      const rest = t.slice(2);
      value = rest === '' ? undefined : rest.startsWith('=') ? rest.slice(1) : rest;
    } else {
      continue; // a positional: the `manager` subcommand
    }
    const knob = byName.get(name);
    if (value === undefined && knob?.type !== 'bool') {
      const next = tokens[i + 1];
      if (next !== undefined && (knob !== undefined || !next.startsWith('-'))) {
        value = next;
        i++;
      }
    }
    if (knob) out.set(knob.flags[0]!, value ?? 'true');
  }
  return out;
}

/** Command and args as the kube-vip binary receives them (the image entrypoint is kube-vip itself). */
function argv(container: ContainerInfo): string[] {
  return container.command.length > 0 ? [...container.command.slice(1), ...container.args] : [...container.args];
}

/**
 * Derives every knob of one kube-vip container, following kube-vip's own
 * order: flags, then the config file into what is still zero, then env.
 * `readConfigFile` reads `--config-file` (absent: not visible).
 */
export function deriveKnobs(pod: PodInfo, container: ContainerInfo, readConfigFile?: (path: string) => ConfigFileRead): Derivation {
  const notes: string[] = [];
  let fatal: string | null = null;
  let envFatal: string | null = null;
  const env = containerEnv(pod, container);
  const expandedArgs: string[] = [];
  for (const a of argv(container)) {
    const x = expandRefs(a, env);
    if (typeof x === 'string') expandedArgs.push(x);
    else {
      notes.push(`argument ${JSON.stringify(a)} refers to ${x.unresolved}: not resolved, ignored`);
    }
  }
  const flags = parseFlags(expandedArgs);
  const svcEnableAsEnv = hasEnv(env, 'svc_enable', false);
  const filePath = flags.get('config-file') ?? '';
  const configFile =
    filePath === '' ? null : { path: filePath, read: readConfigFile ? readConfigFile(filePath) : { notVisible: `config file ${filePath}: not read` } };
  const fileValues = configFile !== null && 'values' in configFile.read ? configFile.read : null;

  const knobs = {} as Record<KnobKey, KnobResult>;
  for (const k of KNOBS) {
    const flagName = k.flags[0];
    const fromFlag = flagName !== undefined ? flags.get(flagName) : undefined;
    let result: KnobResult = { value: k.def, from: { kind: 'kube-vip-default' } };
    if (fromFlag !== undefined) {
      const v = parseValue(k.type, fromFlag);
      if (v === null) fatal ??= `flag --${flagName}=${fromFlag} is not a valid ${k.type}: kube-vip refuses to start`;
      else result = { value: v, from: { kind: 'flag', flag: `--${flagName}` } };
    }
    const fromFile = fileValues?.values.get(k.key);
    if (fromFile !== undefined && 'value' in result && isZero(result.value) && !isZero(fromFile.value)) {
      result = { value: fromFile.value, from: { kind: 'config-file', path: filePath, key: fromFile.key, origin: fileValues!.origin } };
    }
    const e = k.env !== undefined ? env.get(k.env) : undefined;
    if (k.env !== undefined && e !== undefined) {
      const present = 'unresolved' in e || e.value !== '' || k.emptyCounts === true;
      if (present && k.svcGated && !svcEnableAsEnv) {
        notes.push(`env ${k.env} is ignored by kube-vip: svc_enable is not set as an env var (E19)`);
      } else if (present) {
        const from: Provenance = { kind: 'env', name: k.env, ...('fieldRef' in e && e.fieldRef ? { fieldRef: e.fieldRef } : {}) };
        if ('unresolved' in e) {
          result = { unresolved: e.unresolved, from };
          notes.push(`env ${k.env} comes from ${e.unresolved}: routewarden cannot resolve it and does not guess`);
        } else {
          const v = parseValue(k.type, e.value);
          if (v === null) envFatal ??= `env ${k.env}=${JSON.stringify(e.value)} is not a valid ${k.type}: kube-vip refuses to start`;
          else result = { value: v, from };
        }
      }
    }
    knobs[k.key] = result;
  }

  // cobra's flag errors first, then the config file (loaded before ParseEnvironment), then env.
  fatal ??= configFile !== null && 'refused' in configFile.read ? configFile.read.refused : envFatal;
  for (const [name, why] of Object.entries(IGNORED_ENV)) {
    if (env.has(name)) notes.push(`env ${name} is ignored by kube-vip: ${why}`);
  }
  if (container.envFrom.length > 0) {
    notes.push(`envFrom ${container.envFrom.join(', ')}: values not visible to routewarden; settings they set are shown as kube-vip defaults`);
  }
  if (configFile !== null) {
    const r = configFile.read;
    if ('values' in r) notes.push(`config file ${filePath} read from ${r.origin}: kube-vip fills the settings still zero after its flags from it`, ...r.notes);
    else if ('notVisible' in r) notes.push(r.notVisible);
  }
  const tableId = knobs.tableId;
  if ('value' in tableId && typeof tableId.value === 'number' && tableId.value < 0)
    fatal ??= `table id ${tableId.value} is negative: kube-vip refuses to start`;
  return { knobs, fatal, notes, configFile };
}

/** Go's zero value of a setting, the one mergeConfigValues tests for: what kube-vip treats as unset. */
export const isZero = (v: KnobValue): boolean => v === '' || v === 0 || v === false;

function hasEnv(env: ReadonlyMap<string, EnvValue>, name: string, emptyCounts: boolean): boolean {
  const e = env.get(name);
  if (e === undefined) return false;
  return 'unresolved' in e || e.value !== '' || emptyCounts;
}

/** One line for a provenance, as the report shows it. */
export function describeProvenance(p: Provenance, pod: string): string {
  switch (p.kind) {
    case 'env':
      return p.fieldRef ? `env ${p.name} (fieldRef ${p.fieldRef}) of pod ${pod}` : `env ${p.name} of pod ${pod}`;
    case 'flag':
      return `flag ${p.flag} of pod ${pod}`;
    case 'config-file':
      return `config file ${p.path} key ${p.key} (${p.origin}) of pod ${pod}`;
    case 'kube-vip-default':
      return 'kube-vip default';
  }
}
