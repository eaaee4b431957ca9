// A Kubernetes API double: a real HTTP server that speaks the list/watch
// protocol well enough for @kubernetes/client-node's informers and for
// kubectl, driven and broken through a typed in-process API. The
// `routewarden demo` command embeds it; tests use it instead of a cluster.

import { mkdtempSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourceByKindName, resourceForObject, type KindName, type ResourceId } from './resources.ts';
import { createHandler, sendStatus, type FaultState, type OutageMode, type WatchSession } from './server.ts';
import { Counters, type ApiDoubleStats, type Verb } from './stats.ts';
import { Store, type KubeObject } from './store.ts';

export { endpointSlice, lease, pod, service } from './builders.ts';
export type { KindName, ResourceId } from './resources.ts';
export type { ApiDoubleStats, Verb } from './stats.ts';
export type { KubeObject } from './store.ts';
export type { OutageMode } from './server.ts';

export interface ApiDoubleOptions {
  /**
   * Events kept for watch resumption. A watch resuming from an older
   * resourceVersion gets 410 Gone. Default 10,000.
   */
  readonly historySize?: number;
  /** How often a watch that allowed bookmarks gets one. Default 60 s (the apiserver's order of magnitude). */
  readonly bookmarkIntervalMs?: number;
  /** Clock for creationTimestamp. */
  readonly now?: () => Date;
}

export type ListenSpec = { readonly port?: number; readonly host?: string } | { readonly path: string };

export interface ListenResult {
  /** `http://host:port` for TCP listeners. */
  readonly url?: string;
  /** The socket path for Unix listeners. */
  readonly path?: string;
}

export interface KubeconfigOptions {
  /** Server URL to write; defaults to the double's TCP url (use it for a forwarder's address). */
  readonly server?: string;
  readonly namespace?: string;
}

export interface ApiDouble {
  /** Starts one more listener; may be called for a TCP port and a Unix socket at the same time. */
  listen(spec?: ListenSpec): Promise<ListenResult>;
  /** Ends every watch, closes every listener and connection. */
  close(): Promise<void>;
  /** The first TCP listener's URL; throws when there is none. */
  readonly url: string;
  /** Creates or replaces an object (resource inferred from apiVersion/kind); returns the stored copy. */
  upsert(obj: KubeObject): KubeObject;
  /** Deletes an object; returns false when it did not exist. */
  delete(kind: KindName, namespace: string | undefined, name: string): boolean;
  get(kind: KindName, namespace: string | undefined, name: string): KubeObject | undefined;
  list(kind: KindName, namespace?: string): KubeObject[];
  /** The current global resourceVersion. */
  resourceVersion(): string;

  // --- fault injection ---
  /** Turns an outage on or off. On: open watches are cut and every request fails per `mode` (default 503). */
  outage(on: boolean, mode?: OutageMode): Promise<void>;
  /** The next `count` LIST requests of `resource` get `status` (default 500). */
  failNextList(resource: ResourceId, status?: number, count?: number): void;
  /** The next `count` WATCH requests of `resource` get `status` (default 500) instead of a stream. */
  failNextWatch(resource: ResourceId, status?: number, count?: number): void;
  /**
   * On: every watch of `resource`, open or new, hangs after its headers (no
   * event, no bookmark, never ended by the server). Off: new watches are served again.
   */
  silenceWatches(resource: ResourceId, on: boolean): void;
  /** Ends every open watch stream cleanly (clients resume from their resourceVersion). */
  closeAllWatches(): void;
  /** Drops the event history: the next watch resume from an earlier resourceVersion gets 410 Gone. */
  compactHistory(): void;

  // --- observation ---
  stats(): ApiDoubleStats;
  /** Requests of one verb and resource since start or the last resetStats(). */
  requests(verb: Verb, resource: ResourceId | 'discovery'): number;
  resetStats(): void;
  /** Writes a kubeconfig for this double (plain HTTP, insecure-skip-tls-verify) and returns its path. */
  kubeconfig(path?: string, opts?: KubeconfigOptions): string;
  /** The kubeconfig YAML kubeconfig() writes. */
  kubeconfigYaml(opts?: KubeconfigOptions): string;
}

