// Conformance with kube-vip at bee5cfe (v1.2.3-24): every row runs one case
// through routewarden's model and names where kube-vip decides it.
//
// - `go` rows transcribe a case of kube-vip's own unit tests (the test named
//   in `from`), restated in routewarden's terms: what lands in the table.
// - `divergence` rows are places where routewarden used to disagree with
//   kube-vip (issue #12 numbers 1–9, and F1–F8 found walking the code);
//   `docs/kube-vip-fidelity.md` lists every row with its kube-vip source.
//
// The verdict of a row is the set of strings: `route <dst> <dev>` for an
// expected route, `orphan|missing <dst> <reason>` for drift, `unjudged <dst or
// address> <reason>` for what routewarden cannot judge, `excluded <address>
// <reason>` for a VIP kube-vip cannot install.

import { describe, expect, it } from 'vitest';
import type { EndpointSliceInfo, EndpointsInfo, LeaseInfo, ServiceInfo, ThisNodeView } from '../../src/core/cluster.ts';
import { DefaultGatewayTracker, defaultGatewayInterface } from '../../src/core/default-gateway.ts';
import { diff } from '../../src/core/diff.ts';
import { expectedRoutes, serviceLeaseKey } from '../../src/core/expected.ts';
import { evaluate } from '../../src/core/report.ts';
import { familyOf } from '../../src/core/ip.ts';
import { generateCidrRange } from '../../src/core/model.ts';
import type { KubeVipModel } from '../../src/core/model.ts';
import { routeType } from '../../src/core/types.ts';
import type { KernelRoute } from '../../src/core/types.ts';
import { decodeKubeVipConfig, readKubeVipConfigFile } from '../../src/kubevip/config-file.ts';
import { deriveKnobs } from '../../src/kubevip/derive.ts';
import type { KnobKey } from '../../src/kubevip/derive.ts';
import { resolveKubeVip, SETTINGS } from '../../src/kubevip/resolve.ts';
import { kubeVipVersion } from '../../src/kubevip/version.ts';
import { ep, kroute, lease, model, NODE, NOW, slice, snapshot, svc } from '../helpers/fixtures.ts';
import { configFilePod, configMapsWith, kubeVipPod } from '../helpers/kubevip-pods.ts';
import type { EnvSpec } from '../helpers/kubevip-pods.ts';

interface Row {
  readonly name: string;
  /** `go`: a case of kube-vip's unit tests; `divergence`: a fixed disagreement. */
  readonly kind: 'go' | 'divergence';
  /** The Go test (file and function) or the divergence id, and kube-vip's deciding function. */
  readonly from: string;
  readonly services?: ServiceInfo[];
  readonly slices?: EndpointSliceInfo[];
  readonly leases?: LeaseInfo[];
  readonly model?: Partial<KubeVipModel>;
  readonly owned?: KernelRoute[];
  /** This node's Node as routewarden's informer sees it (absent: not watched). */
  readonly node?: ThisNodeView;
  /** Endpoints objects as routewarden's informer sees them (`unreadable`: the informer failed, e.g. RBAC). */
  readonly endpoints?: EndpointsInfo[] | 'unreadable';
  readonly want: string[];
}

const v4 = (name: string, node = 'worker-2', over = {}) => slice(name, 'IPv4', [ep('10.244.1.5', { nodeName: node, ...over })]);
const v6 = (name: string, node = 'worker-2', over = {}) => slice(name, 'IPv6', [ep('fd00:244::5', { nodeName: node, ...over })]);
const ALLOW = { 'kube-vip.io/allow-reconcile-without-endpoints': 'true' };
const ETCD = { notJudged: [{ reason: 'etcd-lease' as const, scope: 'elected' as const, detail: 'etcd' }] };

/** kube-vip with enable_endpoints (the marker resolveKubeVip sets): it reads Endpoints, not EndpointSlices. */
const ENDPOINTS = { notJudged: [{ reason: 'endpoints-source' as const, scope: 'endpoints' as const, detail: 'enable_endpoints' }] };
const endpointsOf = (name: string, ...addresses: EndpointsInfo['addresses'][number][]): EndpointsInfo => ({ namespace: 'default', name, addresses });

function d8Rows(): Row[] {
  const ready = (family: 'ipv4' | 'ipv6', nodeName?: string, hostname?: string) => ({
    family,
    ...(nodeName !== undefined ? { nodeName } : {}),
    ...(hostname !== undefined ? { hostname } : {}),
  });
  return [
    {
      kind: 'divergence',
      from: 'D8 providers/endpoints.go GetAllEndpoints: Cluster policy counts every ready subsets[].addresses entry, wherever it runs',
      name: 'D8 Endpoints, Cluster: a ready address on another node => route (the EndpointSlices are not read)',
      services: [svc('web', { ip: '10.0.0.5' })],
      endpoints: [endpointsOf('web', ready('ipv4', 'worker-2'))],
      model: ENDPOINTS,
      want: ['route 10.0.0.5/32 lo'],
    },
    {
      kind: 'divergence',
      from: 'D8 GetAllEndpoints reads subsets[].addresses only: notReadyAddresses (not-ready, terminating pods) never count',
      name: 'D8 Endpoints with no ready address, a slice with a not-ready endpoint: no route, a table route is an orphan',
      services: [svc('web', { ip: '10.0.0.5' })],
      slices: [v4('web', 'worker-2', { ready: false, serving: false })],
      endpoints: [endpointsOf('web')],
      model: ENDPOINTS,
      owned: [kroute('10.0.0.5/32')],
      want: ['orphan 10.0.0.5/32 not-placed-here'],
    },
    {
      kind: 'divergence',
      from: "D8 GetLocalEndpoints: Local counts a ready address whose nodeName is kube-vip's identity",
      name: 'D8 Endpoints, Local: a ready address on this node => route; only on another node => none',
      services: [svc('here', { ip: '10.0.0.5', externalTrafficPolicy: 'Local' }), svc('there', { ip: '10.0.0.6', externalTrafficPolicy: 'Local' })],
      endpoints: [endpointsOf('here', ready('ipv4', NODE)), endpointsOf('there', ready('ipv4', 'worker-2'))],
      model: ENDPOINTS,
      want: ['route 10.0.0.5/32 lo'],
    },
    {
      kind: 'divergence',
      from: "D8 GetLocalEndpoints step 2: without a matching nodeName, the address's hostname is compared with kube-vip's identity",
      name: 'D8 Endpoints, Local: an address without nodeName whose hostname is this node => route',
      services: [svc('web', { ip: '10.0.0.5', externalTrafficPolicy: 'Local' })],
      endpoints: [endpointsOf('web', ready('ipv4', undefined, NODE))],
      model: ENDPOINTS,
      want: ['route 10.0.0.5/32 lo'],
    },
    {
      kind: 'divergence',
      from: 'D8 setInstanceEndpointsStatus: a VIP has endpoints only if one is of its family (To4() compared)',
      name: 'D8 Endpoints with IPv4 addresses only, dual-stack Service, no election: only the IPv4 VIP is routed',
      services: [svc('web', { ip: ['10.0.0.5', 'fd00::5'] })],
      endpoints: [endpointsOf('web', ready('ipv4', 'worker-2'))],
      model: ENDPOINTS,
      want: ['route 10.0.0.5/32 lo'],
    },
    {
      kind: 'divergence',
      from: 'D8: Endpoints not readable (no endpoints grant): the endpoint check is unknown',
      name: 'D8 Endpoints unreadable: the route that depends on endpoints is not judged',
      services: [svc('web', { ip: '10.0.0.5' })],
      slices: [v4('web')],
      endpoints: 'unreadable',
      model: ENDPOINTS,
      want: ['unjudged 10.0.0.5/32 endpoints-source'],
    },
    {
      kind: 'divergence',
      from: 'D8 + D7 startServiceHandlingIfNeeded: under global election only the (Endpoints) watcher starts routes',
      name: 'D8 global election, lease here, allow-reconcile: no Endpoints object => no route; an empty one => route',
      services: [svc('bare', { ip: '10.0.0.5', annotations: ALLOW }), svc('empty', { ip: '10.0.0.6', annotations: ALLOW })],
      slices: [slice('bare', 'IPv4', [])],
      endpoints: [endpointsOf('empty')],
      leases: [lease('kube-system', 'plndr-svcs-lock', NODE)],
      model: { ...ENDPOINTS, election: 'global' },
      want: ['route 10.0.0.6/32 lo'],
    },
  ];
}

