// kube-vip's effective configuration, as far as it changes which routes belong
// on a node (docs/kube-vip-routing.md §9). Built once from flags (and, later, from the
// kube-vip pod itself) and frozen; the core only reads it.

import type { RouteProtocol, RouteType, TableId } from './types.ts';

/** kube-vip's services placement mode (docs/kube-vip-routing.md §4). */
export type ElectionMode = 'none' | 'service' | 'global';

export interface KubeVipModel {
  /** kube-vip's identity on this node: vip_nodename, lowercased (docs/kube-vip-routing.md §4, E18). */
  readonly nodeName: string;
  readonly table: TableId;
  readonly protocol: RouteProtocol;
  /** vip_routingtabletype; 1 = unicast. */
  readonly routeType: RouteType;

  /** svc_enable: without it kube-vip creates no service routes (CP only). */
  readonly servicesEnabled: boolean;
  /** svc_namespace: null = all namespaces. */
  readonly servicesNamespace: string | null;
  readonly election: ElectionMode;
  /** vip_leaderelection global lease (Mode C): `plndr-svcs-lock` in kube-system by default. */
  readonly globalLease: { readonly namespace: string; readonly name: string };
  /** per_service_election_on_demand (Mode D, docs/kube-vip-routing.md §4.6). */
  readonly perServiceElectionOnDemand: boolean;
  /** Clock skew tolerated when judging whether a lease is still valid. */
  readonly leaseSkewSeconds: number;

  /** lb_class_name; may be "" (docs/kube-vip-routing.md §3.1-5). */
  readonly lbClassName: string;
  readonly lbClassOnly: boolean;
  readonly lbClassLegacyHandling: boolean;

  /** vip_interface: route device for the CP VIP and the services fallback. */
  readonly interface: string;
  /** vip_servicesinterface: "" = unset, "auto" = interface whose subnet holds the VIP. */
  readonly servicesInterface: string;
  /** vip_subnet as kube-vip sees it after auto-generation from `address` ("v4[,v6]"). */
  readonly vipSubnet: string;

  /** cp_enable and the CP VIP address(es) (docs/kube-vip-routing.md §4.5). */
  readonly controlPlane: {
    readonly enabled: boolean;
    readonly addresses: readonly string[];
    /**
     * kube-vip's `kubernetes_addr`, when set: a URL with a host makes its
     * control-plane health check use that address for every family instead of
     * the Node's InternalIPs (StartVipService, kubernetesAddrBackendEntry);
     * null: set from a source routewarden cannot read.
     */
    readonly kubernetesAddr?: string | null;
  };

  /**
   * What routewarden cannot know about this kube-vip (docs/kube-vip-fidelity.md,
   * "Not judged"): the routes each entry covers are neither expected nor
   * orphans, never drift and never repaired. Absent = everything is known.
   */
  readonly notJudged?: readonly NotJudged[];
}

/** Why routewarden cannot judge a route (the `reason` of routewarden_unjudged_routes). */
export type UnjudgedReason =
  | 'etcd-lease' // leaderElectionType=etcd: the lease holder lives in etcd, not in the API
  | 'dhcp' // a DHCP VIP: the address is leased on the node
  | 'hostname' // a hostname VIP: resolved by the node's DNS; a failed lookup fails the whole Service
  | 'dns-address' // `address` is a DNS name: vip_subnet is generated from its resolution
  | 'default-interface' // vip_interface unset and the node's default route cannot be read
  | 'setting-not-visible' // a setting from a Secret, ConfigMap, envFrom or config file routewarden cannot read
  | 'endpoints-source' // enable_endpoints: kube-vip reads Endpoints, which routewarden cannot read (no RBAC) or has not listed yet
  | 'cp-health-check' // a missing control-plane route: kube-vip withdraws it while this node's API server fails its health check
  | 'kube-vip-not-started'; // the only routing-table-mode kube-vip on the node refuses its configuration: the table holds what an earlier one left

