// exporter-toolkit's web configuration file (the `--web.config.file` of
// node_exporter and Prometheus), parsed and validated: the pure half, no file
// I/O. web-server.ts reads the files, reloads them and serves.
//
// Hand-written because no npm library reads this Go format: the YAML is parsed
// by `yaml`, the shape checked by zod (strict, as exporter-toolkit's
// yaml.UnmarshalStrict: an unknown key is an error), and the Go names
// (cipher suites, curves, TLS versions, client auth types) are mapped to what
// Node's OpenSSL takes. What Node cannot honour is refused with one line, never
// silently weakened.

import { isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export class WebConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebConfigError';
  }
}

/** exporter-toolkit's client_auth_type values (RequireClientCert is its old alias of RequireAnyClientCert). */
type ClientAuth = 'NoClientCert' | 'RequestClientCert' | 'RequireAnyClientCert' | 'VerifyClientCertIfGiven' | 'RequireAndVerifyClientCert';

type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

export interface TlsSettings {
  /** Absolute paths (relative ones are resolved against the web config file's folder, as exporter-toolkit does). */
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCaFile: string | undefined;
  readonly clientAuth: ClientAuth;
  readonly minVersion: TlsVersion;
  readonly maxVersion: TlsVersion;
  /** OpenSSL cipher string, or undefined for Node's defaults. */
  readonly ciphers: string | undefined;
  /** OpenSSL group list (ecdhCurve), or undefined for Node's defaults. */
  readonly ecdhCurve: string | undefined;
  readonly honorCipherOrder: boolean;
}

export interface WebConfig {
  /** null: plain HTTP. */
  readonly tls: TlsSettings | null;
  /** user → bcrypt hash; empty: no authentication. */
  readonly users: ReadonlyMap<string, string>;
  readonly headers: Readonly<Record<string, string>>;
  /** http_server_config.http2 as written (routewarden serves HTTP/1.1 either way). */
  readonly http2: boolean;
}

/** Go's crypto/tls.CipherSuites() names → OpenSSL names. TLS 1.3 suites keep their names. */
const GO_CIPHERS: Readonly<Record<string, string>> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_AES_128_GCM_SHA256: 'TLS_AES_128_GCM_SHA256',
  TLS_AES_256_GCM_SHA384: 'TLS_AES_256_GCM_SHA384',
  TLS_CHACHA20_POLY1305_SHA256: 'TLS_CHACHA20_POLY1305_SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};

/**
 * Go does not let a configuration choose TLS 1.3 suites: all three stay on.
 * Node would instead cap the server at TLS 1.2 when the cipher string names no
 * TLS 1.3 suite, so they are always prepended.
 */
const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

/** exporter-toolkit's curve names → OpenSSL group names. */
const GO_CURVES: Readonly<Record<string, string>> = {
  CurveP256: 'P-256',
  CurveP384: 'P-384',
  CurveP521: 'P-521',
  X25519: 'X25519',
};

const GO_VERSIONS = ['TLS10', 'TLS11', 'TLS12', 'TLS13'] as const;

const CLIENT_AUTH: Readonly<Record<string, ClientAuth>> = {
  '': 'NoClientCert',
  NoClientCert: 'NoClientCert',
  RequestClientCert: 'RequestClientCert',
  RequireAnyClientCert: 'RequireAnyClientCert',
  RequireClientCert: 'RequireAnyClientCert',
  VerifyClientCertIfGiven: 'VerifyClientCertIfGiven',
  RequireAndVerifyClientCert: 'RequireAndVerifyClientCert',
};

/** exporter-toolkit's extraHTTPHeaders: the only headers it lets a file set, with their allowed values (empty = any). */
const HEADERS: Readonly<Record<string, readonly string[]>> = {
  'Strict-Transport-Security': [],
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': [],
  'Content-Security-Policy': [],
};

/** $2a$/$2b$/$2y$ (and $2x$, $2$), two-digit cost 04–31, 53 characters of salt and hash. */
const BCRYPT_RE = /^\$2[abxy]?\$(\d\d)\$[./A-Za-z0-9]{53}$/;

