import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDuration } from '../../src/cli/config.ts';
import { OPTIONS, envName } from '../../src/cli/options.ts';

const ctx = (env: Record<string, string> = {}) => ({ env, hostname: 'Node-A.example' });

describe('loadConfig', () => {
  it.each(['253', '254', '255'])('--remediate on the kernel\'s own table %s needs --allow-system-table (one line, ConfigError)', (table) => {
    const load = (flags: Record<string, string | boolean>) => loadConfig('run', { table, ...flags }, ctx({ NODE_NAME: 'w' }));
    expect(() => load({ remediate: true })).toThrow(ConfigError);
    expect(() => load({ remediate: true })).toThrow(/^refusing --remediate on table \d+ \(\w+\), one of the kernel's own tables: .* add --allow-system-table to allow it$/);
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

  const bad: [string, Record<string, string | boolean>, Record<string, string>, string][] = [
    ['table 0', { table: '0' }, {}, 'invalid --table "0": must be an integer from 1 to 4294967295'],
    ['table above 2^32-1', { table: '4294967296' }, {}, 'invalid --table "4294967296": must be an integer from 1 to 4294967295'],
    ['table not a number', { table: 'main' }, {}, 'invalid --table "main": must be an integer from 1 to 4294967295'],
    ['protocol 0', { protocol: '0' }, {}, 'invalid --protocol "0": must be an integer from 1 to 255'],
    ['protocol 256', { protocol: '256' }, {}, 'invalid --protocol "256": must be an integer from 1 to 255'],
    ['protocol from the environment', {}, { ROUTEWARDEN_PROTOCOL: '-1' }, 'invalid ROUTEWARDEN_PROTOCOL "-1": must be an integer from 1 to 255'],
    ['an unknown election mode', { election: 'raft' }, {}, 'invalid --election "raft": must be one of none, service, global'],
    ['an unknown strategy', { strategy: 'yolo' }, {}, 'invalid --strategy "yolo": must be one of flush-rebuild, surgical'],
    ['a bad duration', { interval: '30' }, {}, 'invalid --interval "30": must be a duration such as 500ms, 30s, 1m'],
    ['a bad boolean', {}, { ROUTEWARDEN_REMEDIATE: 'maybe' }, 'invalid ROUTEWARDEN_REMEDIATE "maybe": must be true or false'],
    ['a bad listen address', { listen: '9798' }, {}, 'invalid --listen "9798": must be [host]:port, e.g. :9798 or 127.0.0.1:9798'],
    ['vip_subnet auto', { vipSubnet: 'auto' }, {}, 'invalid --vip-subnet: must be prefix lengths "v4[,v6]", e.g. 32 or 32,128 ("auto" is ARP mode only in kube-vip)'],
    ['cp without an address', { controlPlane: true }, {}, '--control-plane needs --control-plane-address'],
    ['an interval under a second', { interval: '10ms' }, {}, 'invalid --interval: must be at least 1s'],
  ];
  it.each(bad)('%s => one clear line', (_name, flags, env, message) => {
    let err: unknown;
    try {
      loadConfig('run', flags, ctx(env));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(message);
    expect((err as Error).message).not.toContain('\n');
  });
});

describe('options', () => {
  it('every flag has a ROUTEWARDEN_ environment name', () => {
    expect(envName('min-repair-interval')).toBe('ROUTEWARDEN_MIN_REPAIR_INTERVAL');
    expect(new Set(OPTIONS.map((o) => o.flag)).size).toBe(OPTIONS.length);
  });
  it.each([['500ms', 500], ['30s', 30_000], ['1m30s', 90_000], ['2h', 7_200_000], ['1.5s', 1500]])('duration %s = %d ms', (t, ms) => {
    expect(parseDuration(t)).toBe(ms);
  });
});