/** A Node with these InternalIPs, as the informer for this node sees it. */
const nodeView = (...internalIPs: string[]): ThisNodeView => ({ state: 'ok', name: NODE, node: { name: NODE, internalIPs } });
const CP_DUAL = ['192.168.10.100', 'fd00::100'];
const cpModel = (addresses: string[], kubernetesAddr?: string): Partial<KubeVipModel> => ({
  servicesEnabled: false,
  controlPlane: { enabled: true, addresses, ...(kubernetesAddr !== undefined ? { kubernetesAddr } : {}) },
});
const CP_ROUTES = [kroute('192.168.10.100/32'), kroute('fd00::100/128', { family: 'ipv6' })];

function d9Rows(): Row[] {
  return [
    {
      kind: 'divergence',
      from: 'D9 StartVipService: backendMapV6 is empty when the Node has no IPv6 InternalIP, so the IPv6 CP route is never added; route.Manager.Delete removes only tracked routes',
      name: 'D9 Node with an IPv4 InternalIP only: the IPv4 CP route is judged, the IPv6 one is never installed (a leftover is an orphan)',
      model: cpModel(CP_DUAL),
      node: nodeView('192.168.10.11'),
      owned: CP_ROUTES,
      want: ['route 192.168.10.100/32 lo', 'orphan fd00::100/128 excluded', 'excluded fd00::100 no-node-internal-ip'],
    },
    {
      kind: 'divergence',
      from: 'D9 StartVipService: a family the Node has an InternalIP of is added only while its health check passes',
      name: 'D9 Node with both families, the IPv6 CP route absent: not judged (health check), never missing',
      model: cpModel(CP_DUAL),
      node: nodeView('192.168.10.11', 'fd00::11'),
      owned: [kroute('192.168.10.100/32')],
      want: ['route 192.168.10.100/32 lo', 'unjudged fd00::100/128 cp-health-check'],
    },
    {
      kind: 'divergence',
      from: 'D9: the Node is not readable (RBAC refused): its InternalIPs are unknown',
      name: 'D9 Node not readable: every CP family stays not judged when absent, judged when present',
      model: cpModel(CP_DUAL),
      node: { state: 'error', message: 'listing nodes: 403 Forbidden', name: NODE, node: null },
      owned: [kroute('fd00::100/128', { family: 'ipv6' })],
      want: ['route fd00::100/128 lo', 'unjudged 192.168.10.100/32 cp-health-check'],
    },
    {
      kind: 'divergence',
      from: "D9 StartVipService: no Node (NotFound) => no IPs => localhost of cluster.Network[0]'s family only",
      name: "D9 no Node object: only the first CP address's family (here IPv6) can be installed",
      model: cpModel(['fd00::100', '192.168.10.100']),
      node: { state: 'ok', name: NODE, node: null },
      owned: CP_ROUTES,
      want: ['route fd00::100/128 lo', 'orphan 192.168.10.100/32 excluded', 'excluded 192.168.10.100 no-node-internal-ip'],
    },
    {
      kind: 'divergence',
      from: "D9 StartVipService: a Node without any InternalIP => localhost of the first address's family",
      name: "D9 Node without InternalIPs: only the first CP address's family (here IPv4)",
      model: cpModel(CP_DUAL),
      node: nodeView(),
      owned: CP_ROUTES,
      want: ['route 192.168.10.100/32 lo', 'orphan fd00::100/128 excluded', 'excluded fd00::100 no-node-internal-ip'],
    },
    {
      kind: 'divergence',
      from: "D9: kube-vip's node name is another node's: routewarden reads only its own Node",
      name: 'D9 kube-vip looks up another Node: not known, not judged when absent',
      model: { ...cpModel(CP_DUAL), nodeName: 'other-node' },
      node: nodeView('192.168.10.11'),
      owned: [kroute('192.168.10.100/32')],
      want: ['route 192.168.10.100/32 lo', 'unjudged fd00::100/128 cp-health-check'],
    },
    ...(
      [
        ['https://127.0.0.1:6443', 'explicit v4 loopback with port', true],
        ['https://localhost', 'hostname without port falls back to config port', true],
        ['', 'empty override', false],
        ['://not-a-url', 'garbage override', false],
      ] as const
    ).map(([addr, goCase, override]): Row => ({
      kind: 'go',
      from: `pkg/cluster/service_internal_test.go TestKubernetesAddrBackendEntry (${goCase}); kubernetesAddrBackendEntry: an override checks every family against one address`,
      name: `D9 kubernetes_addr ${JSON.stringify(addr)}, Node IPv4 only: ${override ? 'every family checked against it, the IPv6 CP route not judged when absent' : 'no override, the IPv6 CP route never installed'}`,
      model: cpModel(CP_DUAL, addr),
      node: nodeView('192.168.10.11'),
      owned: [kroute('192.168.10.100/32')],
      want: override
        ? ['route 192.168.10.100/32 lo', 'unjudged fd00::100/128 cp-health-check']
        : ['route 192.168.10.100/32 lo', 'excluded fd00::100 no-node-internal-ip'],
    })),
  ];
}

/** A dual-stack Service with an endpoint of each family on another node. */
const DUAL_WEB = { services: [svc('web', { ip: ['10.0.0.5', 'fd00::5'] })], slices: [v4('web'), v6('web')] };