/** Keys exporter-toolkit knows that routewarden does not implement: refused by name rather than as unknown. */
const NOT_SUPPORTED: Readonly<Record<string, string>> = {
  'tls_server_config.cert': 'inline certificates are not supported by routewarden; use cert_file',
  'tls_server_config.key': 'inline keys are not supported by routewarden; use key_file',
  'tls_server_config.client_ca': 'inline client CAs are not supported by routewarden; use client_ca_file',
  'tls_server_config.client_allowed_sans': 'not supported by routewarden; use client_auth_type RequireAndVerifyClientCert with a dedicated client CA',
  rate_limit: 'not supported by routewarden',
};

const str = z.string({ error: 'must be a string' });
const list = z.array(str, { error: 'must be a list of strings' });

const tlsSchema = z
  .strictObject({
    cert_file: str.optional(),
    key_file: str.optional(),
    client_ca_file: str.optional(),
    client_auth_type: str.optional(),
    cipher_suites: list.optional(),
    curve_preferences: list.optional(),
    min_version: str.optional(),
    max_version: str.optional(),
    prefer_server_cipher_suites: z.boolean({ error: 'must be true or false' }).optional(),
  })
  .nullable();

const fileSchema = z.strictObject({
  tls_server_config: tlsSchema.optional(),
  http_server_config: z
    .strictObject({
      http2: z.boolean({ error: 'must be true or false' }).optional(),
      headers: z.record(z.string(), str, { error: 'must be a map of header names to values' }).nullable().optional(),
    })
    .nullable()
    .optional(),
  basic_auth_users: z.record(z.string(), str, { error: 'must be a map of user names to bcrypt hashes' }).nullable().optional(),
});

/**
 * Parses the text of a web configuration file. `dir` is the file's folder:
 * relative certificate paths are taken from there. Throws a WebConfigError
 * whose message is one line naming the key at fault.
 */
export function parseWebConfig(text: string, dir: string): WebConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text, { uniqueKeys: true, prettyErrors: false });
  } catch (err) {
    throw new WebConfigError(`not valid YAML: ${oneLine((err as Error).message)}`);
  }
  if (doc === null || doc === undefined) doc = {};
  const r = fileSchema.safeParse(doc);
  if (!r.success) throw new WebConfigError(describeIssue(r.error.issues[0]!));
  const raw = r.data;

  const headers = raw.http_server_config?.headers ?? {};
  for (const [name, value] of Object.entries(headers)) {
    const allowed = HEADERS[name];
    if (allowed === undefined)
      throw new WebConfigError(
        `http_server_config.headers: HTTP header ${JSON.stringify(name)} can not be configured (allowed: ${Object.keys(HEADERS).join(', ')})`,
      );
    if (allowed.length > 0 && !allowed.includes(value))
      throw new WebConfigError(
        `http_server_config.headers: invalid value for ${name}: expected one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(value)}`,
      );
  }

  const users = new Map<string, string>();
  for (const [user, hash] of Object.entries(raw.basic_auth_users ?? {})) {
    const m = BCRYPT_RE.exec(hash);
    const cost = m ? Number(m[1]) : NaN;
    if (!m || cost < 4 || cost > 31)
      throw new WebConfigError(
        `basic_auth_users.${user}: not a bcrypt hash (expected $2a$, $2b$ or $2y$, a cost from 04 to 31 and 60 characters; make one with htpasswd -nBC 10 "" | tr -d ':\\n')`,
      );
    users.set(user, hash);
  }

  return {
    tls: tlsSettings(raw.tls_server_config ?? {}, dir),
    users,
    headers: { ...headers },
    http2: raw.http_server_config?.http2 ?? true,
  };
}

type RawTls = NonNullable<z.infer<typeof tlsSchema>>;