export const UNJUDGED_REASONS: readonly UnjudgedReason[] = [
  'etcd-lease',
  'dhcp',
  'hostname',
  'dns-address',
  'default-interface',
  'setting-not-visible',
  'endpoints-source',
  'cp-health-check',
  'kube-vip-not-started',
];

/**
 * One thing routewarden cannot know, and which routes it covers:
 * `all` every route of the instance (and every route in the table no other
 * instance explains), `elected` routes placed by a lease, `interface` routes
 * on the instance's `vip_interface`, `service-prefix` service routes (their
 * prefix comes from a vip_subnet routewarden cannot know), `endpoints` routes
 * that depend on a Service's endpoints.
 */
export interface NotJudged {
  readonly reason: UnjudgedReason;
  readonly scope: 'all' | 'elected' | 'interface' | 'service-prefix' | 'endpoints';
  /** One line for the report. */
  readonly detail: string;
}

/**
 * kube-vip's `GenerateCidrRange` (cmd/kube-vip.go), run when vip_subnet is
 * empty and `address` is not: `address` split on "," (no trimming), one mask
 * per address ("32" IPv4, "128" IPv6), then sorted *as strings*, deduplicated
 * and reversed. So `fd00::10,10.0.0.10` gives "32,128" in either order, two
 * IPv4 addresses give "32", and an IPv6-only address gives "128", which
 * breaks IPv4 services (docs/kube-vip-routing.md §2.2 pitfall). `address` holding something that
 * is not an IP is a DNS name kube-vip resolves on the node: the result is
 * then unknown (`null`).
 */
export function generateCidrRange(address: string, families: (a: string) => 'ipv4' | 'ipv6' | null): string | null {
  const cidrs: string[] = [];
  for (const a of address.split(',')) {
    const f = families(a);
    if (f === null) return null;
    cidrs.push(f === 'ipv4' ? '32' : '128');
  }
  // slices.Sort, slices.Compact, slices.Reverse: byte-wise string order.
  const sorted = [...new Set(cidrs)].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  return sorted.reverse().join(',');
}

/** vip_subnet generated from a DNS name: the prefix of every service route is unknown. */
export const DNS_ADDRESS_NOT_JUDGED: NotJudged = {
  reason: 'dns-address',
  scope: 'service-prefix',
  detail: 'vip_subnet is unset and address is a DNS name: kube-vip generates vip_subnet from what the node resolves',
};

/** vip_subnet as kube-vip runs with it; null when generated from a DNS name (unknown). */
export function effectiveVipSubnet(vipSubnet: string, address: string, families: (a: string) => 'ipv4' | 'ipv6' | null): string | null {
  if (vipSubnet !== '' || address === '') return vipSubnet;
  return generateCidrRange(address, families);
}

