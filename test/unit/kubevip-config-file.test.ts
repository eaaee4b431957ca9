// kube-vip's --config-file (docs/kube-vip-routing.md §9): where the file
// comes from in the pod, how kube-vip decodes it, what it merges, and when
// routewarden cannot know it (not judged) or kube-vip would not start.

import { describe, expect, it } from 'vitest';
import type { ConfigMapView, PodInfo, VolumeSourceInfo } from '../../src/core/cluster.ts';
import { decodeKubeVipConfig, locateConfigFile } from '../../src/kubevip/config-file.ts';
import { resolveKubeVip } from '../../src/kubevip/resolve.ts';
import { model, NODE, NOW } from '../helpers/fixtures.ts';
import { configFilePod, configMapsWith } from '../helpers/kubevip-pods.ts';

const TABLE_YAML = 'enableRoutingTable: true\nenableServices: true\ninterface: lo\n';
const TABLE_ENV = { vip_routingtable: 'true', svc_enable: 'true', vip_interface: 'lo' } as const;

function resolve(pod: PodInfo, configMaps?: ReadonlyMap<string, ConfigMapView>) {
  const view = resolveKubeVip({
    mode: 'auto',
    flags: model(),
    explicit: new Map(),
    pods: { state: 'ok', pods: [pod] },
    selector: '',
    node: NODE,
    bound: null,
    ...(configMaps ? { configMaps } : {}),
  });
  return { view, inst: view.report.instances[0]! };
}

describe('where the config file is in the pod', () => {
  const loc = (volume: VolumeSourceInfo, mount: { mountPath: string; subPath?: string }, path = '/etc/kube-vip/config.yaml') => {
    const pod = configFilePod({ volume, mount, path });
    return locateConfigFile(pod, pod.containers[0]!, path);
  };
  it.each<[string, VolumeSourceInfo, { mountPath: string; subPath?: string }, string, string]>([
    [
      'a configMap volume: the file name is the key',
      { kind: 'configMap', name: 'cm' },
      { mountPath: '/etc/kube-vip' },
      '/etc/kube-vip/config.yaml',
      'cm config.yaml',
    ],
    [
      'configMap items map a key to a path',
      { kind: 'configMap', name: 'cm', items: [{ key: 'kv', path: 'conf/kube-vip.yaml' }] },
      { mountPath: '/etc/kube-vip' },
      '/etc/kube-vip/conf/kube-vip.yaml',
      'cm kv',
    ],
    [
      'a subPath mount of one key',
      { kind: 'configMap', name: 'cm' },
      { mountPath: '/etc/kube-vip/config.yaml', subPath: 'config.yaml' },
      '/etc/kube-vip/config.yaml',
      'cm config.yaml',
    ],
    [
      'a projected volume: the configMap source that holds the path',
      {
        kind: 'projected',
        sources: [
          { kind: 'other', type: 'secret' },
          { kind: 'configMap', name: 'cm2', items: [{ key: 'k', path: 'config.yaml' }] },
        ],
      },
      { mountPath: '/etc/kube-vip' },
      '/etc/kube-vip/config.yaml',
      'cm2 k',
    ],
  ])('%s', (_name, volume, mount, path, want) => {
    const l = loc(volume, mount, path);
    expect(l.kind === 'configMap' ? `${l.name} ${l.key}` : l.why).toBe(want);
  });
  it.each<[string, VolumeSourceInfo, { mountPath: string }, string, string]>([
    [
      'a hostPath volume is not visible',
      { kind: 'hostPath', path: '/etc/kube-vip' },
      { mountPath: '/etc/kube-vip' },
      '/etc/kube-vip/config.yaml',
      'hostPath /etc/kube-vip',
    ],
    ['a file on no volume is in the image', { kind: 'configMap', name: 'cm' }, { mountPath: '/other' }, '/etc/kube-vip/config.yaml', 'in the container image'],
    ['an emptyDir is not visible', { kind: 'other', type: 'emptyDir' }, { mountPath: '/etc/kube-vip' }, '/etc/kube-vip/config.yaml', 'emptyDir volume'],
    [
      'items without that path',
      { kind: 'configMap', name: 'cm', items: [{ key: 'k', path: 'other.yaml' }] },
      { mountPath: '/etc/kube-vip' },
      '/etc/kube-vip/config.yaml',
      'maps no key',
    ],
    ['a relative path', { kind: 'configMap', name: 'cm' }, { mountPath: '/etc/kube-vip' }, 'config.yaml', 'relative path'],
  ])('%s', (_name, volume, mount, path, want) => {
    const l = loc(volume, mount, path);
    expect(l.kind).toBe('not-visible');
    expect(l.kind === 'not-visible' ? l.why : '').toContain(want);
  });
});

