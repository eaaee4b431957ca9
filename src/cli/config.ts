// Configuration: flags over ROUTEWARDEN_* environment over defaults, validated
// once with zod and frozen. A bad value is a one-line ConfigError (exit 2).

import { z } from 'zod';
import type { ElectionMode, KubeVipModel } from '../core/model.ts';
import { effectiveVipSubnet } from '../core/model.ts';
import { familyOf } from '../core/ip.ts';
import { routeProtocol, routeType, tableId } from '../core/types.ts';
import type { Strategy } from '../core/repair.ts';
import { camel, envName, optionsFor } from './options.ts';
import type { OptionDef } from './options.ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}


export interface Config {
  readonly command: 'run' | 'check' | 'demo';
  readonly model: KubeVipModel;
  readonly kubeconfig: string | undefined;
  readonly intervalMs: number;
  readonly listen: { readonly host: string | undefined; readonly port: number };
  readonly remediate: boolean;
  readonly strategy: Strategy;
  readonly dryRun: boolean;
  readonly graceMs: number;
  readonly maxDeletions: number;
  readonly allowEmpty: boolean;
  readonly minRepairIntervalMs: number;
  /** --allow-system-table: repairs may change table 253, 254 or 255. */
  readonly allowSystemTable: boolean;
  /** --notification-buffer: SO_RCVBUF asked for the kernel notification socket (run). */
  readonly notificationBufferBytes: number;
  readonly output: 'text' | 'json';
  readonly kubeVipConfig: 'auto' | 'off';
  /** --kube-vip-selector; "" = recognise kube-vip pods by their image. */
  readonly kubeVipSelector: string;
  readonly kubeVipStartGraceMs: number;
  /** The flags given on the command line or as ROUTEWARDEN_* env: these win over kube-vip's pod. */
  readonly explicit: ReadonlyMap<string, 'flag' | 'env'>;
  readonly logLevel: string;
  /** True when --log-level or its variable was given. */
  readonly logLevelExplicit: boolean;
}

const DURATION_RE = /^(?:(\d+(?:\.\d+)?)(ms|s|m|h))+$/;
const PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go-style durations: 500ms, 30s, 1m30s, 2h. */
export function parseDuration(text: string): number | null {
  if (!DURATION_RE.test(text)) return null;
  let ms = 0;
  for (const m of text.matchAll(PART_RE)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

function parseBoolean(text: string): boolean | null {
  const t = text.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(t)) return true;
  if (['false', '0', 'no', 'off'].includes(t)) return false;
  return null;
}

type Raw = Record<string, string | boolean | undefined>;

/** Turn one option's text into its typed value, or a one-line reason. */
function convert(def: OptionDef, value: string | boolean, source: string): unknown {
  const where = `${source} ${JSON.stringify(value)}`;
  const text = typeof value === 'boolean' ? String(value) : value;
  switch (def.kind) {
    case 'string':
      return text;
    case 'boolean': {
      const b = parseBoolean(text);
      if (b === null) throw new ConfigError(`invalid ${where}: must be true or false`);
      return b;
    }
    case 'integer': {
      if (!/^\d+$/.test(text.trim())) throw new ConfigError(`invalid ${where}: must be an integer from ${def.min} to ${def.max}`);
      const n = Number(text.trim());
      if (n < def.min! || n > def.max!) throw new ConfigError(`invalid ${where}: must be an integer from ${def.min} to ${def.max}`);
      return n;
    }
    case 'duration': {
      const ms = parseDuration(text.trim());
      if (ms === null) throw new ConfigError(`invalid ${where}: must be a duration such as 500ms, 30s, 1m`);
      return ms;
    }
    case 'enum':
      if (!def.choices!.includes(text)) throw new ConfigError(`invalid ${where}: must be one of ${def.choices!.join(', ')}`);
      return text;
  }
}

/** Merge flags > environment > defaults into typed values. */
export function resolveOptions(command: Config['command'], flags: Raw, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const def of optionsFor(command)) {
    const key = camel(def.flag);
    const fromFlag = flags[key];
    const fromEnv = env[envName(def.flag)];
    if (fromFlag !== undefined) out[key] = convert(def, fromFlag, `--${def.flag}`);
    else if (fromEnv !== undefined) out[key] = convert(def, fromEnv, envName(def.flag));
    else if (def.default !== undefined) out[key] = convert(def, def.default, `default --${def.flag}`);
  }
  return out;
}

const listenSchema = z.string().transform((s, ctx) => {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `invalid --listen ${JSON.stringify(s)}: must be [host]:port, e.g. :9798 or 127.0.0.1:9798` });
    return z.NEVER;
  }
  const host = m[1] ?? (m[2] === '' ? undefined : m[2]);
  return { host, port };
});

const vipSubnetSchema = z.string().refine((s) => s === '' || /^\d{0,3}(,\d{0,3})?$/.test(s), {
  message: 'invalid --vip-subnet: must be prefix lengths "v4[,v6]", e.g. 32 or 32,128 ("auto" is ARP mode only in kube-vip)',
});

export interface LoadContext {
  readonly env: NodeJS.ProcessEnv;
  /** Lowercased hostname fallback for --node-name. */
  readonly hostname: string;
}

