// From the pods on this node to the kube-vip instances whose routes
// routewarden judges (--kube-vip-config auto), with every effective setting
// and where it came from. Pure: pods, routewarden's own model and which of its
// flags were given explicitly come in; models and a report section go out.
//
// Rules (docs/kube-vip-routing.md §9, E18/E19/E24/E25):
// - a kube-vip pod is a pod on this node with a container whose image contains
//   `kube-vip`, or a pod matching --kube-vip-selector;
// - only routing-table-mode instances count (`vip_routingtable` / `--table`);
// - an explicit routewarden flag (or ROUTEWARDEN_* env) wins over the
//   discovered value; the difference is reported as a mismatch;
// - a value routewarden cannot resolve (Secret, ConfigMap, default-gateway
//   interface) is never guessed: routewarden's own value is used and said so;
// - several instances on one node each contribute their routes (E25).

import type { ConfigMapView, ContainerInfo, NodePodsView, PodInfo } from '../core/cluster.ts';
import { defaultGatewayInterface } from '../core/default-gateway.ts';
import type { DefaultGateway } from '../core/default-gateway.ts';
import { envName } from '../core/env-name.ts';
import { familyOf } from '../core/ip.ts';
import { parseLabelSelector } from '../core/label-selector.ts';
import { DEFAULT_TIMING, DNS_ADDRESS_NOT_JUDGED, effectiveVipSubnet } from '../core/model.ts';
import type {
  ElectionMode,
  KubeVipBehaviour,
  KubeVipInstance,
  KubeVipInstanceReport,
  KubeVipModel,
  KubeVipReport,
  KubeVipRuntime,
  KubeVipTiming,
  KubeVipVersionReport,
  NotJudged,
  SettingReport,
} from '../core/model.ts';
import { routeProtocol, routeType, tableId } from '../core/types.ts';
import type { RouteProtocol, TableId } from '../core/types.ts';
import { readKubeVipConfigFile } from './config-file.ts';
import { deriveKnobs, describeProvenance } from './derive.ts';
import type { Derivation, KnobKey, KnobResult, KnobValue } from './derive.ts';
import { atLeast, kubeVipVersion, versionBehaviour } from './version.ts';

/** Settings that change the expected set, named as routewarden's flags. */
export const SETTINGS = [
  'node-name',
  'table',
  'protocol',
  'route-type',
  'services',
  'services-namespace',
  'election',
  'lease-name',
  'per-service-election-on-demand',
  'lb-class-name',
  'lb-class-only',
  'lb-class-legacy-handling',
  'interface',
  'services-interface',
  'vip-subnet',
  'control-plane',
  'control-plane-address',
] as const;
export type SettingName = (typeof SETTINGS)[number];

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A not-judged entry with the settings that cause it (null: any setting); an explicit routewarden flag for all of them lifts it. */
type SideNotJudged = NotJudged & { readonly settings: readonly SettingName[] | null };

interface SettingDef {
  /** The value as shown and compared. */
  get(m: KubeVipModel): string;
  /** Copy this setting from `from` into `to`. */
  copy(to: Mutable<KubeVipModel>, from: KubeVipModel): void;
  /** Routewarden flags that set it (any explicit one makes the setting explicit). */
  readonly flags: readonly string[];
}

const field = <K extends keyof KubeVipModel>(k: K, show: (v: KubeVipModel[K]) => string = String): Omit<SettingDef, 'flags'> => ({
  get: (m) => show(m[k]),
  copy: (to, from) => {
    to[k] = from[k];
  },
});

