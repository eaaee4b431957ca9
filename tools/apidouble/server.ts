// The HTTP side of the API double: Kubernetes REST paths, list, get, writes,
// streamed watches and discovery, plus the hooks fault injection needs. Kept
// free of listening and lifecycle so it can be driven by any http.Server.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiGroup, apiGroupList, apiVersions, resourceList, SERVER_VERSION } from './discovery.ts';
import { openApiV3, openApiV3Root, unknownFields } from './openapi.ts';
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from './patch.ts';
import { decodeKubernetesProtobuf, PROTOBUF, ProtobufError } from './protobuf.ts';
import { groupVersion, resourceByPath, type ResourceDef, type ResourceId } from './resources.ts';
import { parseFieldSelector, parseLabelSelector, SelectorError, type Matcher } from './selectors.ts';
import type { Counters, Verb } from './stats.ts';
import { StoreError, type KubeObject, type Store, type WatchEventType, type WatchFilter } from './store.ts';
import { toTable, wantsTable } from './tables.ts';

const MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * How an outage fails requests: `unavailable` answers 503 (an apiserver
 * without etcd), `reset` drops the connection, `refuse` stops listening (a
 * dead apiserver), `hang` accepts and never answers (a black-holed network).
 */
export type OutageMode = 'unavailable' | 'reset' | 'refuse' | 'hang';

export interface InjectedFailure {
  readonly status: number;
  remaining: number;
}

/** Mutable fault state, owned by the facade and read on every request. */
export interface FaultState {
  outage: OutageMode | null;
  readonly failLists: Map<ResourceId, InjectedFailure>;
  readonly failWatches: Map<ResourceId, InjectedFailure>;
  /** Watches of these resources answer 200 and then send nothing at all: no event, no bookmark, no end. */
  readonly silentWatches: Set<ResourceId>;
}

/** One open watch stream. */
export interface WatchSession {
  readonly resource: ResourceId;
  /** Ends the stream cleanly, as the apiserver does at timeoutSeconds. */
  end(): void;
  /** Cuts the connection, as a network failure or a crashed apiserver does. */
  destroy(): void;
}

export interface HandlerContext {
  readonly store: Store;
  readonly faults: FaultState;
  readonly counters: Counters;
  readonly watches: Set<WatchSession>;
  readonly bookmarkIntervalMs: number;
}

type Route =
  | { readonly kind: 'doc'; readonly body: object }
  | {
      readonly kind: 'resource';
      readonly res: ResourceDef;
      readonly namespace: string | undefined;
      readonly name: string | undefined;
      readonly sub: string | undefined;
      readonly watchPath: boolean;
    };

class HttpError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: object | undefined;
  constructor(code: number, reason: string, message: string, details?: object) {
    super(message);
    this.name = 'HttpError';
    this.code = code;
    this.reason = reason;
    this.details = details;
  }
}

export function statusObject(code: number, reason: string, message: string, details?: object): object {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

const REASON_BY_CODE: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  410: 'Gone',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export const reasonForCode = (code: number): string => REASON_BY_CODE[code] ?? 'Unknown';

function sendJson(res: ServerResponse, code: number, body: object | string): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendStatus(res: ServerResponse, code: number, message: string, reason = reasonForCode(code), details?: object): void {
  sendJson(res, code, statusObject(code, reason, message, details));
}

/** Maps a URL path onto discovery documents or a resource reference. */
function route(pathname: string, host: string): Route | undefined {
  const segs = pathname
    .split('/')
    .filter((s) => s !== '')
    .map(decodeURIComponent);
  if (segs.length === 1 && segs[0] === 'version') return { kind: 'doc', body: SERVER_VERSION };
  if (segs[0] === 'openapi' && segs[1] === 'v3') {
    if (segs.length === 2) return { kind: 'doc', body: openApiV3Root() };
    const gv = segs[2] === 'api' && segs.length === 4 ? segs[3]! : segs[2] === 'apis' && segs.length === 5 ? `${segs[3]}/${segs[4]}` : undefined;
    const doc = gv === undefined ? undefined : openApiV3(gv);
    return doc ? { kind: 'doc', body: doc } : undefined;
  }
  let gv: string;
  let rest: string[];
  if (segs[0] === 'api') {
    if (segs.length === 1) return { kind: 'doc', body: apiVersions(host) };
    if (segs[1] !== 'v1') return undefined;
    gv = 'v1';
    rest = segs.slice(2);
  } else if (segs[0] === 'apis') {
    if (segs.length === 1) return { kind: 'doc', body: apiGroupList() };
    if (segs.length === 2) {
      const g = apiGroup(segs[1] ?? '');
      return g ? { kind: 'doc', body: g } : undefined;
    }
    gv = `${segs[1]}/${segs[2]}`;
    rest = segs.slice(3);
  } else {
    return undefined;
  }
  if (rest.length === 0) {
    const list = resourceList(gv);
    return list ? { kind: 'doc', body: list } : undefined;
  }
  const watchPath = rest[0] === 'watch';
  if (watchPath) rest = rest.slice(1);
  let namespace: string | undefined;
  // `/api/v1/namespaces/x` is the Namespace x; `/api/v1/namespaces/x/services` is a namespaced collection.
  const inner = rest.length >= 3 && rest[0] === 'namespaces' ? resourceByPath(gv, rest[2] ?? '') : undefined;
  if (inner?.namespaced) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length > 3) return undefined;
  const res = resourceByPath(gv, rest[0] ?? '');
  if (!res) return undefined;
  const [, name, sub] = rest;
  if (sub !== undefined && !res.subresources.includes(sub)) return undefined;
  if (res.namespaced && name !== undefined && namespace === undefined) return undefined;
  return { kind: 'resource', res, namespace, name, sub, watchPath };
}

