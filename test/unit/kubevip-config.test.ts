// kube-vip's effective configuration from its pod (docs/kube-vip-routing.md §9, E18,
// E19, E24, E25): one table, each row a sentence.

import { describe, expect, it } from 'vitest';
import type { PodInfo } from '../../src/core/cluster.ts';
import { expandRefs, parseFlags } from '../../src/kubevip/derive.ts';
import { resolveKubeVip } from '../../src/kubevip/resolve.ts';
import type { ExplicitFlags, SettingName } from '../../src/kubevip/resolve.ts';
import { model, NODE } from '../helpers/fixtures.ts';
import { container, kubeVipPod } from '../helpers/kubevip-pods.ts';
import type { EnvSpec } from '../helpers/kubevip-pods.ts';

const TABLE_MODE = { vip_routingtable: 'true', svc_enable: 'true', vip_interface: 'lo' } as const;

interface Case {
  name: string;
  env?: EnvSpec;
  args?: string[];
  pod?: Partial<PodInfo>;
  explicit?: Record<string, 'flag' | 'env'>;
  /** Routewarden's own values (its flags), where a case needs them. */
  flags?: Parameters<typeof model>[0];
  /** setting => [value, a substring of its source] */
  want?: Partial<Record<SettingName, [string, string]>>;
  mismatches?: string[];
  /** Substrings expected among the instance notes. */
  notes?: string[];
  /** Substring of why the instance is not judged; absent = included. */
  excluded?: string;
}