const DEFS: Readonly<Record<SettingName, SettingDef>> = {
  'node-name': { ...field('nodeName'), flags: ['node-name'] },
  table: { ...field('table'), flags: ['table'] },
  protocol: { ...field('protocol'), flags: ['protocol'] },
  'route-type': { ...field('routeType'), flags: ['route-type'] },
  services: { ...field('servicesEnabled'), flags: ['services'] },
  'services-namespace': { ...field('servicesNamespace', (v) => v ?? ''), flags: ['services-namespace'] },
  election: { ...field('election'), flags: ['election'] },
  'lease-name': { ...field('globalLease', (v) => `${v.namespace}/${v.name}`), flags: ['lease-name', 'lease-namespace'] },
  'per-service-election-on-demand': { ...field('perServiceElectionOnDemand'), flags: ['per-service-election-on-demand'] },
  'lb-class-name': { ...field('lbClassName'), flags: ['lb-class-name'] },
  'lb-class-only': { ...field('lbClassOnly'), flags: ['lb-class-only'] },
  'lb-class-legacy-handling': { ...field('lbClassLegacyHandling'), flags: ['lb-class-legacy-handling'] },
  interface: { ...field('interface'), flags: ['interface'] },
  'services-interface': { ...field('servicesInterface'), flags: ['services-interface'] },
  'vip-subnet': { ...field('vipSubnet'), flags: ['vip-subnet'] },
  'control-plane': {
    get: (m) => String(m.controlPlane.enabled),
    copy: (to, from) => {
      to.controlPlane = { ...to.controlPlane, enabled: from.controlPlane.enabled };
    },
    flags: ['control-plane'],
  },
  'control-plane-address': {
    get: (m) => m.controlPlane.addresses.join(','),
    copy: (to, from) => {
      to.controlPlane = { ...to.controlPlane, addresses: from.controlPlane.addresses };
    },
    flags: ['control-plane-address'],
  },
};

/** A setting as kube-vip has it: a value and its source, or why routewarden cannot know it. */
type KubeVipSetting = { readonly source: string } | { readonly unresolved: string; readonly source: string };

/** kube-vip's whole effective model, plus per setting where it came from. */
export interface KubeVipSide {
  /** Unresolved settings hold routewarden's value here; `sources` says which. */
  readonly model: KubeVipModel;
  readonly sources: Readonly<Record<SettingName, KubeVipSetting>>;
  readonly timing: KubeVipTiming;
  readonly cleanRoutingTable: boolean;
  readonly tableMode: boolean;
  readonly fatal: string | null;
  readonly notes: readonly string[];
  /** vip_interface is unset: kube-vip's interface is this node's default-gateway interface. */
  readonly usesGateway: boolean;
  /** kube-vip's version from the image tag, and which behaviour routewarden follows. */
  readonly version: KubeVipVersionReport;
  /** What that version does differently from bee5cfe; null: as bee5cfe. */
  readonly behaviour: KubeVipBehaviour | null;
}

const value = (r: KnobResult): KnobValue | undefined => ('value' in r ? r.value : undefined);