const ROWS: Row[] = [
  // --- pkg/endpoints/endpoints_test.go
  {
    kind: 'go',
    from: 'pkg/endpoints/endpoints_test.go TestShouldAllowReconcileWithoutEndpoints (cluster opt-in allowed); shouldAllowReconcileWithoutEndpoints',
    name: 'Cluster + allow-reconcile-without-endpoints, svc_election, lease here, no endpoints => route',
    services: [svc('web', { ip: '10.0.0.5', annotations: ALLOW })],
    slices: [slice('web', 'IPv4', [])],
    leases: [lease('default', 'kubevip-web', NODE)],
    model: { election: 'service' },
    want: ['route 10.0.0.5/32 lo'],
  },
  {
    kind: 'go',
    from: 'pkg/endpoints/endpoints_test.go TestShouldAllowReconcileWithoutEndpoints (local opt-in not allowed)',
    name: 'Local + allow-reconcile-without-endpoints, svc_election, lease here, no endpoints => no route',
    services: [svc('web', { ip: '10.0.0.5', externalTrafficPolicy: 'Local', annotations: ALLOW })],
    slices: [slice('web', 'IPv4', [])],
    leases: [lease('default', 'kubevip-web', NODE)],
    model: { election: 'service' },
    want: [],
  },
  {
    kind: 'go',
    from: 'pkg/endpoints/endpoints_test.go TestShouldAllowReconcileWithoutEndpoints (strings.EqualFold "TRUE")',
    name: 'allow-reconcile-without-endpoints "TRUE" counts (EqualFold)',
    services: [svc('web', { ip: '10.0.0.5', annotations: { 'kube-vip.io/allow-reconcile-without-endpoints': 'TRUE' } })],
    slices: [slice('web', 'IPv4', [])],
    leases: [lease('default', 'kubevip-web', NODE)],
    model: { election: 'service' },
    want: ['route 10.0.0.5/32 lo'],
  },
  {
    kind: 'go',
    from: 'pkg/endpoints/endpoints_test.go TestAddOrModify_ZeroEndpointsBehavior "cluster opt-in keeps readiness and skips clear"; endpoints_routing_table.go processInstance (HasEndpoints)',
    name: 'no election, Cluster opt-in, zero endpoints: processInstance runs but no network has endpoints => no route',
    services: [svc('web', { ip: '10.0.0.5', annotations: ALLOW })],
    slices: [slice('web', 'IPv4', [])],
    want: [],
  },
  {
    kind: 'go',
    from: 'pkg/endpoints/endpoints_test.go TestAddOrModify_ZeroEndpointsBehavior "cluster without opt-in resets and clears when pre-signalled"',
    name: 'no election, Cluster, zero endpoints, a route left => orphan (kube-vip clears it)',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [slice('web', 'IPv4', [])],
    owned: [kroute('10.0.0.5/32')],
    want: ['orphan 10.0.0.5/32 not-placed-here'],
  },
  {
    kind: 'go',
    from: 'pkg/endpoints/endpoints_test.go TestAddOrModify_ZeroEndpointsBehavior "local opt-in still resets and clears when pre-signalled"',
    name: 'no election, Local opt-in, no local endpoint => no route',
    services: [svc('web', { ip: '10.0.0.5', externalTrafficPolicy: 'Local', annotations: ALLOW })],
    slices: [v4('web')],
    want: [],
  },
  {
    kind: 'go',
    from: 'pkg/endpoints/endpoints_test.go TestAddOrModify_ServicesElectionStartsOnce; endpoints.go startServiceHandlingIfNeeded',
    name: 'svc_election with endpoints: placement by the lease alone, not per event',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    leases: [lease('default', 'kubevip-web', 'worker-2')],
    model: { election: 'service' },
    want: [],
  },
  // --- pkg/lease/lease_test.go (lease.ServiceName)
  {
    kind: 'go',
    from: 'pkg/lease/lease_test.go TestGetName_WithoutAnnotation; lease.ServiceName',
    name: 'no leaseName: lease my-namespace/kubevip-my-service decides',
    services: [svc('my-service', { namespace: 'my-namespace', ip: '10.0.0.5' })],
    slices: [slice('my-service', 'IPv4', [ep('10.244.1.5')], 'my-namespace')],
    leases: [lease('my-namespace', 'kubevip-my-service', NODE)],
    model: { election: 'service' },
    want: ['route 10.0.0.5/32 lo'],
  },
  {
    kind: 'go',
    from: 'pkg/lease/lease_test.go TestGetName_WithAnnotation',
    name: 'leaseName shared-lease: lease my-namespace/shared-lease decides',
    services: [svc('my-service', { namespace: 'my-namespace', ip: '10.0.0.5', annotations: { 'kube-vip.io/leaseName': 'shared-lease' } })],
    slices: [slice('my-service', 'IPv4', [ep('10.244.1.5')], 'my-namespace')],
    leases: [lease('my-namespace', 'shared-lease', NODE)],
    model: { election: 'service' },
    want: ['route 10.0.0.5/32 lo'],
  },
  {
    kind: 'go',
    from: 'pkg/lease/lease_test.go TestGetName_WithAnnotationAndOverriddenNamespace',
    name: 'leaseName other-namespace/shared-lease: that lease decides',
    services: [svc('my-service', { namespace: 'my-namespace', ip: '10.0.0.5', annotations: { 'kube-vip.io/leaseName': 'other-namespace/shared-lease' } })],
    slices: [slice('my-service', 'IPv4', [ep('10.244.1.5')], 'my-namespace')],
    leases: [lease('other-namespace', 'shared-lease', NODE)],
    model: { election: 'service' },
    want: ['route 10.0.0.5/32 lo'],
  },
  {
    kind: 'go',
    from: 'pkg/lease/lease_test.go TestGetName_WithoutAnnotation_Etcd / _WithAnnotation_Etcd / _WithAnnotationAndOverriddenNamespace_Etcd; lease.NewID("etcd")',
    name: 'etcd leases: the elected route is not judged (the API lease says nothing)',
    services: [svc('my-service', { namespace: 'my-namespace', ip: '10.0.0.5' })],
    slices: [slice('my-service', 'IPv4', [ep('10.244.1.5')], 'my-namespace')],
    leases: [lease('my-namespace', 'kubevip-my-service', 'worker-2')],
    model: { election: 'service', ...ETCD },
    owned: [kroute('10.0.0.5/32')],
    want: ['unjudged 10.0.0.5/32 etcd-lease'],
  },
  // --- pkg/services/processor_lease_test.go
  {
    kind: 'go',
    from: 'pkg/services/processor_lease_test.go TestAddOrModifyStopsTrackedServiceWhenTypeChanges "normal"; processor.go deleteTrackedService',
    name: 'type changed to ClusterIP: kube-vip tears it down, a route left is plain drift',
    services: [svc('example', { ip: '192.0.2.10', type: 'ClusterIP' })],
    slices: [v4('example')],
    owned: [kroute('192.0.2.10/32')],
    want: ['orphan 192.0.2.10/32 service-filtered'],
  },
  {
    kind: 'go',
    from: 'pkg/services/processor_lease_test.go TestAddOrModifyStopsTrackedServiceWhenTypeChanges "ignored"',
    name: 'type changed to ClusterIP and ignored: torn down as well',
    services: [svc('example', { ip: '192.0.2.10', type: 'ClusterIP', annotations: { 'kube-vip.io/ignore': 'true' } })],
    slices: [v4('example')],
    want: [],
  },

  // --- divergences of issue #12
  {
    kind: 'divergence',
    from: '1 GenerateCidrRange (cmd/kube-vip.go)',
    name: 'vip_subnet "32,128" (generated from fd00::10,10.0.0.10): IPv4 at /32, IPv6 at /128',
    services: [svc('web', { ip: ['10.0.0.5', 'fd00::5'] })],
    slices: [v4('web'), v6('web')],
    model: { vipSubnet: generateCidrRange('fd00::10,10.0.0.10', familyOf)! },
    want: ['route 10.0.0.5/32 lo', 'route fd00::5/128 lo'],
  },
  {
    kind: 'divergence',
    from: '2 GetDefaultGatewayInterface (pkg/vip/util.go)',
    name: 'vip_interface not known (no default route): the route on it is not judged',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    model: { notJudged: [{ reason: 'default-interface', scope: 'interface', detail: 'no default route' }] },
    owned: [kroute('10.0.0.5/32', { device: 'eth0' })],
    want: ['unjudged 10.0.0.5/32 default-interface'],
  },
  {
    kind: 'divergence',
    from: '2 GetDefaultGatewayInterface: a serviceInterface annotation does not use vip_interface',
    name: 'vip_interface not known, but the Service names its interface: judged',
    services: [svc('web', { ip: '10.0.0.5', annotations: { 'kube-vip.io/serviceInterface': 'lo' } })],
    slices: [v4('web')],
    model: { notJudged: [{ reason: 'default-interface', scope: 'interface', detail: 'no default route' }] },
    want: ['route 10.0.0.5/32 lo'],
  },
  {
    kind: 'divergence',
    from: '3 leaderElectionType etcd (pkg/election/election.go, endpoints.go lease.NewID)',
    name: 'global election over etcd: the route is not judged, never not-placed-here',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    model: { election: 'global', ...ETCD },
    owned: [kroute('10.0.0.5/32')],
    want: ['unjudged 10.0.0.5/32 etcd-lease'],
  },
  {
    kind: 'divergence',
    from: '4 StartLoadBalancerService (pkg/cluster/service.go) logs a failed route add per VIP',
    name: 'svc_election: the IPv4 route the kernel refuses does not take the IPv6 one along',
    services: [svc('web', { ip: ['10.0.0.5', 'fd00::5'] })],
    slices: [v4('web')],
    leases: [lease('default', 'kubevip-web', NODE)],
    model: { election: 'service', vipSubnet: '24,128' },
    want: ['route fd00::5/128 lo', 'excluded 10.0.0.5 kernel-rejects-prefix'],
  },
  {
    kind: 'divergence',
    from: '5 NewInstance (pkg/instance/instance.go): hostnames resolved on the node',
    name: 'an IP and a hostname in loadbalancerIPs: the whole Service is not judged',
    services: [svc('web', { annotations: { 'kube-vip.io/loadbalancerIPs': '10.0.0.5,vip.example.com' } })],
    slices: [v4('web')],
    want: ['unjudged 10.0.0.5 hostname', 'unjudged vip.example.com hostname'],
  },
  {
    kind: 'divergence',
    from: '6 NewInstance: strconv.ParseBool(kube-vip.io/ddns) fails',
    name: 'ddns "yes" => NewInstance fails, no route',
    services: [svc('web', { ip: '10.0.0.5', annotations: { 'kube-vip.io/ddns': 'yes' } })],
    slices: [v4('web')],
    want: ['excluded 10.0.0.5 instance-fails'],
  },
  {
    kind: 'divergence',
    from: '6 NewInstance: kube-vip.io/requestedIP with more than two entries',
    name: 'requestedIP with three entries => no route',
    services: [svc('web', { ip: '10.0.0.5', annotations: { 'kube-vip.io/requestedIP': '10.0.0.5,10.0.0.6,fd00::5' } })],
    slices: [v4('web')],
    want: ['excluded 10.0.0.5 instance-fails'],
  },
  {
    kind: 'divergence',
    from: '6 NewInstance: ddns "false" is a Go bool',
    name: 'ddns "false" => routed',
    services: [svc('web', { ip: '10.0.0.5', annotations: { 'kube-vip.io/ddns': 'false' } })],
    slices: [v4('web')],
    want: ['route 10.0.0.5/32 lo'],
  },
  {
    kind: 'divergence',
    from: '7 global election: routes start from the EndpointSlice watcher only (endpoints.go startServiceHandlingIfNeeded)',
    name: 'global election, lease here, no EndpointSlice, allow-reconcile => no route',
    services: [svc('web', { ip: '10.0.0.5', annotations: ALLOW })],
    leases: [lease('kube-system', 'plndr-svcs-lock', NODE)],
    model: { election: 'global' },
    want: [],
  },
  {
    kind: 'divergence',
    from: '8 enable_endpoints (pkg/endpoints/providers/endpoints.go)',
    name: 'enable_endpoints: the route depends on Endpoints => not judged',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web', 'worker-2', { conditions: { ready: false, serving: false, terminating: true } })],
    model: { notJudged: [{ reason: 'endpoints-source', scope: 'endpoints', detail: 'enable_endpoints' }] },
    want: ['unjudged 10.0.0.5/32 endpoints-source'],
  },

  {
    kind: 'divergence',
    from: "D9 StartVipService (pkg/cluster/service.go): the CP route follows a health check of the node's API server, per family of the Node's InternalIPs",
    name: 'D9 control-plane route absent: not judged (health check, Node InternalIPs)',
    model: { servicesEnabled: false, controlPlane: { enabled: true, addresses: ['192.168.10.100'] } },
    want: ['unjudged 192.168.10.100/32 cp-health-check'],
  },
  {
    kind: 'divergence',
    from: 'D9 StartVipService: a CP route kube-vip holds is judged like any other',
    name: 'D9 control-plane route present on vip_interface: in sync',
    model: { servicesEnabled: false, controlPlane: { enabled: true, addresses: ['192.168.10.100'] } },
    owned: [kroute('192.168.10.100/32')],
    want: ['route 192.168.10.100/32 lo'],
  },

  // --- D8: enable_endpoints, kube-vip reads Endpoints (providers/endpoints.go)
  ...d8Rows(),

  // --- D9: the control-plane health check and this node's Node (StartVipService, pkg/cluster/service.go)
  ...d9Rows(),

  // --- divergences found walking kube-vip's code (F1–F8)
  {
    kind: 'divergence',
    from: 'F1 processor.go: a type change calls deleteTrackedService (teardown), so E15 no longer covers it',
    name: 'F1 type change: plain drift, not limitation E15',
    services: [svc('web', { ip: '10.0.0.5', type: 'NodePort' })],
    owned: [kroute('10.0.0.5/32')],
    want: ['orphan 10.0.0.5/32 service-filtered'],
  },
  {
    kind: 'divergence',
    from: 'F2 endpoints.go AddOrModify: egress-ipv6 is checked only when there are endpoints',
    name: 'F2 egress-ipv6 + allow-reconcile, svc_election, no endpoints at all => route on the holder',
    services: [svc('web', { ip: '10.0.0.5', annotations: { ...ALLOW, 'kube-vip.io/egress-ipv6': 'true' } })],
    slices: [slice('web', 'IPv4', [])],
    leases: [lease('default', 'kubevip-web', NODE)],
    model: { election: 'service' },
    want: ['route 10.0.0.5/32 lo'],
  },
  {
    kind: 'divergence',
    from: 'F3 providers/endpointslices.go LoadObject: a non-IPv6 slice (FQDN too) fills the IPv4 slot; setInstanceEndpointsStatus compares To4() of a host name (nil): IPv6',
    name: 'F3 an FQDN slice counts as endpoints, of the IPv6 family (no election)',
    services: [svc('web', { ip: ['10.0.0.5', 'fd00::5'] })],
    slices: [slice('web', 'FQDN' as 'IPv4', [ep('app.example.com')])],
    want: ['route fd00::5/128 lo'],
  },
  {
    kind: 'divergence',
    from: 'F4 endpoints_routing_table.go processInstance returns at the first failed route add (no election)',
    name: 'F4 no election: the first VIP fails in the kernel, the next one is never added',
    services: [svc('web', { ip: ['10.0.0.5', 'fd00::5'] })],
    slices: [v4('web'), v6('web')],
    model: { vipSubnet: '24,128' },
    want: ['excluded 10.0.0.5 kernel-rejects-prefix'],
  },
  {
    kind: 'divergence',
    from: 'F4 (order): a failing VIP after a good one does not remove the good one',
    name: 'F4 no election: the second VIP fails, the first is routed',
    services: [svc('web', { ip: ['fd00::5', '10.0.0.5'] })],
    slices: [v4('web'), v6('web')],
    model: { vipSubnet: '24,128' },
    want: ['route fd00::5/128 lo', 'excluded 10.0.0.5 kernel-rejects-prefix'],
  },
  {
    kind: 'divergence',
    from: 'F5 lease.ServiceName: strings.Split(name, "/"), a third part is dropped',
    name: 'F5 leaseName a/b/c is lease a/b',
    services: [svc('web', { ip: '10.0.0.5', annotations: { 'kube-vip.io/leaseName': 'ns1/shared/extra' } })],
    slices: [v4('web')],
    leases: [lease('ns1', 'shared', NODE)],
    model: { election: 'service' },
    want: ['route 10.0.0.5/32 lo'],
  },
  {
    kind: 'divergence',
    from: 'F6 FetchServiceAddresses: annotation IPs kept as ip.String() (IPv4-mapped IPv6 is IPv4)',
    name: 'F6 loadbalancerIPs ::ffff:10.0.0.5 is the IPv4 VIP 10.0.0.5',
    services: [svc('web', { annotations: { 'kube-vip.io/loadbalancerIPs': '::ffff:10.0.0.5' } })],
    slices: [v4('web')],
    want: ['route 10.0.0.5/32 lo'],
  },
  {
    kind: 'divergence',
    from: 'F7 DHCP: the leased address is recorded in kube-vip.io/requestedIP (services.go); NewInstance leases on the node',
    name: 'F7 a DHCP Service: its recorded lease is not judged, neither is a route no Service names',
    services: [svc('web', { annotations: { 'kube-vip.io/loadbalancerIPs': '0.0.0.0' } })],
    slices: [v4('web')],
    owned: [kroute('192.168.1.77/32', { device: 'eth0' })],
    want: ['unjudged 0.0.0.0 dhcp', 'unjudged 192.168.1.77/32 dhcp'],
  },

  // --- route types other than unicast and local (vip_routingtabletype; PrepareRoute, pkg/vip/address.go; route-types.ts)
  {
    kind: 'divergence',
    from: 'R1 PrepareRoute: Type as configured, scope universe, the device; the kernel takes multicast in both families',
    name: 'route type multicast (5): both families routed on the device',
    ...DUAL_WEB,
    model: { routeType: routeType(5), interface: 'eth0' },
    want: ['route 10.0.0.5/32 eth0', 'route fd00::5/128 eth0'],
  },
  {
    kind: 'divergence',
    from: 'R2 PrepareRoute + kernel: IPv4 blackhole with a device is EINVAL; IPv6 blackhole is stored on lo; StartLoadBalancerService adds each VIP on its own',
    name: 'route type blackhole (6), svc_election: the IPv4 VIP is refused (excluded), the IPv6 route is expected on lo, where the kernel stores it',
    ...DUAL_WEB,
    leases: [lease('default', 'kubevip-web', NODE)],
    model: { routeType: routeType(6), interface: 'eth0', election: 'service' },
    owned: [kroute('fd00::5/128', { family: 'ipv6', type: routeType(6), device: 'lo' })],
    want: ['route fd00::5/128 lo', 'excluded 10.0.0.5 kernel-rejects-type'],
  },
  {
    kind: 'divergence',
    from: 'R3 processInstance (no election) stops at the first failed add: an IPv4 broadcast route (3) is EINVAL ("Invalid scope")',
    name: 'route type broadcast (3), no election: the IPv4 VIP fails first and kube-vip never adds the IPv6 one',
    ...DUAL_WEB,
    model: { routeType: routeType(3) },
    owned: [kroute('fd00::5/128', { family: 'ipv6', type: routeType(3) })],
    want: ['excluded 10.0.0.5 kernel-rejects-type', 'orphan fd00::5/128 not-placed-here'],
  },
  {
    kind: 'divergence',
    from: 'R4 kernel: a route type above RTN_MAX (11) is EINVAL in both families',
    name: 'route type 12: no route in either family',
    ...DUAL_WEB,
    leases: [lease('default', 'kubevip-web', NODE)],
    model: { routeType: routeType(12), election: 'service' },
    want: ['excluded 10.0.0.5 kernel-rejects-type', 'excluded fd00::5 kernel-rejects-type'],
  },
];

