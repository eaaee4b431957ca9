// The simulated cluster's objects: a LoadBalancer Service as kube-vip leaves
// it (status.loadBalancer.ingress holds the VIPs) and its EndpointSlices, one
// per address family, with ready endpoints on the given node.

import { endpointSlice, service } from '../apidouble/index.ts';
import type { ApiDouble, KubeObject } from '../apidouble/index.ts';

export interface DemoService {
  readonly name: string;
  readonly namespace?: string;
  /** The VIPs, one per family at most. */
  readonly vips: readonly string[];
  /** The node the endpoints run on. */
  readonly node: string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly externalTrafficPolicy?: 'Cluster' | 'Local';
  readonly type?: string;
}

const isV6 = (ip: string): boolean => ip.includes(':');

// Pod IPs are drawn from the documentation-style ranges kube-vip's docs use;
// they never leave the simulated cluster.
let nextPod = 10;
const podIp = (v6: boolean): string => (v6 ? `fd00:244::${(nextPod++).toString(16)}` : `10.244.0.${nextPod++}`);

/** The Service and one EndpointSlice per family of its VIPs. */
export function serviceObjects(s: DemoService): KubeObject[] {
  const namespace = s.namespace ?? 'default';
  const families = [...new Set(s.vips.map((ip) => (isV6(ip) ? 'IPv6' : 'IPv4')))] as ('IPv4' | 'IPv6')[];
  return [
    service({
      name: s.name,
      namespace,
      type: s.type ?? 'LoadBalancer',
      ingressIPs: s.type === 'ClusterIP' ? [] : s.vips,
      externalTrafficPolicy: s.externalTrafficPolicy ?? 'Cluster',
      ...(s.annotations ? { annotations: s.annotations } : {}),
    }),
    ...families.map((addressType) =>
      endpointSlice({
        service: s.name,
        namespace,
        addressType,
        endpoints: [{ addresses: [podIp(addressType === 'IPv6')], nodeName: s.node, ready: true, serving: true }],
      }),
    ),
  ];
}

export function upsertService(api: ApiDouble, s: DemoService): void {
  for (const o of serviceObjects(s)) api.upsert(o);
}

/** Deletes the Service and its slices, as the API server's garbage collector would. */
export function deleteService(api: ApiDouble, namespace: string, name: string): void {
  api.delete('Service', namespace, name);
  for (const slice of api.list('EndpointSlice', namespace)) {
    const meta = slice.metadata;
    if (meta?.name !== undefined && meta.labels?.['kubernetes.io/service-name'] === name) api.delete('EndpointSlice', namespace, meta.name);
  }
}