/** Pure: kube-vip's effective model for one container, over routewarden's values for what cannot be resolved. */
export function kubeVipSide(
  pod: PodInfo,
  container: ContainerInfo,
  fallback: KubeVipModel,
  gateway?: DefaultGateway | null,
  runtimeStart: number | null = null,
  configMaps?: ReadonlyMap<string, ConfigMapView>,
): KubeVipSide {
  const podKey = `${pod.namespace}/${pod.name}`;
  const notJudged: SideNotJudged[] = [];
  let gatewayUnknown = false;
  const d: Derivation = deriveKnobs(pod, container, (path) => readKubeVipConfigFile(pod, container, path, configMaps, runtimeStart));
  const k = d.knobs;
  const notes = [...d.notes];
  const m: Mutable<KubeVipModel> = { ...fallback };
  const sources = {} as Record<SettingName, KubeVipSetting>;
  const src = (key: KnobKey): string => describeProvenance(k[key].from, podKey);
  const unresolvedOf = (...keys: KnobKey[]): string | null => {
    for (const key of keys) {
      const r = k[key];
      if ('unresolved' in r) return `${src(key)} comes from ${r.unresolved}`;
    }
    return null;
  };
  /** Sets a setting from knobs, or marks it unresolved (the fallback value stays). */
  const put = (name: SettingName, keys: KnobKey[], apply: () => string): void => {
    const u = unresolvedOf(...keys);
    if (u !== null) {
      sources[name] = { unresolved: u, source: src(keys[0]!) };
      return;
    }
    sources[name] = { source: apply() };
  };
  const num = (key: KnobKey): number => value(k[key]) as number;
  const bool = (key: KnobKey): boolean => value(k[key]) as boolean;
  const str = (key: KnobKey): string => value(k[key]) as string;

  put('node-name', ['nodeName'], () => {
    const explicit = str('nodeName');
    if (explicit !== '') {
      m.nodeName = explicit.toLowerCase();
      return src('nodeName');
    }
    // Unset: kube-vip uses os.Hostname(), lowercased. In a hostNetwork pod that
    // is the node's hostname; otherwise it is the pod name (E18).
    if (pod.hostNetwork) {
      m.nodeName = pod.nodeName.toLowerCase();
      return 'kube-vip default (hostname of a hostNetwork pod, taken to be the node name)';
    }
    m.nodeName = pod.name.toLowerCase();
    notes.push(`vip_nodename is unset and the pod is not hostNetwork: kube-vip's identity is the pod name ${pod.name.toLowerCase()} (E18)`);
    return 'kube-vip default (hostname = pod name: the pod is not hostNetwork)';
  });
  put('table', ['tableId'], () => {
    const id = num('tableId');
    // Table 0: netlink leaves RTA_TABLE unset, so the kernel adds to main (E24).
    if (id === 0) notes.push('vip_routingtableid 0: kube-vip adds its routes to the main table (254) and its cleanup scans every table (E24)');
    m.table = tableId(id === 0 ? 254 : id);
    return src('tableId');
  });
  put('protocol', ['protocol'], () => {
    const p = num('protocol');
    if (p === 0) notes.push('vip_routingprotocol 0 is rewritten to 1 (proto redirect) by kube-vip (E24)');
    m.protocol = routeProtocol(p === 0 ? 1 : p);
    return p === 0 ? `${src('protocol')}, 0 rewritten to 1` : src('protocol');
  });
  put('route-type', ['tableType'], () => {
    const t = num('tableType');
    // 0 or negative: netlink sends its default type on add, unicast (E24;
    // `if route.Type > 0`). The kernel's answer to each type: route-types.ts.
    m.routeType = routeType(t <= 0 ? 1 : t);
    return src('tableType');
  });
  put('services', ['services'], () => {
    m.servicesEnabled = bool('services');
    return src('services');
  });
  put('services-namespace', ['svcNamespace'], () => {
    m.servicesNamespace = str('svcNamespace') || null;
    return src('svcNamespace');
  });
  put('election', ['svcElection', 'leaderElection'], () => {
    const svc = bool('svcElection');
    const global = bool('leaderElection');
    const mode: ElectionMode = svc ? 'service' : global ? 'global' : 'none';
    m.election = mode;
    if (mode === 'service') return src('svcElection');
    if (mode === 'global') return src('leaderElection');
    return k.leaderElection.from.kind !== 'kube-vip-default' ? src('leaderElection') : src('svcElection');
  });
  put('lease-name', ['svcLeaseName', 'cpNamespace'], () => {
    const raw = str('svcLeaseName');
    // lease.NamespaceName: strings.Split(lease, "/"), parts[0] and parts[1].
    const parts = raw.split('/');
    if (parts.length > 1) {
      m.globalLease = { namespace: parts[0]!, name: parts[1]! };
      return src('svcLeaseName');
    }
    // No `ns/` prefix: the pod's service-account namespace; a static (mirror)
    // pod has no service account, so kube-vip falls back to cp_namespace.
    const isStatic = 'kubernetes.io/config.mirror' in pod.annotations;
    m.globalLease = { namespace: isStatic ? str('cpNamespace') : pod.namespace, name: raw };
    return `${src('svcLeaseName')}; namespace ${isStatic ? `from ${src('cpNamespace')} (static pod: no service account)` : "of the pod's service account"}`;
  });
  put('per-service-election-on-demand', ['onDemand'], () => {
    m.perServiceElectionOnDemand = bool('onDemand');
    return src('onDemand');
  });
  put('lb-class-name', ['lbClassName'], () => {
    m.lbClassName = str('lbClassName');
    return src('lbClassName');
  });
  put('lb-class-only', ['lbClassOnly'], () => {
    m.lbClassOnly = bool('lbClassOnly');
    return src('lbClassOnly');
  });
  put('lb-class-legacy-handling', ['lbClassLegacy'], () => {
    m.lbClassLegacyHandling = bool('lbClassLegacy');
    return src('lbClassLegacy');
  });
  if ('value' in k.interface && k.interface.value === '') {
    // kube-vip picks the default-gateway interface at its start
    // (GetDefaultGatewayInterface): a fact of this node's kernel, which the
    // kernel adapter reads for every check.
    const gw = gateway ?? null;
    const dev = gw === null ? null : defaultGatewayInterface(gw);
    if (dev !== null && gw !== null && !(gw.changedAt !== null && runtimeStart !== null && gw.changedAt > runtimeStart)) {
      m.interface = dev;
      sources.interface = {
        source: `kube-vip default: the default-gateway interface of this node (main table's ${gw.ipv4 !== null ? 'IPv4' : 'IPv6'} default route leaves by ${dev})`,
      };
    } else {
      const why =
        gw === null
          ? "vip_interface is unset: kube-vip uses the default-gateway interface, and this node's default route could not be read"
          : dev === null
            ? 'vip_interface is unset: kube-vip uses the default-gateway interface, and this node has no default route with a device'
            : `vip_interface is unset: the default route moved to ${dev}${gw.previous !== null ? ` from ${gw.previous}` : ''} after kube-vip started, and kube-vip keeps the interface it found at start`;
      sources.interface = { unresolved: why, source: 'kube-vip default' };
      gatewayUnknown = true;
      notJudged.push({ reason: 'default-interface', scope: 'interface', detail: why, settings: ['interface'] });
    }
  } else {
    put('interface', ['interface'], () => {
      m.interface = str('interface');
      return src('interface');
    });
  }
  put('services-interface', ['servicesInterface'], () => {
    m.servicesInterface = str('servicesInterface');
    return src('servicesInterface');
  });
  put('control-plane', ['controlPlane'], () => {
    m.controlPlane = { ...m.controlPlane, enabled: bool('controlPlane') };
    return src('controlPlane');
  });
  put('control-plane-address', ['address', 'vip'], () => {
    const address = str('address');
    const legacy = str('vip');
    const text = address !== '' ? address : legacy;
    m.controlPlane = {
      ...m.controlPlane,
      addresses: text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    };
    return address !== '' ? src('address') : legacy !== '' ? src('vip') : src('address');
  });
  // kubernetes_addr (env only): a URL with a host replaces the Node's
  // InternalIPs in the control-plane health check (StartVipService); from a
  // source routewarden cannot read, it is unknown (null).
  // The override exists since v1.2.3 (kube-vip PR #1671); older releases check the Node's InternalIPs only.
  const version = kubeVipVersion(container.image);
  const kubernetesAddr = k.kubernetesAddr;
  if (!atLeast(version, [1, 2, 3])) {
    if (!('value' in kubernetesAddr) || kubernetesAddr.value !== '')
      notes.push(
        `kubernetes_addr is set, but kube-vip ${version.report.judgedAs} checks the control-plane health against the Node's InternalIPs only (the override came in v1.2.3)`,
      );
  } else if ('unresolved' in kubernetesAddr) m.controlPlane = { ...m.controlPlane, kubernetesAddr: null };
  else if (kubernetesAddr.value !== '') m.controlPlane = { ...m.controlPlane, kubernetesAddr: String(kubernetesAddr.value) };
  const behaviour = versionBehaviour(version);
  // v1.2.0-v1.2.2: the start-up cleanup compared routes under the wrong key and deleted every route of the table (kube-vip #1678, fixed in v1.2.3 by #1679).
  if (behaviour?.cleanupWipesTable && value(k.cleanRoutingTable) === true)
    notes.push(
      `kube-vip ${version.report.judgedAs} with vip_cleanroutingtable deletes every route of its table 10 s after start, its own included, and does not add them again (kube-vip #1678, fixed in v1.2.3): routes missing after that are real; re-adding them is safe`,
    );
  if (behaviour?.keepsRoutesOnTypeChange && value(k.services) === true)
    notes.push(
      `kube-vip ${version.report.judgedAs} does not tear a Service down when it leaves type LoadBalancer (bee5cfe does): a route left after a type change is limitation E15, not plain drift`,
    );
  let cidrFatal: string | null = null;
  put('vip-subnet', ['vipSubnet', 'address'], () => {
    const raw = str('vipSubnet');
    // GenerateCidrRange runs on `address` only (not the legacy vip_address),
    // split on "," without trimming.
    const address = str('address');
    const generated = effectiveVipSubnet(raw, address, familyOf);
    if (raw !== '' || address === '') {
      m.vipSubnet = raw;
      return src('vipSubnet');
    }
    if (generated === null) {
      const bad = address.split(',').find((a) => familyOf(a) === null) ?? '';
      // An empty entry or one with spaces is no IP and no DNS name: the lookup fails.
      if (bad === '' || /\s/.test(bad))
        cidrFatal = `address ${JSON.stringify(address)} holds ${JSON.stringify(bad)}, which is no IP and no host name: kube-vip fails generating vip_subnet ("generating CIDR") and exits`;
      m.vipSubnet = '';
      notJudged.push({ ...DNS_ADDRESS_NOT_JUDGED, settings: ['vip-subnet'] });
      return `generated by kube-vip from the DNS name in ${src('address')}: not visible to routewarden`;
    }
    m.vipSubnet = generated;
    return `generated by kube-vip from ${src('address')} (GenerateCidrRange)`;
  });

  const tableMode = value(k.routingTable) === true;
  let fatal = d.fatal ?? cidrFatal;
  if (tableMode && (value(k.arp) === true || value(k.bgp) === true || value(k.wireguard) === true)) {
    fatal ??= 'routing-table mode together with ARP, BGP or WireGuard: kube-vip refuses to start ("multiple kube-vip modes detected")';
  }
  if (value(k.services) === false && value(k.controlPlane) === false) fatal ??= 'neither svc_enable nor cp_enable: kube-vip exits ("no features are enabled")';
  if (value(k.controlPlane) === true && str('address') === '' && str('vip') !== '' && str('vipSubnet') === '') {
    fatal ??= 'legacy vip_address without vip_subnet: kube-vip aborts startup (CheckSubnetExists)';
  }
  if (value(k.leaderElectionType) === 'etcd') {
    const why = '--leaderElectionType etcd: leases live in etcd, not in the Kubernetes API; routes placed by a lease are not judged';
    notes.push(why);
    notJudged.push({ reason: 'etcd-lease', scope: 'elected', detail: why, settings: ['election'] });
  }
  if (value(k.enableEndpoints) === true) {
    const why =
      'enable_endpoints: kube-vip decides from Endpoints objects (ready addresses only); routewarden judges from them while it can list and watch them (RBAC endpoints list/watch), and routes that depend on endpoints are not judged while it cannot';
    notes.push(why);
    notJudged.push({ reason: 'endpoints-source', scope: 'endpoints', detail: why, settings: [] });
  }
  // A setting kube-vip takes from somewhere routewarden cannot read: kube-vip's
  // routes are unknown, so none of them is judged (unless an explicit
  // routewarden flag sets every such setting: mergeSettings).
  const hidden = SETTINGS.filter((name) => 'unresolved' in sources[name] && !(name === 'interface' && gatewayUnknown));
  if (hidden.length > 0) {
    notJudged.push({
      reason: 'setting-not-visible',
      scope: 'all',
      detail: `kube-vip's ${hidden.join(', ')} ${hidden.length > 1 ? 'come' : 'comes'} from values routewarden cannot read`,
      settings: hidden,
    });
  }
  if (container.envFrom.length > 0) {
    notJudged.push({
      reason: 'setting-not-visible',
      scope: 'all',
      detail: `envFrom ${container.envFrom.join(', ')} may set any kube-vip setting, and routewarden cannot read it`,
      settings: null,
    });
  }
  // A config file routewarden cannot read may set any still-zero setting (config-file.ts).
  if (d.configFile !== null && 'notVisible' in d.configFile.read) {
    notJudged.push({
      reason: 'setting-not-visible',
      scope: 'all',
      detail: `${d.configFile.read.notVisible}; it may set any kube-vip setting still zero after the flags`,
      settings: null,
    });
  }
  if (notJudged.length > 0) m.notJudged = notJudged;
  const timing: KubeVipTiming = {
    leaseDurationSeconds: numberOr(k.leaseDuration, DEFAULT_TIMING.leaseDurationSeconds),
    renewDeadlineSeconds: numberOr(k.renewDeadline, DEFAULT_TIMING.renewDeadlineSeconds),
    retryPeriodSeconds: numberOr(k.retryPeriod, DEFAULT_TIMING.retryPeriodSeconds),
  };
  return {
    model: m,
    sources,
    timing,
    cleanRoutingTable: value(k.cleanRoutingTable) === true,
    tableMode,
    fatal,
    notes,
    usesGateway: 'value' in k.interface && k.interface.value === '',
    version: version.report,
    behaviour,
  };
}