function verdicts(row: Row): string[] {
  const base = snapshot(row.services ?? [], row.slices ?? [], row.leases ?? []);
  const snap = {
    ...base,
    ...(row.node ? { thisNode: row.node } : {}),
    ...(row.endpoints === 'unreadable'
      ? { endpoints: { state: 'error' as const, message: 'listing endpoints: 403 Forbidden', byService: new Map() } }
      : row.endpoints
        ? { endpoints: { state: 'ok' as const, byService: new Map(row.endpoints.map((e) => [`${e.namespace}/${e.name}`, e])) } }
        : {}),
  };
  const set = expectedRoutes({ snapshot: snap, model: model(row.model), interfaces: null, now: NOW });
  const d = diff(set, { owned: row.owned ?? [], foreign: [] }, null);
  const matched = new Set(d.matched.map((m) => m.expected.destination));
  return [
    // An expected route: held, or missing only because the table lacks it.
    ...[...set.routes.values()]
      .filter((r) => matched.has(r.destination) || d.missing.some((m) => m.destination === r.destination && m.reason === 'not-in-kernel'))
      .map((r) => `route ${r.destination} ${r.device}`),
    ...d.orphans.map((o) => `orphan ${o.destination} ${o.reason}`),
    ...d.missing.filter((m) => m.reason !== 'not-in-kernel').map((m) => `missing ${m.destination} ${m.reason}`),
    ...d.unjudged.map((u) => `unjudged ${u.destination ?? u.address} ${u.reason}`),
    ...set.excluded.map((e) => `excluded ${e.address} ${e.reason}`),
  ].sort();
}

