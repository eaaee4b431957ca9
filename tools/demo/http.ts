// A small GET client for the demo's own narration: it reads /drift and
// /metrics over real HTTP, exactly what a browser or Prometheus gets, over TCP
// or over the Unix socket the service listens on inside a network namespace.

import { request } from 'node:http';

export type HttpTarget = { readonly socketPath: string } | { readonly host: string; readonly port: number };

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

export function httpGet(target: HttpTarget, path: string, timeoutMs = 5_000): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const where = 'socketPath' in target ? { socketPath: target.socketPath } : { host: target.host, port: target.port };
    const req = request({ ...where, path, method: 'GET', timeout: timeoutMs, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer in ${timeoutMs} ms`)));
    req.on('error', (err) => reject(new Error(`GET ${path}: ${err.message}`, { cause: err })));
    req.end();
  });
}

/** Where a client on this host reaches a server bound to `host` (wildcards mean loopback). */
export function clientHost(host: string | undefined): string {
  if (host === undefined || host === '' || host === '::') return '::1';
  if (host === '0.0.0.0') return '127.0.0.1';
  return host;
}

/** The base URL a person types for a server bound to host:port. */
export function baseUrl(host: string | undefined, port: number): string {
  const wildcard = host === undefined || host === '' || host === '::' || host === '0.0.0.0';
  const h = wildcard ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}