describe('how kube-vip decodes the file (LoadConfigFromFile)', () => {
  it('keys are Go field names, case-insensitive (sigs.k8s.io/yaml reads JSON names): yaml tags that differ are ignored, and said so', () => {
    const d = decodeKubeVipConfig('/c.yaml', 'NODENAME: a\nleaseNodeName: b\nlbClassName: c\nvipsubnet: "24"\n');
    expect('fields' in d && Object.fromEntries(d.fields)).toEqual({ NodeName: 'a', VIPSubnet: '24' });
    expect('fields' in d && d.notes.join('\n')).toContain('config file key leaseNodeName is ignored by kube-vip');
  });
  it.each([
    ['/c.json', '{"enableARP": "true"}', 'cannot unmarshal string into Go struct field Config.EnableARP'],
    ['/c.json', '{"routingTableID": 1.0}', 'cannot unmarshal number 1.0'],
    ['/c.json', '{"port": 70000}', 'overflows Config.Port'],
    ['/c.json', '[]', 'not an object'],
    ['/c.yaml', 'enableRoutingTable: "true"', 'cannot unmarshal string'],
    ['/c.yaml', 'loadBalancers: {}', 'Config.LoadBalancers of type array'],
    ['/c.conf', 'a=b', 'unsupported config file format .conf'],
  ])('%s %s => kube-vip refuses it', (path, text, why) => {
    const d = decodeKubeVipConfig(path, text);
    expect('refused' in d ? d.refused : '').toContain(why);
  });
  it('a repeated key: the last one wins, and null changes nothing (encoding/json)', () => {
    const d = decodeKubeVipConfig('/c.json', '{"interface": "eth0", "Interface": "eth1", "INTERFACE": null}');
    expect('fields' in d && Object.fromEntries(d.fields)).toEqual({ Interface: 'eth1' });
  });
  it('YAML 1.1 booleans (yes/on) are booleans, as in go-yaml; null leaves a field unset', () => {
    const d = decodeKubeVipConfig('/c.YML', 'enableRoutingTable: yes\nenableServices: on\ninterface: null\n');
    expect('fields' in d && Object.fromEntries(d.fields)).toEqual({ EnableRoutingTable: true, EnableServices: true });
  });
  it('cases routewarden does not model are not judged, never guessed', () => {
    expect(decodeKubeVipConfig('/c.yaml', 'interface: 5')).toHaveProperty('unknown');
    expect(decodeKubeVipConfig('/c.yaml', 'a: 1\na: 2')).toHaveProperty('unknown');
    expect(decodeKubeVipConfig('/c.yaml', 'routingTableID: 0x10')).toHaveProperty('unknown');
    expect(decodeKubeVipConfig('/c.yaml', 'routingTableID: 1.0')).toHaveProperty('unknown');
    expect(decodeKubeVipConfig('/c.yaml', 'routingTableID: 200')).toMatchObject({ fields: new Map([['RoutingTableID', 200]]) });
  });
});

