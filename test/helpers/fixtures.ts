// Small builders for core tests: a Service, its slices, leases and a model,
// with kube-vip's defaults unless a case says otherwise.

import type { ClusterSnapshot, EndpointInfo, EndpointSliceInfo, LeaseInfo, ServiceInfo } from '../../src/core/cluster.ts';
import { objectKey } from '../../src/core/cluster.ts';
import type { ClusterSource } from '../../src/core/ports.ts';
import type { KubeVipModel } from '../../src/core/model.ts';
import { RTN_UNICAST, routeProtocol, tableId } from '../../src/core/types.ts';
import type { KernelRoute } from '../../src/core/types.ts';

export const NODE = 'worker-1';
export const NOW = Date.parse('2026-11-26T12:00:00Z');

export function model(over: Partial<KubeVipModel> = {}): KubeVipModel {
  return {
    nodeName: NODE,
    table: tableId(198),
    protocol: routeProtocol(248),
    routeType: RTN_UNICAST,
    servicesEnabled: true,
    servicesNamespace: null,
    election: 'none',
    globalLease: { namespace: 'kube-system', name: 'plndr-svcs-lock' },
    perServiceElectionOnDemand: false,
    leaseSkewSeconds: 0,
    lbClassName: 'kube-vip.io/kube-vip-class',
    lbClassOnly: false,
    lbClassLegacyHandling: true,
    interface: 'lo',
    servicesInterface: '',
    vipSubnet: '',
    controlPlane: { enabled: false, addresses: [] },
    ...over,
  };
}

export function svc(name: string, over: Partial<ServiceInfo> & { ip?: string | string[] } = {}): ServiceInfo {
  const { ip, ...rest } = over;
  const ips = ip === undefined ? [] : Array.isArray(ip) ? ip : [ip];
  return {
    namespace: 'default',
    name,
    type: 'LoadBalancer',
    annotations: {},
    ingress: ips.map((i) => ({ ip: i })),
    externalTrafficPolicy: 'Cluster',
    ipFamilies: [],
    ...rest,
  };
}

export function ep(address: string, over: Partial<EndpointInfo> = {}): EndpointInfo {
  return { addressCount: address === '' ? 0 : 1, nodeName: 'worker-2', conditions: { ready: true, serving: true, terminating: false }, ...over };
}

export function slice(service: string, addressType: 'IPv4' | 'IPv6', endpoints: EndpointInfo[], namespace = 'default', name?: string): EndpointSliceInfo {
  return { namespace, name: name ?? `${service}-${addressType.toLowerCase()}`, serviceName: service, addressType, endpoints };
}

export function lease(namespace: string, name: string, holder: string, over: Partial<LeaseInfo> = {}): LeaseInfo {
  return { namespace, name, holderIdentity: holder, renewTime: NOW - 2_000, acquireTime: NOW - 60_000, leaseDurationSeconds: 15, ...over };
}

export function snapshot(services: ServiceInfo[], slices: EndpointSliceInfo[] = [], leases: LeaseInfo[] = []): ClusterSnapshot {
  const slicesByService = new Map<string, EndpointSliceInfo[]>();
  for (const s of slices) {
    const k = objectKey(s.namespace, s.serviceName);
    slicesByService.set(k, [...(slicesByService.get(k) ?? []), s]);
  }
  return {
    services: new Map(services.map((s) => [objectKey(s.namespace, s.name), s])),
    slicesByService,
    leases: new Map(leases.map((l) => [objectKey(l.namespace, l.name), l])),
  };
}

export function kroute(destination: string, over: Partial<KernelRoute> = {}): KernelRoute {
  return {
    family: destination.includes(':') ? 'ipv6' : 'ipv4',
    destination,
    table: tableId(198),
    protocol: routeProtocol(248),
    type: RTN_UNICAST,
    scope: 0,
    device: 'lo',
    ifindex: 1,
    ...over,
  };
}

/** A Kubernetes side held in memory: synced unless `status` says otherwise, nothing to start or watch. */
export function memoryCluster(over: Partial<ClusterSource> & Pick<ClusterSource, 'snapshot'>): ClusterSource {
  return { start: async () => {}, stop: async () => {}, status: () => ({ state: 'ok' }), onChange: () => () => {}, ...over };
}
