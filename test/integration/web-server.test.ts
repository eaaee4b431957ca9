// The server behind --web-config-file, against real TLS on loopback with
// openssl-made certificates: client-certificate policies, basic auth with its
// cache, the allowed headers, and a cert-manager style rotation of the
// certificate and of the file itself, picked up without a restart.

import { readFileSync, renameSync, writeFileSync, copyFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createBasicAuth, createWebServer, openWebConfig } from '../../src/surface/web-server.ts';
import { silentLogger } from '../../src/surface/logger.ts';
import { certDir, opensslBinary } from '../helpers/certs.ts';
import type { CertDir, Pair } from '../helpers/certs.ts';

const openssl = opensslBinary();
if (openssl === null) console.warn('SKIPPED web server TLS tests: openssl is not installed');
const suite = openssl === null ? describe.skip : describe;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Serial number of the certificate the server presented (hex). */
  serial?: string;
}

interface Client {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly auth?: string;
}

function get(port: number, path: string, client: Client, tls = true): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = client.auth ? { authorization: `Basic ${Buffer.from(client.auth).toString('base64')}` } : {};
    const options = {
      host: '127.0.0.1',
      port,
      path,
      headers,
      agent: false as const,
      ...(tls
        ? {
            ca: client.ca ? readFileSync(client.ca) : undefined,
            cert: client.cert ? readFileSync(client.cert) : undefined,
            key: client.key ? readFileSync(client.key) : undefined,
            servername: 'localhost',
          }
        : {}),
    };
    const req = (tls ? httpsRequest : httpRequest)(options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        const peer = tls ? (res.socket as import('node:tls').TLSSocket).getPeerCertificate?.() : undefined;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, serial: peer?.serialNumber?.toUpperCase() });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
  res.end(`served ${req.url}\n`);
};

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