interface Listener {
  readonly server: Server;
  readonly spec: ListenSpec;
  result: ListenResult;
}

const clone = <T>(o: T): T => structuredClone(o);

export function createApiDouble(opts: ApiDoubleOptions = {}): ApiDouble {
  const store = new Store(opts.historySize ?? 10_000, opts.now);
  const counters = new Counters();
  const faults: FaultState = { outage: null, failLists: new Map(), failWatches: new Map(), silentWatches: new Set() };
  const watches = new Set<WatchSession>();
  const sockets = new Set<Socket>();
  const listeners: Listener[] = [];
  const handler = createHandler({ store, faults, counters, watches, bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 60_000 });

  const newServer = (): Server => {
    const server = createServer((req, res) => {
      const mode = faults.outage;
      if (mode !== null) {
        counters.rejected++;
        if (mode === 'unavailable') sendStatus(res, 503, 'the API double is in a simulated outage');
        else if (mode === 'reset') req.socket.destroy();
        // hang: leave the request unanswered; the socket is cut when the outage ends.
        return;
      }
      handler(req, res);
    });
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    // Keep-alive sockets must not hold close() up; requests are short.
    server.keepAliveTimeout = 5_000;
    return server;
  };

  const bind = (server: Server, spec: ListenSpec): Promise<ListenResult> =>
    new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(new Error(`API double: listening on ${describeSpec(spec)}: ${err.message}`, { cause: err }));
      server.once('error', onError);
      const done = (): void => {
        server.off('error', onError);
        const addr = server.address();
        if ('path' in spec) resolve({ path: spec.path });
        else if (addr !== null && typeof addr === 'object') {
          const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
          resolve({ url: `http://${host}:${addr.port}` });
        } else reject(new Error(`API double: no address after listening on ${describeSpec(spec)}`));
      };
      if ('path' in spec) {
        removeStaleSocket(spec.path);
        server.listen(spec.path, done);
      } else {
        server.listen(spec.port ?? 0, spec.host ?? '127.0.0.1', done);
      }
    });

  const closeServer = (server: Server): Promise<void> =>
    new Promise((resolve) => {
      if (!server.listening) {
        resolve();
        return;
      }
      server.close(() => resolve());
    });

  const cutEverything = (): void => {
    for (const w of [...watches]) w.destroy();
    for (const s of [...sockets]) s.destroy();
  };

  const resourceOf = (obj: KubeObject) => {
    const r = resourceForObject(obj.apiVersion, obj.kind);
    if (!r) throw new Error(`API double: cannot store ${obj.apiVersion ?? '?'}/${obj.kind ?? '?'}: not a served resource`);
    return r;
  };

  const tcpUrl = (): string | undefined => listeners.find((l) => l.result.url !== undefined)?.result.url;

  const kubeconfigYaml = (o: KubeconfigOptions = {}): string => {
    const server = o.server ?? tcpUrl();
    if (server === undefined) throw new Error('API double: kubeconfig needs a TCP listener or an explicit server URL');
    // client-node 2.x refuses plain http:// unless insecure-skip-tls-verify is set.
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: apidouble',
      '  cluster:',
      `    server: ${JSON.stringify(server)}`,
      '    insecure-skip-tls-verify: true',
      'users:',
      '- name: apidouble',
      '  user:',
      '    token: apidouble',
      'contexts:',
      '- name: apidouble',
      '  context:',
      '    cluster: apidouble',
      '    user: apidouble',
      ...(o.namespace !== undefined ? [`    namespace: ${JSON.stringify(o.namespace)}`] : []),
      'current-context: apidouble',
      '',
    ].join('\n');
  };

  const api: ApiDouble = {
    async listen(spec: ListenSpec = {}) {
      const server = newServer();
      const result = await bind(server, spec);
      listeners.push({ server, spec, result });
      return result;
    },

    async close() {
      faults.outage = null;
      for (const w of [...watches]) w.end();
      const closing = listeners.map((l) => closeServer(l.server));
      cutEverything();
      await Promise.all(closing);
      listeners.length = 0;
    },

    get url(): string {
      const u = tcpUrl();
      if (u === undefined) throw new Error('API double: no TCP listener (call listen({port}) first)');
      return u;
    },

    upsert(obj) {
      const r = resourceOf(obj);
      return clone(store.update(r, obj, { checkVersion: false, createIfMissing: true }));
    },

    delete(kind, namespace, name) {
      const r = resourceByKindName(kind);
      if (!store.get(r, namespace, name)) return false;
      store.delete(r, namespace, name);
      return true;
    },

    get(kind, namespace, name) {
      const o = store.get(resourceByKindName(kind), namespace, name);
      return o === undefined ? undefined : clone(o);
    },

    list(kind, namespace) {
      return store.list(resourceByKindName(kind), namespace).map(clone);
    },

    resourceVersion: () => String(store.currentRv()),

    async outage(on, mode = 'unavailable') {
      if (!on) {
        const was = faults.outage;
        faults.outage = null;
        // Requests left hanging would otherwise stay open forever.
        if (was === 'hang') for (const s of [...sockets]) s.destroy();
        if (was === 'refuse') {
          for (const l of listeners) l.result = await bind(l.server, 'path' in l.spec ? l.spec : { ...l.spec, port: portOf(l.result) });
        }
        return;
      }
      faults.outage = mode;
      if (mode === 'refuse') {
        // Stop accepting so that new connections are refused, as with a dead apiserver.
        const closing = listeners.map((l) => closeServer(l.server));
        cutEverything();
        await Promise.all(closing);
      } else {
        cutEverything();
      }
    },

    failNextList(resource, status = 500, count = 1) {
      faults.failLists.set(resource, { status, remaining: count });
    },

    failNextWatch(resource, status = 500, count = 1) {
      faults.failWatches.set(resource, { status, remaining: count });
    },

    silenceWatches(resource, on) {
      if (!on) {
        faults.silentWatches.delete(resource);
        return;
      }
      faults.silentWatches.add(resource);
      // Open watches of the resource go silent too: cut them, their clients reconnect into the silence.
      for (const w of [...watches]) if (w.resource === resource) w.destroy();
    },

    closeAllWatches() {
      for (const w of [...watches]) w.end();
    },

    compactHistory() {
      store.compact();
    },

    stats() {
      const open: Record<string, number> = {};
      for (const w of watches) open[w.resource] = (open[w.resource] ?? 0) + 1;
      return {
        requests: counters.byVerb(),
        rejectedByOutage: counters.rejected,
        openWatches: open,
        resourceVersion: String(store.currentRv()),
      };
    },

    requests: (verb, resource) => counters.get(verb, resource),

    resetStats() {
      counters.reset();
    },

    kubeconfig(path, o) {
      const file = path ?? join(mkdtempSync(join(tmpdir(), 'apidouble-')), 'kubeconfig');
      writeFileSync(file, kubeconfigYaml(o), { mode: 0o600 });
      return file;
    },

    kubeconfigYaml,
  };
  return api;
}

function describeSpec(spec: ListenSpec): string {
  return 'path' in spec ? `unix:${spec.path}` : `${spec.host ?? '127.0.0.1'}:${spec.port ?? 0}`;
}

function portOf(result: ListenResult): number {
  return result.url === undefined ? 0 : Number(new URL(result.url).port);
}

/** A socket file left by a crashed run blocks listen(); anything that is not a socket is left alone. */
function removeStaleSocket(path: string): void {
  try {
    if (statSync(path).isSocket()) unlinkSync(path);
  } catch {
    // Absent: nothing to remove.
  }
}
