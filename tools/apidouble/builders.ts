// Small builders for the objects routewarden reads, shaped exactly as the
// apiserver returns them (raw JSON, camelCase, RFC 3339 timestamps), so tests
// and the demo do not hand-write manifests.

import type { KubeObject } from './store.ts';

export interface ServiceSpecInput {
  readonly name: string;
  readonly namespace?: string;
  /** spec.type; LoadBalancer by default. */
  readonly type?: string;
  /** status.loadBalancer.ingress IPs (what kube-vip writes back). */
  readonly ingressIPs?: readonly string[];
  readonly ingressHostnames?: readonly string[];
  readonly loadBalancerIP?: string;
  readonly loadBalancerClass?: string;
  readonly externalTrafficPolicy?: 'Cluster' | 'Local';
  readonly ipFamilies?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly uid?: string;
  readonly ports?: readonly { readonly port: number; readonly protocol?: string; readonly name?: string }[];
}

const isV6 = (ip: string): boolean => ip.includes(':');

/** metadata of a namespaced object; empty label and annotation maps are left out, as the API does. */
function namespacedMeta(
  name: string,
  namespace: string | undefined,
  labels?: Readonly<Record<string, string>>,
  annotations?: Readonly<Record<string, string>>,
): KubeObject['metadata'] {
  return {
    name,
    namespace: namespace ?? 'default',
    ...(labels ? { labels: { ...labels } } : {}),
    ...(annotations ? { annotations: { ...annotations } } : {}),
  };
}

export function service(input: ServiceSpecInput): KubeObject {
  const ips = input.ingressIPs ?? [];
  const families = input.ipFamilies ?? familiesOf([...ips, ...(input.loadBalancerIP ? [input.loadBalancerIP] : [])]);
  const ingress = [...ips.map((ip) => ({ ip, ipMode: 'VIP' })), ...(input.ingressHostnames ?? []).map((hostname) => ({ hostname }))];
  const spec: Record<string, unknown> = {
    type: input.type ?? 'LoadBalancer',
    ports: (input.ports ?? [{ port: 80 }]).map((p) => ({
      name: p.name,
      port: p.port,
      protocol: p.protocol ?? 'TCP',
      targetPort: p.port,
    })),
    selector: { app: input.name },
    ipFamilies: families,
    ipFamilyPolicy: families.length > 1 ? 'PreferDualStack' : 'SingleStack',
    sessionAffinity: 'None',
    internalTrafficPolicy: 'Cluster',
  };
  if ((input.type ?? 'LoadBalancer') !== 'ClusterIP') {
    spec.externalTrafficPolicy = input.externalTrafficPolicy ?? 'Cluster';
  }
  if (input.loadBalancerIP !== undefined) spec.loadBalancerIP = input.loadBalancerIP;
  if (input.loadBalancerClass !== undefined) spec.loadBalancerClass = input.loadBalancerClass;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      ...namespacedMeta(input.name, input.namespace, input.labels, input.annotations),
      ...(input.uid !== undefined ? { uid: input.uid } : {}),
    },
    spec,
    status: { loadBalancer: ingress.length > 0 ? { ingress } : {} },
  };
}

function familiesOf(ips: readonly string[]): string[] {
  const fams = new Set(ips.map((ip) => (isV6(ip) ? 'IPv6' : 'IPv4')));
  return fams.size === 0 ? ['IPv4'] : [...fams].sort();
}

export interface EndpointInput {
  readonly addresses: readonly string[];
  readonly nodeName?: string;
  readonly hostname?: string;
  /** Conditions; omitted ones are left out of the object (nil), which kube-vip treats as false for `serving`. */
  readonly ready?: boolean;
  readonly serving?: boolean;
  readonly terminating?: boolean;
}

export interface EndpointSliceInput {
  /** The Service the slice belongs to (label kubernetes.io/service-name). */
  readonly service: string;
  readonly namespace?: string;
  /** Defaults to `<service>-<addressType in lower case>`. */
  readonly name?: string;
  readonly addressType?: 'IPv4' | 'IPv6' | 'FQDN';
  readonly endpoints: readonly EndpointInput[];
  readonly labels?: Readonly<Record<string, string>>;
}

export function endpointSlice(input: EndpointSliceInput): KubeObject {
  const addressType = input.addressType ?? (input.endpoints.some((e) => e.addresses.some(isV6)) ? 'IPv6' : 'IPv4');
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: input.name ?? `${input.service}-${addressType.toLowerCase()}`,
      namespace: input.namespace ?? 'default',
      labels: {
        'kubernetes.io/service-name': input.service,
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
        ...input.labels,
      },
    },
    addressType,
    endpoints: input.endpoints.map((e) => {
      const conditions: Record<string, boolean> = {};
      if (e.ready !== undefined) conditions.ready = e.ready;
      if (e.serving !== undefined) conditions.serving = e.serving;
      if (e.terminating !== undefined) conditions.terminating = e.terminating;
      return {
        addresses: [...e.addresses],
        conditions,
        ...(e.nodeName !== undefined ? { nodeName: e.nodeName } : {}),
        ...(e.hostname !== undefined ? { hostname: e.hostname } : {}),
      };
    }),
    ports: [{ name: '', port: 80, protocol: 'TCP' }],
  };
}

export interface LeaseInput {
  readonly name: string;
  readonly namespace?: string;
  readonly holderIdentity?: string;
  /** Date, epoch milliseconds or an RFC 3339 string. */
  readonly renewTime?: Date | number | string;
  readonly acquireTime?: Date | number | string;
  readonly leaseDurationSeconds?: number;
  readonly leaseTransitions?: number;
}

/** RFC 3339 with microseconds, the wire format of metav1.MicroTime (Lease times). */
export function microTime(t: Date | number | string): string {
  if (typeof t === 'string') return t;
  const iso = new Date(t).toISOString(); // 2026-11-26T12:00:00.123Z
  return iso.replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function lease(input: LeaseInput): KubeObject {
  const spec: Record<string, unknown> = {};
  if (input.holderIdentity !== undefined) spec.holderIdentity = input.holderIdentity;
  if (input.leaseDurationSeconds !== undefined) spec.leaseDurationSeconds = input.leaseDurationSeconds;
  if (input.acquireTime !== undefined) spec.acquireTime = microTime(input.acquireTime);
  if (input.renewTime !== undefined) spec.renewTime = microTime(input.renewTime);
  if (input.leaseTransitions !== undefined) spec.leaseTransitions = input.leaseTransitions;
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: namespacedMeta(input.name, input.namespace),
    spec,
  };
}

export interface ContainerInput {
  readonly name: string;
  readonly image?: string;
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

export interface PodInput {
  readonly name: string;
  readonly namespace?: string;
  readonly nodeName?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly containers?: readonly ContainerInput[];
  readonly phase?: string;
  readonly hostNetwork?: boolean;
}

export function pod(input: PodInput): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: namespacedMeta(input.name, input.namespace, input.labels),
    spec: {
      ...(input.nodeName !== undefined ? { nodeName: input.nodeName } : {}),
      ...(input.hostNetwork !== undefined ? { hostNetwork: input.hostNetwork } : {}),
      containers: (input.containers ?? [{ name: input.name }]).map((c) => ({
        name: c.name,
        image: c.image ?? 'registry.invalid/placeholder:latest',
        ...(c.args ? { args: [...c.args] } : {}),
        ...(c.env ? { env: Object.entries(c.env).map(([name, value]) => ({ name, value })) } : {}),
      })),
    },
    status: { phase: input.phase ?? 'Running' },
  };
}
