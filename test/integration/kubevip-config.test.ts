// --kube-vip-config auto end to end: the real CLI in a network namespace reads
// the kube-vip pod on its node from the API double (list/watch with field
// selector spec.nodeName), derives kube-vip's table, protocol and election
// from the pod's env, and judges the real kernel table with them.

import { beforeEach, expect, it } from 'vitest';
import { endpointSlice, lease, service } from '../../tools/apidouble/index.ts';
import type { Report } from '../../src/core/report.ts';
import { describeIfRoot } from '../helpers/netns.ts';
import { checkJson, NODE_NAME, resetWorld, useWorld } from '../helpers/world.ts';
import { kubeVipPod } from '../helpers/kubevip-objects.ts';
import type { Env } from '../helpers/kubevip-objects.ts';
import type { World } from '../helpers/world.ts';

const TABLE_ENV: Env = {
  vip_routingtable: 'true',
  svc_enable: 'true',
  svc_election: 'true',
  vip_interface: 'lo',
  vip_routingtableid: '200',
  vip_routingprotocol: '249',
  vip_nodename: { fieldRef: 'spec.nodeName' },
};

describeIfRoot('--kube-vip-config auto against the API double and a real kernel table', () => {
  const world = useWorld();
  let w: World;
  beforeEach(async () => {
    w = world();
    await resetWorld(w, ['Service', 'EndpointSlice', 'Lease', 'Pod'], [198, 200]);
    w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.5'] }));
    w.api.upsert(
      endpointSlice({ service: 'web', addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.5'], nodeName: 'worker-2', ready: true, serving: true }] }),
    );
    w.api.upsert(
      lease({ name: 'kubevip-web', holderIdentity: NODE_NAME, renewTime: Date.now(), acquireTime: Date.now() - 600_000, leaseDurationSeconds: 3600 }),
    );
  });

  it('picks up table, protocol and election from the kube-vip pod env, and says where each came from', async () => {
    w.api.upsert(kubeVipPod({ env: TABLE_ENV }));
    // A kube-vip pod on another node is not this node's.
    w.api.upsert(kubeVipPod({ name: 'kube-vip-ds-other', node: 'worker-2', env: { ...TABLE_ENV, vip_routingtableid: '201' } }));
    const missing = await checkJson(w);
    expect(missing.code).toBe(1);
    expect(missing.report).toMatchObject({ node: NODE_NAME, table: 200, protocol: 249 });
    expect(missing.report.missing.map((m) => `${m.destination} ${m.reason} ${m.class}`)).toEqual(['10.0.0.5/32 not-in-kernel drift']);
    const kv = missing.report.kubeVip!;
    expect(kv.found).toBe(1);
    expect(kv.instances.map((i) => i.pod)).toEqual(['kube-system/kube-vip-ds-abcde']);
    expect(kv.instances[0]!.settings.table).toEqual({ value: '200', source: 'env vip_routingtableid of pod kube-system/kube-vip-ds-abcde' });
    expect(kv.instances[0]!.settings.protocol!.value).toBe('249');
    expect(kv.instances[0]!.settings.election).toEqual({ value: 'service', source: 'env svc_election of pod kube-system/kube-vip-ds-abcde' });
    expect(kv.instances[0]!.settings['node-name']!.source).toContain('fieldRef spec.nodeName');
    expect(kv.instances[0]).toMatchObject({ ready: true, restarts: 2 });

    await w.ip('route add 10.0.0.5/32 dev lo table 200 proto 249');
    expect((await checkJson(w)).code).toBe(0);

    // The lease moves elsewhere: service election (from the pod) makes the route an orphan here.
    w.api.upsert(
      lease({ name: 'kubevip-web', holderIdentity: 'worker-2', renewTime: Date.now(), acquireTime: Date.now() - 600_000, leaseDurationSeconds: 15 }),
    );
    const moved = await checkJson(w);
    expect(moved.report.orphans.map((o) => `${o.destination} ${o.reason}`)).toEqual(['10.0.0.5/32 not-placed-here']);
  });

  it('an explicit routewarden flag wins over the pod, and the mismatch is reported and logged', async () => {
    w.api.upsert(kubeVipPod({ env: TABLE_ENV }));
    const r = await checkJson(w, ['--protocol', '248', '--log-level', 'warn']);
    expect(r.report.protocol).toBe(248);
    expect(r.report.kubeVip!.mismatches).toEqual(['protocol']);
    expect(r.report.kubeVip!.instances[0]!.settings.protocol).toEqual({
      value: '248',
      source: 'routewarden flag --protocol',
      kubeVip: { value: '249', source: 'env vip_routingprotocol of pod kube-system/kube-vip-ds-abcde' },
    });
    expect(r.stderr).toContain('routewarden uses protocol=248 but kube-vip runs with 249');
    const text = await w.cli(['check', '--protocol', '248']);
    expect(text.stdout).toMatch(/protocol = "248"\s+\(routewarden flag --protocol\)\s+MISMATCH: kube-vip uses "249"/);
  });

  it('a set-based --kube-vip-selector finds the pod through the API server and the client alike', async () => {
    // The image does not say kube-vip: only the selector can find it. A pod
    // the selector excludes (other label value) must not be read.
    w.api.upsert(kubeVipPod({ env: TABLE_ENV, image: 'registry.local/vip:1' }));
    w.api.upsert(
      kubeVipPod({
        name: 'not-selected',
        env: { ...TABLE_ENV, vip_routingtableid: '198' },
        image: 'registry.local/vip:1',
        labels: { 'app.kubernetes.io/name': 'other' },
      }),
    );
    const r = await checkJson(w, ['--kube-vip-selector', 'app.kubernetes.io/name in (kube-vip, vip)']);
    expect(r.report.kubeVip).toMatchObject({ mode: 'auto', found: 1 });
    expect(r.report.kubeVip!.instances.map((i) => i.pod)).toEqual(['kube-system/kube-vip-ds-abcde']);
    expect(r.report).toMatchObject({ table: 200, protocol: 249 });
    const none = await checkJson(w, ['--kube-vip-selector', 'app.kubernetes.io/name notin (kube-vip, other)']);
    expect(none.report.kubeVip).toMatchObject({ mode: 'auto', found: 0 });
  });

  it('no kube-vip pod on the node: falls back to the flags and says so', async () => {
    w.api.upsert(kubeVipPod({ env: TABLE_ENV, image: 'nginx:1.27' }));
    const r = await checkJson(w, ['--election', 'service']);
    expect(r.report).toMatchObject({ table: 198, protocol: 248 });
    expect(r.report.kubeVip).toMatchObject({ mode: 'auto', found: 0 });
    expect(r.report.kubeVip!.message).toContain(`no kube-vip pod found on node ${NODE_NAME}`);
    expect(r.report.missing.map((m) => m.reason)).toEqual(['not-in-kernel']);
  });

  it('a kube-vip container started seconds ago: the missing route is expected-transient and check --remediate does not add it', async () => {
    // Started 5 s before each check, so that it is still within its start
    // grace (60 s) when that check runs: three CLI runs on a loaded machine
    // take longer than the grace together.
    const startedJustNow = (): void => {
      w.api.upsert(kubeVipPod({ env: TABLE_ENV, startedAt: new Date(Date.now() - 5_000) }));
    };
    startedJustNow();
    const r = await checkJson(w);
    expect(r.code).toBe(1);
    expect(r.report.missing).toHaveLength(1);
    expect(r.report.missing[0]).toMatchObject({
      destination: '10.0.0.5/32',
      reason: 'kube-vip-not-ready',
      class: 'expected-transient',
      transient: { window: 'kube-vip-starting' },
    });
    expect(Date.parse(r.report.missing[0]!.transient!.until)).toBeGreaterThan(Date.now());
    expect(r.report.counts).toMatchObject({ missing: 1, transient: 1 });

    for (const strategy of ['surgical', 'flush-rebuild']) {
      startedJustNow();
      const repaired = await checkJson(w, ['--remediate', '--strategy', strategy]);
      expect(repaired.code, strategy).toBe(1);
      expect(await w.ip('route show table 200'), strategy).toBe('');
    }
  });

  it('a not-ready, terminating kube-vip pod: missing routes wait for its replacement', async () => {
    w.api.upsert(kubeVipPod({ env: TABLE_ENV, ready: false, deleting: true }));
    const r = await checkJson(w, ['--remediate', '--strategy', 'surgical']);
    expect(r.report.missing[0]).toMatchObject({ reason: 'kube-vip-not-ready', class: 'expected-transient', transient: { window: 'kube-vip-terminating' } });
    expect(r.report.kubeVip!.instances[0]).toMatchObject({ ready: false, terminating: true });
    expect(await w.ip('route show table 200')).toBe('');
  });
});
