// kube-vip's `--config-file` (docs/kube-vip-routing.md §9): where the file
// comes from in the pod, and what kube-vip reads from it. Pure: the pod, the
// container, the path and the ConfigMaps routewarden watches come in; the
// values kube-vip merges, or why they cannot be known, go out.
//
// kube-vip's rules (pkg/kubevip/config_environment.go at bee5cfe):
// - `LoadConfigFromFile`: the extension decides, lowercased: `.json` is
//   encoding/json, `.yaml` / `.yml` is sigs.k8s.io/yaml, anything else an
//   error. A file that does not exist or does not parse is an error, and the
//   manager returns it ("loading config file"): kube-vip does not start.
// - sigs.k8s.io/yaml turns YAML into JSON and decodes that with encoding/json,
//   which reads **json** tags. kube-vip's Config has only `yaml` tags, so the
//   keys are the Go field names, matched case-insensitively (`vipSubnet`,
//   `nodeName`, `loadBalancerClassName`); the fields of the embedded
//   KubernetesLeaderElection sit at the top level (`leaseDuration`). Unknown
//   keys are ignored; a value of the wrong JSON type is an error.
// - `mergeConfigValues` (called by MergeConfigFromFile before
//   ParseEnvironment): a field is taken from the file only when it is still
//   at its zero value after the flags, and only for the fields it lists.
// - The file is read once, when kube-vip starts; only `--config-file` names it
//   (the env `config_file` is read by ParseEnvironment, after the load).

import type { ConfigMapView, ContainerInfo, PodInfo, VolumeInfo } from '../core/cluster.ts';
import { objectKey } from '../core/cluster.ts';
import { isMap, isScalar, parseDocument } from 'yaml';
import { isZero, type ConfigFileRead, type KnobKey, type KnobValue } from './derive.ts';

type GoKind = 'bool' | 'int' | 'uint' | 'string' | 'object' | 'array';

/** Config's fields (and the embedded KubernetesLeaderElection's), by JSON kind, as encoding/json decodes them. */
const GO_FIELDS: Readonly<Record<GoKind, readonly string[]>> = {
  bool: [
    'EnableARP',
    'EnableBGP',
    'BGPAttachIPToInterface',
    'EnableWireguard',
    'EnableRoutingTable',
    'EnableControlPlane',
    'DetectControlPlane',
    'EnableServices',
    'EnableServicesElection',
    'EnableNodeLabeling',
    'LoadBalancerClassOnly',
    'LoadBalancerClassLegacyHandling',
    'EnableServiceSecurity',
    'PreserveVIPOnLeadershipLoss',
    'LoseLeadership',
    'AddPeersAsBackends',
    'DDNS',
    'SingleNode',
    'StartAsLeader',
    'AllowInterfaceNotUp',
    'EnableLoadBalancer',
    'CleanRoutingTable',
    'SkipDAD',
    'EnableInternalSNAT',
    'EgressWithNftables',
    'IsDualStack',
    'RequireDualStack',
    'DisableServiceUpdates',
    'EnableEndpoints',
    'LoInterfaceGlobalScope',
    'EnableUPNP',
    'EgressClean',
    'PerServiceElectionOnDemand',
    'EnableLeaderElection',
  ],
  int: [
    'Logging',
    'ArpBroadcastRate',
    'LoseLeadershipTimeoutSeconds',
    'RoutingTableID',
    'RoutingTableType',
    'RoutingProtocol',
    'BackendHealthCheckInterval',
    'HealthCheckPort',
    'LeaseDuration',
    'RenewDeadline',
    'RetryPeriod',
  ],
  uint: ['Port', 'LoadBalancerPort', 'DHCPBackoffAttempts'],
  string: [
    'KubernetesAddr',
    'LoadBalancerClassName',
    'Annotations',
    'LeaderElectionType',
    'VIP',
    'VIPSubnet',
    'Address',
    'Namespace',
    'InstanceName',
    'ServiceNamespace',
    'NodeName',
    'Interface',
    'ServicesInterface',
    'LoadBalancerForwardingMethod',
    'PrometheusHTTPServer',
    'EgressPodCidr',
    'EgressServiceCidr',
    'ServicesLeaseName',
    'K8sConfigFile',
    'DNSMode',
    'DHCPMode',
    'MirrorDestInterface',
    'IptablesBackend',
    'ConfigFile',
    'DebounceTime',
    'LeaseName',
  ],
  object: ['Etcd', 'BGPConfig', 'BGPPeerConfig', 'ControlPlaneHealthCheck', 'LeaseAnnotations'],
  array: ['BGPPeers', 'LoadBalancers'],
};