/** Build the frozen Config for a command from parsed flags and the environment. */
export function loadConfig(command: Config['command'], flags: Raw, ctx: LoadContext): Config {
  const o = resolveOptions(command, flags, ctx.env);
  const get = <T>(k: string, fallback?: T): T => (o[k] === undefined ? fallback! : (o[k] as T));

  const listen = command === 'check' ? { host: undefined, port: 0 } : parseWith(listenSchema, get<string>('listen'));
  const vipSubnetRaw = parseWith(vipSubnetSchema, get<string>('vipSubnet', ''));
  const nodeName = (get<string>('nodeName', '') || ctx.env.NODE_NAME || ctx.hostname).toLowerCase();
  if (nodeName === '') throw new ConfigError('cannot tell the node name: set --node-name or NODE_NAME');

  const leaseName = get<string>('leaseName', 'plndr-svcs-lock');
  const slash = leaseName.indexOf('/');
  const globalLease = slash >= 0
    ? { namespace: leaseName.slice(0, slash), name: leaseName.slice(slash + 1) }
    : { namespace: get<string>('leaseNamespace', 'kube-system'), name: leaseName };
  if (globalLease.name === '' || globalLease.namespace === '') throw new ConfigError(`invalid --lease-name ${JSON.stringify(leaseName)}: must be name or namespace/name`);

  const cpAddresses = get<string>('controlPlaneAddress', '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const controlPlane = get<boolean>('controlPlane', false);
  if (controlPlane && cpAddresses.length === 0) throw new ConfigError('--control-plane needs --control-plane-address');

  const model: KubeVipModel = {
    nodeName,
    table: tableId(get<number>('table', 198)),
    protocol: routeProtocol(get<number>('protocol', 248)),
    routeType: routeType(get<number>('routeType', 1)),
    servicesEnabled: get<boolean>('services', true),
    servicesNamespace: get<string>('servicesNamespace', '') || null,
    election: get<ElectionMode>('election', 'none'),
    globalLease,
    perServiceElectionOnDemand: get<boolean>('perServiceElectionOnDemand', false),
    leaseSkewSeconds: get<number>('leaseSkew', 2000) / 1000,
    lbClassName: get<string>('lbClassName', 'kube-vip.io/kube-vip-class'),
    lbClassOnly: get<boolean>('lbClassOnly', false),
    lbClassLegacyHandling: get<boolean>('lbClassLegacyHandling', true),
    interface: get<string>('interface', 'lo') || 'lo',
    servicesInterface: get<string>('servicesInterface', ''),
    vipSubnet: effectiveVipSubnet(vipSubnetRaw, cpAddresses, familyOf),
    controlPlane: { enabled: controlPlane, addresses: cpAddresses },
  };

  const intervalMs = get<number>('interval', 30_000);
  if (command !== 'check' && intervalMs < 1000) throw new ConfigError(`invalid --interval: must be at least 1s`);

  return checkSystemTable(deepFreeze({
    command,
    model,
    kubeconfig: get<string | undefined>('kubeconfig', undefined) || undefined,
    intervalMs,
    listen,
    remediate: get<boolean>('remediate', false),
    strategy: get<Strategy>('strategy', 'flush-rebuild'),
    dryRun: get<boolean>('dryRun', false),
    // A one-shot check acts on what it sees; --grace (flag or env) lets it wait.
    graceMs: command === 'check' && flags.grace === undefined && ctx.env[envName('grace')] === undefined ? 0 : get<number>('grace', 60_000),
    maxDeletions: get<number>('maxDeletions', 100),
    allowEmpty: get<boolean>('allowEmpty', false),
    minRepairIntervalMs: get<number>('minRepairInterval', 30_000),
    allowSystemTable: get<boolean>('allowSystemTable', false),
    notificationBufferBytes: get<number>('notificationBuffer', 4 * 1024 * 1024),
    output: get<'text' | 'json'>('output', 'text'),
    kubeVipConfig: get<'auto' | 'off'>('kubeVipConfig', 'auto'),
    kubeVipSelector: get<string>('kubeVipSelector', ''),
    kubeVipStartGraceMs: get<number>('kubeVipStartGrace', 60_000),
    explicit: explicitFlags(command, flags, ctx.env),
    logLevel: get<string>('logLevel', 'info'),
    logLevelExplicit: flags.logLevel !== undefined || ctx.env[envName('log-level')] !== undefined,
  }));
}

/** The kernel's own routing tables (RT_TABLE_DEFAULT, RT_TABLE_MAIN, RT_TABLE_LOCAL). */
const SYSTEM_TABLES: ReadonlyMap<number, string> = new Map([[253, 'default'], [254, 'main'], [255, 'local']]);

/**
 * Repairs in one of the kernel's own tables change the host's routing (the
 * main table holds its default route), so they happen only when the user
 * says so with --allow-system-table; --dry-run changes nothing and is let
 * through. Returns the config; throws a one-line ConfigError (exit 2).
 */
export function checkSystemTable(config: Config): Config {
  const name = SYSTEM_TABLES.get(config.model.table);
  if (name && config.remediate && !config.dryRun && !config.allowSystemTable) {
    throw new ConfigError(`refusing --remediate on table ${config.model.table} (${name}), one of the kernel's own tables: repairs there change the host's routes; add --allow-system-table to allow it`);
  }
  return config;
}

/** Which flags were given, and how: on the command line or as ROUTEWARDEN_* env. */
export function explicitFlags(command: Config['command'], flags: Raw, env: NodeJS.ProcessEnv): ReadonlyMap<string, 'flag' | 'env'> {
  const out = new Map<string, 'flag' | 'env'>();
  for (const def of optionsFor(command)) {
    if (flags[camel(def.flag)] !== undefined) out.set(def.flag, 'flag');
    else if (env[envName(def.flag)] !== undefined) out.set(def.flag, 'env');
  }
  return out;
}

function parseWith<T>(schema: z.ZodType<T, string>, value: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new ConfigError(r.error.issues[0]?.message ?? `invalid value ${JSON.stringify(value)}`);
  return r.data;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