/** Go's strconv.ParseBool, which kube-vip uses for every boolean env var and annotation. */
export const parseGoBool = (s: string): boolean | null =>
  ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s) ? true : ['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s) ? false : null;

/** kube-vip's lease timing (vip_leaseduration / vip_renewdeadline / vip_retryperiod). */
export interface KubeVipTiming {
  readonly leaseDurationSeconds: number;
  readonly renewDeadlineSeconds: number;
  readonly retryPeriodSeconds: number;
}

/** kube-vip's defaults (docs/kube-vip-routing.md §9, Election). */
export const DEFAULT_TIMING: KubeVipTiming = { leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 };

/** What the kube-vip pod's status says, for the transient windows (E1–E3). */
export interface KubeVipRuntime {
  /** The pod's Ready condition. */
  readonly ready: boolean;
  /** metadata.deletionTimestamp is set. */
  readonly terminating: boolean;
  /** metadata.deletionTimestamp, epoch ms. */
  readonly deletionAt?: number;
  /** The kube-vip container's state.running.startedAt, epoch ms; null when it is not running. */
  readonly startedAt: number | null;
  readonly restarts: number;
}

/**
 * One kube-vip process on this node whose routes routewarden judges: its
 * effective model, and, when discovered from its pod, its timing and state.
 * Several instances on one node (a CP static pod + a services DaemonSet)
 * contribute the union of their routes (E25).
 */
export interface KubeVipInstance {
  /** `namespace/pod`, or `flags` when the model comes from routewarden's flags alone. */
  readonly id: string;
  readonly model: KubeVipModel;
  readonly timing: KubeVipTiming;
  /** vip_cleanroutingtable: the one-shot cleanup 10 s after start (E2). */
  readonly cleanRoutingTable: boolean;
  /** null when not discovered (flags only): no kube-vip state is known. */
  readonly runtime: KubeVipRuntime | null;
  /** Behaviours of this instance's kube-vip release that differ from bee5cfe; absent: bee5cfe's. */
  readonly behaviour?: KubeVipBehaviour;
}

/**
 * Facts of a kube-vip release that change how drift is explained
 * (docs/kube-vip-fidelity.md, E28), decided from the image tag outside the
 * core (src/kubevip/version.ts). Absent or false: kube-vip at bee5cfe.
 */
export interface KubeVipBehaviour {
  /** The release routewarden judges it as, for the report's text. */
  readonly release: string;
  /**
   * Up to v1.2.3, a tracked Service that leaves type LoadBalancer is not torn
   * down: `AddOrModify` returns early, and its routes stay (E15). bee5cfe
   * calls `deleteTrackedService` instead.
   */
  readonly keepsRoutesOnTypeChange?: boolean;
  /**
   * v1.2.0–v1.2.2: the start-up cleanup (`vip_cleanroutingtable`) compared
   * routes under the wrong key and deleted every route of the table, its own
   * included (kube-vip #1678, fixed in v1.2.3 by #1679).
   */
  readonly cleanupWipesTable?: boolean;
}

/** One effective setting as the report shows it: value and where it came from. */
export interface SettingReport {
  readonly value: string;
  /** e.g. `env vip_routingtableid of pod kube-system/kube-vip-x`, `kube-vip default`, `routewarden flag --table`. */
  readonly source: string;
  /** kube-vip's own effective value, when it differs from the value used (an explicit routewarden flag won). */
  readonly kubeVip?: { readonly value: string; readonly source: string };
}

export interface KubeVipInstanceReport {
  readonly pod: string;
  readonly container: string;
  readonly image: string;
  /** False when routewarden does not judge this instance's routes (see `excludedBecause`). */
  readonly included: boolean;
  readonly excludedBecause?: string;
  readonly ready: boolean;
  readonly terminating: boolean;
  readonly startedAt: string | null;
  readonly restarts: number;
  readonly settings: Readonly<Record<string, SettingReport>>;
  readonly notes: readonly string[];
  /** kube-vip's version as routewarden judges it, from the image tag (docs/kube-vip-fidelity.md, "kube-vip versions"). */
  readonly version?: KubeVipVersionReport;
}

/** kube-vip's version as read from its image. */
export interface KubeVipVersionReport {
  /** The image tag; null for a digest only. */
  readonly tag: string | null;
  /** A release routewarden knows; false: judged as the newest code it models. */
  readonly known: boolean;
  /** The version whose behaviour routewarden follows, e.g. `v1.2.2` or `v1.2.3-24 (bee5cfe)`. */
  readonly judgedAs: string;
  /** One line. */
  readonly detail: string;
}

/** The `kubeVip` field of the report: the effective configuration and where it came from. */
export interface KubeVipReport {
  readonly mode: 'auto' | 'off';
  /** Routing-table-mode kube-vip pods found on this node. */
  readonly found: number;
  /** One line: what discovery found or why it fell back to flags. */
  readonly message: string;
  readonly instances: readonly KubeVipInstanceReport[];
  /** The settings used when no instance was discovered (flags only). */
  readonly settings?: Readonly<Record<string, SettingReport>>;
  /** Settings whose value used differs from kube-vip's effective value, by setting name. */
  readonly mismatches: readonly string[];
}