describe('kube-vip conformance (bee5cfe): expected set, drift and not-judged verdicts', () => {
  it.each(ROWS)('[$kind] $name ($from)', (row) => {
    expect(verdicts(row)).toEqual([...row.want].sort());
  });
});

describe('GenerateCidrRange (cmd/kube-vip.go), divergence 1', () => {
  it.each([
    ['10.0.0.10', '32'],
    ['fd00::10', '128'],
    ['fd00::10,10.0.0.10', '32,128'],
    ['10.0.0.10,fd00::10', '32,128'],
    ['10.0.0.10,10.0.0.11', '32'],
    ['fd00::10,fd00::11,10.0.0.10', '32,128'],
  ])('address %s => vip_subnet %s (sorted as strings, compacted, reversed)', (address, want) => {
    expect(generateCidrRange(address, familyOf)).toBe(want);
  });
  it('a DNS name => unknown (kube-vip resolves it on the node)', () => {
    expect(generateCidrRange('api.example.com', familyOf)).toBeNull();
  });
});

describe('lease.ServiceName (pkg/lease/lease_test.go TestGetName_*)', () => {
  it.each([
    [{}, 'my-namespace/kubevip-my-service'],
    [{ 'kube-vip.io/leaseName': 'shared-lease' }, 'my-namespace/shared-lease'],
    [{ 'kube-vip.io/leaseName': 'other-namespace/shared-lease' }, 'other-namespace/shared-lease'],
    [{ 'kube-vip.io/leaseName': '' }, 'my-namespace/kubevip-my-service'],
  ])('annotations %j => lease %s', (annotations, want) => {
    expect(serviceLeaseKey(svc('my-service', { namespace: 'my-namespace', annotations }))).toBe(want);
  });
});

describe('GetDefaultGatewayInterface (pkg/vip/util.go), divergence 2', () => {
  it('IPv4 default route first, then IPv6, else none', () => {
    expect(defaultGatewayInterface({ ipv4: 'eth0', ipv6: 'eth1' })).toBe('eth0');
    expect(defaultGatewayInterface({ ipv4: null, ipv6: 'eth1' })).toBe('eth1');
    expect(defaultGatewayInterface({ ipv4: null, ipv6: null })).toBeNull();
  });
  it('the tracker remembers when the chosen device moved, and from where', () => {
    const t = new DefaultGatewayTracker();
    expect(t.observe({ ipv4: 'eth0', ipv6: null }, 1_000)).toEqual({ ipv4: 'eth0', ipv6: null, changedAt: null, previous: null });
    expect(t.observe({ ipv4: 'eth0', ipv6: 'eth9' }, 2_000)).toMatchObject({ changedAt: null });
    expect(t.observe({ ipv4: 'eth1', ipv6: null }, 3_000)).toMatchObject({ changedAt: 3_000, previous: 'eth0' });
  });
});

