// The double's object store: one global, monotonically increasing
// resourceVersion (like etcd's revision), the current objects per resource and
// a bounded ring of recent events for watch resumption.
//
// Efficiency matters: a benchmark holds 10,000 Services plus their
// EndpointSlices. Stored objects are never mutated after they are written
// (writes replace them), so the store, its history and every watcher share one
// object per version, and each event is serialised at most once however many
// watchers receive it.

import { randomUUID } from 'node:crypto';
import type { ResourceDef, ResourceId } from './resources.ts';
import type { Matcher } from './selectors.ts';

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** A Kubernetes object as raw JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [key: string]: unknown;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export type StoreErrorReason = 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Invalid' | 'BadRequest';

const REASON_CODE: Readonly<Record<StoreErrorReason, number>> = {
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  Invalid: 422,
  BadRequest: 400,
};

/** A write the apiserver would refuse; carries the HTTP status and Status reason. */
export class StoreError extends Error {
  readonly reason: StoreErrorReason;
  readonly code: number;
  readonly details: { name?: string; kind?: string; group?: string };
  constructor(reason: StoreErrorReason, message: string, details: { name?: string; kind?: string; group?: string } = {}) {
    super(message);
    this.name = 'StoreError';
    this.reason = reason;
    this.code = REASON_CODE[reason];
    this.details = details;
  }
}

interface StoredEvent {
  readonly rv: number;
  readonly resource: ResourceId;
  readonly type: WatchEventType;
  readonly object: KubeObject;
  /** The previous version (MODIFIED only), so selector watches can turn it into ADDED/DELETED. */
  readonly prev: KubeObject | undefined;
  json?: string;
}

export interface WatchFilter {
  readonly namespace: string | undefined;
  readonly labels: Matcher;
  readonly fields: Matcher;
}

export type WatchListener = (type: WatchEventType, object: KubeObject, objectJson: string) => void;

interface Watcher {
  readonly filter: WatchFilter;
  readonly listener: WatchListener;
}

const keyOf = (namespace: string | undefined, name: string): string => `${namespace ?? ''}/${name}`;

export const objectJson = (ev: { object: KubeObject; json?: string }): string => {
  ev.json ??= JSON.stringify(ev.object);
  return ev.json;
};

function matches(filter: WatchFilter, obj: KubeObject | undefined): boolean {
  if (obj === undefined) return false;
  if (filter.namespace !== undefined && obj.metadata?.namespace !== filter.namespace) return false;
  return filter.labels(obj) && filter.fields(obj);
}

export class Store {
  #rv = 0;
  /** Watches from a resourceVersion older than this are answered 410 Gone. */
  #compactedRv = 0;
  readonly #objects = new Map<ResourceId, Map<string, KubeObject>>();
  /** list()'s sorted result per resource and namespace, valid while #rv is unchanged: a paged LIST of 50,000 objects sorts once, not once per page. */
  readonly #sorted = new Map<string, { readonly rv: number; readonly items: readonly KubeObject[] }>();
  readonly #history: (StoredEvent | undefined)[];
  #head = 0; // index of the oldest event
  #size = 0;
  readonly #watchers = new Map<ResourceId, Set<Watcher>>();
  readonly #now: () => Date;

  constructor(historySize: number, now: () => Date = () => new Date()) {
    if (!Number.isInteger(historySize) || historySize < 1) throw new Error(`historySize must be a positive integer, got ${historySize}`);
    this.#history = new Array<StoredEvent | undefined>(historySize);
    this.#now = now;
  }

  currentRv(): number {
    return this.#rv;
  }

  /** True when a watch may resume from `rv` without missing events. */
  canResumeFrom(rv: number): boolean {
    return rv >= this.#compactedRv;
  }

  oldestResumableRv(): number {
    return this.#compactedRv;
  }

