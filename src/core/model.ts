// kube-vip's effective configuration, as far as it changes which routes belong
// on a node (kube-vip-config.md). Built once from flags (and, later, from the
// kube-vip pod itself) and frozen; the core only reads it.

import type { RouteProtocol, RouteType, TableId } from './types.ts';

/** kube-vip's services placement mode (spec §4). */
export type ElectionMode = 'none' | 'service' | 'global';

export interface KubeVipModel {
  /** kube-vip's identity on this node: vip_nodename, lowercased (spec §4, E18). */
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
  /** per_service_election_on_demand (Mode D, spec §4.6). */
  readonly perServiceElectionOnDemand: boolean;
  /** Clock skew tolerated when judging whether a lease is still valid. */
  readonly leaseSkewSeconds: number;

  /** lb_class_name; may be "" (spec §3.1-5). */
  readonly lbClassName: string;
  readonly lbClassOnly: boolean;
  readonly lbClassLegacyHandling: boolean;

  /** vip_interface: route device for the CP VIP and the services fallback. */
  readonly interface: string;
  /** vip_servicesinterface: "" = unset, "auto" = interface whose subnet holds the VIP. */
  readonly servicesInterface: string;
  /** vip_subnet as kube-vip sees it after auto-generation from `address` ("v4[,v6]"). */
  readonly vipSubnet: string;

  /** cp_enable and the CP VIP address(es) (spec §4.5). */
  readonly controlPlane: { readonly enabled: boolean; readonly addresses: readonly string[] };
}

/**
 * kube-vip's `GenerateCidrRange`: with an empty vip_subnet and a CP `address`
 * set, vip_subnet becomes "32", "128" or "32,128" — the IPv6-only case then
 * breaks IPv4 services (spec §2.2 pitfall), which the model reproduces.
 */
export function effectiveVipSubnet(vipSubnet: string, cpAddresses: readonly string[], families: (a: string) => 'ipv4' | 'ipv6' | null): string {
  if (vipSubnet !== '' || cpAddresses.length === 0) return vipSubnet;
  const parts: string[] = [];
  for (const a of cpAddresses) {
    const f = families(a);
    if (f === 'ipv4') parts.push('32');
    else if (f === 'ipv6') parts.push('128');
  }
  return parts.join(',');
}