const numberOr = (r: KnobResult, d: number): number => (typeof value(r) === 'number' ? (value(r) as number) : d);

/** How routewarden got each of its own values: `flag`, `env` (ROUTEWARDEN_*), or absent = default. */
export type ExplicitFlags = ReadonlyMap<string, 'flag' | 'env'>;

function routewardenSource(name: SettingName, explicit: ExplicitFlags): string | null {
  for (const flag of DEFS[name].flags) {
    const how = explicit.get(flag);
    if (how === 'flag') return `routewarden flag --${flag}`;
    if (how === 'env') return `routewarden env ${envName(flag)}`;
  }
  return null;
}

const routewardenDefault = (name: SettingName): string => (name === 'node-name' ? 'routewarden default (NODE_NAME, else the hostname)' : 'routewarden default');

export interface Merged {
  readonly model: KubeVipModel;
  readonly settings: Record<SettingName, SettingReport>;
  readonly mismatches: SettingName[];
}

/** Explicit routewarden values win; kube-vip's fill the rest; routewarden's defaults fill what cannot be resolved. */
export function mergeSettings(kv: KubeVipSide, flags: KubeVipModel, explicit: ExplicitFlags): Merged {
  const model: Mutable<KubeVipModel> = { ...kv.model };
  const settings = {} as Record<SettingName, SettingReport>;
  const mismatches: SettingName[] = [];
  for (const name of SETTINGS) {
    const def = DEFS[name];
    const kvs = kv.sources[name];
    const rwSource = routewardenSource(name, explicit);
    if (rwSource !== null) {
      def.copy(model, flags);
      const entry: Mutable<SettingReport> = { value: def.get(flags), source: rwSource };
      if (!('unresolved' in kvs) && def.get(kv.model) !== def.get(flags)) {
        entry.kubeVip = { value: def.get(kv.model), source: kvs.source };
        mismatches.push(name);
      }
      settings[name] = entry;
    } else if ('unresolved' in kvs) {
      def.copy(model, flags);
      settings[name] = { value: def.get(flags), source: `${routewardenDefault(name)} (kube-vip's value not resolved: ${kvs.unresolved})` };
    } else {
      settings[name] = { value: def.get(kv.model), source: kvs.source };
    }
  }
  const still = stillNotJudged((kv.model.notJudged ?? []) as readonly SideNotJudged[], explicit);
  if (still.length > 0) model.notJudged = still;
  else delete model.notJudged;
  return { model, settings, mismatches };
}

