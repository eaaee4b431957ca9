import { describe, expect, it } from 'vitest';
import type { EndpointSliceInfo, InterfaceInfo, LeaseInfo, ServiceInfo } from '../../src/core/cluster.ts';
import { expectedRoutes, serviceAddresses } from '../../src/core/expected.ts';
import type { KubeVipModel } from '../../src/core/model.ts';
import { routeType } from '../../src/core/types.ts';
import { ep, lease, model, NODE, NOW, slice, snapshot, svc } from '../helpers/fixtures.ts';

interface Case {
  name: string;
  services: ServiceInfo[];
  slices?: EndpointSliceInfo[];
  leases?: LeaseInfo[];
  model?: Partial<KubeVipModel>;
  interfaces?: InterfaceInfo[] | null;
  /** "destination device" for every expected route, in any order. */
  want: string[];
  /** Optional: "service address reason" of every excluded VIP. */
  excluded?: string[];
  /** Optional: "service address reason" of every VIP that is not judged. */
  unjudged?: string[];
}

const v4 = (svcName: string, node = 'worker-2', over = {}) => slice(svcName, 'IPv4', [ep('10.244.1.5', { nodeName: node, ...over })]);
const v6 = (svcName: string, node = 'worker-2', over = {}) => slice(svcName, 'IPv6', [ep('fd00:244::5', { nodeName: node, ...over })]);
const LINKS: InterfaceInfo[] = [
  { name: 'lo', ifindex: 1, up: true, addresses: ['127.0.0.1/8', '::1/128'] },
  { name: 'eth0', ifindex: 2, up: true, addresses: ['192.168.10.4/24', 'fd00:10::4/64'] },
  { name: 'eth1', ifindex: 3, up: true, addresses: ['172.20.0.4/16'] },
  { name: 'eth0.200', ifindex: 4, up: true, addresses: [] },
];

