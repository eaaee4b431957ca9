// The HTTP(S) server behind --web-config-file: reads the web configuration
// file and the certificates it names (web-config.ts parses), serves TLS with
// the client-certificate policy, checks basic auth, sets the allowed headers,
// and picks up changes the way exporter-toolkit does: the file and the
// certificates are re-checked on every new connection and every request (a
// stat of each, re-read only when one changed), so a cert-manager rotation
// takes effect on the next connection without a restart.
//
// Differences from exporter-toolkit, on purpose: a changed file that no longer
// loads keeps the last good configuration (and is logged) instead of failing
// every request; switching TLS on or off needs a restart. Written here because
// exporter-toolkit is Go; bcrypt is bcryptjs, TLS is Node's.

import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { ServerOptions as HttpsOptions } from 'node:https';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import bcrypt from 'bcryptjs';
import { parseWebConfig, WebConfigError } from './web-config.ts';
import type { TlsSettings, WebConfig } from './web-config.ts';
import type { Logger } from './logger.ts';

export { WebConfigError } from './web-config.ts';

/** A loaded configuration with the certificate bytes it names. */
interface LoadedWebConfig {
  readonly config: WebConfig;
  /** Options for https.createServer / setSecureContext; null without TLS. */
  readonly tls: (HttpsOptions & { requestCert: boolean; rejectUnauthorized: boolean }) | null;
}

/** The web configuration file, re-checked when asked (cheap: one stat per file). */
export interface WebConfigSource {
  readonly path: string;
  current(): LoadedWebConfig;
  /** Re-stat the files; reload when one changed. True when a new configuration took effect. */
  refresh(): boolean;
}

/**
 * Reads the file and its certificates now: a malformed file, a missing
 * certificate or a bad hash throws a one-line WebConfigError, before anything
 * listens.
 */
export function openWebConfig(path: string, logger: Logger): WebConfigSource {
  let loaded = load(path);
  let signature = signatureOf(path, loaded.config);
  let failedSignature = '';
  return {
    path,
    current: () => loaded,
    refresh() {
      const now = signatureOf(path, loaded.config);
      if (now === signature || now === failedSignature) return false;
      try {
        const next = load(path);
        if ((next.tls === null) !== (loaded.tls === null)) throw new WebConfigError(`switching TLS ${next.tls ? 'on' : 'off'} needs a restart`);
        loaded = next;
        // The new file may name other certificates: their state is the baseline.
        signature = signatureOf(path, loaded.config);
        failedSignature = '';
        logger.info({ file: path }, 'web configuration reloaded');
        return true;
      } catch (err) {
        failedSignature = now;
        logger.error({ file: path, error: (err as Error).message }, 'web configuration not reloaded; keeping the last good one');
        return false;
      }
    },
  };
}

