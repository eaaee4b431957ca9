// The Kubernetes side as the core sees it: plain, already-translated objects.
// The kubernetes adapter keeps these indexes up to date from its informers;
// the core never sees a client-node type.

export type TrafficPolicy = 'Cluster' | 'Local';

export interface IngressEntry {
  readonly ip?: string;
  readonly hostname?: string;
}

export interface ServiceInfo {
  readonly namespace: string;
  readonly name: string;
  /** spec.type, e.g. LoadBalancer, ClusterIP. */
  readonly type: string;
  readonly annotations: Readonly<Record<string, string>>;
  /**
   * The `kube-vip.io/loadbalancerIPs` annotation, parsed once per object
   * version when the object is translated; when absent, read from annotations.
   */
  readonly loadbalancerIPs?: { readonly ips: readonly string[]; readonly hostnames: readonly string[] };
  readonly loadBalancerClass?: string;
  readonly loadBalancerIP?: string;
  readonly ingress: readonly IngressEntry[];
  /** spec.externalTrafficPolicy; anything but "Local" behaves as Cluster. */
  readonly externalTrafficPolicy: TrafficPolicy;
  readonly ipFamilies: readonly string[];
}

export interface EndpointConditions {
  readonly ready?: boolean | null;
  readonly serving?: boolean | null;
  readonly terminating?: boolean | null;
}

export interface EndpointInfo {
  /**
   * How many addresses the endpoint lists. kube-vip only asks whether there
   * is one (docs/kube-vip-routing.md §4.1); the addresses themselves (30,000 strings at 10,000
   * Services) are not kept.
   */
  readonly addressCount: number;
  readonly nodeName?: string;
  readonly hostname?: string;
  readonly conditions: EndpointConditions;
}

export interface EndpointSliceInfo {
  readonly namespace: string;
  readonly name: string;
  /** Label kubernetes.io/service-name. */
  readonly serviceName: string;
  readonly addressType: 'IPv4' | 'IPv6' | 'FQDN';
  readonly endpoints: readonly EndpointInfo[];
}

export interface LeaseInfo {
  readonly namespace: string;
  readonly name: string;
  readonly holderIdentity?: string;
  /** Epoch milliseconds. */
  readonly renewTime?: number;
  readonly acquireTime?: number;
  readonly leaseDurationSeconds?: number;
}

/**
 * An object the Kubernetes adapter could not translate, or refused because
 * it costs more than one object may (docs/reliability.md). It is left out of
 * the view; the rest of the view stands.
 */
export interface RejectedObject {
  /** Kubernetes kind: Service, EndpointSlice, Lease, Pod. */
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** One line. */
  readonly reason: string;
}

/** `namespace/name`, the key of services, leases and slice groups. */
export const objectKey = (namespace: string, name: string): string => `${namespace}/${name}`;

/**
 * What the API says, indexed. Services and leases by `ns/name`; slices grouped
 * by the `ns/name` of the Service they belong to.
 */
export interface ClusterSnapshot {
  readonly services: ReadonlyMap<string, ServiceInfo>;
  readonly slicesByService: ReadonlyMap<string, readonly EndpointSliceInfo[]>;
  readonly leases: ReadonlyMap<string, LeaseInfo>;
  /** Pods on this node, present only when kube-vip discovery is on. */
  readonly nodePods?: NodePodsView;
  /** Objects left out of the view because they could not be translated; absent or empty when none. */
  readonly rejected?: readonly RejectedObject[];
  /**
   * This node's Node object (field selector metadata.name=<node>), present
   * only when kube-vip discovery watches it: kube-vip's control-plane health
   * check reads the Node's InternalIPs (StartVipService).
   */
  readonly thisNode?: ThisNodeView;
  /**
   * Endpoints objects, present only while kube-vip uses them
   * (`enable_endpoints=true`) and routewarden watches them.
   */
  readonly endpoints?: EndpointsView;
  /**
   * The ConfigMaps that back a kube-vip `--config-file` on this node, by
   * `ns/name`: each read and watched on its own (field selector
   * metadata.name=<name>), only while a kube-vip pod mounts it.
   */
  readonly configMaps?: ReadonlyMap<string, ConfigMapView>;
}

/** A ConfigMap as kube-vip's config file needs it. */
export interface ConfigMapInfo {
  readonly namespace: string;
  readonly name: string;
  readonly data: Readonly<Record<string, string>>;
  /** The latest `metadata.managedFields[].time`, epoch ms: when the ConfigMap was last written (absent when not told). */
  readonly changedAt?: number;
}

/** One ConfigMap's informer view. */
export interface ConfigMapView {
  /** `ok`: listed and watching; `unsynced` / `error` (e.g. RBAC refused): not known. */
  readonly state: 'ok' | 'unsynced' | 'error';
  readonly message?: string;
  /** The ConfigMap; null when the API has none of that name (only meaningful when `state` is `ok`). */
  readonly configMap: ConfigMapInfo | null;
}

/** One ready address of an Endpoints object (`subsets[].addresses`; `notReadyAddresses` are never kept). */
export interface EndpointsAddressInfo {
  /** kube-vip's family test: an address whose IP is not IPv4 counts as IPv6 (`To4() == nil`). */
  readonly family: 'ipv4' | 'ipv6';
  readonly nodeName?: string;
  readonly hostname?: string;
}

/** An Endpoints object (named as its Service), as kube-vip's Endpoints provider reads it. */
export interface EndpointsInfo {
  readonly namespace: string;
  readonly name: string;
  readonly addresses: readonly EndpointsAddressInfo[];
}

