// kube-vip fidelity, round two (docs/kube-vip-fidelity.md, "Divergences"):
// one scenario per divergence through the real CLI in a network namespace,
// against the API double and a real kernel table. Each case sets up what a
// user would have (a kube-vip pod, Services, slices, leases, kernel routes)
// and checks routewarden's verdict is kube-vip's, or "not judged".

import { beforeEach, expect, it } from 'vitest';
import { endpointSlice, lease, service } from '../../tools/apidouble/index.ts';
import type { KubeObject } from '../../tools/apidouble/index.ts';
import { describeIfRoot } from '../helpers/netns.ts';
import { kubeVipPod } from '../helpers/kubevip-objects.ts';
import type { Env } from '../helpers/kubevip-objects.ts';
import { checkJson, NODE_NAME, resetWorld, useWorld } from '../helpers/world.ts';
import type { World } from '../helpers/world.ts';

const BASE: Env = { vip_routingtable: 'true', svc_enable: 'true', vip_interface: 'lo', vip_nodename: { fieldRef: 'spec.nodeName' } };
const v4Slice = (svc: string) =>
  endpointSlice({ service: svc, addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.5'], nodeName: 'worker-2', ready: true, serving: true }] });
const v6Slice = (svc: string) =>
  endpointSlice({ service: svc, addressType: 'IPv6', endpoints: [{ addresses: ['fd00:244::5'], nodeName: 'worker-2', ready: true, serving: true }] });
const heldHere = (name: string, namespace = 'default') =>
  lease({ name, namespace, holderIdentity: NODE_NAME, renewTime: Date.now(), acquireTime: Date.now() - 600_000, leaseDurationSeconds: 3600 });
/** This node's Node object with these InternalIPs (and its Hostname address, which kube-vip ignores). */
const thisNode = (...internalIPs: string[]): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: NODE_NAME },
  status: { addresses: [...internalIPs.map((address) => ({ type: 'InternalIP', address })), { type: 'Hostname', address: NODE_NAME }] },
});
/** The Endpoints object of a Service: ready and not-ready addresses, on worker-2. */
const endpointsObject = (svc: string, a: { ready?: string[]; notReady?: string[] }): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Endpoints',
  metadata: { name: svc, namespace: 'default' },
  subsets: [
    {
      ...(a.ready ? { addresses: a.ready.map((ip) => ({ ip, nodeName: 'worker-2' })) } : {}),
      ...(a.notReady ? { notReadyAddresses: a.notReady.map((ip) => ({ ip, nodeName: 'worker-2' })) } : {}),
      ports: [{ port: 80, protocol: 'TCP' }],
    },
  ],
});
/** A control-plane-only kube-vip with a dual-stack `address` (vip_subnet generated: "32,128"). */
const CP_ENV: Env = {
  vip_routingtable: 'true',
  cp_enable: 'true',
  address: '192.168.10.100,fd00::100',
  vip_interface: 'lo',
  vip_nodename: { fieldRef: 'spec.nodeName' },
};
const heldElsewhere = (name: string, namespace = 'default') =>
  lease({ name, namespace, holderIdentity: 'worker-2', renewTime: Date.now(), acquireTime: Date.now() - 600_000, leaseDurationSeconds: 3600 });