/** kube-vip's settings as derived from its pod (resolveKubeVip), for the divergences decided there. */
function fromPod(
  env: EnvSpec,
  opts: { args?: string[]; gateway?: { ipv4: string | null; ipv6: string | null; changedAt?: number | null }; explicit?: [string, 'flag'][] } = {},
) {
  const pod = kubeVipPod({ env, ...(opts.args ? { args: opts.args } : {}) });
  return resolveKubeVip({
    mode: 'auto',
    flags: model(),
    explicit: new Map(opts.explicit ?? []),
    pods: { state: 'ok', pods: [pod] },
    selector: '',
    node: NODE,
    bound: null,
    ...(opts.gateway ? { gateway: { previous: 'eth-old', ...opts.gateway, changedAt: opts.gateway.changedAt ?? null } } : {}),
  });
}
const TABLE: EnvSpec = { vip_routingtable: 'true', svc_enable: 'true', vip_nodename: { fieldRef: 'spec.nodeName' } };

describe('kube-vip settings from its pod (divergences decided at start-up)', () => {
  it('1: address "fd00::10,10.0.0.10" without vip_subnet => vip_subnet "32,128"', () => {
    const v = fromPod({ ...TABLE, vip_interface: 'lo', address: 'fd00::10,10.0.0.10' });
    expect(v.primary.vipSubnet).toBe('32,128');
    expect(v.report.instances[0]!.settings['vip-subnet']!.source).toContain('GenerateCidrRange');
  });
  it('1 (F8): address "10.0.0.10, fd00::10" (a space after the comma) => kube-vip cannot generate vip_subnet and exits', () => {
    const v = fromPod({ ...TABLE, vip_interface: 'lo', address: '10.0.0.10, fd00::10' });
    expect(v.report.instances[0]!.included).toBe(false);
    expect(v.report.instances[0]!.excludedBecause).toContain('generating CIDR');
  });
  it('F8 (kubeVipManager.RunE): the only routing-table-mode kube-vip refuses its configuration => every table route is not judged (kube-vip-not-started); explicit routewarden flags for every setting lift it', () => {
    const bad = { ...TABLE, vip_interface: 'lo', address: '10.0.0.10, fd00::10' };
    const judge = (v: ReturnType<typeof fromPod>) => {
      const set = expectedRoutes({ snapshot: snapshot([svc('web', { ip: '10.0.0.5' })], [v4('web')]), model: v.primary, interfaces: null, now: NOW });
      const d = diff(set, { owned: [kroute('10.0.0.10/32'), kroute('10.0.0.9/32')], foreign: [] }, null);
      return [
        ...d.unjudged.map((u) => `unjudged ${u.destination ?? u.address} ${u.reason}`),
        ...d.orphans.map((o) => `orphan ${o.destination}`),
        ...d.missing.map((m) => `missing ${m.destination}`),
      ].sort();
    };
    const v = fromPod(bad);
    expect(v.report.message).toContain('nothing is judged while kube-vip');
    expect(judge(v)).toEqual([
      'unjudged 10.0.0.10/32 kube-vip-not-started',
      'unjudged 10.0.0.5 kube-vip-not-started',
      'unjudged 10.0.0.9/32 kube-vip-not-started',
    ]);
    const every = SETTINGS.map((name): [string, 'flag'] => [name, 'flag']);
    expect(judge(fromPod(bad, { explicit: every }))).toEqual(['missing 10.0.0.5/32', 'orphan 10.0.0.10/32', 'orphan 10.0.0.9/32']);
    // One setting left to a default: still not judged.
    expect(judge(fromPod(bad, { explicit: every.filter(([f]) => f !== 'interface') }))).toContain('unjudged 10.0.0.9/32 kube-vip-not-started');
  });
  it('1: address a DNS name => service routes not judged (dns-address)', () => {
    const v = fromPod({ ...TABLE, vip_interface: 'lo', address: 'api.example.com' });
    expect(v.primary.notJudged?.map((n) => n.reason)).toEqual(['dns-address']);
  });
  it('2: vip_interface unset => the default-gateway interface, IPv4 first, and the report says where it came from', () => {
    const v = fromPod(TABLE, { gateway: { ipv4: 'ens3', ipv6: 'ens4' } });
    expect(v.needsGateway).toBe(true);
    expect(v.primary.interface).toBe('ens3');
    expect(v.primary.notJudged).toBeUndefined();
    expect(v.report.instances[0]!.settings.interface!.source).toContain("main table's IPv4 default route leaves by ens3");
  });
  it('2: vip_interface unset and no default route => interface not judged', () => {
    const v = fromPod(TABLE, { gateway: { ipv4: null, ipv6: null } });
    expect(v.primary.notJudged?.map((n) => `${n.reason} ${n.scope}`)).toEqual(['default-interface interface']);
  });
  it('2: the default route moved after kube-vip started => kube-vip keeps the old interface: not judged', () => {
    const v = fromPod(TABLE, { gateway: { ipv4: 'ens5', ipv6: null, changedAt: NOW } });
    expect(v.primary.notJudged?.map((n) => n.reason)).toEqual(['default-interface']);
    expect(v.report.instances[0]!.settings.interface!.source).toContain('moved to ens5 from eth-old after kube-vip started');
  });
  it('2: an explicit routewarden --interface lifts the verdict', () => {
    const v = fromPod(TABLE, { gateway: { ipv4: null, ipv6: null }, explicit: [['interface', 'flag']] });
    expect(v.primary.notJudged).toBeUndefined();
  });
  it('3: --leaderElectionType=etcd => elected routes not judged', () => {
    const v = fromPod({ ...TABLE, vip_interface: 'lo', svc_election: 'true' }, { args: ['manager', '--leaderElectionType=etcd'] });
    expect(v.primary.notJudged?.map((n) => `${n.reason} ${n.scope}`)).toEqual(['etcd-lease elected']);
  });
  it('8: enable_endpoints => endpoint-dependent routes not judged', () => {
    const v = fromPod({ ...TABLE, vip_interface: 'lo', enable_endpoints: 'true' });
    expect(v.primary.notJudged?.map((n) => `${n.reason} ${n.scope}`)).toEqual(['endpoints-source endpoints']);
  });
  it('a setting from a Secret => nothing of this kube-vip is judged', () => {
    const v = fromPod({ ...TABLE, vip_interface: 'lo', vip_nodename: { valueFromKind: 'secretKeyRef' } });
    expect(v.primary.notJudged?.map((n) => `${n.reason} ${n.scope}`)).toEqual(['setting-not-visible all']);
  });
  it('9: kubernetes_addr (env) reaches the control-plane model; from a Secret it is unknown (null)', () => {
    const cp = { ...TABLE, vip_interface: 'lo', cp_enable: 'true', address: '192.168.10.100' };
    expect(fromPod({ ...cp, kubernetes_addr: 'https://127.0.0.1:6443' }).primary.controlPlane.kubernetesAddr).toBe('https://127.0.0.1:6443');
    expect(fromPod(cp).primary.controlPlane.kubernetesAddr).toBeUndefined();
    expect(fromPod({ ...cp, kubernetes_addr: { valueFromKind: 'secretKeyRef' } }).primary.controlPlane.kubernetesAddr).toBeNull();
  });
  it('route type (PrepareRoute; netlink sets the type only when > 0): vip_routingtabletype "-1" and "0" add unicast, "6" blackhole', () => {
    expect(fromPod({ ...TABLE, vip_interface: 'lo', vip_routingtabletype: '-1' }).primary.routeType).toBe(1);
    expect(fromPod({ ...TABLE, vip_interface: 'lo', vip_routingtabletype: '0' }).primary.routeType).toBe(1);
    expect(fromPod({ ...TABLE, vip_interface: 'lo', vip_routingtabletype: '6' }).primary.routeType).toBe(6);
  });

  it('F5: svc_leasename a/b/c => global lease a/b', () => {
    const v = fromPod({ ...TABLE, vip_interface: 'lo', vip_leaderelection: 'true', svc_leasename: 'a/b/c' });
    expect(v.primary.globalLease).toEqual({ namespace: 'a', name: 'b' });
  });
});

