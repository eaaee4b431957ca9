// kube-vip's rule for whether one endpoint counts (docs/kube-vip-routing.md
// §4.1, EndpointSlices): under externalTrafficPolicy Cluster any endpoint
// with an address, whatever its conditions; under Local only a serving one on
// this node, matched by nodeName or, failing that, hostname (E18: the
// identity is kube-vip's, not the Node's). The expected set and the E11
// multi-slice context both ask this one function.

import type { EndpointInfo, ServiceInfo } from './cluster.ts';

export function endpointCounts(svc: ServiceInfo, ep: EndpointInfo, identity: string): boolean {
  if (ep.addressCount === 0) return false;
  if (svc.externalTrafficPolicy !== 'Local') return true;
  return ep.conditions.serving === true && (ep.nodeName === identity || ep.hostname === identity);
}