function verbOf(method: string, r: Extract<Route, { kind: 'resource' }>, query: URLSearchParams): Verb | undefined {
  const watchParam = query.get('watch');
  const watch = r.watchPath || watchParam === 'true' || watchParam === '1';
  switch (method) {
    case 'GET':
      if (watch) return r.sub === undefined ? 'WATCH' : undefined;
      return r.name === undefined ? 'LIST' : 'GET';
    case 'POST':
      return r.name === undefined ? 'CREATE' : undefined;
    case 'PUT':
      return r.name !== undefined ? 'UPDATE' : undefined;
    case 'PATCH':
      return r.name !== undefined ? 'PATCH' : undefined;
    case 'DELETE':
      return r.name !== undefined && r.sub === undefined ? 'DELETE' : undefined;
    default:
      return undefined;
  }
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'RequestEntityTooLarge', `request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(buf);
  }
  const raw = Buffer.concat(chunks);
  if ((req.headers['content-type'] ?? '').split(';')[0]?.trim() === PROTOBUF && raw.length > 0) {
    try {
      return decodeKubernetesProtobuf(raw);
    } catch (err) {
      if (err instanceof ProtobufError) throw new HttpError(415, 'UnsupportedMediaType', err.message);
      throw err;
    }
  }
  const text = raw.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, 'BadRequest', `request body is not JSON: ${(err as Error).message}`);
  }
}

const isObject = (v: unknown): v is KubeObject => v !== null && typeof v === 'object' && !Array.isArray(v);

function requireObject(body: unknown): KubeObject {
  if (!isObject(body)) throw new HttpError(400, 'BadRequest', 'request body must be a JSON object');
  return body;
}

/** The request's selectors; `selective` when any is given (a named object's watch included). */
function matcher(query: URLSearchParams, r: Extract<Route, { kind: 'resource' }>): { labels: Matcher; fields: Matcher; selective: boolean } {
  const labels = parseLabelSelector(query.get('labelSelector'));
  const fieldSel = parseFieldSelector(query.get('fieldSelector'));
  // A watch on a named object (`/watch/.../services/web`) is a watch with metadata.name=web.
  const name = r.name;
  const fields: Matcher = name === undefined ? fieldSel : (o) => fieldSel(o) && (o as KubeObject).metadata?.name === name;
  const selective = Boolean(query.get('labelSelector') || query.get('fieldSelector') || name !== undefined);
  return { labels, fields, selective };
}

/** Injected failure for the next request of a kind, if any; consumes one. */
function takeFailure(map: Map<ResourceId, InjectedFailure>, id: ResourceId): number | undefined {
  const f = map.get(id);
  if (!f) return undefined;
  f.remaining--;
  if (f.remaining <= 0) map.delete(id);
  return f.status;
}

/** Serialises an item for a list response: items carry no apiVersion/kind, as the apiserver sends them. */
function listItemJson(o: KubeObject): string {
  const { apiVersion: _a, kind: _k, ...rest } = o;
  return JSON.stringify(rest);
}

interface ContinueToken {
  readonly after: string;
}

function decodeContinue(token: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (isObject(parsed) && typeof parsed.after === 'string') return { after: parsed.after };
  } catch {
    // fall through to the error below
  }
  throw new HttpError(400, 'BadRequest', `invalid continue token ${JSON.stringify(token)}`);
}

const itemKey = (o: KubeObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/** The index of the first item whose key sorts after `after` (items sorted by itemKey, as the store lists them). */
function firstAfter(items: readonly KubeObject[], after: string): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (itemKey(items[mid]!) > after) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

// A page costs its own items, not the collection: the start is found by
// binary search and the walk stops at the limit, so a paged LIST of 50,000
// objects is linear, not quadratic. As the apiserver does, remainingItemCount
// is given only without selectors (with them the number is unknown).
function serveList(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse, r: Extract<Route, { kind: 'resource' }>, query: URLSearchParams): void {
  const { labels, fields, selective } = matcher(query, r);
  const matches = (o: KubeObject): boolean => labels(o) && fields(o);
  const all = ctx.store.list(r.res, r.namespace);
  const cont = query.get('continue');
  const start = cont ? firstAfter(all, decodeContinue(cont).after) : 0;
  const rawLimit = Number(query.get('limit') ?? '0');
  const limit = Number.isInteger(rawLimit) && rawLimit > 0 ? rawLimit : Infinity;
  const items: KubeObject[] = [];
  let i = start;
  for (; i < all.length && items.length < limit; i++) {
    if (matches(all[i]!)) items.push(all[i]!);
  }
  // Another page only when another match follows.
  while (i < all.length && !matches(all[i]!)) i++;
  const meta: Record<string, unknown> = { resourceVersion: String(ctx.store.currentRv()) };
  if (i < all.length) {
    if (!selective) meta.remainingItemCount = all.length - i;
    const last = items[items.length - 1];
    if (last) meta.continue = Buffer.from(JSON.stringify({ after: itemKey(last) })).toString('base64url');
  }
  const table = wantsTable(req.headers.accept) ? toTable(r.res.id, items, String(meta.resourceVersion), Date.now()) : undefined;
  if (table) {
    sendJson(res, 200, { ...table, metadata: meta });
    return;
  }
  const head = `{"kind":${JSON.stringify(`${r.res.kind}List`)},"apiVersion":${JSON.stringify(groupVersion(r.res))},"metadata":${JSON.stringify(meta)},"items":[`;
  sendJson(res, 200, `${head}${items.map(listItemJson).join(',')}]}`);
}

function serveWatch(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse, r: Extract<Route, { kind: 'resource' }>, query: URLSearchParams): void {
  const rvParam = query.get('resourceVersion') ?? '';
  const fromStart = rvParam === '' || rvParam === '0';
  const fromRv = fromStart ? 0 : Number(rvParam);
  if (!fromStart && (!Number.isInteger(fromRv) || fromRv < 0)) {
    throw new HttpError(400, 'BadRequest', `invalid resourceVersion ${JSON.stringify(rvParam)}`);
  }
  const timeoutSeconds = Number(query.get('timeoutSeconds') ?? '0');
  const flag = (k: string): boolean => query.get(k) === 'true' || query.get(k) === '1';
  const bookmarks = flag('allowWatchBookmarks');
  const sendInitial = flag('sendInitialEvents');
  const { labels, fields } = matcher(query, r);
  const filter: WatchFilter = { namespace: r.namespace, labels, fields };
  const gv = groupVersion(r.res);

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
  if (ctx.faults.silentWatches.has(r.res.id)) {
    // A watch hung after its headers (a stuck proxy, a wedged apiserver): the socket stays open, nothing comes.
    const session: WatchSession = { resource: r.res.id, end: () => res.end(), destroy: () => req.socket.destroy() };
    ctx.watches.add(session);
    res.on('close', () => ctx.watches.delete(session));
    return;
  }
  const write = (type: WatchEventType | 'BOOKMARK' | 'ERROR', objectJson: string): void => {
    if (!res.writableEnded && !res.destroyed) res.write(`{"type":"${type}","object":${objectJson}}\n`);
  };

  if (!fromStart && !ctx.store.canResumeFrom(fromRv)) {
    // The apiserver answers an expired resourceVersion inside a 200 stream.
    const status = statusObject(410, 'Expired', `too old resource version: ${fromRv} (${ctx.store.oldestResumableRv()})`);
    write('ERROR', JSON.stringify(status));
    res.end();
    return;
  }

  const bookmark = (annotations?: Record<string, string>): void => {
    const meta = { resourceVersion: String(ctx.store.currentRv()), ...(annotations ? { annotations } : {}) };
    write('BOOKMARK', JSON.stringify({ kind: r.res.kind, apiVersion: gv, metadata: meta }));
  };

  if (fromStart || sendInitial) {
    // Synthetic ADDED for what exists, then live events: the store is single
    // threaded, so nothing can happen between the two.
    for (const o of ctx.store.list(r.res, r.namespace)) {
      if (labels(o) && fields(o)) write('ADDED', JSON.stringify(o));
    }
    if (sendInitial && bookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
  } else {
    ctx.store.replaySince(r.res.id, fromRv, filter, (type, _o, json) => write(type, json));
  }
  const unsubscribe = ctx.store.subscribe(r.res.id, filter, (type, _o, json) => write(type, json));

  const timers: NodeJS.Timeout[] = [];
  const session: WatchSession = {
    resource: r.res.id,
    end: () => {
      if (!res.writableEnded) res.end();
    },
    destroy: () => {
      req.socket.destroy();
    },
  };
  ctx.watches.add(session);
  const cleanup = (): void => {
    unsubscribe();
    for (const t of timers) clearTimeout(t);
    ctx.watches.delete(session);
  };
  res.on('close', cleanup);
  res.on('finish', cleanup);
  if (Number.isFinite(timeoutSeconds) && timeoutSeconds > 0) {
    timers.push(
      setTimeout(() => {
        if (bookmarks) bookmark();
        session.end();
      }, timeoutSeconds * 1000),
    );
  }
  if (bookmarks && ctx.bookmarkIntervalMs > 0) {
    const tick = (): void => {
      bookmark();
      timers.push(setTimeout(tick, ctx.bookmarkIntervalMs));
    };
    timers.push(setTimeout(tick, ctx.bookmarkIntervalMs));
  }
}

function keepStatusOnly(current: KubeObject, next: KubeObject): KubeObject {
  return { ...current, status: next.status };
}

function keepStoredStatus(r: ResourceDef, current: KubeObject | undefined, next: KubeObject): KubeObject {
  // Resources with a status subresource ignore status on the main resource, as the apiserver does.
  if (!current || !r.subresources.includes('status')) return next;
  const out: KubeObject = { ...next };
  if (current.status === undefined) delete out.status;
  else out.status = current.status;
  return out;
}

function applyPatch(contentType: string, current: KubeObject, patch: unknown): KubeObject {
  const type = contentType.split(';')[0]?.trim() ?? '';
  let patched: unknown;
  if (type === 'application/json-patch+json') patched = jsonPatch(current, patch);
  else if (type === 'application/merge-patch+json') patched = mergePatch(current, patch);
  else if (type === 'application/strategic-merge-patch+json') patched = strategicMergePatch(current, patch);
  else
    throw new HttpError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${JSON.stringify(type)})`,
    );
  return requireObject(patched);
}