/** resolveKubeVip over one kube-vip pod with this image and env. */
function viewWith(image: string, env: EnvSpec) {
  const pod = kubeVipPod({ env });
  const withImage = { ...pod, containers: pod.containers.map((c) => ({ ...c, image })) };
  return resolveKubeVip({ mode: 'auto', flags: model(), explicit: new Map(), pods: { state: 'ok', pods: [withImage] }, selector: '', node: NODE, bound: null });
}

describe('kube-vip versions: the image tag decides the behaviours that changed between releases', () => {
  /** The CP instance with this image, kubernetes_addr set, on a Node with an IPv4 InternalIP only. */
  function cpWith(image: string, env: EnvSpec = {}) {
    const view = viewWith(image, {
      ...TABLE,
      vip_interface: 'lo',
      cp_enable: 'true',
      address: '192.168.10.100,fd00::100',
      kubernetes_addr: 'https://127.0.0.1:6443',
      ...env,
    });
    const snap = { ...snapshot([]), thisNode: nodeView('192.168.10.11') };
    const set = expectedRoutes({ snapshot: snap, model: view.primary, interfaces: null, now: NOW });
    return { report: view.report.instances[0]!, excluded: set.excluded.map((e) => `${e.address} ${e.reason}`) };
  }

  it.each([
    ['ghcr.io/kube-vip/kube-vip:v1.2.2', { tag: 'v1.2.2', known: true, judgedAs: 'v1.2.2' }],
    ['localhost:5000/kube-vip/kube-vip:v1.2.3@sha256:0123', { tag: 'v1.2.3', known: true, judgedAs: 'v1.2.3' }],
    ['ghcr.io/kube-vip/kube-vip:latest', { tag: 'latest', known: false, judgedAs: 'v1.2.3-24 (bee5cfe)' }],
    ['ghcr.io/kube-vip/kube-vip@sha256:0123', { tag: null, known: false, judgedAs: 'v1.2.3-24 (bee5cfe)' }],
    ['ghcr.io/kube-vip/kube-vip:v1.3.0', { tag: 'v1.3.0', known: false, judgedAs: 'v1.2.3-24 (bee5cfe)' }],
  ])('image %s => %j', (image, want) => {
    expect(kubeVipVersion(image).report).toMatchObject(want);
  });

  it('an unknown version is judged as the newest known code, and the report says so', () => {
    const r = cpWith('ghcr.io/kube-vip/kube-vip:latest').report;
    expect(r.version).toMatchObject({ known: false, judgedAs: 'v1.2.3-24 (bee5cfe)' });
    expect(r.version!.detail).toContain('judged as kube-vip v1.2.3-24 (bee5cfe)');
  });

  it("kubernetes_addr (kube-vip PR #1671, v1.2.3 on): honoured from v1.2.3 and for an unknown version; v1.2.2 checks the Node's InternalIPs only", () => {
    expect(cpWith('ghcr.io/kube-vip/kube-vip:v1.2.3').excluded).toEqual([]);
    expect(cpWith('ghcr.io/kube-vip/kube-vip:latest').excluded).toEqual([]);
    const old = cpWith('ghcr.io/kube-vip/kube-vip:v1.2.2');
    expect(old.excluded).toEqual(['fd00::100 no-node-internal-ip']);
    expect(old.report.notes.join('\n')).toContain('the override came in v1.2.3');
  });

  /** The verdict on a route left after its Service became NodePort, with a services instance of this image. */
  function typeChangeVerdict(image: string): string[] {
    const view = viewWith(image, { ...TABLE, vip_interface: 'lo' });
    const { report } = evaluate({
      model: view.primary,
      now: NOW,
      kernel: { status: { state: 'ok' }, dump: { owned: [kroute('10.0.0.5/32')], foreign: [] }, interfaces: null },
      kubernetes: { status: { state: 'ok' }, snapshot: snapshot([svc('web', { ip: '10.0.0.5', type: 'NodePort' })], [v4('web')]) },
      kubeVip: { context: { instances: view.instances, startGraceMs: 60_000 }, report: view.report },
    });
    return report.orphans.map((o) => `orphan ${o.destination} ${o.reason} ${o.class} ${o.limitation?.id ?? '-'}`);
  }

  it('F1 gated (processor.go AddOrModify, v1.2.3 vs bee5cfe deleteTrackedService): up to v1.2.3 a route left after a type change is limitation E15; bee5cfe and unknown versions tear it down (plain drift)', () => {
    expect(typeChangeVerdict('ghcr.io/kube-vip/kube-vip:v1.2.3')).toEqual(['orphan 10.0.0.5/32 service-filtered kube-vip-limitation E15']);
    expect(typeChangeVerdict('ghcr.io/kube-vip/kube-vip:v0.8.9')).toEqual(['orphan 10.0.0.5/32 service-filtered kube-vip-limitation E15']);
    expect(typeChangeVerdict('ghcr.io/kube-vip/kube-vip:latest')).toEqual(['orphan 10.0.0.5/32 service-filtered drift -']);
    expect(typeChangeVerdict('ghcr.io/kube-vip/kube-vip:v1.3.0')).toEqual(['orphan 10.0.0.5/32 service-filtered drift -']);
  });

  it('v1.2.0-v1.2.2 with vip_cleanroutingtable: the start-up wipe of kube-vip #1678 is noted; v1.2.3 fixed it (#1679)', () => {
    expect(cpWith('ghcr.io/kube-vip/kube-vip:v1.2.1', { vip_cleanroutingtable: 'true' }).report.notes.join('\n')).toContain('#1678');
    expect(cpWith('ghcr.io/kube-vip/kube-vip:v1.2.3', { vip_cleanroutingtable: 'true' }).report.notes.join('\n')).not.toContain('#1678');
    expect(cpWith('ghcr.io/kube-vip/kube-vip:v1.2.1').report.notes.join('\n')).not.toContain('#1678');
  });
});

/** kube-vip's knobs for a pod whose `--config-file` (from a ConfigMap) holds `text`, with `args` before it. */
function withConfigFile(text: string, opts: { file?: string; args?: string[] } = {}) {
  const path = `/etc/kube-vip/${opts.file ?? 'config.yaml'}`;
  const pod = configFilePod({ path, args: ['manager', `--config-file=${path}`, ...(opts.args ?? [])] });
  const key = path.slice(path.lastIndexOf('/') + 1);
  const d = deriveKnobs(pod, pod.containers[0]!, (p) => readKubeVipConfigFile(pod, pod.containers[0]!, p, configMapsWith({ [key]: text }), null));
  const knob = (k: KnobKey): unknown => ('value' in d.knobs[k] ? d.knobs[k].value : undefined);
  return { d, knob, fromFile: (k: KnobKey): boolean => d.knobs[k].from.kind === 'config-file' };
}