describe('kube-vip settings from a config file in a ConfigMap', () => {
  it('the file sets table mode, the interface and vip_subnet; the report names the file, the key and the ConfigMap', () => {
    const { view, inst } = resolve(configFilePod({ env: {} }), configMapsWith({ 'config.yaml': `${TABLE_YAML}vipSubnet: "24"\n` }));
    expect(inst.included, inst.excludedBecause).toBe(true);
    expect(view.primary.notJudged).toBeUndefined();
    expect(inst.settings['vip-subnet']).toEqual({
      value: '24',
      source: 'config file /etc/kube-vip/config.yaml key vipSubnet (ConfigMap kube-system/kube-vip-config key config.yaml) of pod kube-system/kube-vip-abcde',
    });
    expect(inst.settings.interface!.source).toContain('key interface');
  });
  it('env wins over the file; a flag wins too', () => {
    const pod = configFilePod({
      env: { svc_enable: 'true', vip_interface: 'eth9' },
      args: ['manager', '--config-file=/etc/kube-vip/config.yaml', '--vipSubnet=16'],
    });
    const { inst } = resolve(pod, configMapsWith({ 'config.yaml': `${TABLE_YAML}vipSubnet: "24"\n` }));
    expect(inst.settings.interface).toMatchObject({ value: 'eth9', source: expect.stringContaining('env vip_interface') });
    expect(inst.settings['vip-subnet']).toMatchObject({ value: '16', source: expect.stringContaining('flag --vipSubnet') });
  });
  it('a setting whose flag default is not zero never comes from the file, unless the flag is given its zero value', () => {
    const text = `${TABLE_YAML}routingTableID: 200\n`;
    expect(resolve(configFilePod(), configMapsWith({ 'config.yaml': text })).inst.settings.table!.value).toBe('198');
    const zeroed = configFilePod({ args: ['manager', '--config-file=/etc/kube-vip/config.yaml', '--tableID=0'] });
    expect(resolve(zeroed, configMapsWith({ 'config.yaml': text })).inst.settings.table).toMatchObject({
      value: '200',
      source: expect.stringContaining('key routingTableID'),
    });
  });
  it('settings mergeConfigValues never copies (vip_leaderelection, enable_endpoints, cleanRoutingTable) stay as they were, and a note says so', () => {
    const { view, inst } = resolve(configFilePod(), configMapsWith({ 'config.yaml': `${TABLE_YAML}enableLeaderElection: true\nenableEndpoints: true\n` }));
    expect(view.primary.election).toBe('none');
    expect(inst.notes.join('\n')).toContain('EnableLeaderElection, which kube-vip does not take from the file');
  });
  it('env config_file loads nothing (ParseEnvironment reads it after the load)', () => {
    const pod = configFilePod({
      env: { vip_routingtable: 'true', svc_enable: 'true', vip_interface: 'lo', config_file: '/etc/kube-vip/config.yaml' },
      args: ['manager'],
    });
    const { view, inst } = resolve(pod, configMapsWith({ 'config.yaml': 'vipSubnet: "24"\n' }));
    expect(view.primary.notJudged).toBeUndefined();
    expect(inst.settings['vip-subnet']!.value).toBe('');
    expect(inst.notes.join('\n')).toContain('env config_file is ignored by kube-vip');
  });

  it.each<[string, PodInfo, ReadonlyMap<string, ConfigMapView> | undefined, string]>([
    [
      'a hostPath file',
      configFilePod({ env: TABLE_ENV, volume: { kind: 'hostPath', path: '/etc/kube-vip' } }),
      undefined,
      'is on hostPath /etc/kube-vip of the node: not visible',
    ],
    [
      'the ConfigMap refused (403)',
      configFilePod({ env: TABLE_ENV }),
      configMapsWith({}, { state: 'error', message: 'configmaps "kube-vip-config" is forbidden' }),
      'is not readable: configmaps "kube-vip-config" is forbidden',
    ],
    ['the ConfigMap not listed yet', configFilePod({ env: TABLE_ENV }), configMapsWith({}, { state: 'unsynced' }), 'not read yet'],
    [
      'the ConfigMap does not exist',
      configFilePod({ env: TABLE_ENV }),
      configMapsWith({}, { missing: true }),
      'ConfigMap kube-system/kube-vip-config does not exist',
    ],
    ['the key is missing', configFilePod({ env: TABLE_ENV }), configMapsWith({ 'other.yaml': TABLE_YAML }), 'has no key config.yaml'],
    [
      'the ConfigMap was written after kube-vip started',
      configFilePod({ env: TABLE_ENV, startedAt: NOW - 60_000 }),
      configMapsWith({ 'config.yaml': TABLE_YAML }, { changedAt: NOW - 1_000 }),
      'after kube-vip started',
    ],
  ])('%s => nothing of this kube-vip is judged, and the report says why', (_name, pod, cms, why) => {
    const { view } = resolve(pod, cms);
    expect(view.primary.notJudged?.map((n) => `${n.reason} ${n.scope}`)).toEqual(['setting-not-visible all']);
    expect(view.primary.notJudged![0]!.detail).toContain(why);
  });
  it('a ConfigMap written before kube-vip started is what it read: judged', () => {
    const { view } = resolve(configFilePod({ startedAt: NOW - 60_000 }), configMapsWith({ 'config.yaml': TABLE_YAML }, { changedAt: NOW - 120_000 }));
    expect(view.primary.notJudged).toBeUndefined();
  });
  it.each([
    ['a file that does not parse', 'enableRoutingTable: [unclosed', 'failed to parse YAML config file'],
    ['a value of the wrong type', 'enableRoutingTable: "true"', 'cannot unmarshal string'],
  ])('%s => kube-vip refuses to start: the instance is listed, not judged', (_name, text, why) => {
    const { view, inst } = resolve(configFilePod({ env: TABLE_ENV }), configMapsWith({ 'config.yaml': text }));
    expect(inst.included).toBe(false);
    expect(inst.excludedBecause).toContain(why);
    expect(inst.excludedBecause).toContain('kube-vip refuses to start');
    expect(view.instances.map((i) => i.id)).toEqual(['flags']);
  });
});
