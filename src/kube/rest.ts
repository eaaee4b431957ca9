// Plain Kubernetes REST calls and watches over Node's own http/https,
// authenticated and routed by client-node's KubeConfig.applyToHTTPSOptions
// (bearer tokens, exec plugins, basic auth, client certificates, CA,
// tls-server-name, skip-verify, HTTP and SOCKS proxies: client-node builds the
// request options and the agent, cached per cluster and user).
//
// Why not client-node's generated API classes: they deserialize every object
// into model instances (a second, fatter copy of each Service and
// EndpointSlice), and importing them loads tens of megabytes of generated
// code. routewarden needs paged LISTs, watches and one POST; the objects go
// straight from JSON into the translated index.
//
// Why not client-node's fetch path (undici's fetch, and its Watch built on
// it): undici parses HTTP with llhttp compiled to WebAssembly and streams
// bodies through WHATWG streams. In the DaemonSet's process that costs the
// WebAssembly compiler's code and code space, undici's objects and the
// streams' garbage at every watch event: at 10,000 Services, 8 MB of RSS
// after sync and 9 MB of the maximum under churn (docs/performance.md, round
// eight). This file is the HTTP exchange only; what the request carries, and
// how it reaches the server, is client-node's.

import { request as httpRequest, STATUS_CODES, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** A non-2xx answer; `body` is the apiserver's Status (text), read by describeKubeError. */
export class KubeHttpError extends Error {
  readonly statusCode: number;
  readonly body: string;

  constructor(statusCode: number, statusText: string, body: string) {
    super(statusText || STATUS_CODES[statusCode] || `HTTP ${statusCode}`);
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
  // Node would send them as basic auth; credentials belong in the kubeconfig's user (and never in a message).
  if (url.username !== '' || url.password !== '')
    throw new Error("the cluster's server URL carries credentials (user:password@); give them in the kubeconfig's user instead");
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`the cluster's server URL must be https:// or http://, not ${url.protocol}//`);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
  return url;
}

/**
 * Sends a request and resolves with the response once its headers are in.
 * An abort by `signal` rejects with the signal's reason (a TimeoutError for
 * AbortSignal.timeout), before or after the headers.
 */
async function open(
  kubeConfig: KubeConfig,
  url: URL,
  method: 'GET' | 'POST',
  body: string | undefined,
  signal: AbortSignal | undefined,
): Promise<IncomingMessage> {
  const opts: RequestOptions = { method, headers: { accept: 'application/json' } };
  await kubeConfig.applyToHTTPSOptions(opts);
  if (body !== undefined) opts.headers = { ...opts.headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
  signal?.throwIfAborted();
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, opts);
    const onAbort = (): void => {
      req.destroy();
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.once('close', () => signal?.removeEventListener('abort', onAbort));
    req.once('error', (err) => reject(signal?.aborted ? signal.reason : err));
    req.once('response', resolve);
    req.end(body);
  });
}

/** The whole body as text; rejects when the connection fails or `signal` aborts first. */
async function readText(res: IncomingMessage, signal: AbortSignal | undefined): Promise<string> {
  const chunks: Buffer[] = [];
  try {
    // Iterating rejects on an error and on a connection closed before the end.
    for await (const chunk of res) chunks.push(chunk as Buffer);
  } catch (err) {
    throw signal?.aborted ? signal.reason : err;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Sends one request and returns the parsed JSON answer; throws KubeHttpError on a non-2xx status. */
export async function kubeRequest(kubeConfig: KubeConfig, req: KubeRequest): Promise<unknown> {
  const url = kubeUrl(kubeConfig, req.path, req.query);
  const body = req.body !== undefined ? JSON.stringify(req.body) : undefined;
  const res = await open(kubeConfig, url, req.method ?? 'GET', body, req.signal);
  const status = res.statusCode ?? 0;
  if (status < 200 || status > 299) throw new KubeHttpError(status, res.statusMessage ?? '', await readText(res, req.signal).catch(() => ''));
  return JSON.parse(await readText(res, req.signal)) as unknown;
}

export interface KubeWatchRequest {
  /** The collection's path; `watch=true` is added. */
  readonly path: string;
  readonly query: Readonly<Record<string, string | number | boolean | undefined>>;
  /** Bounds the connect and, once open, the silence between two bytes: the request is aborted with a TimeoutError. */
  readonly idleMs: number;
}

/**
 * One watch request. `onEvent` gets each event line's type and object (a line
 * that is not JSON is skipped); `onDone` is called once: null when the server
 * ends the stream, else the error (a TimeoutError DOMException after
 * `idleMs` of silence, a KubeHttpError for a non-200 answer).
 * Resolves with the controller that closes it, once the headers are in or
 * it failed; throws only before any request (no current cluster, a refused
 * URL).
 */
export async function kubeWatch(
  kubeConfig: KubeConfig,
  watch: KubeWatchRequest,
  onEvent: (type: string, obj: unknown) => void,
  onDone: (err: unknown) => void,
): Promise<AbortController> {
  const query: Record<string, string> = { watch: 'true' };
  for (const [k, v] of Object.entries(watch.query)) if (v !== undefined) query[k] = String(v);
  const url = kubeUrl(kubeConfig, watch.path, query);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = (): void => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  const resetTimer = (): void => {
    clearTimeout(timer);
    timer = setTimeout(timeout, watch.idleMs);
    timer.unref();
  };
  let done = false;
  const finish = (err: unknown): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    if (!controller.signal.aborted) controller.abort();
    onDone(err);
  };
  resetTimer();
  let res: IncomingMessage;
  try {
    res = await open(kubeConfig, url, 'GET', undefined, controller.signal);
  } catch (err) {
    finish(err);
    return controller;
  }
  if (res.statusCode !== 200) {
    res.destroy();
    finish(new KubeHttpError(res.statusCode ?? 0, res.statusMessage ?? '', ''));
    return controller;
  }
  // The connect timeout is over; from here on it bounds the silence.
  resetTimer();
  controller.signal.addEventListener('abort', () => {
    res.destroy();
    // Our own abort (the caller's, or the idle timeout) ends the watch with its reason; null for the caller's plain abort().
    const reason: unknown = controller.signal.reason;
    finish(reason instanceof DOMException && reason.name === 'TimeoutError' ? reason : null);
  });
  res.setEncoding('utf8');
  let pending = '';
  /** Hands every complete line of `pending` + `chunk` to onEvent; keeps the incomplete rest. */
  const consume = (chunk: string): void => {
    pending += chunk;
    let start = 0;
    for (let nl = pending.indexOf('\n'); nl >= 0 && !done; nl = pending.indexOf('\n', start)) {
      const line = pending.slice(start, nl);
      start = nl + 1;
      let event: { type?: unknown; object?: unknown } | null = null;
      try {
        event = JSON.parse(line) as { type?: unknown; object?: unknown } | null;
      } catch {
        // Not JSON (a blank line, a torn proxy answer): skipped, as client-node's Watch did.
      }
      if (event !== null && typeof event === 'object' && typeof event.type === 'string') onEvent(event.type, event.object);
    }
    pending = start === 0 ? pending : pending.slice(start);
  };
  res.on('data', (chunk: string) => {
    resetTimer();
    consume(chunk);
  });
  res.once('end', () => {
    // A last line without its newline still counts.
    if (pending !== '') consume('\n');
    finish(null);
  });
  res.once('error', (err) => finish(controller.signal.aborted ? null : err));
  res.once('close', () => finish(null));
  return controller;
}