const FIELD_VALIDATION = ['Ignore', 'Warn', 'Strict'] as const;

/**
 * Server-side field validation (?fieldValidation=, Warn when absent, as the
 * apiserver does): unknown fields fail the request (Strict), come back as
 * Warning headers (Warn), or are dropped silently (Ignore). kubectl sends
 * Strict because /openapi/v3 says the double supports it.
 */
function validateFields(res: ServerResponse, r: Extract<Route, { kind: 'resource' }>, obj: KubeObject, query: URLSearchParams): void {
  const directive = query.get('fieldValidation') ?? 'Warn';
  if (!(FIELD_VALIDATION as readonly string[]).includes(directive)) {
    throw new HttpError(400, 'BadRequest', `fieldValidation must be one of ${FIELD_VALIDATION.join(', ')}, not ${JSON.stringify(directive)}`);
  }
  if (directive === 'Ignore') return;
  const unknown = unknownFields(r.res, obj);
  if (unknown.length === 0) return;
  if (directive === 'Strict') {
    const list = unknown.map((f) => `unknown field ${JSON.stringify(f)}`).join(', ');
    throw new HttpError(400, 'BadRequest', `${r.res.kind} in version "${r.res.version}" cannot be handled as a ${r.res.kind}: strict decoding error: ${list}`);
  }
  res.setHeader(
    'Warning',
    unknown.map((f) => `299 - ${JSON.stringify(`unknown field ${JSON.stringify(f)}`)}`),
  );
}

