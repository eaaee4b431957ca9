// exporter-toolkit's web configuration format, parsed: every bad file is one
// line naming the key at fault (pinned exactly), and the Go names map to what
// Node's OpenSSL takes.

import { describe, expect, it } from 'vitest';
import { parseWebConfig, WebConfigError } from '../../src/surface/web-config.ts';

const HASH = '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi';
const NOT_BCRYPT =
  'basic_auth_users.alice: not a bcrypt hash (expected $2a$, $2b$ or $2y$, a cost from 04 to 31 and 60 characters; make one with htpasswd -nBC 10 "" | tr -d \':\\n\')';
const tls = (extra: string) => `tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n${extra}`;

describe('parseWebConfig', () => {
  it('an empty file is plain HTTP without authentication (as exporter-toolkit)', () => {
    expect(parseWebConfig('', '/etc/rw')).toEqual({ tls: null, users: new Map(), headers: {}, http2: true });
    expect(parseWebConfig('# nothing\n', '/etc/rw').tls).toBeNull();
  });

  it("takes node_exporter's documented example, relative paths from the file's folder", () => {
    const c = parseWebConfig(
      [
        'tls_server_config:',
        '  cert_file: server.crt',
        '  key_file: /abs/server.key',
        '  client_ca_file: ca.crt',
        '  client_auth_type: RequireAndVerifyClientCert',
        '  min_version: TLS13',
        '  curve_preferences: [X25519, CurveP256]',
        '  prefer_server_cipher_suites: false',
        'http_server_config:',
        '  http2: false',
        '  headers:',
        '    X-Frame-Options: deny',
        '    Strict-Transport-Security: max-age=31536000',
        'basic_auth_users:',
        `  prometheus: ${HASH}`,
      ].join('\n'),
      '/etc/rw',
    );
    expect(c.tls).toEqual({
      certFile: '/etc/rw/server.crt',
      keyFile: '/abs/server.key',
      clientCaFile: '/etc/rw/ca.crt',
      clientAuth: 'RequireAndVerifyClientCert',
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      ciphers: undefined,
      ecdhCurve: 'X25519:P-256',
      honorCipherOrder: false,
    });
    expect(c.users.get('prometheus')).toBe(HASH);
    expect(c.headers).toEqual({ 'X-Frame-Options': 'deny', 'Strict-Transport-Security': 'max-age=31536000' });
    expect(c.http2).toBe(false);
  });

  it("maps Go cipher names to OpenSSL's and keeps TLS 1.3 on, as Go does", () => {
    const c = parseWebConfig(
      tls('  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, TLS_AES_128_GCM_SHA256]\n'),
      '/d',
    );
    expect(c.tls?.ciphers).toBe(
      'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305',
    );
  });

  it('RequireClientCert is the old name of RequireAnyClientCert', () => {
    expect(parseWebConfig(tls('  client_auth_type: RequireClientCert\n'), '/d').tls?.clientAuth).toBe('RequireAnyClientCert');
  });

  it('defaults: TLS 1.2 to 1.3, server cipher order, no client certificate', () => {
    expect(parseWebConfig(tls(''), '/d').tls).toMatchObject({
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      honorCipherOrder: true,
      clientAuth: 'NoClientCert',
      clientCaFile: undefined,
    });
  });

  const bad: [string, string, string][] = [
    ['not YAML', 'tls_server_config: [unclosed', 'not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]'],
    ['a list instead of a mapping', '- a\n- b\n', 'must be a YAML mapping'],
    ['an unknown top-level key', 'tls_config:\n  cert_file: x\n', 'unknown key "tls_config"'],
    ['an unknown TLS key', tls('  certfile: x\n'), 'unknown key "certfile" in tls_server_config'],
    ['an unknown http key', 'http_server_config:\n  http3: true\n', 'unknown key "http3" in http_server_config'],
    ['a duplicated key', 'basic_auth_users:\n  a: x\n  a: y\n', 'not valid YAML: Map keys must be unique'],
    [
      'inline certificates',
      'tls_server_config:\n  cert: "-----BEGIN"\n',
      'tls_server_config.cert: inline certificates are not supported by routewarden; use cert_file',
    ],
    [
      'client_allowed_sans',
      tls('  client_allowed_sans: [a]\n'),
      'tls_server_config.client_allowed_sans: not supported by routewarden; use client_auth_type RequireAndVerifyClientCert with a dedicated client CA',
    ],
    ['rate_limit', 'rate_limit:\n  burst: 1\n', 'rate_limit: not supported by routewarden'],
    ['a key without its certificate', 'tls_server_config:\n  key_file: s.key\n', 'tls_server_config: missing cert_file'],
    ['a certificate without its key', 'tls_server_config:\n  cert_file: s.crt\n', 'tls_server_config: missing key_file'],
    ['a client CA alone turns TLS on', 'tls_server_config:\n  client_ca_file: ca.crt\n', 'tls_server_config: missing cert_file'],
    [
      'a bad client auth type',
      tls('  client_auth_type: Always\n'),
      'tls_server_config.client_auth_type: invalid ClientAuth "Always" (one of NoClientCert, RequestClientCert, RequireAnyClientCert, RequireClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)',
    ],
    [
      'a client CA without a policy',
      tls('  client_ca_file: ca.crt\n'),
      "tls_server_config: client CA's have been configured without a Client Auth Policy (set client_auth_type)",
    ],
    ['an unknown TLS version', tls('  min_version: TLS14\n'), 'tls_server_config.min_version: unknown TLS version: TLS14 (one of TLS10, TLS11, TLS12, TLS13)'],
    [
      'TLS 1.0 cannot be honoured',
      tls('  min_version: TLS10\n'),
      "tls_server_config.min_version: TLS10 cannot be served: Node's OpenSSL refuses TLS below 1.2 at its default security level (use TLS12 or TLS13)",
    ],
    [
      'TLS 1.1 as maximum',
      tls('  max_version: TLS11\n'),
      "tls_server_config.max_version: TLS11 cannot be served: Node's OpenSSL refuses TLS below 1.2 at its default security level (use TLS12 or TLS13)",
    ],
    ['min above max', tls('  min_version: TLS13\n  max_version: TLS12\n'), 'tls_server_config: min_version TLS13 is above max_version TLS12'],
    ['an unknown cipher', tls('  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n'), 'tls_server_config.cipher_suites: unknown cipher: TLS_RSA_WITH_RC4_128_SHA'],
    [
      'only TLS 1.3 suites with TLS 1.2 only',
      tls('  max_version: TLS12\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n'),
      'tls_server_config.cipher_suites: no TLS 1.2 suite listed, but max_version is TLS12 (TLS 1.3 suites cannot be chosen)',
    ],
    ['an unknown curve', tls('  curve_preferences: [CurveP999]\n'), 'tls_server_config.curve_preferences: unknown curve: CurveP999'],
    ['cipher_suites not a list', tls('  cipher_suites: TLS_AES_128_GCM_SHA256\n'), 'tls_server_config.cipher_suites: must be a list of strings'],
    ['a yes/no that is not a boolean', tls('  prefer_server_cipher_suites: maybe\n'), 'tls_server_config.prefer_server_cipher_suites: must be true or false'],
    ['a plain-text password', 'basic_auth_users:\n  alice: secret\n', NOT_BCRYPT],
    ['a truncated hash', `basic_auth_users:\n  alice: ${HASH.slice(0, 50)}\n`, NOT_BCRYPT],
    ['a cost above 31', `basic_auth_users:\n  alice: ${HASH.replace('$10$', '$32$')}\n`, NOT_BCRYPT],
    ['users not a mapping', 'basic_auth_users: [alice]\n', 'basic_auth_users: must be a map of user names to bcrypt hashes'],
    [
      'a header exporter-toolkit does not allow',
      'http_server_config:\n  headers:\n    Server: x\n',
      'http_server_config.headers: HTTP header "Server" can not be configured (allowed: Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, X-XSS-Protection, Content-Security-Policy)',
    ],
    [
      'a header value outside its enumeration',
      'http_server_config:\n  headers:\n    X-Frame-Options: allow\n',
      'http_server_config.headers: invalid value for X-Frame-Options: expected one of "deny", "sameorigin", got "allow"',
    ],
  ];

  it.each(bad)('%s: one line, exactly', (_what, text, message) => {
    let error: unknown;
    try {
      parseWebConfig(text, '/d');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(WebConfigError);
    const got = (error as Error).message;
    expect(got).not.toContain('\n');
    if (message.endsWith(': ') || message === NOT_BCRYPT) expect(got.startsWith(message)).toBe(true);
    else expect(got).toBe(message);
  });
});