const cases: Case[] = [
  // --- precedence: env > flag (explicit or default) > config file
  {
    name: 'nothing set => kube-vip defaults: table 198, protocol 248, unicast',
    env: TABLE_MODE,
    want: { table: ['198', 'kube-vip default'], protocol: ['248', 'kube-vip default'], 'route-type': ['1', 'kube-vip default'] },
  },
  {
    name: 'env vip_routingtableid sets the table',
    env: { ...TABLE_MODE, vip_routingtableid: '200' },
    want: { table: ['200', 'env vip_routingtableid of pod kube-system/kube-vip-abcde'] },
  },
  { name: 'a flag --tableID sets the table', env: TABLE_MODE, args: ['manager', '--tableID=201'], want: { table: ['201', 'flag --tableID of pod'] } },
  {
    name: 'a flag value in the next argument counts too',
    env: TABLE_MODE,
    args: ['manager', '--routingProtocol', '249'],
    want: { protocol: ['249', 'flag --routingProtocol'] },
  },
  {
    name: 'env wins over an explicit flag (ParseEnvironment runs after cobra)',
    env: { ...TABLE_MODE, vip_routingtableid: '202' },
    args: ['manager', '--tableID', '203'],
    want: { table: ['202', 'env vip_routingtableid'] },
  },
  {
    name: 'an empty env value does not count (os.Getenv != "")',
    env: { ...TABLE_MODE, vip_routingprotocol: '' },
    args: ['manager', '--routingProtocol=250'],
    want: { protocol: ['250', 'flag --routingProtocol'] },
  },
  {
    name: 'vip_routingprotocol=0 becomes 1, proto redirect (E24)',
    env: { ...TABLE_MODE, vip_routingprotocol: '0' },
    want: { protocol: ['1', '0 rewritten to 1'] },
    notes: ['rewritten to 1'],
  },
  {
    name: 'vip_routingtableid=0 means the main table 254 (E24)',
    env: { ...TABLE_MODE, vip_routingtableid: '0' },
    want: { table: ['254', 'env vip_routingtableid'] },
    notes: ['main table (254)'],
  },
  {
    name: 'vip_routingtabletype=0 adds unicast routes (E24)',
    env: { ...TABLE_MODE, vip_routingtabletype: '0' },
    want: { 'route-type': ['1', 'env vip_routingtabletype'] },
  },
  // --- svc_enable quirk (E19)
  {
    name: 'svc_election as env with svc_enable as env => service election',
    env: { ...TABLE_MODE, svc_election: 'true' },
    want: { election: ['service', 'env svc_election'] },
  },
  {
    name: 'svc_election as env with --services as a flag => ignored, no election (E19)',
    env: { vip_routingtable: 'true', vip_interface: 'lo', svc_election: 'true' },
    args: ['manager', '--services'],
    want: { election: ['none', 'kube-vip default'], services: ['true', 'flag --services'] },
    notes: ['env svc_election is ignored by kube-vip: svc_enable is not set as an env var'],
  },
  {
    name: 'svc_enable=false set as env still opens the gate: svc_namespace is read',
    env: { vip_routingtable: 'true', vip_interface: 'lo', svc_enable: 'false', cp_enable: 'true', address: '10.0.0.100', svc_namespace: 'apps' },
    want: { 'services-namespace': ['apps', 'env svc_namespace'], services: ['false', 'env svc_enable'] },
  },
  { name: 'lb_class_name may be set to "" (LookupEnv)', env: { ...TABLE_MODE, lb_class_name: '' }, want: { 'lb-class-name': ['', 'env lb_class_name'] } },
  {
    name: 'lb_class_* without svc_enable as env => kube-vip defaults',
    env: { vip_routingtable: 'true', vip_interface: 'lo', lb_class_only: 'true', lb_class_legacy_handling: 'false' },
    args: ['manager', '--services'],
    want: { 'lb-class-only': ['false', 'kube-vip default'], 'lb-class-legacy-handling': ['true', 'kube-vip default'] },
  },
  {
    name: 'svc_leasename with svc_enable as env names the global lease in the pod namespace',
    env: { ...TABLE_MODE, vip_leaderelection: 'true', svc_leasename: 'my-lock' },
    want: { election: ['global', 'env vip_leaderelection'], 'lease-name': ['kube-system/my-lock', 'service account'] },
  },
  {
    name: 'svc_leasename ns/name uses that namespace',
    env: { ...TABLE_MODE, vip_leaderelection: 'true', svc_leasename: 'infra/my-lock' },
    want: { 'lease-name': ['infra/my-lock', 'env svc_leasename'] },
  },
  {
    name: 'a static pod has no service account: the lease namespace comes from cp_namespace',
    env: { ...TABLE_MODE, vip_leaderelection: 'true', cp_namespace: 'kv' },
    pod: { annotations: { 'kubernetes.io/config.mirror': 'x' } },
    want: { 'lease-name': ['kv/plndr-svcs-lock', 'static pod'] },
  },
  {
    name: 'svc_election wins over vip_leaderelection',
    env: { ...TABLE_MODE, svc_election: 'true', vip_leaderelection: 'true' },
    want: { election: ['service', 'env svc_election'] },
  },
  {
    name: 'leader election from the flag --leaderElection',
    env: TABLE_MODE,
    args: ['manager', '--leaderElection'],
    want: { election: ['global', 'flag --leaderElection'] },
  },
  // --- identity (E18)
  {
    name: 'vip_nodename from the downward API spec.nodeName => this node',
    env: { ...TABLE_MODE, vip_nodename: { fieldRef: 'spec.nodeName' } },
    want: { 'node-name': [NODE, 'fieldRef spec.nodeName'] },
  },
  {
    name: 'vip_nodename is lowercased',
    env: { ...TABLE_MODE, vip_nodename: 'Worker-1.Example' },
    want: { 'node-name': ['worker-1.example', 'env vip_nodename'] },
  },
  { name: 'vip_nodename unset in a hostNetwork pod => the hostname, taken as the node name', env: TABLE_MODE, want: { 'node-name': [NODE, 'hostNetwork'] } },
  {
    name: 'vip_nodename unset in a pod without hostNetwork => the pod name (E18)',
    env: TABLE_MODE,
    pod: { hostNetwork: false, name: 'Kube-VIP-xyz' },
    want: { 'node-name': ['kube-vip-xyz', 'pod name'] },
    notes: ['identity is the pod name'],
  },
  {
    name: 'vip_nodename from a Secret is reported, not guessed: routewarden keeps its own',
    env: { ...TABLE_MODE, vip_nodename: { valueFromKind: 'secretKeyRef' } },
    want: { 'node-name': [NODE, 'not resolved'] },
    notes: ['valueFrom.secretKeyRef'],
  },
  {
    name: '--nodeName=$(NODE_NAME) is expanded from the container env',
    env: { ...TABLE_MODE, NODE_NAME: { fieldRef: 'spec.nodeName' } },
    args: ['manager', '--nodeName=$(NODE_NAME)'],
    want: { 'node-name': [NODE, 'flag --nodeName'] },
  },
  // --- interface, subnet, CP
  {
    name: 'vip_interface unset => default-gateway interface, not resolved: routewarden keeps its own',
    env: { vip_routingtable: 'true', svc_enable: 'true' },
    flags: { interface: 'eth9' },
    want: { interface: ['eth9', 'default-gateway'] },
  },
  {
    name: 'vip_servicesinterface sets the services device',
    env: { ...TABLE_MODE, vip_servicesinterface: 'eth1' },
    want: { 'services-interface': ['eth1', 'env vip_servicesinterface'] },
  },
  {
    name: 'an IPv6-only CP address generates vip_subnet "128"',
    env: { ...TABLE_MODE, cp_enable: 'true', address: 'fd00::10' },
    want: {
      'vip-subnet': ['128', 'generated by kube-vip from env address'],
      'control-plane': ['true', 'env cp_enable'],
      'control-plane-address': ['fd00::10', 'env address'],
    },
  },
  {
    name: 'legacy vip_address sets the CP address but does not generate vip_subnet',
    env: { ...TABLE_MODE, cp_enable: 'true', vip_address: '10.0.0.100', vip_subnet: '32' },
    want: { 'control-plane-address': ['10.0.0.100', 'env vip_address'], 'vip-subnet': ['32', 'env vip_subnet'] },
  },
  // --- ignored names and bad values
  {
    name: 'vip_routingtableprotocol is not a kube-vip setting: ignored',
    env: { ...TABLE_MODE, vip_routingtableprotocol: '250' },
    want: { protocol: ['248', 'kube-vip default'] },
    notes: ['vip_routingtableprotocol is ignored by kube-vip'],
  },
  { name: 'debounce_time from env is never read', env: { ...TABLE_MODE, debounce_time: '5s' }, notes: ['debounce_time is ignored'] },
  {
    name: 'a value that does not parse as a Go bool => kube-vip cannot start, not judged',
    env: { ...TABLE_MODE, vip_cleanroutingtable: 'yes' },
    excluded: 'not a valid bool',
  },
  { name: 'routing-table mode off => not judged', env: { svc_enable: 'true', vip_arp: 'true' }, excluded: 'not in routing-table mode' },
  { name: 'routing-table mode with ARP => kube-vip refuses to start', env: { ...TABLE_MODE, vip_arp: 'true' }, excluded: 'multiple kube-vip modes' },
  { name: 'neither services nor control plane => kube-vip exits', env: { vip_routingtable: 'true', vip_interface: 'lo' }, excluded: 'no features are enabled' },
  {
    name: 'envFrom is reported as not visible',
    env: TABLE_MODE,
    pod: { containers: [container({ env: TABLE_MODE, envFrom: ['configMap kube-vip-env'] })] },
    notes: ['envFrom configMap kube-vip-env'],
  },
  // --- routewarden's explicit flags win, with a mismatch
  {
    name: 'an explicit routewarden --table wins over the pod and is a mismatch',
    env: { ...TABLE_MODE, vip_routingtableid: '200' },
    explicit: { table: 'flag' },
    flags: { table: 198 as never },
    want: { table: ['198', 'routewarden flag --table'] },
    mismatches: ['table'],
  },
  {
    name: 'an explicit routewarden value equal to kube-vip is no mismatch',
    env: { ...TABLE_MODE, svc_election: 'true' },
    explicit: { election: 'env' },
    flags: { election: 'service' },
    want: { election: ['service', 'routewarden env ROUTEWARDEN_ELECTION'] },
    mismatches: [],
  },
];

