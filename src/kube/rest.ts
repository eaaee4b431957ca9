// Plain Kubernetes REST calls, authenticated by client-node's KubeConfig
// (bearer tokens, exec plugins, client certificates, CA, proxies) and sent
// with the same undici dispatcher client-node's own Watch uses.
//
// Why not client-node's generated API classes: they deserialize every object
// into model instances (a second, fatter copy of each Service and
// EndpointSlice), and importing them loads tens of megabytes of generated
// code. routewarden needs three paged LISTs and one POST; the objects go
// straight from JSON into the translated index (docs/performance.md).

import { HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { fetch } from 'undici';

/** A non-2xx answer; `body` is the apiserver's Status (text), read by describeKubeError. */
export class KubeHttpError extends Error {
  readonly statusCode: number;
  readonly body: string;

  constructor(statusCode: number, statusText: string, body: string) {
    super(statusText || `HTTP ${statusCode}`);
    this.name = 'KubeHttpError';
    this.statusCode = statusCode;
    this.body = body;
  }
}

export interface KubeRequest {
  readonly method?: 'GET' | 'POST';
  /** Path below the cluster's server URL, e.g. /api/v1/services. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly body?: unknown;
  readonly signal?: AbortSignal;
}

/** The request URL for `path` and `query` on the current cluster. */
function kubeUrl(kubeConfig: KubeConfig, path: string, query: Readonly<Record<string, string | undefined>> = {}): URL {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in the kubeconfig');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
  return url;
}

/** Sends one request and returns the parsed JSON answer; throws KubeHttpError on a non-2xx status. */
export async function kubeRequest(kubeConfig: KubeConfig, req: KubeRequest): Promise<unknown> {
  const url = kubeUrl(kubeConfig, req.path, req.query);
  const method = req.method ?? 'GET';
  const ctx = new RequestContext(url.toString(), method === 'POST' ? HttpMethod.POST : HttpMethod.GET);
  await kubeConfig.applySecurityAuthentication(ctx);
  const headers: Record<string, string> = { ...ctx.getHeaders(), accept: 'application/json' };
  if (req.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, {
    method,
    headers,
    ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
    ...(ctx.getDispatcher() ? { dispatcher: ctx.getDispatcher() } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
  });
  if (res.status < 200 || res.status > 299) throw new KubeHttpError(res.status, res.statusText, await res.text().catch(() => ''));
  return res.json();
}