/** Lowercased Go field name => [Go name, kind]. */
const BY_KEY: ReadonlyMap<string, readonly [string, GoKind]> = new Map(
  (Object.entries(GO_FIELDS) as [GoKind, readonly string[]][]).flatMap(([kind, names]) => names.map((n) => [n.toLowerCase(), [n, kind] as const])),
);

/** The knobs `mergeConfigValues` fills from the file (when still zero), by Go field. */
export const MERGED: Readonly<Partial<Record<KnobKey, string>>> = {
  interface: 'Interface',
  servicesInterface: 'ServicesInterface',
  vip: 'VIP',
  vipSubnet: 'VIPSubnet',
  address: 'Address',
  nodeName: 'NodeName',
  arp: 'EnableARP',
  bgp: 'EnableBGP',
  wireguard: 'EnableWireguard',
  routingTable: 'EnableRoutingTable',
  controlPlane: 'EnableControlPlane',
  services: 'EnableServices',
  svcElection: 'EnableServicesElection',
  cpNamespace: 'Namespace',
  svcNamespace: 'ServiceNamespace',
  svcLeaseName: 'ServicesLeaseName',
  lbClassName: 'LoadBalancerClassName',
  tableId: 'RoutingTableID',
  tableType: 'RoutingTableType',
  protocol: 'RoutingProtocol',
  leaseDuration: 'LeaseDuration',
  renewDeadline: 'RenewDeadline',
  retryPeriod: 'RetryPeriod',
};

/** Fields routewarden models that the file may hold but `mergeConfigValues` never copies. */
const NOT_MERGED: readonly string[] = [
  'KubernetesAddr',
  'EnableLeaderElection',
  'LeaderElectionType',
  'PerServiceElectionOnDemand',
  'LoadBalancerClassOnly',
  'LoadBalancerClassLegacyHandling',
  'EnableEndpoints',
  'CleanRoutingTable',
];

/** Config's `yaml` tags that are not its JSON names: kube-vip ignores these keys (sigs.k8s.io/yaml reads JSON names). */
const YAML_TAG_ONLY: Readonly<Record<string, string>> = {
  leasenodename: 'nodeName',
  lbclassonly: 'loadBalancerClassOnly',
  lbclassname: 'loadBalancerClassName',
  lbclassnamelegacyhandling: 'loadBalancerClassLegacyHandling',
  lbport: 'loadBalancerPort',
  lbforwardingmethod: 'loadBalancerForwardingMethod',
  dnsdualstackmode: 'dnsMode',
  dhcpdualstackmode: 'dhcpMode',
};

const INT_BITS: Readonly<Record<string, number>> = { Logging: 32, Port: 16, LoadBalancerPort: 16 };

/** The outcome of decoding the file as kube-vip does. */
export type DecodedConfig =
  /** Go field => value (string, number, boolean), zero values included. */
  | {
      readonly fields: ReadonlyMap<string, string | number | boolean>;
      /** Go field => the key as the file spells it. */
      readonly keys: ReadonlyMap<string, string>;
      readonly notes: readonly string[];
    }
  /** kube-vip would fail to load it (and exit). */
  | { readonly refused: string }
  /** A case whose outcome in kube-vip routewarden does not model. */
  | { readonly unknown: string };

type Raw = { value: unknown; source?: string };

/** Go's filepath.Ext, lowercased. */
function extOf(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot < 0 ? '' : base.slice(dot).toLowerCase();
}

