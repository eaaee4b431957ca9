// The Kubernetes transport (src/kube/rest.ts) against real local servers:
// what client-node's KubeConfig puts on a request (CA, client certificate,
// bearer token) reaches an HTTPS server that demands them; a server the CA
// does not vouch for is refused; a watch's lines are split and joined right
// whatever the chunking (even inside a UTF-8 character), a line that is not
// JSON is skipped, a last line without its newline counts; silence ends a
// watch with a TimeoutError, a non-200 answer with its status; an abort
// rejects with the signal's reason; a server URL with credentials is refused
// before any request.

import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeHttpError, kubeRequest, kubeWatch } from '../../src/kube/rest.ts';
import { certDir, opensslBinary, type CertDir, type Pair } from '../helpers/certs.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const servers: Server[] = [];
async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections?.();
    await new Promise((resolve) => s.close(resolve));
  }
});

function kubeConfig(server: string, user: Record<string, string> = {}, cluster: Record<string, unknown> = { skipTLSVerify: true }): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, ...cluster }],
    users: [{ name: 'u', ...user }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

async function httpServer(handler: Handler): Promise<string> {
  return `http://127.0.0.1:${await listen(createHttpServer(handler))}`;
}

interface Watched {
  readonly events: Array<[string, unknown]>;
  readonly done: Promise<unknown>;
  readonly controller: AbortController;
}

async function watchOnce(server: string, idleMs = 5_000): Promise<Watched> {
  const events: Array<[string, unknown]> = [];
  let settle!: (err: unknown) => void;
  const done = new Promise<unknown>((resolve) => (settle = resolve));
  let calls = 0;
  const controller = await kubeWatch(
    kubeConfig(server),
    { path: '/api/v1/services', query: { resourceVersion: '7', allowWatchBookmarks: true, timeoutSeconds: 300 }, idleMs },
    (type, obj) => events.push([type, obj]),
    (err) => {
      calls++;
      if (calls > 1) throw new Error('onDone called twice');
      settle(err);
    },
  );
  return { events, done, controller };
}

const line = (type: string, name: string): string => `${JSON.stringify({ type, object: { metadata: { name } } })}\n`;

describe('kubeRequest and kubeWatch over TLS, with what the kubeconfig gives', () => {
  const haveOpenssl = opensslBinary() !== null;
  let certs: CertDir;
  let ca: Pair;
  let client: Pair;
  let server: string;
  let seen: { authorization?: string; clientCN?: string; accept?: string } = {};

  beforeAll(async () => {
    if (!haveOpenssl) return;
    certs = certDir();
    ca = certs.ca('ca');
    const leaf = certs.leaf('apiserver', ca, { san: 'IP:127.0.0.1', usage: 'serverAuth' });
    client = certs.leaf('node-agent', ca, { usage: 'clientAuth' });
    const tls = createHttpsServer(
      { cert: readFileSync(leaf.cert), key: readFileSync(leaf.key), ca: readFileSync(ca.cert), requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        seen = {
          authorization: req.headers.authorization,
          accept: req.headers.accept,
          clientCN: (req.socket as TLSSocket).getPeerCertificate().subject?.CN as string | undefined,
        };
        if (req.url?.includes('watch=true')) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(line('ADDED', 'a'));
        } else {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ kind: 'ServiceList', items: [{ metadata: { name: 'a' } }] }));
        }
      },
    );
    server = `https://127.0.0.1:${await listen(tls)}`;
  });
  afterAll(() => certs?.remove());

  const b64 = (file: string): string => readFileSync(file).toString('base64');
  const verified = (): KubeConfig =>
    kubeConfig(server, { token: 'sha256~t0ken', certData: b64(client.cert), keyData: b64(client.key) }, { caData: b64(ca.cert) });

  it.skipIf(!haveOpenssl)('a LIST carries the bearer token and the client certificate, and trusts the kubeconfig CA', async () => {
    const list = (await kubeRequest(verified(), { path: '/api/v1/services', query: { limit: '500', continue: undefined } })) as { items: unknown[] };
    expect(list.items).toEqual([{ metadata: { name: 'a' } }]);
    expect(seen).toEqual({ authorization: 'Bearer sha256~t0ken', accept: 'application/json', clientCN: 'node-agent' });
  });

  it.skipIf(!haveOpenssl)('a watch over the same TLS delivers its event and ends cleanly', async () => {
    const kc = verified();
    const events: Array<[string, unknown]> = [];
    const done = new Promise<unknown>((resolve) => {
      void kubeWatch(kc, { path: '/api/v1/services', query: {}, idleMs: 5_000 }, (t, o) => events.push([t, o]), resolve);
    });
    expect(await done).toBeNull();
    expect(events).toEqual([['ADDED', { metadata: { name: 'a' } }]]);
    expect(seen.clientCN).toBe('node-agent');
  });

  it.skipIf(!haveOpenssl)('a server certificate the kubeconfig CA did not sign is refused', async () => {
    const other = certs.ca('other-ca');
    const kc = kubeConfig(server, { token: 'x', certData: b64(client.cert), keyData: b64(client.key) }, { caData: b64(other.cert) });
    await expect(kubeRequest(kc, { path: '/api/v1/services' })).rejects.toThrow(/certificate/i);
  });
});

