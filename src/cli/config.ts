// Configuration: flags over ROUTEWARDEN_* environment over the option table's
// defaults, validated once and frozen. The zod schema is generated from the
// option table (src/cli/options.ts), so every option is checked for its kind
// and format, each default is written once (in the table), and the Config
// type is a mapped type over the same table. A bad value is a one-line
// ConfigError (exit 2): `invalid <where> "<value>": <why>`.

import { z } from 'zod';
import type { KubeVipModel } from '../core/model.ts';
import { DNS_ADDRESS_NOT_JUDGED, effectiveVipSubnet } from '../core/model.ts';
import { familyOf } from '../core/ip.ts';
import { isQualifiedName, parseLabelSelector } from '../core/label-selector.ts';
import { routeProtocol, routeType, tableId } from '../core/types.ts';
import { camel, envName, OPTIONS, optionsFor } from './options.ts';
import type { OptionDef, OptionTable, StringFormat } from './options.ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Command = 'run' | 'check' | 'demo';

export interface ListenAddress {
  readonly host: string | undefined;
  readonly port: number;
}

// ---- the value type of every option, from the table

type Def = OptionTable[number];
type Camel<S extends string> = S extends `${infer A}-${infer B}` ? `${A}${Capitalize<Camel<B>>}` : S;
/** Durations are held in milliseconds, and their key says so: `interval` => `intervalMs`. */
type KeyOf<D extends Def> = D['kind'] extends 'duration' ? `${Camel<D['flag']>}Ms` : Camel<D['flag']>;
interface FormatValues {
  listen: ListenAddress;
  addresses: readonly string[];
}
type ValueOf<D extends Def> = D extends { kind: 'integer' | 'duration' }
  ? number
  : D extends { kind: 'boolean' }
    ? boolean
    : D extends { kind: 'enum'; choices: readonly (infer C)[] }
      ? C
      : D extends { format: infer F extends keyof FormatValues }
        ? FormatValues[F]
        : string;

/** Every option's typed value; an option without a default may be undefined. */
export type OptionValues = { readonly [D in Def as KeyOf<D>]: D extends { default: string } ? ValueOf<D> : ValueOf<D> | undefined };

/** The options that describe kube-vip on this node: Config holds them as `model`. */
type ModelKey =
  | 'nodeName'
  | 'table'
  | 'protocol'
  | 'routeType'
  | 'election'
  | 'services'
  | 'servicesNamespace'
  | 'leaseName'
  | 'leaseNamespace'
  | 'leaseSkewMs'
  | 'perServiceElectionOnDemand'
  | 'lbClassName'
  | 'lbClassOnly'
  | 'lbClassLegacyHandling'
  | 'interface'
  | 'servicesInterface'
  | 'vipSubnet'
  | 'controlPlane'
  | 'controlPlaneAddress';

export type Config = Omit<OptionValues, ModelKey> & {
  readonly command: Command;
  readonly model: KubeVipModel;
  /** The flags given on the command line or as ROUTEWARDEN_* env: these win over kube-vip's pod. */
  readonly explicit: ReadonlyMap<string, 'flag' | 'env'>;
  /** True when --log-level or its variable was given. */
  readonly logLevelExplicit: boolean;
};

// ---- the schema, generated from the table