describeIfRoot('kube-vip divergences: the real CLI judges as kube-vip does, or not at all', () => {
  const world = useWorld();
  let w: World;
  beforeEach(async () => {
    w = world();
    await resetWorld(w, ['Service', 'EndpointSlice', 'Endpoints', 'Lease', 'Pod', 'Node'], [198]);
    await w.ip('link del uplink0').catch(() => '');
    await w.ip('link del uplink1').catch(() => '');
  });

  it('1. vip_subnet generated from a dual-stack address "fd00::10,10.0.0.10" is "32,128": the IPv4 route is judged at /32, the IPv6 one at /128', async () => {
    w.api.upsert(kubeVipPod({ env: { ...BASE, address: 'fd00::10,10.0.0.10' } }));
    w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.5', 'fd00::5'] }));
    w.api.upsert(v4Slice('web'));
    w.api.upsert(v6Slice('web'));
    await w.ip('route add 10.0.0.5/32 dev lo table 198 proto 248');
    await w.ip('-6 route add fd00::5/128 dev lo table 198 proto 248');
    const r = await checkJson(w);
    expect(r.report.kubeVip!.instances[0]!.settings['vip-subnet']!.value).toBe('32,128');
    expect(r.report.orphans).toEqual([]);
    expect(r.report.missing).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('2. vip_interface unset: the default-gateway interface of the node (a veth with the default route), followed when the default route moves', async () => {
    await w.ip('link add uplink0 type veth peer name uplink0p');
    await w.ip('addr add 192.0.2.2/24 dev uplink0');
    await w.ip('link set uplink0p up');
    await w.ip('link set uplink0 up');
    await w.ip('route add default via 192.0.2.1 dev uplink0');
    const { vip_interface: _unset, ...env } = BASE;
    w.api.upsert(kubeVipPod({ env }));
    w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.5'] }));
    w.api.upsert(v4Slice('web'));
    await w.ip('route add 10.0.0.5/32 dev uplink0 table 198 proto 248');
    const r = await checkJson(w);
    expect(r.report.kubeVip!.instances[0]!.settings.interface).toMatchObject({ value: 'uplink0' });
    expect(r.report.kubeVip!.instances[0]!.settings.interface!.source).toContain('default-gateway interface');
    expect(r.code).toBe(0);

    // The default route moves to another link: the next check follows it.
    await w.ip('link add uplink1 type veth peer name uplink1p');
    await w.ip('addr add 198.51.100.2/24 dev uplink1');
    await w.ip('link set uplink1p up');
    await w.ip('link set uplink1 up');
    await w.ip('route replace default via 198.51.100.1 dev uplink1');
    const moved = await checkJson(w);
    expect(moved.report.kubeVip!.instances[0]!.settings.interface).toMatchObject({ value: 'uplink1' });
    expect(moved.report.missing.map((m) => `${m.destination} ${m.reason} ${m.device}`)).toEqual(['10.0.0.5/32 wrong-device uplink1']);

    // No default route at all: the interface is not judged, and neither is the route.
    await w.ip('route del default');
    const none = await checkJson(w);
    expect(none.report.unjudged.map((u) => `${u.destination} ${u.reason} ${u.inKernel}`)).toEqual(['10.0.0.5/32 default-interface true']);
    expect(none.report.orphans).toEqual([]);
    expect(none.code).toBe(0);
  });

  it('3. leaderElectionType etcd: an elected route is not judged, and neither check nor --remediate flush-rebuild deletes it', async () => {
    w.api.upsert(kubeVipPod({ env: { ...BASE, svc_election: 'true' }, args: ['manager', '--leaderElectionType=etcd'] }));
    w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.5'] }));
    w.api.upsert(v4Slice('web'));
    // The API's lease says another node: with etcd leases, it decides nothing.
    w.api.upsert(heldElsewhere('kubevip-web'));
    await w.ip('route add 10.0.0.5/32 dev lo table 198 proto 248');
    const r = await checkJson(w);
    expect(r.report.unjudged.map((u) => `${u.destination} ${u.reason} ${u.inKernel}`)).toEqual(['10.0.0.5/32 etcd-lease true']);
    expect(r.report.orphans).toEqual([]);
    expect(r.report.counts.unjudged).toBe(1);
    expect(r.code).toBe(0);
    const repaired = await w.cli(['check', '--remediate', '--strategy', 'flush-rebuild', '--allow-empty', '--output', 'json']);
    expect(repaired.code).toBe(0);
    expect(await w.ip('route show table 198')).toContain('10.0.0.5 dev lo proto 248');
  });

  it('4. election mode: one VIP of a dual-stack Service fails in the kernel, the other still gets its route', async () => {
    // vip_subnet 24 on IPv4: the kernel refuses 10.0.0.5/24 (host bits); IPv6 /128 is fine.
    w.api.upsert(kubeVipPod({ env: { ...BASE, svc_election: 'true', vip_subnet: '24,128' } }));
    w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.5', 'fd00::5'] }));
    w.api.upsert(v4Slice('web'));
    w.api.upsert(heldHere('kubevip-web'));
    await w.ip('-6 route add fd00::5/128 dev lo table 198 proto 248');
    const r = await checkJson(w);
    expect(r.report.orphans).toEqual([]);
    expect(r.report.missing).toEqual([]);
    expect(r.report.excluded.map((e) => `${e.address} ${e.reason}`)).toEqual(['10.0.0.5 kernel-rejects-prefix']);
    expect(r.code).toBe(0);
  });

  it('5. a hostname next to an IP in kube-vip.io/loadbalancerIPs: the Service is not judged (no false "missing")', async () => {
    w.api.upsert(kubeVipPod({ env: BASE }));
    w.api.upsert(service({ name: 'web', annotations: { 'kube-vip.io/loadbalancerIPs': '10.0.0.5,vip.example.invalid' } }));
    w.api.upsert(v4Slice('web'));
    const r = await checkJson(w);
    expect(r.report.missing).toEqual([]);
    expect(r.report.unjudged.map((u) => `${u.destination ?? u.address} ${u.reason}`).sort()).toEqual(['10.0.0.5 hostname', 'vip.example.invalid hostname']);
    expect(r.code).toBe(0);
  });

  it('6. kube-vip.io/ddns that is not a Go bool, or requestedIP with three entries: NewInstance fails, no route is expected', async () => {
    w.api.upsert(kubeVipPod({ env: BASE }));
    w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.5'], annotations: { 'kube-vip.io/ddns': 'yes' } }));
    w.api.upsert(service({ name: 'api', ingressIPs: ['10.0.0.6'], annotations: { 'kube-vip.io/requestedIP': '10.0.0.6,10.0.0.7,fd00::6' } }));
    w.api.upsert(v4Slice('web'));
    w.api.upsert(v4Slice('api'));
    const r = await checkJson(w);
    expect(r.report.missing).toEqual([]);
    expect(r.report.excluded.map((e) => `${e.service} ${e.reason}`).sort()).toEqual(['default/api instance-fails', 'default/web instance-fails']);
    expect(r.code).toBe(0);
  });

  it('7. global election: a Service without any EndpointSlice never gets a route, even with allow-reconcile-without-endpoints', async () => {
    w.api.upsert(kubeVipPod({ env: { ...BASE, vip_leaderelection: 'true' } }));
    w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.5'], annotations: { 'kube-vip.io/allow-reconcile-without-endpoints': 'true' } }));
    w.api.upsert(heldHere('plndr-svcs-lock', 'kube-system'));
    const r = await checkJson(w);
    expect(r.report.missing).toEqual([]);
    expect(r.code).toBe(0);
    // With an (empty) EndpointSlice, the leader routes it.
    w.api.upsert(endpointSlice({ service: 'web', addressType: 'IPv4', endpoints: [] }));
    const withSlice = await checkJson(w);
    expect(
      withSlice.report.missing.map((m) => m.destination),
      JSON.stringify({ ...withSlice.report, routes: undefined }).slice(0, 3000),
    ).toEqual(['10.0.0.5/32']);
  });

  it('8. enable_endpoints: kube-vip reads Endpoints (ready addresses only), and so does routewarden: a not-ready endpoint gives no route, and slices that disagree are no E11', async () => {
    w.api.upsert(kubeVipPod({ env: { ...BASE, enable_endpoints: 'true' } }));
    w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.5'] }));
    // The slice lists the endpoint (EndpointSlice rules would count it under Cluster); Endpoints holds it as not ready.
    w.api.upsert(
      endpointSlice({ service: 'web', addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.5'], nodeName: 'worker-2', ready: false, serving: false }] }),
    );
    w.api.upsert(endpointsObject('web', { notReady: ['10.244.1.5'] }));
    await w.ip('route add 10.0.0.5/32 dev lo table 198 proto 248');
    const notReady = await checkJson(w);
    expect(notReady.report.unjudged).toEqual([]);
    expect(notReady.report.orphans.map((o) => `${o.destination} ${o.reason}`)).toEqual(['10.0.0.5/32 not-placed-here']);
    expect(notReady.code).toBe(1);

    // The pod becomes ready: kube-vip routes the VIP, and the route is in sync.
    w.api.upsert(endpointsObject('web', { ready: ['10.244.1.5'] }));
    const ready = await checkJson(w);
    expect(ready.report.orphans).toEqual([]);
    expect(ready.report.missing).toEqual([]);
    expect(ready.report.unjudged).toEqual([]);
    expect(ready.code).toBe(0);

    // Two IPv4 slices that disagree (the second is empty) would be E11 with slices; kube-vip reads the Endpoints object: the missing route is plain drift.
    w.api.upsert(endpointSlice({ service: 'web', name: 'web-extra', addressType: 'IPv4', endpoints: [] }));
    await w.ip('route del 10.0.0.5/32 dev lo table 198 proto 248');
    const gone = await checkJson(w);
    expect(gone.report.missing.map((m) => `${m.destination} ${m.class} ${m.limitation?.id ?? '-'}`)).toEqual(['10.0.0.5/32 drift -']);
  });

  it("9. the control-plane VIP and this node's Node: a family without an InternalIP is never installed (its route is an orphan); one with an InternalIP is not judged when absent", async () => {
    w.api.upsert(kubeVipPod({ env: CP_ENV }));
    w.api.upsert(thisNode('192.168.10.11'));
    await w.ip('route add 192.168.10.100/32 dev lo table 198 proto 248');
    await w.ip('-6 route add fd00::100/128 dev lo table 198 proto 248');
    const v4only = await checkJson(w);
    expect(v4only.report.orphans.map((o) => `${o.destination} ${o.reason}`)).toEqual(['fd00::100/128 excluded']);
    expect(v4only.report.excluded.map((e) => `${e.service} ${e.address} ${e.reason}`)).toEqual(['control-plane fd00::100 no-node-internal-ip']);
    expect(v4only.report.missing).toEqual([]);
    expect(v4only.code).toBe(1);

    // The Node gains an IPv6 InternalIP: the IPv6 CP route is kube-vip's.
    w.api.upsert(thisNode('192.168.10.11', 'fd00::11'));
    const dual = await checkJson(w);
    expect(dual.report.orphans).toEqual([]);
    expect(dual.report.excluded).toEqual([]);
    expect(dual.code).toBe(0);

    // Absent while its family has an InternalIP: the health check decides, not judged.
    await w.ip('-6 route del fd00::100/128 table 198');
    const absent = await checkJson(w);
    expect(absent.report.missing).toEqual([]);
    expect(absent.report.unjudged.map((u) => `${u.destination} ${u.reason} ${u.inKernel}`)).toEqual(['fd00::100/128 cp-health-check false']);
    expect(absent.code).toBe(0);
  });

  it('kube-vip versions: the image tag decides; an unknown one is judged as the newest known code, and the report and the log say so', async () => {
    // v1.2.2 has no kubernetes_addr override: the Node's InternalIPs (IPv4 only) decide, so the IPv6 CP route is never installed.
    w.api.upsert(kubeVipPod({ env: { ...CP_ENV, kubernetes_addr: 'https://127.0.0.1:6443' }, image: 'ghcr.io/kube-vip/kube-vip:v1.2.2' }));
    w.api.upsert(thisNode('192.168.10.11'));
    await w.ip('route add 192.168.10.100/32 dev lo table 198 proto 248');
    await w.ip('-6 route add fd00::100/128 dev lo table 198 proto 248');
    const old = await checkJson(w);
    expect(old.report.kubeVip!.instances[0]!.version).toMatchObject({ tag: 'v1.2.2', known: true, judgedAs: 'v1.2.2' });
    expect(old.report.orphans.map((o) => `${o.destination} ${o.reason}`)).toEqual(['fd00::100/128 excluded']);

    // An image without a release tag: judged as bee5cfe, whose health check honours kubernetes_addr for every family.
    w.api.upsert(kubeVipPod({ env: { ...CP_ENV, kubernetes_addr: 'https://127.0.0.1:6443' }, image: 'ghcr.io/kube-vip/kube-vip:latest' }));
    const latest = await checkJson(w);
    expect(latest.report.kubeVip!.instances[0]!.version).toMatchObject({ tag: 'latest', known: false, judgedAs: 'v1.2.3-24 (bee5cfe)' });
    expect(latest.report.orphans).toEqual([]);
    expect(latest.code).toBe(0);
    expect(latest.stderr).toContain('is not a kube-vip release: judged as kube-vip v1.2.3-24 (bee5cfe)');
  });

  // --- divergences found walking kube-vip's code (F1–F8)

  it('F1. a route left after the Service changed type to NodePort: plain drift where kube-vip tears a type change down (bee5cfe, an unknown version), limitation E15 under v1.2.3, which does not', async () => {
    w.api.upsert(kubeVipPod({ env: BASE, image: 'ghcr.io/kube-vip/kube-vip:latest' }));
    w.api.upsert(service({ name: 'web', type: 'NodePort', ingressIPs: ['10.0.0.5'] }));
    w.api.upsert(v4Slice('web'));
    await w.ip('route add 10.0.0.5/32 dev lo table 198 proto 248');
    const r = await checkJson(w);
    expect(r.report.orphans.map((o) => `${o.destination} ${o.reason} ${o.class}`)).toEqual(['10.0.0.5/32 service-filtered drift']);
    expect(r.report.orphans[0]!.limitation).toBeUndefined();
    expect(r.report.counts.limitation).toBe(0);
    expect(r.code).toBe(1);

    // The same table under kube-vip v1.2.3: AddOrModify returns early for a non-LoadBalancer Service, the route stays.
    w.api.upsert(kubeVipPod({ env: BASE, image: 'ghcr.io/kube-vip/kube-vip:v1.2.3' }));
    const old = await checkJson(w);
    expect(old.report.kubeVip!.instances[0]!.version).toMatchObject({ judgedAs: 'v1.2.3' });
    expect(old.report.orphans.map((o) => `${o.destination} ${o.reason} ${o.class} ${o.limitation?.id}`)).toEqual([
      '10.0.0.5/32 service-filtered kube-vip-limitation E15',
    ]);
    expect(old.report.orphans[0]!.limitation!.text).toContain('does not tear a Service down when it leaves type LoadBalancer');
    expect(old.report.kubeVip!.instances[0]!.notes.join('\n')).toContain('limitation E15');
  });

  it('F2. svc_election, egress-ipv6 and allow-reconcile-without-endpoints with no endpoints at all: the lease holder keeps the route', async () => {
    w.api.upsert(kubeVipPod({ env: { ...BASE, svc_election: 'true' } }));
    w.api.upsert(
      service({
        name: 'web',
        ingressIPs: ['10.0.0.5'],
        annotations: { 'kube-vip.io/allow-reconcile-without-endpoints': 'true', 'kube-vip.io/egress-ipv6': 'true' },
      }),
    );
    w.api.upsert(endpointSlice({ service: 'web', addressType: 'IPv4', endpoints: [] }));
    w.api.upsert(heldHere('kubevip-web'));
    await w.ip('route add 10.0.0.5/32 dev lo table 198 proto 248');
    const r = await checkJson(w);
    expect(r.report.orphans).toEqual([]);
    expect(r.report.missing).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('F3. an FQDN EndpointSlice counts as endpoints, of the IPv6 family: the IPv6 VIP is routed, the IPv4 one is not expected', async () => {
    w.api.upsert(kubeVipPod({ env: BASE }));
    w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.5', 'fd00::5'] }));
    w.api.upsert(endpointSlice({ service: 'web', addressType: 'FQDN', endpoints: [{ addresses: ['app.example.com'], nodeName: 'worker-2', ready: true }] }));
    await w.ip('-6 route add fd00::5/128 dev lo table 198 proto 248');
    const r = await checkJson(w);
    expect(r.report.orphans).toEqual([]);
    expect(r.report.missing).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('F4. no election: the first VIP fails in the kernel and kube-vip stops there; a failing second VIP leaves the first one routed', async () => {
    // vip_subnet 24 on IPv4: the kernel refuses 10.0.0.x/24 (host bits).
    w.api.upsert(kubeVipPod({ env: { ...BASE, vip_subnet: '24,128' } }));
    w.api.upsert(service({ name: 'v4first', ingressIPs: ['10.0.0.5', 'fd00::5'] }));
    w.api.upsert(service({ name: 'v6first', ingressIPs: ['fd00::6', '10.0.0.6'] }));
    for (const name of ['v4first', 'v6first']) {
      w.api.upsert(v4Slice(name));
      w.api.upsert(v6Slice(name));
    }
    // A leftover route of the VIP kube-vip never reaches.
    await w.ip('-6 route add fd00::5/128 dev lo table 198 proto 248');
    const r = await checkJson(w);
    expect(r.report.orphans.map((o) => `${o.destination} ${o.reason}`)).toEqual(['fd00::5/128 not-placed-here']);
    expect(r.report.missing.map((m) => `${m.destination} ${m.reason}`)).toEqual(['fd00::6/128 not-in-kernel']);
    expect(r.report.excluded.map((e) => `${e.address} ${e.reason}`).sort()).toEqual(['10.0.0.5 kernel-rejects-prefix', '10.0.0.6 kernel-rejects-prefix']);
    expect(r.code).toBe(1);
  });

  it('F5. kube-vip.io/leaseName "ns1/shared/extra" is the lease ns1/shared (a third part is dropped)', async () => {
    w.api.upsert(kubeVipPod({ env: { ...BASE, svc_election: 'true' } }));
    w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.5'], annotations: { 'kube-vip.io/leaseName': 'ns1/shared/extra' } }));
    w.api.upsert(v4Slice('web'));
    w.api.upsert(heldHere('shared', 'ns1'));
    await w.ip('route add 10.0.0.5/32 dev lo table 198 proto 248');
    const r = await checkJson(w);
    expect(r.report.orphans).toEqual([]);
    expect(r.report.missing).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('F6. loadbalancerIPs "::ffff:10.0.0.5" is the IPv4 VIP 10.0.0.5 (ip.String())', async () => {
    w.api.upsert(kubeVipPod({ env: BASE }));
    w.api.upsert(service({ name: 'web', annotations: { 'kube-vip.io/loadbalancerIPs': '::ffff:10.0.0.5' } }));
    w.api.upsert(v4Slice('web'));
    await w.ip('route add 10.0.0.5/32 dev lo table 198 proto 248');
    const r = await checkJson(w);
    expect(r.report.orphans).toEqual([]);
    expect(r.report.missing).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('F7. a DHCP Service: the lease kube-vip recorded is not judged, and neither is a route no Service names until one is recorded; --remediate deletes neither', async () => {
    w.api.upsert(kubeVipPod({ env: BASE }));
    w.api.upsert(service({ name: 'recorded', annotations: { 'kube-vip.io/loadbalancerIPs': '0.0.0.0', 'kube-vip.io/requestedIP': '192.168.1.76' } }));
    w.api.upsert(v4Slice('recorded'));
    await w.ip('route add 192.168.1.76/32 dev lo table 198 proto 248');
    const recorded = await checkJson(w);
    expect(recorded.report.unjudged.map((u) => `${u.destination ?? u.address} ${u.reason} ${u.inKernel}`)).toContain('192.168.1.76/32 dhcp true');
    expect(recorded.report.orphans).toEqual([]);
    expect(recorded.code).toBe(0);

    // A second DHCP Service whose lease is not recorded yet: any route no Service names may be it.
    w.api.upsert(service({ name: 'pending', annotations: { 'kube-vip.io/loadbalancerIPs': '0.0.0.0' } }));
    w.api.upsert(v4Slice('pending'));
    await w.ip('route add 192.168.1.77/32 dev lo table 198 proto 248');
    const pending = await checkJson(w);
    expect(pending.report.unjudged.map((u) => `${u.destination ?? u.address} ${u.reason}`)).toEqual(
      expect.arrayContaining(['192.168.1.76/32 dhcp', '192.168.1.77/32 dhcp']),
    );
    expect(pending.report.orphans).toEqual([]);
    expect(pending.code).toBe(0);
    const repaired = await w.cli(['check', '--remediate', '--strategy', 'flush-rebuild', '--allow-empty', '--output', 'json']);
    expect(repaired.code).toBe(0);
    const table = await w.ip('route show table 198');
    expect(table).toContain('192.168.1.76 dev lo proto 248');
    expect(table).toContain('192.168.1.77 dev lo proto 248');
  });

  it('F8. address "10.0.0.10, fd00::10" (a space after the comma): kube-vip cannot generate vip_subnet and exits; the instance is listed, not used, and every table route is not judged (kube-vip-not-started): check and --remediate leave them alone', async () => {
    w.api.upsert(kubeVipPod({ env: { ...BASE, cp_enable: 'true', address: '10.0.0.10, fd00::10' } }));
    w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.5'] }));
    w.api.upsert(v4Slice('web'));
    // Left by an earlier, good configuration of kube-vip.
    await w.ip('route add 10.0.0.10/32 dev lo table 198 proto 248');
    await w.ip('route add 10.0.0.9/32 dev lo table 198 proto 248');
    const r = await checkJson(w);
    const inst = r.report.kubeVip!.instances[0]!;
    expect(inst.included).toBe(false);
    expect(inst.excludedBecause).toContain('generating CIDR');
    expect(r.report.kubeVip!.message).toContain('no usable routing-table-mode kube-vip pod');
    expect(r.report.kubeVip!.message).toContain('nothing is judged while kube-vip');
    expect(r.report.unjudged.map((u) => `${u.destination ?? u.address} ${u.reason} ${u.inKernel}`).sort()).toEqual([
      '10.0.0.10/32 kube-vip-not-started true',
      '10.0.0.5 kube-vip-not-started false',
      '10.0.0.9/32 kube-vip-not-started true',
    ]);
    expect(r.report.orphans).toEqual([]);
    expect(r.report.missing).toEqual([]);
    expect(r.code).toBe(0);
    for (const strategy of ['surgical', 'flush-rebuild']) {
      const repaired = await w.cli(['check', '--remediate', '--strategy', strategy, '--allow-empty', '--output', 'json']);
      expect(repaired.code).toBe(0);
      const table = await w.ip('route show table 198');
      expect(table).toContain('10.0.0.10 dev lo proto 248');
      expect(table).toContain('10.0.0.9 dev lo proto 248');
      expect(table).not.toContain('10.0.0.5');
    }
  });

  it("cleanup (E2, E25): a hybrid kube-vip's start-up cleanup deletes its Service routes, and a CP instance's cleanup deletes another instance's: the missing routes are kube-vip limitations, and --remediate re-adds them (their owner still tracks them)", async () => {
    // One process with services and the control plane, vip_cleanroutingtable, started an hour ago.
    w.api.upsert(kubeVipPod({ env: { ...BASE, cp_enable: 'true', address: '192.168.10.100', vip_cleanroutingtable: 'true' } }));
    w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.5'] }));
    w.api.upsert(v4Slice('web'));
    await w.ip('route add 192.168.10.100/32 dev lo table 198 proto 248');
    const hybrid = await checkJson(w);
    expect(hybrid.report.missing.map((m) => `${m.destination} ${m.reason} ${m.class} ${m.limitation?.id}`)).toEqual([
      '10.0.0.5/32 not-in-kernel kube-vip-limitation E2',
    ]);
    expect(hybrid.report.missing[0]!.limitation!.text).toContain('keeps only a route whose destination is the address setting "192.168.10.100" literally');
    expect(hybrid.report.counts.limitation).toBe(1);

    // Two processes on the node, one table and protocol: a CP static pod with the cleanup, a services DaemonSet.
    w.api.upsert(kubeVipPod({ env: { ...BASE, svc_enable: 'false', cp_enable: 'true', address: '192.168.10.100', vip_cleanroutingtable: 'true' } }));
    w.api.upsert(kubeVipPod({ name: 'kube-vip-svc-fghij', env: BASE }));
    const cross = await checkJson(w);
    expect(cross.report.missing.map((m) => `${m.destination} ${m.class} ${m.limitation?.id}`)).toEqual(['10.0.0.5/32 kube-vip-limitation E25']);
    expect(cross.report.missing[0]!.limitation!.text).toContain('kube-system/kube-vip-svc-fghij');

    const repaired = await w.cli(['check', '--remediate', '--output', 'json']);
    expect(repaired.code).toBe(0);
    expect(await w.ip('route show table 198')).toContain('10.0.0.5 dev lo proto 248');
  });

  it('route types: vip_routingtabletype 6 (blackhole) on a veth: the kernel refuses the IPv4 route (excluded) and stores the IPv6 one on lo, where it is judged in sync; --remediate re-adds it as kube-vip would', async () => {
    await w.ip('link del rtype0').catch(() => '');
    await w.ip('link add rtype0 type veth peer name rtype0p');
    await w.ip('link set rtype0p up');
    await w.ip('link set rtype0 up');
    try {
      w.api.upsert(kubeVipPod({ env: { ...BASE, svc_election: 'true', vip_interface: 'rtype0', vip_routingtabletype: '6' } }));
      w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.5', 'fd00::5'] }));
      w.api.upsert(v4Slice('web'));
      w.api.upsert(heldHere('kubevip-web'));
      // What kube-vip's add leaves: the device it names is rtype0, the kernel stores lo.
      await w.ip('-6 route add blackhole fd00::5/128 dev rtype0 table 198 proto 248');
      expect(await w.ip('-6 route show table 198')).toContain('blackhole fd00::5 dev lo proto 248');
      const r = await checkJson(w);
      expect(r.report.excluded.map((e) => `${e.address} ${e.reason}`)).toEqual(['10.0.0.5 kernel-rejects-type']);
      expect(r.report.orphans).toEqual([]);
      expect(r.report.missing).toEqual([]);
      expect(r.code).toBe(0);

      await w.ip('-6 route del fd00::5/128 dev lo table 198 proto 248');
      const missing = await checkJson(w);
      expect(missing.report.missing.map((m) => `${m.destination} ${m.device} ${m.reason}`)).toEqual(['fd00::5/128 lo not-in-kernel']);
      const repaired = await w.cli(['check', '--remediate', '--output', 'json']);
      expect(repaired.code).toBe(0);
      expect(await w.ip('-6 route show table 198')).toContain('blackhole fd00::5 dev lo proto 248');
      // No IPv4 route: the IPv4 table 198 does not even exist.
      expect(await w.ip('-4 route show table 198').catch((e: Error) => e.message)).not.toContain('10.0.0.5');
    } finally {
      await w.ip('link del rtype0').catch(() => '');
    }
  });

  it("a vip_nodename from a Secret: kube-vip's identity is unknown, so no route is judged; an explicit --node-name lifts it", async () => {
    w.api.upsert(kubeVipPod({ env: { ...BASE, svc_election: 'true', vip_nodename: 'placeholder' } }));
    // Replace the literal with a secretKeyRef (the builder only makes literals and fieldRefs).
    const pod = w.api.list('Pod')[0]!;
    const spec = pod.spec as { containers: { env: { name: string; value?: string; valueFrom?: unknown }[] }[] };
    spec.containers[0]!.env = spec.containers[0]!.env.map((e) =>
      e.name === 'vip_nodename' ? { name: e.name, valueFrom: { secretKeyRef: { name: 'kv', key: 'node' } } } : e,
    );
    w.api.upsert(pod);
    w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.5'] }));
    w.api.upsert(v4Slice('web'));
    w.api.upsert(heldHere('kubevip-web'));
    await w.ip('route add 10.0.0.9/32 dev lo table 198 proto 248');
    const r = await checkJson(w);
    expect(r.report.unjudged.map((u) => `${u.destination ?? u.address} ${u.reason}`).sort()).toEqual([
      '10.0.0.5 setting-not-visible',
      '10.0.0.9/32 setting-not-visible',
    ]);
    expect(r.report.orphans).toEqual([]);
    expect(r.report.missing).toEqual([]);
    expect(r.code).toBe(0);
    const explicit = await checkJson(w, ['--node-name', NODE_NAME]);
    expect(explicit.report.unjudged).toEqual([]);
    expect(explicit.report.missing.map((m) => m.destination)).toEqual(['10.0.0.5/32']);
    expect(explicit.report.orphans.map((o) => o.destination)).toEqual(['10.0.0.9/32']);
  });
});

describeIfRoot('kube-vip divergences 8 and 9 when routewarden may not read Endpoints or its Node', () => {
  const world = useWorld();

  it('8. Endpoints refused (403): routes that depend on endpoints are not judged, never drift', async () => {
    const w = world();
    await resetWorld(w, ['Service', 'EndpointSlice', 'Endpoints', 'Pod'], [198]);
    // Every LIST of endpoints in this world is refused, as with a ClusterRole without the kube-vip-endpoints rule.
    w.api.failNextList('endpoints', 403, 1_000);
    w.api.upsert(kubeVipPod({ env: { ...BASE, enable_endpoints: 'true' } }));
    w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.5'] }));
    w.api.upsert(v4Slice('web'));
    w.api.upsert(endpointsObject('web', { notReady: ['10.244.1.5'] }));
    await w.ip('route add 10.0.0.5/32 dev lo table 198 proto 248');
    const r = await checkJson(w);
    expect(r.report.orphans).toEqual([]);
    expect(r.report.unjudged.map((u) => `${u.destination} ${u.reason} ${u.inKernel}`)).toEqual(['10.0.0.5/32 endpoints-source true']);
    expect(r.code).toBe(0);
    expect(w.api.requests('LIST', 'endpoints')).toBeGreaterThan(0);
  });

  it("9. this node's Node refused (403): the control-plane routes are judged as before, a missing one is not judged", async () => {
    const w = world();
    await resetWorld(w, ['Service', 'EndpointSlice', 'Endpoints', 'Pod', 'Node'], [198]);
    // Every LIST of nodes in this world is refused, as with a ClusterRole without the nodes rule.
    w.api.failNextList('nodes', 403, 1_000);
    w.api.upsert(kubeVipPod({ env: CP_ENV }));
    w.api.upsert(thisNode('192.168.10.11'));
    await w.ip('-6 route add fd00::100/128 dev lo table 198 proto 248');
    const r = await checkJson(w);
    expect(r.report.orphans).toEqual([]);
    expect(r.report.excluded).toEqual([]);
    expect(r.report.missing).toEqual([]);
    expect(r.report.unjudged.map((u) => `${u.destination} ${u.reason} ${u.inKernel}`)).toEqual(['192.168.10.100/32 cp-health-check false']);
    expect(r.code).toBe(0);
    expect(w.api.requests('LIST', 'nodes')).toBeGreaterThan(0);
  });
});

describeIfRoot("kube-vip's --config-file: read from its ConfigMap, or not judged", () => {
  const world = useWorld();
  const FILE_ARGS = ['manager', '--config-file=/etc/kube-vip/config.yaml'];
  const MOUNT = [{ name: 'config', mountPath: '/etc/kube-vip' }];
  const configMap = (data: Record<string, string>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'kube-vip-config', namespace: 'kube-system' },
    data,
  });
  const { vip_interface: _fromFile, ...noInterface } = BASE;

  it('config file from a ConfigMap: the interface it sets is the one routewarden judges by, and the report names the file and the ConfigMap', async () => {
    const w = world();
    await resetWorld(w, ['Service', 'EndpointSlice', 'Pod', 'ConfigMap'], [198]);
    await w.ip('link del cfgveth0').catch(() => '');
    await w.ip('link add cfgveth0 type veth peer name cfgveth0p');
    await w.ip('link set cfgveth0p up');
    await w.ip('link set cfgveth0 up');
    try {
      w.api.upsert(configMap({ 'config.yaml': 'interface: cfgveth0\nvipSubnet: "32"\n' }));
      w.api.upsert(
        kubeVipPod({ env: noInterface, args: FILE_ARGS, volumes: [{ name: 'config', configMap: { name: 'kube-vip-config' } }], volumeMounts: MOUNT }),
      );
      w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.5', '10.0.0.6'] }));
      w.api.upsert(v4Slice('web'));
      await w.ip('route add 10.0.0.5/32 dev cfgveth0 table 198 proto 248');
      const r = await checkJson(w);
      const settings = r.report.kubeVip!.instances[0]!.settings;
      expect(settings.interface).toEqual({
        value: 'cfgveth0',
        source:
          'config file /etc/kube-vip/config.yaml key interface (ConfigMap kube-system/kube-vip-config key config.yaml) of pod kube-system/kube-vip-ds-abcde',
      });
      expect(r.report.unjudged).toEqual([]);
      expect(r.report.orphans).toEqual([]);
      expect(r.report.missing.map((m) => `${m.destination} ${m.device}`)).toEqual(['10.0.0.6/32 cfgveth0']);
      expect(w.api.requests('LIST', 'configmaps')).toBeGreaterThan(0);
    } finally {
      await w.ip('link del cfgveth0').catch(() => '');
    }
  });

  it('config file on a hostPath: not visible, every route of that kube-vip is not judged, never drift, and no ConfigMap is read', async () => {
    const w = world();
    await resetWorld(w, ['Service', 'EndpointSlice', 'Pod', 'ConfigMap'], [198]);
    const before = w.api.requests('LIST', 'configmaps');
    w.api.upsert(
      kubeVipPod({ env: BASE, args: FILE_ARGS, volumes: [{ name: 'config', hostPath: { path: '/etc/kube-vip', type: 'Directory' } }], volumeMounts: MOUNT }),
    );
    w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.5'] }));
    w.api.upsert(v4Slice('web'));
    await w.ip('route add 10.0.0.9/32 dev lo table 198 proto 248');
    const r = await checkJson(w);
    expect(r.report.unjudged.map((u) => `${u.destination ?? u.address} ${u.reason}`).sort()).toEqual([
      '10.0.0.5 setting-not-visible',
      '10.0.0.9/32 setting-not-visible',
    ]);
    expect(r.report.kubeVip!.instances[0]!.notes.join('\n')).toContain('is on hostPath /etc/kube-vip of the node: not visible to routewarden');
    expect(r.report.orphans).toEqual([]);
    expect(r.report.missing).toEqual([]);
    expect(r.code).toBe(0);
    expect(w.api.requests('LIST', 'configmaps')).toBe(before);
  });

  it('config file from a ConfigMap routewarden may not read (403): not judged, never drift', async () => {
    const w = world();
    await resetWorld(w, ['Service', 'EndpointSlice', 'Pod', 'ConfigMap'], [198]);
    // As without deploy/overlays/kube-vip-config-file's Role.
    w.api.failNextList('configmaps', 403, 1_000);
    w.api.upsert(configMap({ 'config.yaml': 'interface: lo\n' }));
    w.api.upsert(kubeVipPod({ env: BASE, args: FILE_ARGS, volumes: [{ name: 'config', configMap: { name: 'kube-vip-config' } }], volumeMounts: MOUNT }));
    w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.5'] }));
    w.api.upsert(v4Slice('web'));
    const r = await checkJson(w);
    expect(r.report.unjudged.map((u) => `${u.destination ?? u.address} ${u.reason}`)).toEqual(['10.0.0.5 setting-not-visible']);
    expect(r.report.missing).toEqual([]);
    expect(r.code).toBe(0);
  });
});