/** What routewarden's explicit flags set is known: an entry all of whose settings they set is judged. */
function stillNotJudged(side: readonly SideNotJudged[], explicit: ExplicitFlags): NotJudged[] {
  return side
    .filter((n) => n.settings === null || n.settings.length === 0 || n.settings.some((name) => routewardenSource(name, explicit) === null))
    .map((n) =>
      n.settings !== null && n.reason === 'setting-not-visible'
        ? { ...n, settings: n.settings.filter((name) => routewardenSource(name, explicit) === null) }
        : n,
    )
    .map(({ reason, scope, detail }): NotJudged => ({ reason, scope, detail }));
}

/** The settings report of routewarden's own model (flags only). */
export function flagSettings(flags: KubeVipModel, explicit: ExplicitFlags): Record<SettingName, SettingReport> {
  const out = {} as Record<SettingName, SettingReport>;
  for (const name of SETTINGS) out[name] = { value: DEFS[name].get(flags), source: routewardenSource(name, explicit) ?? routewardenDefault(name) };
  return out;
}

const isKubeVipImage = (image: string): boolean => image.toLowerCase().includes('kube-vip');

/** kube-vip pods on this node and their kube-vip container, sorted by pod. */
export function findKubeVipContainers(pods: readonly PodInfo[], selector: string): { pod: PodInfo; container: ContainerInfo }[] {
  const out: { pod: PodInfo; container: ContainerInfo }[] = [];
  // Validated at start (the option table's label-selector format).
  const bySelector = selector === '' ? null : parseLabelSelector(selector);
  for (const pod of pods) {
    if (pod.phase === 'Succeeded' || pod.phase === 'Failed') continue;
    const byImage = pod.containers.find((c) => isKubeVipImage(c.image));
    if (bySelector) {
      if (!bySelector.matches(pod.labels)) continue;
      const container = byImage ?? pod.containers[0];
      if (container) out.push({ pod, container });
    } else if (byImage) {
      out.push({ pod, container: byImage });
    }
  }
  return out.sort((a, b) => (`${a.pod.namespace}/${a.pod.name}` < `${b.pod.namespace}/${b.pod.name}` ? -1 : 1));
}