async function serveWrite(
  ctx: HandlerContext,
  req: IncomingMessage,
  res: ServerResponse,
  r: Extract<Route, { kind: 'resource' }>,
  verb: Verb,
  query: URLSearchParams,
): Promise<void> {
  const { store } = ctx;
  if (verb === 'DELETE') {
    await readBody(req); // DeleteOptions: accepted and ignored.
    sendJson(res, 200, store.delete(r.res, r.namespace, r.name ?? ''));
    return;
  }
  const body = await readBody(req);
  if (verb === 'CREATE') {
    if (r.res.namespaced && r.namespace === undefined) throw new HttpError(404, 'NotFound', `${r.res.plural} must be created in a namespace`);
    const obj = requireObject(body);
    validateFields(res, r, obj, query);
    sendJson(res, 201, store.create(r.res, obj, r.namespace));
    return;
  }
  const name = r.name ?? '';
  const current = store.get(r.res, r.namespace, name);
  if (!current) {
    throw new HttpError(404, 'NotFound', `${r.res.plural} "${name}" not found`, { name, kind: r.res.plural, group: r.res.group });
  }
  let next = verb === 'UPDATE' ? requireObject(body) : applyPatch(req.headers['content-type'] ?? '', current, body);
  validateFields(res, r, next, query);
  if (next.metadata?.name !== undefined && next.metadata.name !== name) {
    throw new HttpError(400, 'BadRequest', `the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`);
  }
  next = r.sub === 'status' ? keepStatusOnly(current, next) : keepStoredStatus(r.res, current, next);
  const updated = store.update(r.res, { ...next, metadata: { ...next.metadata, name } }, { namespace: r.namespace, checkVersion: true });
  sendJson(res, 200, updated);
}