/** Decodes `text` as kube-vip's LoadConfigFromFile would, from its file name `path`. */
export function decodeKubeVipConfig(path: string, text: string): DecodedConfig {
  const ext = extOf(path);
  let entries: [string, Raw][];
  let yaml = false;
  if (ext === '.json') {
    let root: unknown;
    try {
      // The reviver's third argument holds a primitive's source text (Node 24): Go decodes integers from it.
      const reviver = (_k: string, v: unknown, ctx?: { source?: string }): unknown => {
        if (typeof v === 'number' && ctx?.source !== undefined) return { __num: v, __src: ctx.source };
        return v;
      };
      root = JSON.parse(text, reviver as (this: unknown, key: string, value: unknown) => unknown);
    } catch (err) {
      return { refused: `failed to parse JSON config file ${path}: ${(err as Error).message}` };
    }
    if (root === null) return { fields: new Map(), keys: new Map(), notes: [] };
    if (typeof root !== 'object' || Array.isArray(root) || isNum(root))
      return { refused: `failed to parse JSON config file ${path}: not an object (cannot unmarshal into kubevip.Config)` };
    entries = Object.entries(root as Record<string, unknown>).map(([k, v]) => [k, isNum(v) ? { value: v.__num, source: v.__src } : { value: v }]);
  } else if (ext === '.yaml' || ext === '.yml') {
    yaml = true;
    // go-yaml (under sigs.k8s.io/yaml) is YAML 1.1: yes/no/on/off are booleans.
    const doc = parseDocument(text, { version: '1.1' });
    const dup = doc.errors.find((e) => e.code === 'DUPLICATE_KEY');
    if (dup) return { unknown: `config file ${path} repeats a key (${dup.message.split('\n')[0]})` };
    if (doc.errors.length > 0) {
      if (doc.errors.some((e) => e.message.includes('multiple documents'))) return { unknown: `config file ${path} holds several YAML documents` };
      return { refused: `failed to parse YAML config file ${path}: ${doc.errors[0]!.message.split('\n')[0]}` };
    }
    const root: unknown = doc.toJS();
    if (root === null || root === undefined) return { fields: new Map(), keys: new Map(), notes: [] };
    if (typeof root !== 'object' || Array.isArray(root))
      return { refused: `failed to parse YAML config file ${path}: not a mapping (cannot unmarshal into kubevip.Config)` };
    // Each top-level scalar's text as written: integers are checked on it.
    const written = new Map<string, string>();
    if (isMap(doc.contents))
      for (const item of doc.contents.items)
        if (isScalar(item.key) && isScalar(item.value) && typeof item.value.source === 'string') written.set(String(item.key.value), item.value.source);
    entries = Object.entries(root as Record<string, unknown>).map(([k, v]) => [k, { value: v, ...(written.has(k) ? { source: written.get(k)! } : {}) }]);
  } else {
    return { refused: `unsupported config file format ${ext}. Supported formats: .json, .yaml, .yml` };
  }

  const fields = new Map<string, string | number | boolean>();
  const keys = new Map<string, string>();
  const notes: string[] = [];
  const where = yaml ? 'YAML' : 'JSON';
  for (const [key, raw] of entries) {
    const lower = key.toLowerCase();
    const field = BY_KEY.get(lower);
    if (field === undefined) {
      const meant = YAML_TAG_ONLY[lower];
      if (meant !== undefined)
        notes.push(`config file key ${key} is ignored by kube-vip: its keys are Go field names (sigs.k8s.io/yaml reads JSON names), ${meant} is meant`);
      continue;
    }
    const [name, kind] = field;
    keys.set(name, key);
    const v = raw.value;
    if (v === null || v === undefined) continue; // null leaves the field as it is (encoding/json)
    const bad = (): DecodedConfig => ({
      refused: `failed to parse ${where} config file ${path}: cannot unmarshal ${jsonType(v)} into Go struct field Config.${name} of type ${kind}`,
    });
    switch (kind) {
      case 'bool':
        if (typeof v !== 'boolean') return bad();
        fields.set(name, v);
        break;
      case 'string':
        if (typeof v === 'string') fields.set(name, v);
        else if (yaml && (typeof v === 'number' || typeof v === 'boolean'))
          return {
            unknown: `config file ${path}: ${key} is a YAML ${typeof v}, which sigs.k8s.io/yaml converts for a string field in a way routewarden does not model`,
          };
        else return bad();
        break;
      case 'int':
      case 'uint': {
        if (typeof v !== 'number') return bad();
        const literal = raw.source ?? String(v);
        // Decimal digits only: Go refuses 1.0 or 1e2 for an int; YAML's 0x10, 010, 1_000 or 1.0 go through conversions not modelled.
        if (!Number.isSafeInteger(v) || !/^-?(0|[1-9]\d*)$/.test(literal)) {
          if (yaml)
            return { unknown: `config file ${path}: ${key} ${literal} is not a plain integer; routewarden does not model how sigs.k8s.io/yaml converts it` };
          return {
            refused: `failed to parse JSON config file ${path}: cannot unmarshal number ${literal} into Go struct field Config.${name} of type ${kind}`,
          };
        }
        const bits = INT_BITS[name] ?? 64;
        const min = kind === 'uint' ? 0 : -(2 ** (bits - 1));
        const max = kind === 'uint' ? 2 ** bits - 1 : 2 ** (bits - 1) - 1;
        if (v < min || v > max) return { refused: `failed to parse ${where} config file ${path}: number ${literal} overflows Config.${name}` };
        fields.set(name, v);
        break;
      }
      case 'object':
        if (typeof v !== 'object' || Array.isArray(v)) return bad();
        break;
      case 'array':
        if (!Array.isArray(v)) return bad();
        break;
    }
  }
  for (const name of NOT_MERGED) {
    const v = fields.get(name);
    if (v !== undefined && !isZero(v))
      notes.push(`config file sets ${name}, which kube-vip does not take from the file (mergeConfigValues has no line for it)`);
  }
  return { fields, keys, notes };
}