/** The kube-vip container's state as the transient windows need it. */
export function podRuntime(pod: PodInfo, container: ContainerInfo): KubeVipRuntime {
  const status = pod.containerStatuses.find((s) => s.name === container.name);
  return {
    ready: pod.ready,
    terminating: pod.deletionTimestamp !== undefined,
    ...(pod.deletionTimestamp !== undefined ? { deletionAt: pod.deletionTimestamp } : {}),
    startedAt: status?.state === 'running' ? (status.startedAt ?? null) : null,
    restarts: status?.restartCount ?? 0,
  };
}

export interface ResolveInput {
  readonly mode: 'auto' | 'off';
  /** routewarden's model from its flags and defaults. */
  readonly flags: KubeVipModel;
  readonly explicit: ExplicitFlags;
  readonly pods: NodePodsView | undefined;
  readonly selector: string;
  readonly node: string;
  /** This node's default routes (kube-vip's default-gateway interface); null or absent when not read. */
  readonly gateway?: DefaultGateway | null;
  /** The (table, protocol) the kernel adapter reads; null before it is bound (start-up). */
  readonly bound: { readonly table: TableId; readonly protocol: RouteProtocol } | null;
  /** The ConfigMaps behind kube-vip config files, as watched (ClusterSnapshot.configMaps). */
  readonly configMaps?: ReadonlyMap<string, ConfigMapView>;
}