  #bucket(res: ResourceId): Map<string, KubeObject> {
    let m = this.#objects.get(res);
    if (!m) {
      m = new Map();
      this.#objects.set(res, m);
    }
    return m;
  }

  get(res: ResourceDef, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.#objects.get(res.id)?.get(keyOf(res.namespaced ? namespace : undefined, name));
  }

  /** Objects of a resource, sorted by namespace/name as the apiserver lists them. */
  list(res: ResourceDef, namespace?: string): readonly KubeObject[] {
    const cacheKey = `${res.id}\0${namespace ?? ''}`;
    const cached = this.#sorted.get(cacheKey);
    if (cached && cached.rv === this.#rv) return cached.items;
    const m = this.#objects.get(res.id);
    if (!m) return [];
    const out: [string, KubeObject][] = [];
    for (const [k, o] of m) {
      if (namespace === undefined || o.metadata?.namespace === namespace) out.push([k, o]);
    }
    out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const items = out.map(([, o]) => o);
    this.#sorted.set(cacheKey, { rv: this.#rv, items });
    return items;
  }

  count(res: ResourceDef): number {
    return this.#objects.get(res.id)?.size ?? 0;
  }

  /**
   * Normalises an incoming object for `res`: apiVersion/kind, namespace rules,
   * a name (from generateName when needed). Returns a private deep copy.
   */
  #prepare(res: ResourceDef, input: KubeObject, namespace: string | undefined): KubeObject {
    const obj = structuredClone(input);
    const apiVersion = res.group === '' ? res.version : `${res.group}/${res.version}`;
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersion) {
      throw new StoreError('BadRequest', `apiVersion ${obj.apiVersion} does not match ${apiVersion}`, { kind: res.kind });
    }
    if (obj.kind !== undefined && obj.kind !== res.kind) {
      throw new StoreError('BadRequest', `kind ${obj.kind} does not match ${res.kind}`, { kind: res.kind });
    }
    obj.apiVersion = apiVersion;
    obj.kind = res.kind;
    const meta: ObjectMeta = obj.metadata !== null && typeof obj.metadata === 'object' ? obj.metadata : {};
    obj.metadata = meta;
    if (res.namespaced) {
      const ns = namespace ?? meta.namespace ?? 'default';
      if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== ns) {
        throw new StoreError('BadRequest', `the namespace of the object (${meta.namespace}) does not match the namespace of the request (${ns})`);
      }
      meta.namespace = ns;
    } else {
      delete meta.namespace;
    }
    if ((meta.name === undefined || meta.name === '') && typeof meta.generateName === 'string' && meta.generateName !== '') {
      meta.name = meta.generateName + randomUUID().slice(0, 5);
    }
    if (typeof meta.name !== 'string' || meta.name === '') {
      throw new StoreError('Invalid', `${res.kind} "": name or generateName is required`, { kind: res.kind });
    }
    return obj;
  }

  /** Creates an object; 409 AlreadyExists if it exists. */
  create(res: ResourceDef, input: KubeObject, namespace?: string): KubeObject {
    const obj = this.#prepare(res, input, namespace);
    const meta = obj.metadata as ObjectMeta & { name: string };
    const key = keyOf(meta.namespace, meta.name);
    if (this.#bucket(res.id).has(key)) {
      throw new StoreError('AlreadyExists', `${res.plural} "${meta.name}" already exists`, details(res, meta.name));
    }
    meta.uid ??= randomUUID();
    meta.creationTimestamp ??= this.#timestamp();
    return this.#write(res, key, obj, undefined);
  }

  /**
   * Replaces an object. With `checkVersion`, a stale metadata.resourceVersion is
   * a 409 Conflict (optimistic concurrency, which leader-election clients rely on).
   */
  update(res: ResourceDef, input: KubeObject, opts: { namespace?: string; checkVersion: boolean; createIfMissing?: boolean }): KubeObject {
    const obj = this.#prepare(res, input, opts.namespace);
    const meta = obj.metadata as ObjectMeta & { name: string };
    const key = keyOf(meta.namespace, meta.name);
    const prev = this.#bucket(res.id).get(key);
    if (!prev) {
      if (opts.createIfMissing) return this.create(res, obj, opts.namespace);
      throw new StoreError('NotFound', `${res.plural} "${meta.name}" not found`, details(res, meta.name));
    }
    const sent = meta.resourceVersion;
    if (opts.checkVersion && sent !== undefined && sent !== '' && sent !== prev.metadata?.resourceVersion) {
      throw new StoreError(
        'Conflict',
        `Operation cannot be fulfilled on ${res.plural} "${meta.name}": the object has been modified; please apply your changes to the latest version and try again`,
        details(res, meta.name),
      );
    }
    meta.uid = prev.metadata?.uid;
    meta.creationTimestamp = prev.metadata?.creationTimestamp;
    return this.#write(res, key, obj, prev);
  }

  delete(res: ResourceDef, namespace: string | undefined, name: string): KubeObject {
    const bucket = this.#bucket(res.id);
    const key = keyOf(res.namespaced ? namespace : undefined, name);
    const prev = bucket.get(key);
    if (!prev) throw new StoreError('NotFound', `${res.plural} "${name}" not found`, details(res, name));
    bucket.delete(key);
    // The DELETED event carries the last state at the deletion's revision, as the apiserver sends it.
    const rv = ++this.#rv;
    const gone: KubeObject = { ...prev, metadata: { ...prev.metadata, resourceVersion: String(rv) } };
    this.#emit({ rv, resource: res.id, type: 'DELETED', object: gone, prev: undefined });
    return gone;
  }

  #write(res: ResourceDef, key: string, obj: KubeObject, prev: KubeObject | undefined): KubeObject {
    const rv = ++this.#rv;
    (obj.metadata as ObjectMeta).resourceVersion = String(rv);
    this.#bucket(res.id).set(key, obj);
    this.#emit({ rv, resource: res.id, type: prev ? 'MODIFIED' : 'ADDED', object: obj, prev });
    return obj;
  }

  #timestamp(): string {
    // Kubernetes timestamps have second precision.
    return this.#now()
      .toISOString()
      .replace(/\.\d+Z$/, 'Z');
  }

  #emit(ev: StoredEvent): void {
    const cap = this.#history.length;
    if (this.#size === cap) {
      const evicted = this.#history[this.#head];
      if (evicted) this.#compactedRv = evicted.rv;
      this.#history[this.#head] = ev;
      this.#head = (this.#head + 1) % cap;
    } else {
      this.#history[(this.#head + this.#size) % cap] = ev;
      this.#size++;
    }
    const ws = this.#watchers.get(ev.resource);
    if (!ws) return;
    for (const w of [...ws]) deliver(w, ev);
  }

  /**
   * Drops all history and moves the revision on, as an etcd compaction does:
   * every watch resuming from an earlier resourceVersion gets 410 Gone, while a
   * fresh LIST returns a resourceVersion that can be watched from.
   */
  compact(): void {
    this.#rv++;
    this.#compactedRv = this.#rv;
    this.#history.fill(undefined);
    this.#head = 0;
    this.#size = 0;
  }

  /** Replays retained events after `rv` to `listener`; the caller has checked canResumeFrom. */
  replaySince(res: ResourceId, rv: number, filter: WatchFilter, listener: WatchListener): void {
    const cap = this.#history.length;
    for (let i = 0; i < this.#size; i++) {
      const ev = this.#history[(this.#head + i) % cap];
      if (ev && ev.rv > rv && ev.resource === res) deliver({ filter, listener }, ev);
    }
  }

  /** Registers a live watcher; returns the function that removes it. */
  subscribe(res: ResourceId, filter: WatchFilter, listener: WatchListener): () => void {
    let ws = this.#watchers.get(res);
    if (!ws) {
      ws = new Set();
      this.#watchers.set(res, ws);
    }
    const w: Watcher = { filter, listener };
    ws.add(w);
    return () => {
      ws.delete(w);
    };
  }
}

function details(res: ResourceDef, name: string): { name: string; kind: string; group: string } {
  return { name, kind: res.plural, group: res.group };
}

/**
 * Delivers one event to one watcher. With selectors, an object that starts
 * matching arrives as ADDED and one that stops matching as DELETED, as the
 * apiserver's watch cache does.
 */
function deliver(w: Watcher, ev: StoredEvent): void {
  const now = matches(w.filter, ev.object);
  if (ev.type !== 'MODIFIED') {
    if (now) w.listener(ev.type, ev.object, objectJson(ev));
    return;
  }
  const before = matches(w.filter, ev.prev);
  if (now) w.listener(before ? 'MODIFIED' : 'ADDED', ev.object, objectJson(ev));
  else if (before) w.listener('DELETED', ev.object, objectJson(ev));
}