export const DURATION_RE = /^(?:(\d+(?:\.\d+)?)(ms|s|m|h))+$/;
const PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go-style durations: 500ms, 30s, 1m30s, 2h. */
export function parseDuration(text: string): number | null {
  if (!DURATION_RE.test(text)) return null;
  let ms = 0;
  for (const m of text.matchAll(PART_RE)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

const BOOLEANS: Record<string, boolean> = { true: true, '1': true, yes: true, on: true, false: false, '0': false, no: false, off: false };
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const isSubdomain = (s: string): boolean => s.length <= 253 && s.split('.').every((l) => DNS_LABEL.test(l));
/** Linux: 1 to 15 bytes (IFNAMSIZ - 1), not "." or "..", no "/", ":" or blank (dev_valid_name). */
const isInterface = (s: string): boolean => /^[^/:\s]{1,15}$/.test(s) && s !== '.' && s !== '..';
const INTERFACE = 'must be an interface name (1 to 15 characters, no "/", ":" or blanks)';

/** One line of text: what every string option is at least. */
const line = z.string().regex(/^[^\u0000-\u001f\u007f]*$/, 'must be one line without control characters');

const FORMATS: { readonly [F in StringFormat]: z.ZodType<F extends keyof FormatValues ? FormatValues[F] : string, string> } = {
  text: line,
  'node-name': line.refine((s) => isSubdomain(s.toLowerCase()), 'must be a node name (a DNS subdomain: letters, digits, "-" and ".")'),
  path: line.min(1, 'must be a file path'),
  listen: line.transform((s, ctx) => {
    const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s);
    const port = m ? Number(m[3]) : NaN;
    if (!m || port > 65535) {
      ctx.addIssue({ code: 'custom', message: 'must be [host]:port, e.g. :9798 or 127.0.0.1:9798' });
      return z.NEVER;
    }
    return { host: m[1] ?? (m[2] === '' ? undefined : m[2]), port };
  }),
  'label-selector': line.superRefine((s, ctx) => {
    try {
      parseLabelSelector(s);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `must be a label selector (${(err as Error).message})` });
    }
  }),
  namespace: line.regex(DNS_LABEL, 'must be a namespace name (a DNS label)'),
  'namespace-or-all': line.refine((s) => s === '' || DNS_LABEL.test(s), 'must be a namespace name (a DNS label) or "" for all'),
  lease: line.refine((s) => {
    const [a, b, ...rest] = s.split('/');
    return rest.length === 0 && (b === undefined ? isSubdomain(a!) : DNS_LABEL.test(a!) && isSubdomain(b));
  }, 'must be name or namespace/name'),
  interface: line.refine(isInterface, INTERFACE),
  'interface-or-auto': line.refine((s) => s === '' || isInterface(s), `${INTERFACE}, "auto" or ""`),
  'vip-subnet': line.refine((s) => {
    const m = /^(\d{0,3})(?:,(\d{0,3}))?$/.exec(s);
    return m !== null && (m[1] === '' || Number(m[1]) <= 32) && (m[2] === undefined || m[2] === '' || Number(m[2]) <= 128);
  }, 'must be prefix lengths "v4[,v6]" (0-32, 0-128), e.g. 32 or 32,128 ("auto" is ARP mode only in kube-vip)'),
  addresses: line.transform((s, ctx) => {
    const items = s
      .split(',')
      .map((a) => a.trim())
      .filter((a) => a !== '');
    const bad = items.find((a) => familyOf(a) === null && !isSubdomain(a.toLowerCase()));
    if (bad !== undefined) {
      ctx.addIssue({ code: 'custom', message: `must be IP addresses or DNS names, comma-separated (${JSON.stringify(bad)} is neither)` });
      return z.NEVER;
    }
    return items;
  }),
  'lb-class': line.refine((s) => s === '' || isQualifiedName(s), 'must be a class name such as example.com/my-class, or ""'),
};

function fieldSchema(def: OptionDef): z.ZodType<unknown, string> {
  switch (def.kind) {
    case 'string':
      return FORMATS[def.format ?? 'text'];
    case 'boolean':
      return z.string().transform((s, ctx) => {
        const b = BOOLEANS[s.trim().toLowerCase()];
        if (b === undefined) ctx.addIssue({ code: 'custom', message: 'must be true or false' });
        return b ?? z.NEVER;
      });
    case 'integer': {
      const why = `must be an integer from ${def.min} to ${def.max}`;
      return z.string().trim().regex(/^\d+$/, why).transform(Number).pipe(z.number().min(def.min!, why).max(def.max!, why));
    }
    case 'duration': {
      const least = def.atLeast === undefined ? 0 : parseDuration(def.atLeast)!;
      return z.string().transform((s, ctx) => {
        const ms = parseDuration(s.trim());
        if (ms === null) ctx.addIssue({ code: 'custom', message: 'must be a duration such as 500ms, 30s, 1m' });
        else if (ms < least) ctx.addIssue({ code: 'custom', message: `must be a duration of at least ${def.atLeast}` });
        return ms ?? z.NEVER;
      });
    }
    case 'enum': {
      const choices = def.choices!;
      return z.string().refine((s) => choices.includes(s), `must be one of ${choices.join(', ')}`);
    }
  }
}