describe('LoadConfigFromFile (pkg/kubevip/config_file_test.go TestLoadConfigFromFile)', () => {
  const fieldsOf = (path: string, text: string) => {
    const d = decodeKubeVipConfig(path, text);
    return 'fields' in d ? Object.fromEntries(d.fields) : d;
  };
  it('TestLoadConfigFromFile "Valid YAML config": every key read, the embedded leader-election fields at the top level', () => {
    const text =
      'logging: 2\nenableARP: true\nenableControlPlane: true\nenableServices: true\naddress: "192.168.1.100"\nport: 6443\ninterface: "eth0"\nnamespace: "kube-system"\ninstanceName: "release_a"\nvipSubnet: "192.168.1.0/24"\nleaseName: "test-lease"\nleaseDuration: 15\nrenewDeadline: 10\nretryPeriod: 2\nprometheusHTTPServer: ":2112"\n';
    expect(fieldsOf('config.yaml', text)).toMatchObject({
      Logging: 2,
      EnableARP: true,
      EnableControlPlane: true,
      EnableServices: true,
      Address: '192.168.1.100',
      Port: 6443,
      Interface: 'eth0',
      Namespace: 'kube-system',
      InstanceName: 'release_a',
      VIPSubnet: '192.168.1.0/24',
      LeaseName: 'test-lease',
      LeaseDuration: 15,
      RenewDeadline: 10,
      RetryPeriod: 2,
      PrometheusHTTPServer: ':2112',
    });
  });
  it('TestLoadConfigFromFile "Valid JSON config": nested loadBalancers accepted', () => {
    const text =
      '{"logging": 3, "enableBGP": true, "enableServices": true, "address": "10.0.0.100", "port": 8443, "interface": "ens192", "namespace": "kube-system", "loadBalancers": [{"name": "control-plane", "ports": [{"type": "TCP", "port": 6443}], "bindToVip": true, "forwardingMethod": "local"}]}';
    expect(fieldsOf('config.json', text)).toEqual({
      Logging: 3,
      EnableBGP: true,
      EnableServices: true,
      Address: '10.0.0.100',
      Port: 8443,
      Interface: 'ens192',
      Namespace: 'kube-system',
    });
  });
  it('TestLoadConfigFromFile "Complex BGP config": bgpConfig is an object, accepted', () => {
    const text =
      'enableBGP: true\nbgpConfig:\n  routerID: "192.168.1.1"\n  as: 65000\n  sourceIF: "eth0"\n  holdTime: 60\n  keepaliveInterval: 20\n  peers:\n    - address: "192.168.1.2"\n      as: 65001\n      port: 179\n      multiHop: false\n';
    expect(fieldsOf('bgp-config.yaml', text)).toEqual({ EnableBGP: true });
  });
  it.each([
    ['Invalid JSON', 'invalid.json', '{"logging": 2, "invalid": }', 'failed to parse JSON config file'],
    ['Invalid YAML', 'invalid.yaml', 'logging: 2\ninvalid: [unclosed', 'failed to parse YAML config file'],
    ['Unsupported format', 'config.txt', 'logging=2', 'unsupported config file format'],
  ])('TestLoadConfigFromFile "%s" => kube-vip refuses to start: the instance is listed, not judged', (_name, file, text, why) => {
    const { d } = withConfigFile(text, { file });
    expect(d.fatal).toContain(why);
    expect(d.fatal).toContain('kube-vip refuses to start');
  });
  it('TestLoadConfigFromFile "Empty path", TestMergeConfigFromFile "Empty config file path": --config-file= loads nothing', () => {
    const pod = configFilePod({ args: ['manager', '--config-file='] });
    expect(deriveKnobs(pod, pod.containers[0]!).configFile).toBeNull();
  });
  it('TestLoadConfigFromFile_FileNotExists, TestMergeConfigFromFile "Non-existent config file": the ConfigMap lacks the key => not judged (kube-vip may have read an older ConfigMap)', () => {
    const pod = configFilePod();
    const read = readKubeVipConfigFile(pod, pod.containers[0]!, '/etc/kube-vip/config.yaml', configMapsWith({}), null);
    expect(read).toEqual({ notVisible: 'config file /etc/kube-vip/config.yaml: ConfigMap kube-system/kube-vip-config has no key config.yaml' });
  });
});

describe('mergeConfigValues (pkg/kubevip/config_file_test.go TestMergeConfigFromFile, TestMergeConfigValues)', () => {
  // The Go tests merge into a Config; kube-vip's manager merges into the
  // flags' values, so a Go base field at zero is a flag given its zero value
  // here when its kube-vip default is not zero.
  const FILE =
    'logging: 3\nenableARP: true\nenableServices: true\naddress: "192.168.1.200"\nport: 6443\ninterface: "eth1"\nnamespace: "test-namespace"\nleaseName: "file-lease"\nleaseDuration: 20\nprometheusHTTPServer: ":3000"\n';
  it('TestMergeConfigFromFile "Merge with empty base config": every zero setting comes from the file', () => {
    const { knob, fromFile } = withConfigFile(FILE, { file: 'test-config.yaml', args: ['--namespace=', '--leaseDuration=0'] });
    expect([knob('arp'), knob('services'), knob('address'), knob('interface'), knob('cpNamespace'), knob('leaseDuration')]).toEqual([
      true,
      true,
      '192.168.1.200',
      'eth1',
      'test-namespace',
      20,
    ]);
    expect(fromFile('interface') && fromFile('cpNamespace') && fromFile('leaseDuration')).toBe(true);
  });
  it('TestMergeConfigFromFile "Merge respects existing values (priority test)": a set interface stays, the rest comes from the file', () => {
    const { knob, fromFile } = withConfigFile(FILE, { file: 'test-config.yaml', args: ['--interface=eth0'] });
    expect([knob('interface'), fromFile('interface'), knob('address'), knob('arp'), knob('services')]).toEqual(['eth0', false, '192.168.1.200', true, true]);
    // kube-vip's flag defaults are not zero: the file's namespace and lease duration are not taken.
    expect([knob('cpNamespace'), knob('leaseDuration')]).toEqual(['kube-system', 15]);
  });
  it('TestMergeConfigValues "Merge basic configuration": interface and address from the file', () => {
    const { knob } = withConfigFile('logging: 2\nport: 6443\ninterface: "eth0"\naddress: "192.168.1.100"\ninstanceName: "release_a"\n', {
      args: ['--vipSubnet='],
    });
    expect([knob('interface'), knob('address')]).toEqual(['eth0', '192.168.1.100']);
  });
  it('TestMergeConfigValues "Merge boolean flags": true stays true, false never overrides, true fills false', () => {
    const { knob, fromFile } = withConfigFile('enableARP: false\nenableBGP: true\nenableServices: true\nenableWireguard: false\n', { args: ['--arp'] });
    expect([knob('arp'), fromFile('arp'), knob('bgp'), fromFile('bgp'), knob('services'), knob('wireguard'), fromFile('wireguard')]).toEqual([
      true,
      false,
      true,
      true,
      true,
      false,
      false,
    ]);
  });
  it('TestMergeConfigValues "Merge leader election configuration": lease timings fill zero values only', () => {
    const { knob } = withConfigFile('leaseName: "file-lease"\nleaseDuration: 15\nrenewDeadline: 10\nretryPeriod: 2\n', {
      args: ['--leaseDuration=0', '--leaseRenewDuration=0', '--leaseRetry=0'],
    });
    expect([knob('leaseDuration'), knob('renewDeadline'), knob('retryPeriod')]).toEqual([15, 10, 2]);
  });
});