const isNum = (v: unknown): v is { __num: number; __src: string } => typeof v === 'object' && v !== null && '__num' in v;

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  return typeof v === 'boolean' ? 'bool' : typeof v;
}

/** Where the file is, seen from the pod spec. */
export type ConfigFileLocation =
  | { readonly kind: 'configMap'; readonly namespace: string; readonly name: string; readonly key: string; readonly volume: string }
  | { readonly kind: 'not-visible'; readonly why: string };

function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

/** Which volume, and which key of which ConfigMap, backs `path` in the container. */
export function locateConfigFile(pod: PodInfo, container: ContainerInfo, path: string): ConfigFileLocation {
  if (!path.startsWith('/'))
    return { kind: 'not-visible', why: `config file ${path} is a relative path: routewarden does not know kube-vip's working directory` };
  const file = normalize(path);
  // The deepest mount that holds the file wins (a nested mount hides its parent's files).
  let best: { name: string; mountPath: string; subPath?: string } | null = null;
  for (const m of container.volumeMounts ?? []) {
    const mp = normalize(m.mountPath);
    if ((file === mp || file.startsWith(mp === '/' ? '/' : `${mp}/`)) && (best === null || mp.length > normalize(best.mountPath).length)) best = m;
  }
  if (best === null)
    return {
      kind: 'not-visible',
      why: `config file ${path} is not on any volume of pod ${pod.namespace}/${pod.name}: it is in the container image, which routewarden cannot read`,
    };
  const mp = normalize(best.mountPath);
  const rest = file === mp ? '' : file.slice(mp === '/' ? 1 : mp.length + 1);
  const inVolume = [best.subPath ?? '', rest].filter((s) => s !== '').join('/');
  const volume: VolumeInfo | undefined = (pod.volumes ?? []).find((v) => v.name === best.name);
  const at = `config file ${path} (volume ${best.name}${best.subPath ? `, subPath ${best.subPath}` : ''})`;
  if (volume === undefined) return { kind: 'not-visible', why: `${at}: the pod has no such volume` };
  const src = volume.source;
  const fromConfigMaps = (cms: readonly { name: string; items?: readonly { key: string; path: string }[] }[]): ConfigFileLocation | null => {
    for (const cm of cms) {
      const key = cm.items ? cm.items.find((i) => normalize(i.path) === normalize(inVolume))?.key : inVolume.includes('/') ? undefined : inVolume;
      if (key !== undefined && key !== '') return { kind: 'configMap', namespace: pod.namespace, name: cm.name, key, volume: best.name };
    }
    return null;
  };
  switch (src.kind) {
    case 'hostPath':
      return { kind: 'not-visible', why: `${at} is on hostPath ${src.path} of the node: not visible to routewarden` };
    case 'configMap':
      return fromConfigMaps([src]) ?? { kind: 'not-visible', why: `${at}: ConfigMap ${src.name} maps no key to ${inVolume || '(the volume root)'}` };
    case 'projected': {
      const cms = src.sources.filter((s) => s.kind === 'configMap');
      const found = fromConfigMaps(cms);
      if (found) return found;
      const others = src.sources.filter((s) => s.kind === 'other').map((s) => s.type);
      return {
        kind: 'not-visible',
        why: `${at}: a projected volume whose file comes from no ConfigMap routewarden reads${others.length > 0 ? ` (sources: ${others.join(', ')})` : ''}`,
      };
    }
    case 'other':
      return { kind: 'not-visible', why: `${at} is on a ${src.type} volume: not visible to routewarden` };
  }
}