function tlsSettings(t: RawTls, dir: string): TlsSettings | null {
  // exporter-toolkit's IsEnabled: any of these turns TLS on, and then cert and key are required.
  const enabled = [t.cert_file, t.key_file, t.client_ca_file, t.client_auth_type].some((v) => v !== undefined && v !== '');
  if (!enabled) return null;
  if (!t.cert_file) throw new WebConfigError('tls_server_config: missing cert_file');
  if (!t.key_file) throw new WebConfigError('tls_server_config: missing key_file');

  const clientAuth = CLIENT_AUTH[t.client_auth_type ?? ''];
  if (clientAuth === undefined)
    throw new WebConfigError(
      `tls_server_config.client_auth_type: invalid ClientAuth ${JSON.stringify(t.client_auth_type)} (one of ${Object.keys(CLIENT_AUTH)
        .filter((k) => k !== '')
        .join(', ')})`,
    );
  if (t.client_ca_file && clientAuth === 'NoClientCert')
    throw new WebConfigError("tls_server_config: client CA's have been configured without a Client Auth Policy (set client_auth_type)");

  const minVersion = version(t.min_version ?? 'TLS12', 'min_version');
  const maxVersion = version(t.max_version ?? 'TLS13', 'max_version');
  if (minVersion > maxVersion) throw new WebConfigError(`tls_server_config: min_version ${t.min_version} is above max_version ${t.max_version ?? 'TLS13'}`);

  let ciphers: string | undefined;
  if (t.cipher_suites && t.cipher_suites.length > 0) {
    const tls12: string[] = [];
    for (const name of t.cipher_suites) {
      const openssl = GO_CIPHERS[name];
      if (openssl === undefined) throw new WebConfigError(`tls_server_config.cipher_suites: unknown cipher: ${name}`);
      if (!TLS13_SUITES.includes(openssl)) tls12.push(openssl);
    }
    if (tls12.length === 0 && minVersion === 'TLSv1.2' && maxVersion === 'TLSv1.2') {
      throw new WebConfigError('tls_server_config.cipher_suites: no TLS 1.2 suite listed, but max_version is TLS12 (TLS 1.3 suites cannot be chosen)');
    }
    ciphers = [...TLS13_SUITES, ...tls12].join(':');
  }

  let ecdhCurve: string | undefined;
  if (t.curve_preferences && t.curve_preferences.length > 0) {
    ecdhCurve = t.curve_preferences
      .map((name) => {
        const group = GO_CURVES[name];
        if (group === undefined) throw new WebConfigError(`tls_server_config.curve_preferences: unknown curve: ${name}`);
        return group;
      })
      .join(':');
  }

  const abs = (p: string) => (isAbsolute(p) ? p : join(dir, p));
  return {
    certFile: abs(t.cert_file),
    keyFile: abs(t.key_file),
    clientCaFile: t.client_ca_file ? abs(t.client_ca_file) : undefined,
    clientAuth,
    minVersion,
    maxVersion,
    ciphers,
    ecdhCurve,
    honorCipherOrder: t.prefer_server_cipher_suites ?? true,
  };
}

function version(v: string, key: string): TlsVersion {
  if (!(GO_VERSIONS as readonly string[]).includes(v))
    throw new WebConfigError(`tls_server_config.${key}: unknown TLS version: ${v} (one of ${GO_VERSIONS.join(', ')})`);
  if (v === 'TLS10' || v === 'TLS11') {
    throw new WebConfigError(
      `tls_server_config.${key}: ${v} cannot be served: Node's OpenSSL refuses TLS below 1.2 at its default security level (use TLS12 or TLS13)`,
    );
  }
  return v === 'TLS12' ? 'TLSv1.2' : 'TLSv1.3';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const full = path === '' ? key : `${path}.${key}`;
    const why = NOT_SUPPORTED[full];
    return why ? `${full}: ${why}` : `unknown key ${JSON.stringify(key)}${path === '' ? '' : ` in ${path}`}`;
  }
  if (path === '' && issue.code === 'invalid_type') return 'must be a YAML mapping';
  return `${path}: ${issue.message}`;
}

function oneLine(s: string): string {
  return s.split('\n')[0]!.trim();
}