suite('createWebServer with a web configuration file', () => {
  let certs: CertDir;
  let ca: Pair;
  let server: Pair;
  let client: Pair;
  let stranger: Pair;
  let hash: string;
  const servers: Server[] = [];

  beforeAll(() => {
    certs = certDir();
    ca = certs.ca('ca');
    server = certs.leaf('server', ca, { san: 'IP:127.0.0.1,DNS:localhost', usage: 'serverAuth' });
    client = certs.leaf('prometheus', ca, { usage: 'clientAuth' });
    stranger = certs.leaf('stranger', null, { usage: 'clientAuth' });
    hash = bcrypt.hashSync('s3cret', 4);
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });
  afterAll(() => certs?.remove());

  const start = async (yaml: string, name = 'web.yml'): Promise<{ port: number; file: string }> => {
    const file = join(certs.dir, name);
    writeFileSync(file, yaml);
    const s = createWebServer(handler, openWebConfig(file, silentLogger()));
    servers.push(s);
    return { port: await listen(s), file };
  };
  const tlsYaml = (extra = '') => `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n${extra}`;

  it('RequireAndVerifyClientCert: a certificate from the client CA gets in, none or a stranger does not', async () => {
    const { port } = await start(tlsYaml('  client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n'));
    const ok = await get(port, '/metrics', { ca: ca.cert, ...client });
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('served /metrics\n');
    await expect(get(port, '/metrics', { ca: ca.cert })).rejects.toThrow();
    await expect(get(port, '/metrics', { ca: ca.cert, ...stranger })).rejects.toThrow();
  });

  it('RequireAnyClientCert takes any certificate but not none; VerifyClientCertIfGiven takes none but not a stranger', async () => {
    const any = await start(tlsYaml('  client_auth_type: RequireAnyClientCert\n'), 'any.yml');
    expect((await get(any.port, '/', { ca: ca.cert, ...stranger })).status).toBe(200);
    await expect(get(any.port, '/', { ca: ca.cert })).rejects.toThrow();
    const ifGiven = await start(tlsYaml('  client_ca_file: ca.crt\n  client_auth_type: VerifyClientCertIfGiven\n'), 'ifgiven.yml');
    expect((await get(ifGiven.port, '/', { ca: ca.cert })).status).toBe(200);
    expect((await get(ifGiven.port, '/', { ca: ca.cert, ...client })).status).toBe(200);
    await expect(get(ifGiven.port, '/', { ca: ca.cert, ...stranger })).rejects.toThrow();
  });

  it('basic auth: 401 with a Basic challenge without or with wrong credentials; the configured headers on every answer', async () => {
    const { port } = await start(tlsYaml(`http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\nbasic_auth_users:\n  prometheus: ${hash}\n`));
    const none = await get(port, '/metrics', { ca: ca.cert });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Basic');
    expect(none.headers['x-content-type-options']).toBe('nosniff');
    expect(none.body).not.toContain('served');
    expect((await get(port, '/metrics', { ca: ca.cert, auth: 'prometheus:wrong' })).status).toBe(401);
    expect((await get(port, '/metrics', { ca: ca.cert, auth: 'nobody:s3cret' })).status).toBe(401);
    const ok = await get(port, '/metrics', { ca: ca.cert, auth: 'prometheus:s3cret' });
    expect(ok.status).toBe(200);
    expect(ok.headers['x-content-type-options']).toBe('nosniff');
  });

  it('basic auth without TLS works too (exporter-toolkit allows it)', async () => {
    const { port } = await start(`basic_auth_users:\n  prometheus: ${hash}\n`, 'plain.yml');
    expect((await get(port, '/', {}, false)).status).toBe(401);
    expect((await get(port, '/', { auth: 'prometheus:s3cret' }, false)).status).toBe(200);
  });

  it('a certificate rotated on disk is served on the next connection, without a restart', async () => {
    // cert-manager's Secret volume: the files are replaced under the same names.
    copyFileSync(server.cert, join(certs.dir, 'live.crt'));
    copyFileSync(server.key, join(certs.dir, 'live.key'));
    const { port } = await start('tls_server_config:\n  cert_file: live.crt\n  key_file: live.key\n', 'rotate.yml');
    const before = await get(port, '/', { ca: ca.cert });
    expect(before.serial).toBe(certs.serial(server.cert));

    const renewed = certs.leaf('server-renewed', ca, { san: 'IP:127.0.0.1,DNS:localhost', usage: 'serverAuth' });
    copyFileSync(renewed.key, join(certs.dir, 'live.key.new'));
    copyFileSync(renewed.cert, join(certs.dir, 'live.crt.new'));
    renameSync(join(certs.dir, 'live.key.new'), join(certs.dir, 'live.key'));
    renameSync(join(certs.dir, 'live.crt.new'), join(certs.dir, 'live.crt'));
    const after = await get(port, '/', { ca: ca.cert });
    expect(after.status).toBe(200);
    expect(after.serial).toBe(certs.serial(renewed.cert));
    expect(after.serial).not.toBe(before.serial);
  });

  it('a rotation first noticed by a request on an older connection is still served to the next connection', async () => {
    copyFileSync(server.cert, join(certs.dir, 'kept.crt'));
    copyFileSync(server.key, join(certs.dir, 'kept.key'));
    const { port } = await start('tls_server_config:\n  cert_file: kept.crt\n  key_file: kept.key\n', 'kept.yml');
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(ca.cert) });
    try {
      const onKept = (): Promise<string | undefined> =>
        new Promise((resolve, reject) => {
          httpsRequest({ host: '127.0.0.1', port, path: '/', agent, servername: 'localhost' }, (res) => {
            // Read now: a kept-alive socket goes back to the agent at the end.
            const serial = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().serialNumber?.toUpperCase();
            res.resume();
            res.on('end', () => resolve(serial));
          })
            .on('error', reject)
            .end();
        });
      expect(await onKept()).toBe(certs.serial(server.cert));
      const renewed = certs.leaf('server-kept-renewed', ca, { san: 'IP:127.0.0.1,DNS:localhost', usage: 'serverAuth' });
      copyFileSync(renewed.cert, join(certs.dir, 'kept.crt'));
      copyFileSync(renewed.key, join(certs.dir, 'kept.key'));
      // The kept-alive connection's request notices the change (its own certificate cannot change).
      expect(await onKept()).toBe(certs.serial(server.cert));
      expect((await get(port, '/', { ca: ca.cert })).serial).toBe(certs.serial(renewed.cert));
    } finally {
      agent.destroy();
    }
  });

  it('a changed file takes effect on the next request; a broken one keeps the last good configuration', async () => {
    const { port, file } = await start(tlsYaml(), 'change.yml');
    expect((await get(port, '/', { ca: ca.cert })).status).toBe(200);
    writeFileSync(file, tlsYaml(`basic_auth_users:\n  prometheus: ${hash}\n`));
    expect((await get(port, '/', { ca: ca.cert })).status).toBe(401);
    writeFileSync(file, tlsYaml('basic_auth_users:\n  prometheus: not-a-hash\n'));
    // Still the last good one: authentication stays on.
    expect((await get(port, '/', { ca: ca.cert })).status).toBe(401);
    expect((await get(port, '/', { ca: ca.cert, auth: 'prometheus:s3cret' })).status).toBe(200);
  });
});

describe('createBasicAuth', () => {
  it('verifies once per (user, hash, password): later scrapes cost no bcrypt', async () => {
    const hash = bcrypt.hashSync('pw', 4);
    const users = new Map([['prom', hash]]);
    const header = (cred: string) => `Basic ${Buffer.from(cred).toString('base64')}`;
    const compare = vi.spyOn(bcrypt, 'compare');
    try {
      const check = createBasicAuth();
      const first = await Promise.all([check(users, header('prom:pw')), check(users, header('prom:pw'))]);
      expect(first).toEqual([true, true]);
      for (let i = 0; i < 10; i++) expect(await check(users, header('prom:pw'))).toBe(true);
      expect(compare).toHaveBeenCalledTimes(1);
      expect(await check(users, header('prom:nope'))).toBe(false);
      expect(await check(users, header('ghost:pw'))).toBe(false);
      expect(await check(users, undefined)).toBe(false);
      expect(await check(users, 'Bearer abc')).toBe(false);
      expect(compare).toHaveBeenCalledTimes(3);
    } finally {
      compare.mockRestore();
    }
  });
});