describe('kube-vip configuration from its pod', () => {
  it.each(cases)('$name', (c) => {
    const pod = kubeVipPod({ ...(c.env ? { env: c.env } : {}), ...(c.args ? { args: c.args } : {}), ...c.pod });
    const view = resolveKubeVip({
      mode: 'auto',
      flags: model(c.flags),
      explicit: new Map(Object.entries(c.explicit ?? {})) as ExplicitFlags,
      pods: { state: 'ok', pods: [pod] },
      selector: '',
      node: NODE,
      bound: null,
    });
    const inst = view.report.instances[0]!;
    if (c.excluded) {
      expect(inst.included).toBe(false);
      expect(inst.excludedBecause).toContain(c.excluded);
      expect(view.instances.map((i) => i.id)).toEqual(['flags']);
      return;
    }
    expect(inst.included, inst.excludedBecause).toBe(true);
    for (const [name, [value, source]] of Object.entries(c.want ?? {})) {
      expect(inst.settings[name]?.value, name).toBe(value);
      expect(inst.settings[name]?.source, name).toContain(source);
    }
    if (c.mismatches) expect(view.report.mismatches).toEqual(c.mismatches);
    for (const n of c.notes ?? []) expect(inst.notes.join('\n')).toContain(n);
  });
});

describe('kube-vip discovery on the node', () => {
  const flags = model();
  const resolve = (pods: PodInfo[], over: { selector?: string; explicit?: ExplicitFlags } = {}) =>
    resolveKubeVip({
      mode: 'auto',
      flags,
      explicit: over.explicit ?? new Map(),
      pods: { state: 'ok', pods },
      selector: over.selector ?? '',
      node: NODE,
      bound: null,
    });

  it('no kube-vip pod on the node => routewarden flags, and the report says so', () => {
    const v = resolve([{ ...kubeVipPod(), containers: [container({ image: 'nginx:1' })] }]);
    expect(v.instances.map((i) => i.id)).toEqual(['flags']);
    expect(v.report.found).toBe(0);
    expect(v.report.message).toContain('no kube-vip pod found on node worker-1');
    expect(v.report.settings?.table).toEqual({ value: '198', source: 'routewarden default' });
  });

  it('pods that could not be listed => routewarden flags, never a crash', () => {
    const v = resolveKubeVip({
      mode: 'auto',
      flags,
      explicit: new Map(),
      pods: { state: 'error', message: 'pods is forbidden', pods: [] },
      selector: '',
      node: NODE,
      bound: null,
    });
    expect(v.instances.map((i) => i.id)).toEqual(['flags']);
    expect(v.report.message).toContain('pods is forbidden');
  });

  it('--kube-vip-config off ignores the pods', () => {
    const v = resolveKubeVip({ mode: 'off', flags, explicit: new Map(), pods: { state: 'ok', pods: [kubeVipPod()] }, selector: '', node: NODE, bound: null });
    expect(v.instances.map((i) => i.id)).toEqual(['flags']);
  });

  it('a CP static pod and a services DaemonSet on one node are two instances (E25)', () => {
    const cp = kubeVipPod({
      name: 'kube-vip-cp-worker-1',
      env: { vip_routingtable: 'true', cp_enable: 'true', address: '10.0.0.100', vip_interface: 'lo' },
      annotations: { 'kubernetes.io/config.mirror': 'x' },
    });
    const svcs = kubeVipPod({ name: 'kube-vip-ds-x', env: { ...TABLE_MODE, svc_election: 'true' } });
    const v = resolve([svcs, cp]);
    expect(v.instances.map((i) => i.id)).toEqual(['kube-system/kube-vip-cp-worker-1', 'kube-system/kube-vip-ds-x']);
    expect(v.instances[0]!.model.controlPlane).toEqual({ enabled: true, addresses: ['10.0.0.100'] });
    expect(v.instances[0]!.model.servicesEnabled).toBe(false);
    expect(v.instances[1]!.model.election).toBe('service');
  });

  it('an instance on another table than the first is listed but not judged', () => {
    const a = kubeVipPod({ name: 'a', env: TABLE_MODE });
    const b = kubeVipPod({ name: 'b', env: { ...TABLE_MODE, vip_routingtableid: '199' } });
    const v = resolve([a, b]);
    expect(v.instances.map((i) => i.id)).toEqual(['kube-system/a']);
    expect(v.report.instances[1]!.excludedBecause).toContain('table 199');
  });

  it('--kube-vip-selector recognises a pod whose image does not say kube-vip', () => {
    const p = { ...kubeVipPod({ labels: { app: 'vip' } }), containers: [container({ image: 'registry.local/vip:1', env: TABLE_MODE })] };
    expect(resolve([p]).report.found).toBe(0);
    expect(resolve([p], { selector: 'app=vip' }).report.found).toBe(1);
  });

  it.each([
    ['app in (vip)', 1],
    ['app in (kube-vip, vip),tier notin (cp)', 1],
    ['app notin (vip)', 0],
    ['app in (kube-vip)', 0],
  ] as const)('--kube-vip-selector %s (set-based) => %i pod(s) found', (selector, found) => {
    const p = { ...kubeVipPod({ labels: { app: 'vip' } }), containers: [container({ image: 'registry.local/vip:1', env: TABLE_MODE })] };
    expect(resolve([p], { selector }).report.found).toBe(found);
  });

  it('a Succeeded pod is ignored', () => {
    expect(resolve([kubeVipPod({ phase: 'Succeeded' })]).report.found).toBe(0);
  });

  it('the kube-vip container state is reported: ready, start time, restarts', () => {
    const v = resolve([kubeVipPod({ startedAt: Date.parse('2026-11-26T11:00:00Z'), restarts: 3 })]);
    expect(v.report.instances[0]).toMatchObject({ ready: true, terminating: false, startedAt: '2026-11-26T11:00:00.000Z', restarts: 3 });
    expect(v.instances[0]!.runtime).toMatchObject({ ready: true, restarts: 3 });
  });
});

describe('command-line parsing as pflag does it', () => {
  it.each([
    ['--table alone is true', ['manager', '--table'], 'table', 'true'],
    ['--table=false is false', ['manager', '--table=false'], 'table', 'false'],
    ['-n takes the next argument', ['manager', '-n', 'kv'], 'namespace', 'kv'],
    ['-nkv is the shorthand with its value', ['manager', '-nkv'], 'namespace', 'kv'],
    ['an unknown flag with a value does not eat the next flag', ['manager', '--log', '5', '--tableID', '7'], 'tableID', '7'],
    ['arguments after -- are not flags', ['manager', '--', '--tableID=9'], 'tableID', undefined],
  ] as const)('%s', (_n, tokens, key, want) => {
    expect(parseFlags(tokens).get(key)).toBe(want);
  });
  it('$(VAR) expands, $$ escapes, an unknown reference stays', () => {
    const env = new Map([['A', { value: 'x' }]]);
    expect(expandRefs('$(A)-$$(A)-$(B)', env)).toBe('x-$(A)-$(B)');
  });
});