const cases: Case[] = [
  // --- which Services produce routes (docs/kube-vip-routing.md §3.1)
  {
    name: 'a LoadBalancer Service with an IP and an endpoint => one /32 route on lo',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    want: ['10.0.0.5/32 lo'],
  },
  { name: 'a ClusterIP Service => no route', services: [svc('web', { ip: '10.0.0.5', type: 'ClusterIP' })], slices: [v4('web')], want: [] },
  {
    name: 'kube-vip.io/ignore "true" => no route',
    services: [svc('web', { ip: '10.0.0.5', annotations: { 'kube-vip.io/ignore': 'true' } })],
    slices: [v4('web')],
    want: [],
  },
  {
    name: 'kube-vip.io/ignore "yes" is not the exact string => route',
    services: [svc('web', { ip: '10.0.0.5', annotations: { 'kube-vip.io/ignore': 'yes' } })],
    slices: [v4('web')],
    want: ['10.0.0.5/32 lo'],
  },
  {
    name: 'svc_namespace set => Services in other namespaces get no route',
    services: [svc('web', { ip: '10.0.0.5', namespace: 'other' })],
    slices: [slice('web', 'IPv4', [ep('10.244.1.5')], 'other')],
    model: { servicesNamespace: 'default' },
    want: [],
  },
  {
    name: 'svc_enable off => no service routes at all',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    model: { servicesEnabled: false },
    want: [],
  },
  // --- LB class filter
  { name: 'legacy class handling, no class => route', services: [svc('web', { ip: '10.0.0.5' })], slices: [v4('web')], want: ['10.0.0.5/32 lo'] },
  {
    name: 'legacy class handling, another class => no route',
    services: [svc('web', { ip: '10.0.0.5', loadBalancerClass: 'metallb' })],
    slices: [v4('web')],
    want: [],
  },
  {
    name: 'legacy class handling, kube-vip class => route',
    services: [svc('web', { ip: '10.0.0.5', loadBalancerClass: 'kube-vip.io/kube-vip-class' })],
    slices: [v4('web')],
    want: ['10.0.0.5/32 lo'],
  },
  {
    name: 'legacy class handling with lb_class_only, no class => no route',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    model: { lbClassOnly: true },
    want: [],
  },
  {
    name: 'non-legacy handling, no class while the name is set => no route',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    model: { lbClassLegacyHandling: false },
    want: [],
  },
  {
    name: 'non-legacy handling, no class while the name is empty => route',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    model: { lbClassLegacyHandling: false, lbClassName: '' },
    want: ['10.0.0.5/32 lo'],
  },
  {
    name: 'non-legacy handling, matching class => route',
    services: [svc('web', { ip: '10.0.0.5', loadBalancerClass: 'kube-vip.io/kube-vip-class' })],
    slices: [v4('web')],
    model: { lbClassLegacyHandling: false },
    want: ['10.0.0.5/32 lo'],
  },
  // --- IP sources (docs/kube-vip-routing.md §3.2)
  {
    name: 'the loadbalancerIPs annotation wins over status and spec',
    services: [svc('web', { ip: '10.0.0.9', loadBalancerIP: '10.0.0.8', annotations: { 'kube-vip.io/loadbalancerIPs': ' 10.0.0.5 ' } })],
    slices: [v4('web')],
    want: ['10.0.0.5/32 lo'],
  },
  { name: 'status ingress IP is used when no annotation', services: [svc('web', { ip: '10.0.0.9' })], slices: [v4('web')], want: ['10.0.0.9/32 lo'] },
  {
    name: 'spec.loadBalancerIP wins when status has a different IP of the same family',
    services: [svc('web', { ip: ['10.0.0.9', 'fd00::9'], loadBalancerIP: '10.0.0.8' })],
    slices: [v4('web'), v6('web')],
    want: ['10.0.0.8/32 lo'],
  },
  {
    name: 'spec.loadBalancerIP is used when status is empty',
    services: [svc('web', { loadBalancerIP: '10.0.0.8' })],
    slices: [v4('web')],
    want: ['10.0.0.8/32 lo'],
  },
  {
    name: 'a Service without any address => no route, reported as excluded',
    services: [svc('web')],
    slices: [v4('web')],
    want: [],
    excluded: ['default/web  no-address'],
  },
  {
    name: 'a DHCP address 0.0.0.0 => no route, not judged',
    services: [svc('web', { annotations: { 'kube-vip.io/loadbalancerIPs': '0.0.0.0' } })],
    slices: [v4('web')],
    want: [],
    excluded: [],
    unjudged: ['default/web 0.0.0.0 dhcp'],
  },
  {
    name: 'a DHCP address leased and recorded in kube-vip.io/requestedIP => that address is not judged',
    services: [svc('web', { annotations: { 'kube-vip.io/loadbalancerIPs': '0.0.0.0', 'kube-vip.io/requestedIP': '192.168.10.77' } })],
    slices: [v4('web')],
    want: [],
    excluded: [],
    unjudged: ['default/web 0.0.0.0 dhcp', 'default/web 192.168.10.77 dhcp'],
  },
  {
    name: 'a hostname VIP => no route, not judged',
    services: [svc('web', { annotations: { 'kube-vip.io/loadbalancerIPs': 'vip.example.com' } })],
    slices: [v4('web')],
    want: [],
    excluded: [],
    unjudged: ['default/web vip.example.com hostname'],
  },
  {
    name: 'an IPv6 annotation IP is normalised like Go net.IP.String()',
    services: [svc('web', { annotations: { 'kube-vip.io/loadbalancerIPs': 'FD00:0:0::0005' } })],
    slices: [v6('web')],
    want: ['fd00::5/128 lo'],
  },
  // --- prefix (docs/kube-vip-routing.md §2.2)
  {
    name: 'vip_subnet "32,64" gives IPv6 routes the masked /64 the kernel stores',
    services: [svc('web', { ip: 'fd00:1::5' })],
    slices: [v6('web')],
    model: { vipSubnet: '32,64' },
    want: ['fd00:1::/64 lo'],
  },
  {
    name: 'vip_subnet "24" with host bits on IPv4 => the kernel refuses it, excluded',
    services: [svc('web', { ip: '10.0.1.5' })],
    slices: [v4('web')],
    model: { vipSubnet: '24' },
    want: [],
    excluded: ['default/web 10.0.1.5 kernel-rejects-prefix'],
  },
  {
    name: 'vip_subnet "128" from an IPv6-only address breaks IPv4 services',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    model: { vipSubnet: '128' },
    want: [],
    excluded: ['default/web 10.0.0.5 invalid-subnet'],
  },
  {
    name: 'route type local breaks IPv4 (kernel EINVAL) but not IPv6',
    services: [svc('a', { ip: '10.0.0.5' }), svc('b', { ip: 'fd00::5' })],
    slices: [v4('a'), v6('b')],
    model: { routeType: routeType(2) },
    want: ['fd00::5/128 lo'],
    excluded: ['default/a 10.0.0.5 kernel-rejects-type'],
  },
  // --- dual-stack (docs/kube-vip-routing.md §2.4)
  {
    name: 'a dual-stack Service with endpoints of both families => one route per family',
    services: [svc('web', { ip: ['10.0.0.5', 'fd00::5'] })],
    slices: [v4('web'), v6('web')],
    want: ['10.0.0.5/32 lo', 'fd00::5/128 lo'],
  },
  {
    name: 'no election, dual-stack with IPv4 endpoints only => only the IPv4 route',
    services: [svc('web', { ip: ['10.0.0.5', 'fd00::5'] })],
    slices: [v4('web')],
    want: ['10.0.0.5/32 lo'],
  },
  // --- device (docs/kube-vip-routing.md §2.3)
  {
    name: 'vip_servicesinterface sets the device',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    model: { servicesInterface: 'eth1' },
    interfaces: LINKS,
    want: ['10.0.0.5/32 eth1'],
  },
  {
    name: 'the serviceInterface annotation wins over vip_servicesinterface',
    services: [svc('web', { ip: '10.0.0.5', annotations: { 'kube-vip.io/serviceInterface': 'eth0' } })],
    slices: [v4('web')],
    model: { servicesInterface: 'eth1' },
    interfaces: LINKS,
    want: ['10.0.0.5/32 eth0'],
  },
  {
    name: 'the serviceVLAN annotation wins over serviceInterface',
    services: [svc('web', { ip: '10.0.0.5', annotations: { 'kube-vip.io/serviceVLAN': 'eth0.200', 'kube-vip.io/serviceInterface': 'eth1' } })],
    slices: [v4('web')],
    interfaces: LINKS,
    want: ['10.0.0.5/32 eth0.200'],
  },
  {
    name: 'serviceInterface auto picks the interface whose subnet holds the VIP',
    services: [svc('web', { ip: '192.168.10.50', annotations: { 'kube-vip.io/serviceInterface': 'auto' } })],
    slices: [v4('web')],
    interfaces: LINKS,
    want: ['192.168.10.50/32 eth0'],
  },
  {
    name: 'serviceInterface auto without a matching subnet falls through to vip_interface',
    services: [svc('web', { ip: '10.9.9.9', annotations: { 'kube-vip.io/serviceInterface': 'auto' } })],
    slices: [v4('web')],
    interfaces: LINKS,
    want: ['10.9.9.9/32 lo'],
  },
  {
    name: 'vip_servicesinterface auto for IPv6 picks by the IPv6 subnet',
    services: [svc('web', { ip: 'fd00:10::99' })],
    slices: [v6('web')],
    model: { servicesInterface: 'auto' },
    interfaces: LINKS,
    want: ['fd00:10::99/128 eth0'],
  },
  {
    name: 'an interface that does not exist on the node => kube-vip cannot create the instance, excluded',
    services: [svc('web', { ip: '10.0.0.5', annotations: { 'kube-vip.io/serviceInterface': 'eth9' } })],
    slices: [v4('web')],
    interfaces: LINKS,
    want: [],
    excluded: ['default/web 10.0.0.5 interface-missing'],
  },
  // --- endpoint check (docs/kube-vip-routing.md §4.1)
  {
    name: 'Cluster policy: a not-ready, terminating endpoint on another node still counts',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [slice('web', 'IPv4', [ep('10.244.1.5', { conditions: { ready: false, serving: false, terminating: true } })])],
    want: ['10.0.0.5/32 lo'],
  },
  { name: 'Cluster policy: no endpoints => no route', services: [svc('web', { ip: '10.0.0.5' })], slices: [slice('web', 'IPv4', [])], want: [] },
  {
    name: 'Cluster policy: an endpoint without an address is no endpoint => no route',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [slice('web', 'IPv4', [ep('', { addressCount: 0 })])],
    want: [],
  },
  {
    name: 'Local policy with a serving endpoint on this node => route',
    services: [svc('web', { ip: '10.0.0.5', externalTrafficPolicy: 'Local' })],
    slices: [v4('web', NODE)],
    want: ['10.0.0.5/32 lo'],
  },
  {
    name: 'Local policy with endpoints only on other nodes => no route',
    services: [svc('web', { ip: '10.0.0.5', externalTrafficPolicy: 'Local' })],
    slices: [v4('web', 'worker-2')],
    want: [],
  },
  {
    name: 'Local policy: a local endpoint with serving unset does not count',
    services: [svc('web', { ip: '10.0.0.5', externalTrafficPolicy: 'Local' })],
    slices: [v4('web', NODE, { conditions: { ready: true } })],
    want: [],
  },
  {
    name: 'Local policy: a terminating but serving local endpoint counts',
    services: [svc('web', { ip: '10.0.0.5', externalTrafficPolicy: 'Local' })],
    slices: [v4('web', NODE, { conditions: { ready: false, serving: true, terminating: true } })],
    want: ['10.0.0.5/32 lo'],
  },
  {
    name: 'Local policy: a local endpoint matched by hostname counts',
    services: [svc('web', { ip: '10.0.0.5', externalTrafficPolicy: 'Local' })],
    slices: [v4('web', 'other', { hostname: NODE })],
    want: ['10.0.0.5/32 lo'],
  },
  {
    name: 'egress-ipv6 "true" without IPv6 endpoints => no route in any family',
    services: [svc('web', { ip: ['10.0.0.5', 'fd00::5'], annotations: { 'kube-vip.io/egress-ipv6': 'true' } })],
    slices: [v4('web')],
    want: [],
  },
  // --- Mode B: svc_election (docs/kube-vip-routing.md §4.3)
  {
    name: 'svc_election, lease held here => route',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    leases: [lease('default', 'kubevip-web', NODE)],
    model: { election: 'service' },
    want: ['10.0.0.5/32 lo'],
  },
  {
    name: 'svc_election, lease held elsewhere => no route',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    leases: [lease('default', 'kubevip-web', 'worker-2')],
    model: { election: 'service' },
    want: [],
  },
  {
    name: 'svc_election, lease held here but expired => no route',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    leases: [lease('default', 'kubevip-web', NODE, { renewTime: NOW - 60_000 })],
    model: { election: 'service' },
    want: [],
  },
  {
    name: 'svc_election, released lease (empty holder) => no route',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    leases: [lease('default', 'kubevip-web', '')],
    model: { election: 'service' },
    want: [],
  },
  {
    name: 'svc_election, lease here installs every family regardless of endpoint families',
    services: [svc('web', { ip: ['10.0.0.5', 'fd00::5'] })],
    slices: [v4('web')],
    leases: [lease('default', 'kubevip-web', NODE)],
    model: { election: 'service' },
    want: ['10.0.0.5/32 lo', 'fd00::5/128 lo'],
  },
  {
    name: 'svc_election, lease here but no endpoints => no route',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [],
    leases: [lease('default', 'kubevip-web', NODE)],
    model: { election: 'service' },
    want: [],
  },
  {
    name: 'svc_election, allow-reconcile-without-endpoints => route on the holder without endpoints',
    services: [svc('web', { ip: '10.0.0.5', annotations: { 'kube-vip.io/allow-reconcile-without-endpoints': 'True' } })],
    leases: [lease('default', 'kubevip-web', NODE)],
    model: { election: 'service' },
    want: ['10.0.0.5/32 lo'],
  },
  {
    name: 'no election, allow-reconcile-without-endpoints still needs endpoints',
    services: [svc('web', { ip: '10.0.0.5', annotations: { 'kube-vip.io/allow-reconcile-without-endpoints': 'true' } })],
    want: [],
  },
  {
    name: 'svc_election, the leaseName annotation names the lease',
    services: [svc('web', { ip: '10.0.0.5', annotations: { 'kube-vip.io/leaseName': 'shared' } })],
    slices: [v4('web')],
    leases: [lease('default', 'shared', NODE), lease('default', 'kubevip-web', 'worker-2')],
    model: { election: 'service' },
    want: ['10.0.0.5/32 lo'],
  },
  {
    name: 'svc_election, a namespaced leaseName is read from that namespace',
    services: [svc('web', { ip: '10.0.0.5', annotations: { 'kube-vip.io/leaseName': 'infra/shared' } })],
    slices: [v4('web')],
    leases: [lease('infra', 'shared', NODE)],
    model: { election: 'service' },
    want: ['10.0.0.5/32 lo'],
  },
  {
    name: 'leaseName with Local policy => kube-vip never processes the Service (E17)',
    services: [svc('web', { ip: '10.0.0.5', externalTrafficPolicy: 'Local', annotations: { 'kube-vip.io/leaseName': 'shared' } })],
    slices: [v4('web', NODE)],
    leases: [lease('default', 'shared', NODE)],
    model: { election: 'service' },
    want: [],
  },
  {
    name: 'svc_election with forcePerServiceElection "true" => ignored entirely (E16)',
    services: [svc('web', { ip: '10.0.0.5', annotations: { 'kube-vip.io/forcePerServiceElection': 'true' } })],
    slices: [v4('web')],
    leases: [lease('default', 'kubevip-web', NODE)],
    model: { election: 'service' },
    want: [],
  },
  {
    name: 'skew tolerance keeps a just-expired lease valid',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    leases: [lease('default', 'kubevip-web', NODE, { renewTime: NOW - 16_000 })],
    model: { election: 'service', leaseSkewSeconds: 2 },
    want: ['10.0.0.5/32 lo'],
  },
  // --- Mode C: global lease (docs/kube-vip-routing.md §4.4)
  {
    name: 'global election, global lease held here => route',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    leases: [lease('kube-system', 'plndr-svcs-lock', NODE)],
    model: { election: 'global' },
    want: ['10.0.0.5/32 lo'],
  },
  {
    name: 'global election, global lease held elsewhere => no route',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    leases: [lease('kube-system', 'plndr-svcs-lock', 'worker-2')],
    model: { election: 'global' },
    want: [],
  },
  {
    name: 'global election, Local policy without a local endpoint on the leader => no node gets it',
    services: [svc('web', { ip: '10.0.0.5', externalTrafficPolicy: 'Local' })],
    slices: [v4('web', 'worker-2')],
    leases: [lease('kube-system', 'plndr-svcs-lock', NODE)],
    model: { election: 'global' },
    want: [],
  },
  {
    name: 'global election, a custom lease name and namespace',
    services: [svc('web', { ip: '10.0.0.5' })],
    slices: [v4('web')],
    leases: [lease('kv', 'my-lock', NODE)],
    model: { election: 'global', globalLease: { namespace: 'kv', name: 'my-lock' } },
    want: ['10.0.0.5/32 lo'],
  },
  // --- Mode D (docs/kube-vip-routing.md §4.6)
  {
    name: 'on-demand election without svc_election: forced Service placed as in Mode A',
    services: [svc('web', { ip: '10.0.0.5', annotations: { 'kube-vip.io/forcePerServiceElection': 'true' } })],
    slices: [v4('web')],
    leases: [lease('default', 'kubevip-web', 'worker-2')],
    model: { perServiceElectionOnDemand: true },
    want: ['10.0.0.5/32 lo'],
  },
  {
    name: 'forced Service without on-demand election => skipped by the normal watcher',
    services: [svc('web', { ip: '10.0.0.5', annotations: { 'kube-vip.io/forcePerServiceElection': 'true' } })],
    slices: [v4('web')],
    want: [],
  },
  // --- shared IPs (docs/kube-vip-routing.md §5)
  {
    name: 'a shared IP is justified if any eligible Service places it here',
    services: [svc('a', { ip: '10.0.0.5', externalTrafficPolicy: 'Local' }), svc('b', { ip: '10.0.0.5' })],
    slices: [v4('a', 'worker-2'), v4('b')],
    want: ['10.0.0.5/32 lo'],
  },
  {
    name: 'a shared IP placed by no Service here => no route',
    services: [svc('a', { ip: '10.0.0.5', externalTrafficPolicy: 'Local' }), svc('b', { ip: '10.0.0.5', externalTrafficPolicy: 'Local' })],
    slices: [v4('a'), v4('b')],
    want: [],
  },
  // --- control-plane VIP (docs/kube-vip-routing.md §4.5)
  {
    name: 'cp_enable with an address => the CP route on vip_interface',
    services: [],
    model: { controlPlane: { enabled: true, addresses: ['192.168.10.100'] }, interface: 'eth0' },
    interfaces: LINKS,
    want: ['192.168.10.100/32 eth0'],
  },
  {
    name: 'cp_enable with a DNS name => not judged',
    services: [],
    model: { controlPlane: { enabled: true, addresses: ['api.example.com'] } },
    want: [],
    excluded: [],
    unjudged: ['control-plane api.example.com hostname'],
  },
];