const keyOf = (def: OptionDef): string => (def.kind === 'duration' ? `${camel(def.flag)}Ms` : camel(def.flag));

/** The options' schema: an object of their texts (absent = no value) to their typed values. */
export const optionsSchema = z.strictObject(
  Object.fromEntries(OPTIONS.map((def) => [keyOf(def), def.default === undefined ? fieldSchema(def).optional() : fieldSchema(def)])),
) as unknown as z.ZodType<OptionValues, Readonly<Record<string, string | undefined>>>;

// ---- loading

type Raw = Record<string, string | boolean | undefined>;

/**
 * Flags > environment > the table's default, for the options of `command`;
 * the other options take their default. Parsed by the schema; the first
 * problem is a ConfigError naming where the value came from.
 */
export function resolveOptions(command: Command, flags: Raw, env: NodeJS.ProcessEnv): OptionValues {
  const texts: Record<string, string | undefined> = {};
  const where = new Map<string, { source: string; text: string }>();
  const mine = new Set(optionsFor(command).map((d) => d.flag));
  for (const def of OPTIONS) {
    const fromFlag = mine.has(def.flag) ? flags[camel(def.flag)] : undefined;
    const fromEnv = mine.has(def.flag) ? env[envName(def.flag)] : undefined;
    const [source, value] =
      fromFlag !== undefined ? [`--${def.flag}`, fromFlag] : fromEnv !== undefined ? [envName(def.flag), fromEnv] : [`default --${def.flag}`, def.default];
    if (value === undefined) continue;
    const text = String(value);
    texts[keyOf(def)] = text;
    where.set(keyOf(def), { source, text });
  }
  const r = optionsSchema.safeParse(texts);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const at = where.get(String(issue.path[0]));
  throw new ConfigError(at ? `invalid ${at.source} ${JSON.stringify(at.text)}: ${issue.message}` : issue.message);
}

export interface LoadContext {
  readonly env: NodeJS.ProcessEnv;
  /** Lowercased hostname fallback for --node-name. */
  readonly hostname: string;
}

