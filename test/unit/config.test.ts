import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDuration } from '../../src/cli/config.ts';
import { camel, OPTIONS, envName } from '../../src/cli/options.ts';

const ctx = (env: Record<string, string> = {}) => ({ env, hostname: 'Node-A.example' });

describe('loadConfig', () => {
  it.each(['253', '254', '255'])("--remediate on the kernel's own table %s needs --allow-system-table (one line, ConfigError)", (table) => {
    const load = (flags: Record<string, string | boolean>) => loadConfig('run', { table, ...flags }, ctx({ NODE_NAME: 'w' }));
    expect(() => load({ remediate: true })).toThrow(ConfigError);
    expect(() => load({ remediate: true })).toThrow(
      /^refusing --remediate on table \d+ \(\w+\), one of the kernel's own tables: .* add --allow-system-table to allow it$/,
    );
    expect(load({ remediate: true, allowSystemTable: true }).allowSystemTable).toBe(true);
    expect(load({ remediate: true, dryRun: true }).remediate).toBe(true);
    expect(load({}).remediate).toBe(false);
    expect(() => loadConfig('check', { table, remediate: true }, ctx({ NODE_NAME: 'w' }))).toThrow(ConfigError);
    expect(() => loadConfig('run', { table }, ctx({ NODE_NAME: 'w', ROUTEWARDEN_REMEDIATE: 'true' }))).toThrow(ConfigError);
  });

  it('--remediate on table 252 or 198 needs nothing more', () => {
    for (const table of ['198', '252']) expect(loadConfig('run', { table, remediate: true }, ctx({ NODE_NAME: 'w' })).remediate).toBe(true);
  });

  it('defaults follow docs/configuration.md', () => {
    const c = loadConfig('run', {}, ctx({ NODE_NAME: 'worker-1' }));
    expect(c.model.table).toBe(198);
    expect(c.model.protocol).toBe(248);
    expect(c.intervalMs).toBe(30_000);
    expect(c.listen).toEqual({ host: undefined, port: 9798 });
    expect(c.remediate).toBe(false);
    expect(c.strategy).toBe('flush-rebuild');
    expect(c.graceMs).toBe(60_000);
    expect(c.maxDeletions).toBe(100);
    expect(c.minRepairIntervalMs).toBe(30_000);
    expect(c.model.election).toBe('none');
    expect(c.model.nodeName).toBe('worker-1');
    expect(Object.isFrozen(c) && Object.isFrozen(c.model)).toBe(true);
  });

  it('the node name falls back to the lowercased hostname', () => {
    expect(loadConfig('run', {}, ctx()).model.nodeName).toBe('node-a.example');
  });

  it('a flag wins over the environment, the environment over the default', () => {
    expect(loadConfig('run', { table: '300' }, ctx({ ROUTEWARDEN_TABLE: '200' })).model.table).toBe(300);
    expect(loadConfig('run', {}, ctx({ ROUTEWARDEN_TABLE: '200' })).model.table).toBe(200);
    expect(loadConfig('run', {}, ctx({ ROUTEWARDEN_REMEDIATE: 'true' })).remediate).toBe(true);
    expect(loadConfig('run', { remediate: true }, ctx({ ROUTEWARDEN_REMEDIATE: 'false' })).remediate).toBe(true);
  });

  it('tables above 255 and up to 2^32-1 are accepted', () => {
    expect(loadConfig('run', { table: '4294967295' }, ctx()).model.table).toBe(4294967295);
  });

  it('a CP address sets vip_subnet as kube-vip generates it', () => {
    const c = loadConfig('run', { controlPlane: true, controlPlaneAddress: 'fd00::10' }, ctx());
    expect(c.model.vipSubnet).toBe('128');
  });

  it('a namespaced --lease-name overrides --lease-namespace', () => {
    expect(loadConfig('run', { leaseName: 'kv/lock' }, ctx()).model.globalLease).toEqual({ namespace: 'kv', name: 'lock' });
  });

  it('check waits for a grace period only when asked', () => {
    expect(loadConfig('check', {}, ctx()).graceMs).toBe(0);
    expect(loadConfig('check', { grace: '5s' }, ctx()).graceMs).toBe(5000);
    expect(loadConfig('check', {}, ctx({ ROUTEWARDEN_GRACE: '2s' })).graceMs).toBe(2000);
  });

  // Every option, each pinned to its exact message (blackbox_exporter's
  // TestLoadBadConfigs): [name, flags, env, message, command].
  const bad: [string, Record<string, string | boolean>, Record<string, string>, string, ('run' | 'check')?][] = [
    ['node name with a slash', { nodeName: 'a/b' }, {}, 'invalid --node-name "a/b": must be a node name (a DNS subdomain: letters, digits, "-" and ".")'],
    ['an empty kubeconfig path', {}, { ROUTEWARDEN_KUBECONFIG: '' }, 'invalid ROUTEWARDEN_KUBECONFIG "": must be a file path'],
    ['table 0', { table: '0' }, {}, 'invalid --table "0": must be an integer from 1 to 4294967295'],
    ['table above 2^32-1', { table: '4294967296' }, {}, 'invalid --table "4294967296": must be an integer from 1 to 4294967295'],
    ['table not a number', { table: 'main' }, {}, 'invalid --table "main": must be an integer from 1 to 4294967295'],
    ['protocol 0', { protocol: '0' }, {}, 'invalid --protocol "0": must be an integer from 1 to 255'],
    ['protocol 256', { protocol: '256' }, {}, 'invalid --protocol "256": must be an integer from 1 to 255'],
    ['protocol from the environment', {}, { ROUTEWARDEN_PROTOCOL: '-1' }, 'invalid ROUTEWARDEN_PROTOCOL "-1": must be an integer from 1 to 255'],
    ['route type 12', { routeType: '12' }, {}, 'invalid --route-type "12": must be an integer from 1 to 11'],
    ['a bad duration', { interval: '30' }, {}, 'invalid --interval "30": must be a duration such as 500ms, 30s, 1m'],
    ['an interval under a second', { interval: '10ms' }, {}, 'invalid --interval "10ms": must be a duration of at least 1s'],
    ['a bad listen address', { listen: '9798' }, {}, 'invalid --listen "9798": must be [host]:port, e.g. :9798 or 127.0.0.1:9798'],
    ['an empty web config path', {}, { ROUTEWARDEN_WEB_CONFIG_FILE: '' }, 'invalid ROUTEWARDEN_WEB_CONFIG_FILE "": must be a file path'],
    ['web-disable-status not a boolean', { webDisableStatus: 'maybe' }, {}, 'invalid --web-disable-status "maybe": must be true or false'],
    ['a listen port above 65535', { listen: ':70000' }, {}, 'invalid --listen ":70000": must be [host]:port, e.g. :9798 or 127.0.0.1:9798'],
    ['a bad boolean', {}, { ROUTEWARDEN_REMEDIATE: 'maybe' }, 'invalid ROUTEWARDEN_REMEDIATE "maybe": must be true or false'],
    ['an unknown strategy', { strategy: 'yolo' }, {}, 'invalid --strategy "yolo": must be one of flush-rebuild, surgical'],
    ['dry-run not a boolean', { dryRun: 'perhaps' }, {}, 'invalid --dry-run "perhaps": must be true or false'],
    ['a negative grace', { grace: '-5s' }, {}, 'invalid --grace "-5s": must be a duration such as 500ms, 30s, 1m'],
    ['max deletions not a number', { maxDeletions: 'all' }, {}, 'invalid --max-deletions "all": must be an integer from 0 to 1000000'],
    ['allow-empty not a boolean', {}, { ROUTEWARDEN_ALLOW_EMPTY: 'sure' }, 'invalid ROUTEWARDEN_ALLOW_EMPTY "sure": must be true or false'],
    ['min repair interval without a unit', { minRepairInterval: '30' }, {}, 'invalid --min-repair-interval "30": must be a duration such as 500ms, 30s, 1m'],
    ['a watch idle timeout under a second', { watchIdleTimeout: '500ms' }, {}, 'invalid --watch-idle-timeout "500ms": must be a duration of at least 1s'],
    ['an unknown output', { output: 'yaml' }, {}, 'invalid --output "yaml": must be one of text, json', 'check'],
    ['an unknown kube-vip-config mode', { kubeVipConfig: 'on' }, {}, 'invalid --kube-vip-config "on": must be one of auto, off'],
    [
      'a label selector that does not parse',
      { kubeVipSelector: 'app in (kube-vip' },
      {},
      'invalid --kube-vip-selector "app in (kube-vip": must be a label selector (invalid label selector "app in (kube-vip": unbalanced parentheses)',
    ],
    [
      'a bad kube-vip start grace',
      { kubeVipStartGrace: '1 minute' },
      {},
      'invalid --kube-vip-start-grace "1 minute": must be a duration such as 500ms, 30s, 1m',
    ],
    ['an unknown election mode', { election: 'raft' }, {}, 'invalid --election "raft": must be one of none, service, global'],
    ['services not a boolean', { services: 'some' }, {}, 'invalid --services "some": must be true or false'],
    [
      'a services namespace with capitals',
      { servicesNamespace: 'Apps' },
      {},
      'invalid --services-namespace "Apps": must be a namespace name (a DNS label) or "" for all',
    ],
    ['a lease name with two slashes', { leaseName: 'a/b/c' }, {}, 'invalid --lease-name "a/b/c": must be name or namespace/name'],
    ['a lease name with an empty namespace', { leaseName: '/lock' }, {}, 'invalid --lease-name "/lock": must be name or namespace/name'],
    ['an empty lease namespace', { leaseNamespace: '' }, {}, 'invalid --lease-namespace "": must be a namespace name (a DNS label)'],
    ['a lease skew without a unit', { leaseSkew: '2' }, {}, 'invalid --lease-skew "2": must be a duration such as 500ms, 30s, 1m'],
    ['on-demand election not a boolean', { perServiceElectionOnDemand: 'x' }, {}, 'invalid --per-service-election-on-demand "x": must be true or false'],
    [
      'a class name with a blank',
      { lbClassName: 'my class' },
      {},
      'invalid --lb-class-name "my class": must be a class name such as example.com/my-class, or ""',
    ],
    ['lb-class-only not a boolean', { lbClassOnly: '2' }, {}, 'invalid --lb-class-only "2": must be true or false'],
    [
      'lb-class-legacy-handling not a boolean',
      {},
      { ROUTEWARDEN_LB_CLASS_LEGACY_HANDLING: 'legacy' },
      'invalid ROUTEWARDEN_LB_CLASS_LEGACY_HANDLING "legacy": must be true or false',
    ],
    ['an empty interface', { interface: '' }, {}, 'invalid --interface "": must be an interface name (1 to 15 characters, no "/", ":" or blanks)'],
    [
      'an interface name longer than 15',
      { interface: 'a-very-long-ifname' },
      {},
      'invalid --interface "a-very-long-ifname": must be an interface name (1 to 15 characters, no "/", ":" or blanks)',
    ],
    [
      'a services interface with a slash',
      { servicesInterface: 'eth0/1' },
      {},
      'invalid --services-interface "eth0/1": must be an interface name (1 to 15 characters, no "/", ":" or blanks), "auto" or ""',
    ],
    [
      'vip_subnet auto',
      { vipSubnet: 'auto' },
      {},
      'invalid --vip-subnet "auto": must be prefix lengths "v4[,v6]" (0-32, 0-128), e.g. 32 or 32,128 ("auto" is ARP mode only in kube-vip)',
    ],
    [
      'an IPv4 prefix above 32',
      { vipSubnet: '33' },
      {},
      'invalid --vip-subnet "33": must be prefix lengths "v4[,v6]" (0-32, 0-128), e.g. 32 or 32,128 ("auto" is ARP mode only in kube-vip)',
    ],
    ['control-plane not a boolean', { controlPlane: 'cp' }, {}, 'invalid --control-plane "cp": must be true or false'],
    [
      'a CP address that is neither IP nor name',
      { controlPlane: true, controlPlaneAddress: '10.0.0.1,not an address' },
      {},
      'invalid --control-plane-address "10.0.0.1,not an address": must be IP addresses or DNS names, comma-separated ("not an address" is neither)',
    ],
    ['cp without an address', { controlPlane: true }, {}, '--control-plane needs --control-plane-address'],
    [
      'an unknown log level',
      {},
      { ROUTEWARDEN_LOG_LEVEL: 'verbose' },
      'invalid ROUTEWARDEN_LOG_LEVEL "verbose": must be one of trace, debug, info, warn, error, fatal, silent',
    ],
    ['an empty web config path', {}, { ROUTEWARDEN_WEB_CONFIG_FILE: '' }, 'invalid ROUTEWARDEN_WEB_CONFIG_FILE "": must be a file path'],
    ['web-disable-status not a boolean', { webDisableStatus: 'maybe' }, {}, 'invalid --web-disable-status "maybe": must be true or false'],
    ['an unknown log format', { logFormat: 'logfmt' }, {}, 'invalid --log-format "logfmt": must be one of json, text'],
    ['allow-system-table not a boolean', { allowSystemTable: 'perhaps' }, {}, 'invalid --allow-system-table "perhaps": must be true or false'],
    ['a notification buffer below 4 KiB', { notificationBuffer: '100' }, {}, 'invalid --notification-buffer "100": must be an integer from 4096 to 1073741824'],
    ['a control character in a value', { lbClassName: 'a\u0007b' }, {}, 'invalid --lb-class-name "a\\u0007b": must be one line without control characters'],
  ];
  it.each(bad)('%s => one clear line', (_name, flags, env, message, command = 'run') => {
    let err: unknown;
    try {
      loadConfig(command, flags, ctx(env));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(message);
    expect((err as Error).message).not.toContain('\n');
  });

  it('every option has a bad value above', () => {
    const rejected = new Set(bad.flatMap(([, flags, env]) => [...Object.keys(flags), ...Object.keys(env)]));
    const missing = OPTIONS.filter((o) => !rejected.has(camel(o.flag)) && !rejected.has(envName(o.flag))).map((o) => o.flag);
    expect(missing).toEqual([]);
  });

  it('an option of another command keeps its default: check ignores ROUTEWARDEN_INTERVAL', () => {
    expect(loadConfig('check', {}, ctx({ ROUTEWARDEN_INTERVAL: 'never' })).intervalMs).toBe(30_000);
  });

  it("the defaults are the option table's, written once", () => {
    const c = loadConfig('run', {}, ctx());
    expect(c.model.interface).toBe(OPTIONS.find((o) => o.flag === 'interface')!.default);
    expect(c.model.lbClassName).toBe(OPTIONS.find((o) => o.flag === 'lb-class-name')!.default);
    expect(c.kubeVipStartGraceMs).toBe(parseDuration(OPTIONS.find((o) => o.flag === 'kube-vip-start-grace')!.default!));
  });
});

describe('options', () => {
  it('every flag has a ROUTEWARDEN_ environment name', () => {
    expect(envName('min-repair-interval')).toBe('ROUTEWARDEN_MIN_REPAIR_INTERVAL');
    expect(new Set(OPTIONS.map((o) => o.flag)).size).toBe(OPTIONS.length);
  });
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
    ['1.5s', 1500],
  ])('duration %s = %d ms', (t, ms) => {
    expect(parseDuration(t)).toBe(ms);
  });
});