describe('expectedRoutes', () => {
  it.each(cases)('$name', (c) => {
    const set = expectedRoutes({
      snapshot: snapshot(c.services, c.slices ?? [], c.leases ?? []),
      model: model(c.model),
      interfaces: c.interfaces === undefined ? null : c.interfaces,
      now: NOW,
    });
    const got = [...set.routes.values()].map((r) => `${r.destination} ${r.device}`).sort();
    expect(got).toEqual([...c.want].sort());
    if (c.excluded) {
      expect(set.excluded.map((e) => `${e.service} ${e.address} ${e.reason}`).sort()).toEqual([...c.excluded].sort());
    }
    if (c.unjudged) {
      expect(set.unjudged.map((e) => `${e.service} ${e.address} ${e.reason}`).sort()).toEqual([...c.unjudged].sort());
    }
  });
});

describe('serviceAddresses', () => {
  it('an empty loadbalancerIPs annotation yields one empty hostname and no status fallback', () => {
    expect(serviceAddresses(svc('web', { ip: '10.0.0.9', annotations: { 'kube-vip.io/loadbalancerIPs': '' } }))).toEqual({ ips: [], hostnames: [''] });
  });
  it('status hostnames come along with status IPs', () => {
    expect(serviceAddresses(svc('web', { ingress: [{ ip: '10.0.0.9' }, { hostname: 'lb.example.com' }] }))).toEqual({
      ips: ['10.0.0.9'],
      hostnames: ['lb.example.com'],
    });
  });
  it('spec.loadBalancerIP equal to the status IP keeps the status list', () => {
    expect(serviceAddresses(svc('web', { ip: ['10.0.0.9', 'fd00::9'], loadBalancerIP: '10.0.0.9' }))).toEqual({ ips: ['10.0.0.9', 'fd00::9'], hostnames: [] });
  });
});