/**
 * What kube-vip took from its config file, read from the ConfigMap behind it.
 * `startedAt` is the kube-vip container's start (epoch ms; null: not running):
 * kube-vip read the file then, so a ConfigMap written since is not what it read.
 */
export function readKubeVipConfigFile(
  pod: PodInfo,
  container: ContainerInfo,
  path: string,
  configMaps: ReadonlyMap<string, ConfigMapView> | undefined,
  startedAt: number | null,
): ConfigFileRead {
  const loc = locateConfigFile(pod, container, path);
  if (loc.kind === 'not-visible') return { notVisible: loc.why };
  const cmKey = objectKey(loc.namespace, loc.name);
  const origin = `ConfigMap ${cmKey} key ${loc.key}`;
  const view = configMaps?.get(cmKey);
  if (view === undefined || view.state === 'unsynced')
    return { notVisible: `config file ${path} (${origin}): not read yet${view?.message ? ` (${view.message})` : ''}` };
  if (view.state === 'error') return { notVisible: `config file ${path} (${origin}) is not readable: ${view.message ?? 'error'}` };
  const cm = view.configMap;
  if (cm === null) return { notVisible: `config file ${path}: ConfigMap ${cmKey} does not exist` };
  if (startedAt !== null && cm.changedAt !== undefined && cm.changedAt > startedAt)
    return {
      notVisible: `config file ${path} (${origin}): the ConfigMap was written at ${new Date(cm.changedAt).toISOString()}, after kube-vip started (${new Date(startedAt).toISOString()}); kube-vip read the file once, at its start`,
    };
  const text = cm.data[loc.key];
  if (text === undefined) return { notVisible: `config file ${path}: ConfigMap ${cmKey} has no key ${loc.key}` };
  const decoded = decodeKubeVipConfig(path, text);
  if ('refused' in decoded) return { refused: `config file ${path} (${origin}): ${decoded.refused}: kube-vip refuses to start ("loading config file")` };
  if ('unknown' in decoded) return { notVisible: decoded.unknown };
  const values = new Map<KnobKey, { value: KnobValue; key: string }>();
  for (const [knob, field] of Object.entries(MERGED) as [KnobKey, string][]) {
    const v = decoded.fields.get(field);
    if (v !== undefined) values.set(knob, { value: v, key: decoded.keys.get(field) ?? field });
  }
  return { values, origin, notes: decoded.notes };
}

/** The `ns/name` of the ConfigMap behind a config file, when it is one. */
export function configMapOf(pod: PodInfo, container: ContainerInfo, path: string): string | null {
  const loc = locateConfigFile(pod, container, path);
  return loc.kind === 'configMap' ? objectKey(loc.namespace, loc.name) : null;
}