/** Build the frozen Config for a command from parsed flags and the environment. */
export function loadConfig(command: Command, flags: Raw, ctx: LoadContext): Config {
  const o = resolveOptions(command, flags, ctx.env);
  const explicit = explicitFlags(command, flags, ctx.env);

  const nodeName = (o.nodeName || ctx.env.NODE_NAME || ctx.hostname).toLowerCase();
  if (nodeName === '') throw new ConfigError('cannot tell the node name: set --node-name or NODE_NAME');

  const slash = o.leaseName.indexOf('/');
  const globalLease =
    slash >= 0 ? { namespace: o.leaseName.slice(0, slash), name: o.leaseName.slice(slash + 1) } : { namespace: o.leaseNamespace, name: o.leaseName };
  if (o.controlPlane && o.controlPlaneAddress.length === 0) throw new ConfigError('--control-plane needs --control-plane-address');

  // kube-vip's GenerateCidrRange over the CP address(es): null when one is a DNS name.
  const vipSubnet = effectiveVipSubnet(o.vipSubnet, o.controlPlaneAddress.join(','), familyOf);
  const model: KubeVipModel = {
    nodeName,
    table: tableId(o.table),
    protocol: routeProtocol(o.protocol),
    routeType: routeType(o.routeType),
    servicesEnabled: o.services,
    servicesNamespace: o.servicesNamespace || null,
    election: o.election,
    globalLease,
    perServiceElectionOnDemand: o.perServiceElectionOnDemand,
    leaseSkewSeconds: o.leaseSkewMs / 1000,
    lbClassName: o.lbClassName,
    lbClassOnly: o.lbClassOnly,
    lbClassLegacyHandling: o.lbClassLegacyHandling,
    interface: o.interface,
    servicesInterface: o.servicesInterface,
    vipSubnet: vipSubnet ?? '',
    controlPlane: { enabled: o.controlPlane, addresses: o.controlPlaneAddress },
    ...(vipSubnet === null ? { notJudged: [DNS_ADDRESS_NOT_JUDGED] } : {}),
  };

  return checkSystemTable(
    deepFreeze({
      command,
      model,
      kubeconfig: o.kubeconfig || undefined,
      intervalMs: o.intervalMs,
      listen: o.listen,
      webConfigFile: o.webConfigFile,
      webDisableStatus: o.webDisableStatus,
      // check repairs only when its own command line says --remediate: the
      // runbooks' "confirm" step (kubectl exec ... routewarden check) runs in a
      // container whose ROUTEWARDEN_REMEDIATE=true configures `run`, and a
      // confirmation must never change the table.
      remediate: command === 'check' ? explicit.get('remediate') === 'flag' && o.remediate : o.remediate,
      strategy: o.strategy,
      dryRun: o.dryRun,
      // A one-shot check acts on what it sees; --grace (flag or env) lets it wait.
      graceMs: command === 'check' && !explicit.has('grace') ? 0 : o.graceMs,
      maxDeletions: o.maxDeletions,
      allowEmpty: o.allowEmpty,
      minRepairIntervalMs: o.minRepairIntervalMs,
      allowSystemTable: o.allowSystemTable,
      notificationBuffer: o.notificationBuffer,
      watchIdleTimeoutMs: o.watchIdleTimeoutMs,
      output: o.output,
      kubeVipConfig: o.kubeVipConfig,
      kubeVipSelector: o.kubeVipSelector,
      kubeVipStartGraceMs: o.kubeVipStartGraceMs,
      explicit,
      logLevel: o.logLevel,
      logLevelExplicit: explicit.has('log-level'),
      logFormat: o.logFormat,
    }),
  );
}

/** The kernel's own routing tables (RT_TABLE_DEFAULT, RT_TABLE_MAIN, RT_TABLE_LOCAL). */
const SYSTEM_TABLES: ReadonlyMap<number, string> = new Map([
  [253, 'default'],
  [254, 'main'],
  [255, 'local'],
]);

/**
 * Repairs in one of the kernel's own tables change the host's routing (the
 * main table holds its default route), so they happen only when the user
 * says so with --allow-system-table; --dry-run changes nothing and is let
 * through. Returns the config; throws a one-line ConfigError (exit 2).
 */
export function checkSystemTable(config: Config): Config {
  const name = SYSTEM_TABLES.get(config.model.table);
  if (name && config.remediate && !config.dryRun && !config.allowSystemTable) {
    throw new ConfigError(
      `refusing --remediate on table ${config.model.table} (${name}), one of the kernel's own tables: repairs there change the host's routes; add --allow-system-table to allow it`,
    );
  }
  return config;
}

/** Which flags were given, and how: on the command line or as ROUTEWARDEN_* env. */
export function explicitFlags(command: Command, flags: Raw, env: NodeJS.ProcessEnv): ReadonlyMap<string, 'flag' | 'env'> {
  const out = new Map<string, 'flag' | 'env'>();
  for (const def of optionsFor(command)) {
    if (flags[camel(def.flag)] !== undefined) out.set(def.flag, 'flag');
    else if (env[envName(def.flag)] !== undefined) out.set(def.flag, 'env');
  }
  return out;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