/** Builds the request handler. `hostHeader` feeds serverAddressByClientCIDRs. */
export function createHandler(ctx: HandlerContext): (req: IncomingMessage, res: ServerResponse) => void {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://apidouble.invalid');
    const method = req.method ?? 'GET';
    if (url.pathname === '/healthz' || url.pathname === '/livez' || url.pathname === '/readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      return;
    }
    const r = route(url.pathname, req.headers.host ?? 'localhost');
    if (!r) {
      sendStatus(res, 404, `the server could not find the requested resource (${method} ${url.pathname})`);
      return;
    }
    if (r.kind === 'doc') {
      ctx.counters.add('DISCOVERY', 'discovery');
      if (method !== 'GET') throw new HttpError(405, 'MethodNotAllowed', `${method} is not allowed on ${url.pathname}`);
      sendJson(res, 200, r.body);
      return;
    }
    const verb = verbOf(method, r, url.searchParams);
    if (!verb) throw new HttpError(405, 'MethodNotAllowed', `${method} is not supported on ${url.pathname}`);
    ctx.counters.add(verb, r.res.id);
    if (verb === 'LIST' || verb === 'WATCH') {
      const injected = takeFailure(verb === 'LIST' ? ctx.faults.failLists : ctx.faults.failWatches, r.res.id);
      if (injected !== undefined) {
        sendStatus(res, injected, `injected failure for ${verb} ${r.res.id}`);
        return;
      }
    }
    switch (verb) {
      case 'LIST':
        serveList(ctx, req, res, r, url.searchParams);
        return;
      case 'WATCH':
        serveWatch(ctx, req, res, r, url.searchParams);
        return;
      case 'GET': {
        const o = ctx.store.get(r.res, r.namespace, r.name ?? '');
        if (!o) throw new HttpError(404, 'NotFound', `${r.res.plural} "${r.name}" not found`, { name: r.name, kind: r.res.plural, group: r.res.group });
        const table = wantsTable(req.headers.accept) ? toTable(r.res.id, [o], String(ctx.store.currentRv()), Date.now()) : undefined;
        sendJson(res, 200, table ?? o);
        return;
      }
      default:
        await serveWrite(ctx, req, res, r, verb, url.searchParams);
    }
  };

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) sendStatus(res, err.code, err.message, err.reason, err.details);
      else if (err instanceof StoreError) sendStatus(res, err.code, err.message, err.reason, err.details);
      else if (err instanceof SelectorError || err instanceof PatchError) sendStatus(res, 400, err.message, 'BadRequest');
      else sendStatus(res, 500, `internal error: ${err instanceof Error ? err.message : String(err)}`);
    });
  };
}