export interface KubeVipView {
  /** What the core judges: the included instances, or one `flags` instance. */
  readonly instances: readonly KubeVipInstance[];
  /** The model of the first included instance (or the flags'): report header, repair attributes. */
  readonly primary: KubeVipModel;
  readonly report: KubeVipReport;
  /** Some routing-table-mode instance takes its interface from this node's default route (resolve again with `gateway`). */
  readonly needsGateway?: boolean;
}

/** Pure: everything --kube-vip-config needs from one look at the node's pods. */
export function resolveKubeVip(input: ResolveInput): KubeVipView {
  const { flags, explicit } = input;
  const flagsOnly = (message: string): KubeVipView => ({
    instances: [{ id: 'flags', model: flags, timing: DEFAULT_TIMING, cleanRoutingTable: false, runtime: null }],
    primary: flags,
    report: { mode: input.mode, found: 0, message, instances: [], settings: flagSettings(flags, explicit), mismatches: [] },
  });
  if (input.mode === 'off') return flagsOnly('--kube-vip-config off: routewarden flags only');
  const pods = input.pods;
  if (!pods) return flagsOnly('kube-vip discovery is not running: using routewarden flags');
  if (pods.state !== 'ok')
    return flagsOnly(`pods on node ${input.node} could not be read (${pods.state}${pods.message ? `: ${pods.message}` : ''}): using routewarden flags`);

  const reports: KubeVipInstanceReport[] = [];
  const instances: KubeVipInstance[] = [];
  const mismatches = new Set<string>();
  let bound = input.bound;
  let found = 0;
  let needsGateway = false;
  /** Routing-table-mode pods whose configuration kube-vip refuses to start with. */
  const refusedStart = new Set<string>();
  for (const { pod, container } of findKubeVipContainers(pods.pods, input.selector)) {
    const id = `${pod.namespace}/${pod.name}`;
    const runtime = podRuntime(pod, container);
    const kv = kubeVipSide(pod, container, flags, input.gateway ?? null, runtime.startedAt, input.configMaps);
    const merged = mergeSettings(kv, flags, explicit);
    let excludedBecause: string | undefined;
    if (!kv.tableMode) excludedBecause = 'not in routing-table mode (vip_routingtable / --table is not true)';
    else if (kv.fatal) {
      excludedBecause = kv.fatal;
      refusedStart.add(id);
    }
    if (kv.tableMode) found++;
    if (kv.tableMode && kv.usesGateway) needsGateway = true;
    if (excludedBecause === undefined) {
      bound ??= { table: merged.model.table, protocol: merged.model.protocol };
      if (merged.model.table !== bound.table || merged.model.protocol !== bound.protocol) {
        excludedBecause = `uses table ${merged.model.table} protocol ${merged.model.protocol}, but this routewarden reads table ${bound.table} protocol ${bound.protocol} (restart routewarden to follow, or run one per table)`;
      }
    }
    if (excludedBecause === undefined) {
      instances.push({
        id,
        model: merged.model,
        timing: kv.timing,
        cleanRoutingTable: kv.cleanRoutingTable,
        runtime,
        ...(kv.behaviour !== null ? { behaviour: kv.behaviour } : {}),
      });
      for (const s of merged.mismatches) mismatches.add(s);
    }
    reports.push({
      pod: id,
      container: container.name,
      image: container.image,
      included: excludedBecause === undefined,
      ...(excludedBecause !== undefined ? { excludedBecause } : {}),
      ready: runtime.ready,
      terminating: runtime.terminating,
      startedAt: runtime.startedAt === null ? null : new Date(runtime.startedAt).toISOString(),
      restarts: runtime.restarts,
      settings: merged.settings,
      notes: kv.notes,
      version: kv.version,
    });
  }
  if (instances.length === 0) {
    const v = flagsOnly(
      reports.length === 0
        ? `no kube-vip pod found on node ${input.node}${input.selector ? ` (selector ${input.selector})` : ''}: using routewarden flags`
        : `no usable routing-table-mode kube-vip pod on node ${input.node}: using routewarden flags`,
    );
    // A routing-table-mode kube-vip that refuses its configuration exits
    // (kubeVipManager.RunE, F8): the table holds what an earlier, good
    // configuration left, and routewarden's own flags are a guess. Nothing is
    // judged, unless routewarden's explicit flags set every setting (the rule
    // that lifts setting-not-visible).
    const refused = reports.find((r) => r.excludedBecause !== undefined && refusedStart.has(r.pod));
    if (refused) {
      const detail = `kube-vip ${refused.pod} is in routing-table mode but refuses its configuration (${refused.excludedBecause}): the routes in the table are what an earlier configuration left, and routewarden's own flags would only guess; give routewarden every setting explicitly to judge them`;
      const still = stillNotJudged([{ reason: 'kube-vip-not-started', scope: 'all', detail, settings: SETTINGS }], explicit);
      if (still.length > 0) {
        const m: KubeVipModel = { ...flags, notJudged: [...(flags.notJudged ?? []), ...still] };
        return {
          ...v,
          instances: [{ ...v.instances[0]!, model: m }],
          primary: m,
          report: {
            ...v.report,
            found,
            instances: reports,
            message: `${v.report.message}; nothing is judged while kube-vip ${refused.pod} refuses its configuration`,
          },
        };
      }
    }
    return { ...v, report: { ...v.report, found, instances: reports } };
  }
  return {
    ...(needsGateway ? { needsGateway } : {}),
    instances,
    primary: instances[0]!.model,
    report: {
      mode: 'auto',
      found,
      message: `${instances.length} kube-vip instance${instances.length > 1 ? 's' : ''} in routing-table mode on node ${input.node}: ${instances.map((i) => i.id).join(', ')}`,
      instances: reports,
      mismatches: [...mismatches].sort(),
    },
  };
}