function load(path: string): LoadedWebConfig {
  const prefix = `--web-config-file ${path}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new WebConfigError(`${prefix}: ${errnoText(err)}`);
  }
  let config: WebConfig;
  try {
    config = parseWebConfig(text, dirname(path));
  } catch (err) {
    throw new WebConfigError(`${prefix}: ${(err as Error).message}`);
  }
  return { config, tls: config.tls ? tlsOptions(config.tls, prefix) : null };
}

function tlsOptions(t: TlsSettings, prefix: string): NonNullable<LoadedWebConfig['tls']> {
  const read = (key: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new WebConfigError(`${prefix}: tls_server_config.${key} ${file}: ${errnoText(err)}`);
    }
  };
  const cert = read('cert_file', t.certFile);
  const key = read('key_file', t.keyFile);
  const ca = t.clientCaFile ? read('client_ca_file', t.clientCaFile) : undefined;
  if (ca && !/-----BEGIN CERTIFICATE-----/.test(ca.toString('latin1'))) {
    throw new WebConfigError(`${prefix}: tls_server_config.client_ca_file ${t.clientCaFile}: no PEM certificate in it`);
  }
  const options = {
    cert,
    key,
    ...(ca ? { ca } : {}),
    minVersion: t.minVersion,
    maxVersion: t.maxVersion,
    ...(t.ciphers ? { ciphers: t.ciphers } : {}),
    ...(t.ecdhCurve ? { ecdhCurve: t.ecdhCurve } : {}),
    honorCipherOrder: t.honorCipherOrder,
    requestCert: t.clientAuth !== 'NoClientCert',
    // Only RequireAndVerifyClientCert fails the handshake in OpenSSL; the
    // other policies are enforced once the handshake is done (clientCertAllowed).
    rejectUnauthorized: t.clientAuth === 'RequireAndVerifyClientCert',
  };
  // Build the context once now, so a key that does not match its certificate,
  // an unusable cipher list or a bad CA is reported here, not at the first scrape.
  try {
    createSecureContext(options);
  } catch (err) {
    throw new WebConfigError(
      `${prefix}: tls_server_config: ${oneLine((err as Error).message).replace(/^error:[0-9A-Fa-f]+:[^:]*::?/, '')} (cert_file ${t.certFile}, key_file ${t.keyFile})`,
    );
  }
  return options;
}

function signatureOf(path: string, config: WebConfig): string {
  const files = [path];
  if (config.tls) files.push(config.tls.certFile, config.tls.keyFile, ...(config.tls.clientCaFile ? [config.tls.clientCaFile] : []));
  return files
    .map((f) => {
      try {
        const s = statSync(f);
        return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

/** Whether a TLS connection's client certificate satisfies client_auth_type. */
function clientCertAllowed(socket: TLSSocket, config: WebConfig): boolean {
  const auth = config.tls?.clientAuth ?? 'NoClientCert';
  if (auth === 'NoClientCert' || auth === 'RequestClientCert') return true;
  const given = Object.keys(socket.getPeerCertificate() ?? {}).length > 0;
  if (auth === 'RequireAnyClientCert') return given;
  if (auth === 'VerifyClientCertIfGiven') return !given || socket.authorized;
  return given && socket.authorized;
}

// exporter-toolkit's constant-time answer for an unknown user: a bcrypt hash of "fakepassword".
const FAKE_HASH = '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi';
const CACHE_SIZE = 100;

/**
 * Basic auth as exporter-toolkit checks it, with its cache: a verified
 * (user, hash, password) is remembered so a scrape does not cost a bcrypt
 * each time. The key is a SHA-256 of the three, never the password itself;
 * concurrent requests with the same credentials share one bcrypt.
 */
export function createBasicAuth(): (users: ReadonlyMap<string, string>, header: string | undefined) => Promise<boolean> {
  const cache = new Map<string, Promise<boolean>>();
  return async (users, header) => {
    const creds = parseBasic(header);
    if (!creds) return false;
    const hash = users.get(creds.user);
    const key = createHash('sha256')
      .update(creds.user)
      .update('\0')
      .update(hash ?? FAKE_HASH)
      .update('\0')
      .update(creds.password)
      .digest('base64');
    let verdict = cache.get(key);
    if (!verdict) {
      verdict = bcrypt.compare(creds.password, hash ?? FAKE_HASH).then(
        (ok) => ok && hash !== undefined,
        () => false,
      );
      if (cache.size >= CACHE_SIZE) evict(cache);
      cache.set(key, verdict);
    }
    return verdict;
  };
}

function evict(cache: Map<string, unknown>): void {
  // Like exporter-toolkit: drop about a tenth, at random, so eviction is rare.
  const keys = [...cache.keys()];
  for (let n = Math.max(1, Math.floor(keys.length / 10)); n >= 0; n--) cache.delete(keys[Math.floor(Math.random() * keys.length)]!);
}

function parseBasic(header: string | undefined): { user: string; password: string } | null {
  const m = header === undefined ? null : /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header);
  if (!m) return null;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? null : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/**
 * The server for `handler`: plain HTTP without a web configuration file;
 * otherwise HTTP or HTTPS as the file says, with its authentication and
 * headers in front of every request.
 */
export function createWebServer(handler: RequestListener, web: WebConfigSource | null): Server {
  if (web === null) return createHttpServer(handler);
  const basicAuth = createBasicAuth();
  const guarded = (req: IncomingMessage, res: ServerResponse): void => {
    web.refresh();
    const { config } = web.current();
    for (const [name, value] of Object.entries(config.headers)) res.setHeader(name, value);
    if (config.tls && !clientCertAllowed(req.socket as TLSSocket, config)) {
      res.statusCode = 403;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end('client certificate required\n');
      return;
    }
    if (config.users.size === 0) {
      handler(req, res);
      return;
    }
    basicAuth(config.users, req.headers.authorization).then(
      (ok) => {
        if (ok) return handler(req, res);
        res.statusCode = 401;
        res.setHeader('WWW-Authenticate', 'Basic');
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        res.end('Unauthorized\n');
      },
      (err: unknown) => {
        res.statusCode = 500;
        res.end(`checking credentials: ${(err as Error).message}\n`);
      },
    );
  };
  const first = web.current();
  if (!first.tls) return createHttpServer(guarded);
  const server = createHttpsServer({ ...first.tls }, guarded);
  // Before OpenSSL sees the ClientHello: new certificates and policy for this
  // connection. Compared by identity, not by refresh()'s answer: a request on
  // an older connection may have been the one to load the new files.
  let applied = first;
  server.prependListener('connection', () => {
    web.refresh();
    const current = web.current();
    if (current === applied) return;
    applied = current;
    const tls = current.tls!;
    server.setSecureContext(tls);
    Object.assign(server, { requestCert: tls.requestCert, rejectUnauthorized: tls.rejectUnauthorized });
  });
  // Go fails the handshake for these policies; here the connection is closed
  // right after it, before a request is read.
  server.prependListener('secureConnection', (socket: TLSSocket) => {
    if (!clientCertAllowed(socket, web.current().config)) socket.destroy();
  });
  return server;
}

function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no such file';
  if (e.code === 'EACCES') return 'permission denied';
  if (e.code === 'EISDIR') return 'is a directory';
  return oneLine(e.message ?? String(err));
}

function oneLine(s: string): string {
  return s.split('\n')[0]!.trim();
}