describe('kubeWatch reads the stream as the apiserver writes it', () => {
  it('joins lines split across chunks (also inside a UTF-8 character), skips a line that is not JSON, and counts a last line without its newline', async () => {
    const euro = line('MODIFIED', 'price-€');
    const bytes = Buffer.from(line('ADDED', 'a') + euro + 'not json\n' + line('DELETED', 'b').trimEnd());
    // Cut inside the euro sign's three bytes, and inside the first line.
    const cut = Buffer.from(line('ADDED', 'a') + euro.slice(0, euro.indexOf('€'))).length + 1;
    const server = await httpServer((req, res) => {
      expect(new URL(req.url!, 'http://x').searchParams.get('watch')).toBe('true');
      res.writeHead(200);
      res.write(bytes.subarray(0, 10));
      setTimeout(() => {
        res.write(bytes.subarray(10, cut));
        setTimeout(() => res.end(bytes.subarray(cut)), 20);
      }, 20);
    });
    const w = await watchOnce(server);
    expect(await w.done).toBeNull();
    expect(w.events).toEqual([
      ['ADDED', { metadata: { name: 'a' } }],
      ['MODIFIED', { metadata: { name: 'price-€' } }],
      ['DELETED', { metadata: { name: 'b' } }],
    ]);
  });

  it('passes the query and watch=true', async () => {
    let query: URLSearchParams | undefined;
    const server = await httpServer((req, res) => {
      query = new URL(req.url!, 'http://x').searchParams;
      res.end();
    });
    const w = await watchOnce(server);
    await w.done;
    expect(Object.fromEntries(query!)).toEqual({ watch: 'true', resourceVersion: '7', allowWatchBookmarks: 'true', timeoutSeconds: '300' });
  });

  it('a watch silent for idleMs after its headers ends with a TimeoutError, and every byte resets the bound', async () => {
    const server = await httpServer((_req, res) => {
      res.writeHead(200);
      // Three bookmarks 100 ms apart keep a 250 ms bound alive; then silence.
      let n = 0;
      const tick = setInterval(() => {
        res.write(line('BOOKMARK', `b${n}`));
        if (++n === 3) clearInterval(tick);
      }, 100);
    });
    const started = Date.now();
    const w = await watchOnce(server, 250);
    const err = (await w.done) as Error;
    expect(err.name).toBe('TimeoutError');
    expect(w.events.map(([t]) => t)).toEqual(['BOOKMARK', 'BOOKMARK', 'BOOKMARK']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300 + 250 - 50);
  });

  it('a non-200 answer ends the watch with its status code', async () => {
    const server = await httpServer((_req, res) => {
      res.writeHead(410, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', code: 410, reason: 'Expired' }));
    });
    const w = await watchOnce(server);
    expect(await w.done).toMatchObject({ statusCode: 410, message: 'Gone' });
  });

  it('a connection cut in the middle of the stream is an error, not a clean end', async () => {
    const server = await httpServer((req, res) => {
      res.writeHead(200);
      res.write(line('ADDED', 'a') + '{"type":"ADD');
      setTimeout(() => req.socket.destroy(), 20);
    });
    const w = await watchOnce(server);
    const err = await w.done;
    expect(err).toBeInstanceOf(Error);
    expect(w.events).toHaveLength(1);
  });

  it("the caller's abort ends it quietly (null), once", async () => {
    const server = await httpServer((_req, res) => {
      res.writeHead(200);
      res.write(line('ADDED', 'a'));
    });
    const w = await watchOnce(server);
    w.controller.abort();
    expect(await w.done).toBeNull();
  });

  it('a refused connection ends it with the socket error', async () => {
    const port = await listen(createHttpServer());
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const w = await watchOnce(`http://127.0.0.1:${port}`);
    expect(String(((await w.done) as Error).message)).toMatch(/ECONNREFUSED/);
  });
});

describe('kubeRequest', () => {
  it('a non-2xx answer is a KubeHttpError carrying the Status body', async () => {
    const server = await httpServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', reason: 'Forbidden', message: 'services is forbidden' }));
    });
    const err = (await kubeRequest(kubeConfig(server), { path: '/api/v1/services' }).catch((e: unknown) => e)) as KubeHttpError;
    expect(err).toBeInstanceOf(KubeHttpError);
    expect(err.statusCode).toBe(403);
    expect(JSON.parse(err.body)).toMatchObject({ reason: 'Forbidden' });
  });

  it('a POST sends its JSON body with its length', async () => {
    let got: { method?: string; type?: string; length?: string; body?: string } = {};
    const server = await httpServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        got = { method: req.method, type: req.headers['content-type'], length: req.headers['content-length'], body };
        res.writeHead(201);
        res.end('{"ok":true}');
      });
    });
    expect(await kubeRequest(kubeConfig(server), { method: 'POST', path: '/api/v1/namespaces/d/events', body: { note: 'ünïcode' } })).toEqual({ ok: true });
    expect(got).toEqual({ method: 'POST', type: 'application/json', length: String(Buffer.byteLength('{"note":"ünïcode"}')), body: '{"note":"ünïcode"}' });
  });

  it("an abort (a LIST's timeout) rejects with the signal's reason, before and after the headers", async () => {
    const hung = await httpServer(() => undefined);
    await expect(kubeRequest(kubeConfig(hung), { path: '/api/v1/services', signal: AbortSignal.timeout(100) })).rejects.toMatchObject({ name: 'TimeoutError' });
    const slowBody = await httpServer((_req, res) => {
      res.writeHead(200);
      res.write('{"items":[');
    });
    await expect(kubeRequest(kubeConfig(slowBody), { path: '/api/v1/services', signal: AbortSignal.timeout(150) })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
  });

  it('a body cut short is an error, not a truncated answer', async () => {
    const server = await httpServer((req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('{"items":[');
      setTimeout(() => req.socket.destroy(), 20);
    });
    await expect(kubeRequest(kubeConfig(server), { path: '/api/v1/services' })).rejects.toBeInstanceOf(Error);
  });

  it('a server URL with credentials is refused before any request, without repeating them', async () => {
    let requests = 0;
    const server = await httpServer((_req, res) => {
      requests++;
      res.end('{}');
    });
    const withCreds = server.replace('http://', 'http://admin:s3cret@');
    const err = (await kubeRequest(kubeConfig(withCreds), { path: '/api/v1/services' }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/server URL carries credentials/);
    expect(err.message).not.toContain('s3cret');
    await expect(
      kubeWatch(
        kubeConfig(withCreds),
        { path: '/api/v1/services', query: {}, idleMs: 1000 },
        () => undefined,
        () => undefined,
      ),
    ).rejects.toThrow(/server URL carries credentials/);
    expect(requests).toBe(0);
  });
});