/** The Endpoints informer's view, keyed by `ns/name` (the Service's key). */
export interface EndpointsView {
  /** `ok`: listed and watching; `unsynced` / `error` (e.g. RBAC refused): not known. */
  readonly state: 'ok' | 'unsynced' | 'error';
  readonly message?: string;
  readonly byService: ReadonlyMap<string, EndpointsInfo>;
}

/** A Node, as far as kube-vip's control-plane health check reads it. */
export interface NodeInfo {
  readonly name: string;
  /** `status.addresses` of type InternalIP, in order. */
  readonly internalIPs: readonly string[];
}

/** This node's Node object as its informer sees it. */
export interface ThisNodeView {
  /** `ok`: listed and watching; `unsynced` / `error` (e.g. RBAC refused): the Node is not known. */
  readonly state: 'ok' | 'unsynced' | 'error';
  readonly message?: string;
  /** The node name the informer selects. */
  readonly name: string;
  /** The Node; null when the API has none of that name (only meaningful when `state` is `ok`). */
  readonly node: NodeInfo | null;
}

/** What changed in the cluster view between two reads, by key (a ClusterSource's journal). */
export interface ClusterChanges {
  /** Services added, updated or deleted (`ns/name`). */
  readonly services: ReadonlySet<string>;
  /** Services (`ns/name`) whose group of EndpointSlices changed. */
  readonly slices: ReadonlySet<string>;
  /** Leases added, updated or deleted (`ns/name`). */
  readonly leases: ReadonlySet<string>;
  /**
   * Endpoints objects added, updated or deleted (`ns/name`, their Service's
   * key); absent when the source does not journal them (then any change of
   * the Endpoints view is a change of everything).
   */
  readonly endpoints?: ReadonlySet<string>;
}

/** A network interface, for `serviceInterface: auto` and interface-down causes. */
export interface InterfaceInfo {
  readonly name: string;
  readonly ifindex: number;
  readonly up: boolean;
  /** CIDRs of the addresses on the interface, e.g. 192.168.1.10/24. */
  readonly addresses: readonly string[];
}

/** One `env` entry of a container: a literal value or a `valueFrom` reference. */
export interface EnvVarInfo {
  readonly name: string;
  /** The literal value; absent when the entry uses valueFrom (an empty literal is ""). */
  readonly value?: string;
  /** `valueFrom.fieldRef.fieldPath`, e.g. `spec.nodeName`. */
  readonly fieldRef?: string;
  /** Any other valueFrom kind (secretKeyRef, configMapKeyRef, resourceFieldRef): not resolvable here. */
  readonly valueFromKind?: string;
}

/** A container's `volumeMounts` entry. */
export interface VolumeMountInfo {
  readonly name: string;
  readonly mountPath: string;
  readonly subPath?: string;
}

/** `items` of a configMap volume (or projected source): key => path inside the volume. */
export interface KeyToPath {
  readonly key: string;
  readonly path: string;
}

/** A configMap volume, or a configMap source of a projected volume. */
export interface ConfigMapVolume {
  readonly kind: 'configMap';
  readonly name: string;
  /** Absent: every key is a file named as the key. */
  readonly items?: readonly KeyToPath[];
}

/** What backs a pod volume, as far as kube-vip's config file needs it. */
export type VolumeSourceInfo =
  | ConfigMapVolume
  | { readonly kind: 'projected'; readonly sources: readonly (ConfigMapVolume | { readonly kind: 'other'; readonly type: string })[] }
  | { readonly kind: 'hostPath'; readonly path: string }
  | { readonly kind: 'other'; readonly type: string };

export interface VolumeInfo {
  readonly name: string;
  readonly source: VolumeSourceInfo;
}

export interface ContainerInfo {
  readonly name: string;
  readonly image: string;
  readonly command: readonly string[];
  readonly args: readonly string[];
  readonly env: readonly EnvVarInfo[];
  /** `envFrom` sources as `configMap <name>` / `secret <name>`: values not visible to routewarden. */
  readonly envFrom: readonly string[];
  /** `volumeMounts` (absent: none). */
  readonly volumeMounts?: readonly VolumeMountInfo[];
}

export interface ContainerStatusInfo {
  readonly name: string;
  readonly ready: boolean;
  readonly restartCount: number;
  readonly state: 'running' | 'waiting' | 'terminated' | 'unknown';
  /** `state.running.startedAt`, epoch ms. */
  readonly startedAt?: number;
  /** `state.waiting.reason` / `state.terminated.reason`, e.g. CrashLoopBackOff. */
  readonly reason?: string;
}

/** A Pod on this node, as far as kube-vip discovery needs it. */
export interface PodInfo {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly nodeName: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly hostNetwork: boolean;
  /** metadata.deletionTimestamp, epoch ms: the pod is terminating. */
  readonly deletionTimestamp?: number;
  readonly deletionGracePeriodSeconds?: number;
  readonly phase: string;
  /** The pod's Ready condition is True. */
  readonly ready: boolean;
  readonly containers: readonly ContainerInfo[];
  readonly containerStatuses: readonly ContainerStatusInfo[];
  /** `spec.volumes` (absent: none). */
  readonly volumes?: readonly VolumeInfo[];
}

/** The pods on this node, when kube-vip discovery watches them (--kube-vip-config auto). */
export interface NodePodsView {
  readonly state: 'ok' | 'unsynced' | 'error';
  readonly message?: string;
  readonly pods: readonly PodInfo[];
}
