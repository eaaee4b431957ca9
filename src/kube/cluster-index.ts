// The incrementally maintained index behind ClusterSnapshot. Every informer
// event touches one entry (and, for a slice, one Service's group); nothing is
// rebuilt per event. With 10,000 Services this is the difference between
// O(1) and O(n) per event.
//
// snapshot() hands out a stable view: a map is copied (shallowly, no
// translation) at most once per batch of changes, and only the maps of the
// kinds that changed (a Service update leaves the 10,000-entry slice map
// shared with the previous snapshot), so a consumer that awaits between
// reading the snapshot and using it never sees it change underneath.
//
// Besides, a change journal: every change of a Service, a Service's slice
// group, a Lease or an Endpoints object is logged under a version, and changesSince() tells a
// reader which keys changed since its cursor, so that the incremental
// engine (src/core/engine.ts) re-derives those alone, reading the index's
// own maps through live() (no copy at all) synchronously. The journal has
// one reader (the checker): a read with a cursor drops what that cursor has
// seen, so the journal holds only the changes since the last read (the
// initial LIST's 22,000 entries at 10,000 Services, kept until then, and
// every change of a long churn once were retained up to the limit). It is
// bounded too (JOURNAL_LIMIT): a reader left behind is told 'all'.
//
// One object that cannot be translated (a translator throws, or refuses an
// object that costs more than one object may) is rejected alone: it leaves
// the view, is listed in snapshot().rejected and reported once per version
// through onReject. It once failed every LIST for good (and vanished
// silently from a watch).

import type { V1EndpointSlice, V1Endpoints, V1Lease, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import {
  objectKey,
  type ClusterChanges,
  type ClusterSnapshot,
  type RejectedObject,
  type EndpointSliceInfo,
  type EndpointsInfo,
  type LeaseInfo,
  type NodeInfo,
  type PodInfo,
  type ServiceInfo,
} from '../core/cluster.ts';
import { keyOfObject, toEndpointSliceInfo, toEndpointsInfo, toLeaseInfo, toNodeInfo, toPodInfo, toServiceInfo } from './translate.ts';

export type IndexedKind = 'services' | 'endpointslices' | 'leases' | 'pods' | 'nodes' | 'endpoints';

/** The Kubernetes kind of each indexed collection, as reports name it. */
export const KIND_NAME: Readonly<Record<IndexedKind, string>> = {
  services: 'Service',
  endpointslices: 'EndpointSlice',
  leases: 'Lease',
  pods: 'Pod',
  nodes: 'Node',
  endpoints: 'Endpoints',
};

interface SliceEntry {
  readonly info: EndpointSliceInfo;
  readonly serviceKey: string;
}

type Meta = { metadata?: { name?: string; namespace?: string; resourceVersion?: string } };

const rvOf = (o: Meta): string | undefined => o.metadata?.resourceVersion;

/**
 * A map of translated objects and, beside it, the resourceVersion each came
 * from: equal versions are not applied again.
 */
class Versioned<T> {
  readonly infos = new Map<string, T>();
  readonly #rv = new Map<string, string>();
  /** The copy the current snapshot holds; undefined once the map changed. */
  view: ReadonlyMap<string, T> | undefined;

  /** True when `obj` is the version already applied (informers re-deliver on relist). */
  sameVersion(key: string, obj: Meta): boolean {
    const rv = rvOf(obj);
    return rv !== undefined && this.#rv.get(key) === rv && this.infos.has(key);
  }

  set(key: string, info: T, obj: Meta): void {
    this.infos.set(key, info);
    const rv = rvOf(obj);
    if (rv === undefined) this.#rv.delete(key);
    else this.#rv.set(key, rv);
    this.view = undefined;
  }

  delete(key: string): boolean {
    this.#rv.delete(key);
    if (!this.infos.delete(key)) return false;
    this.view = undefined;
    return true;
  }

  snapshot(): ReadonlyMap<string, T> {
    this.view ??= new Map(this.infos);
    return this.view;
  }
}

/** Journal entries kept; a reader further behind gets 'all'. */
export const JOURNAL_LIMIT = 100_000;

type JournalKind = 'services' | 'slices' | 'leases' | 'endpoints';

export class ClusterIndex {
  /** The version of the last change (the journal's head). */
  #version = 0;
  /** Changes after version #floor, in order: entry i is version #floor + i + 1. */
  #journal: { readonly kind: JournalKind; readonly key: string }[] = [];
  #floor = 0;

  /** Rejected objects by `kind ns/name`, with the version rejected. */
  readonly #rejected = new Map<string, { readonly object: RejectedObject; readonly rv: string | undefined }>();
  #rejectedList: readonly RejectedObject[] | undefined;
  readonly #onReject: ((r: RejectedObject) => void) | undefined;

  constructor(opts: { readonly onReject?: (r: RejectedObject) => void } = {}) {
    this.#onReject = opts.onReject;
  }

  readonly #services = new Versioned<ServiceInfo>();
  readonly #slices = new Versioned<SliceEntry>();
  readonly #slicesByService = new Map<string, readonly EndpointSliceInfo[]>();
  #slicesView: ReadonlyMap<string, readonly EndpointSliceInfo[]> | undefined;
  readonly #leases = new Versioned<LeaseInfo>();
  /** Pods on this node (kube-vip discovery); kept apart from the snapshot's cached maps. */
  readonly #pods = new Versioned<PodInfo>();
  #podList: readonly PodInfo[] | undefined;
  /** This node's Node (kube-vip's control-plane health check); kept apart from the snapshot's cached maps. */
  readonly #nodes = new Versioned<NodeInfo>();
  /** Endpoints objects (only while kube-vip uses them, enable_endpoints); kept apart from the snapshot's cached maps. */
  readonly #endpoints = new Versioned<EndpointsInfo>();
  #snapshot: ClusterSnapshot | undefined;

  /** Applies an added or modified object; returns true when the index changed. */
  upsert(kind: IndexedKind, obj: Meta): boolean {
    try {
      const changed = this.#upsert(kind, obj);
      return this.#unreject(kind, obj) || changed;
    } catch (err) {
      return this.#reject(kind, obj, err);
    }
  }

  #upsert(kind: IndexedKind, obj: Meta): boolean {
    switch (kind) {
      case 'services':
        return this.#upsertSimple('services', this.#services, obj, () => toServiceInfo(obj as V1Service));
      case 'leases':
        return this.#upsertSimple('leases', this.#leases, obj, () => toLeaseInfo(obj as V1Lease));
      case 'pods':
        return this.#upsertPod(obj);
      case 'nodes':
        return this.#upsertNode(obj);
      case 'endpoints': {
        const changed = this.#upsertApart(this.#endpoints, obj, () => toEndpointsInfo(obj as V1Endpoints));
        return changed && this.#log('endpoints', keyOfObject(obj)!);
      }
      case 'endpointslices':
        return this.#upsertSlice(obj);
    }
  }

  /** Applies a deletion; returns true when the index changed. */
  remove(kind: IndexedKind, obj: Meta): boolean {
    const key = keyOfObject(obj);
    if (key === undefined) return false;
    const unrejected = this.#dropRejected(kind, key);
    return this.#removeKey(kind, key) || unrejected;
  }

  /** The objects currently rejected, sorted by kind and key. */
  rejected(): readonly RejectedObject[] {
    this.#rejectedList ??= Object.freeze([...this.#rejected.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, r]) => r.object));
    return this.#rejectedList;
  }

  /** `obj` could not be translated: out of the view, listed, reported once per version. */
  #reject(kind: IndexedKind, obj: Meta, err: unknown): boolean {
    const key = keyOfObject(obj) ?? `${obj.metadata?.namespace ?? ''}/`;
    const id = `${kind} ${key}`;
    const rv = rvOf(obj);
    const prev = this.#rejected.get(id);
    if (prev && prev.rv !== undefined && prev.rv === rv) return false;
    const message = err instanceof Error ? err.message : String(err);
    const reason = (err instanceof Error && err.name === 'RejectedObjectError' ? message : `cannot be translated: ${message}`).split('\n')[0]!;
    const object: RejectedObject = { kind: KIND_NAME[kind], namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '', reason };
    this.#rejected.set(id, { object, rv });
    this.#rejectedList = undefined;
    // Whatever an earlier version said no longer holds.
    if (keyOfObject(obj) !== undefined) this.#removeKey(kind, key);
    this.#snapshot = undefined;
    this.#onReject?.(object);
    return true;
  }

  #unreject(kind: IndexedKind, obj: Meta): boolean {
    const key = keyOfObject(obj);
    return key !== undefined && this.#dropRejected(kind, key);
  }

  #dropRejected(kind: IndexedKind, key: string): boolean {
    if (!this.#rejected.delete(`${kind} ${key}`)) return false;
    this.#rejectedList = undefined;
    this.#snapshot = undefined;
    return true;
  }

  /**
   * After a successful LIST: drops every entry of `kind` whose key is not in
   * `present` (objects deleted while no watch was running). Returns true when
   * something was dropped.
   */
  retainOnly(kind: IndexedKind, present: ReadonlySet<string>): boolean {
    const keys = this.#ofKind(kind).infos.keys();
    let changed = false;
    for (const key of [...keys]) {
      if (!present.has(key)) changed = this.#removeKey(kind, key) || changed;
    }
    for (const id of [...this.#rejected.keys()]) {
      const space = id.indexOf(' ');
      if (id.slice(0, space) === kind && !present.has(id.slice(space + 1))) changed = this.#dropRejected(kind, id.slice(space + 1)) || changed;
    }
    return changed;
  }

  size(kind: IndexedKind): number {
    return this.#ofKind(kind).infos.size;
  }

  #ofKind(kind: IndexedKind): Versioned<unknown> {
    if (kind === 'nodes') return this.#nodes;
    if (kind === 'endpoints') return this.#endpoints;
    return kind === 'services' ? this.#services : kind === 'leases' ? this.#leases : kind === 'pods' ? this.#pods : this.#slices;
  }

  /** The pods indexed so far, sorted by key; the same array until the next pod change. */
  pods(): readonly PodInfo[] {
    this.#podList ??= Object.freeze([...this.#pods.infos.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, info]) => info));
    return this.#podList;
  }

  #upsertPod(obj: Meta): boolean {
    const key = keyOfObject(obj);
    if (key === undefined) return false;
    if (this.#pods.sameVersion(key, obj)) return false;
    const info = toPodInfo(obj as V1Pod);
    if (info === undefined) return this.#removeKey('pods', key);
    this.#pods.set(key, info, obj);
    this.#podList = undefined;
    return true;
  }

  /** What changed since `cursor` (see ClusterSource.changes). */
  changesSince(cursor: number | undefined): { cursor: number; changed: ClusterChanges | 'all' } {
    if (cursor === undefined || cursor < this.#floor || cursor > this.#version) {
      // Told everything: nothing logged so far is of use to it.
      this.#journal = [];
      this.#floor = this.#version;
      return { cursor: this.#version, changed: 'all' };
    }
    const services = new Set<string>();
    const slices = new Set<string>();
    const leases = new Set<string>();
    const endpoints = new Set<string>();
    const sets: Record<JournalKind, Set<string>> = { services, slices, leases, endpoints };
    for (let i = cursor - this.#floor; i < this.#journal.length; i++) {
      const e = this.#journal[i]!;
      sets[e.kind].add(e.key);
    }
    // The reader has seen everything up to `cursor`: an older cursor gets 'all' from now on.
    if (cursor > this.#floor) {
      this.#journal.splice(0, cursor - this.#floor);
      this.#floor = cursor;
    }
    return { cursor: this.#version, changed: { services, slices, leases, endpoints } };
  }

  /** The index's own maps, uncopied: valid until the next change (see ClusterSource.live). */
  live(): ClusterSnapshot {
    return {
      services: this.#services.infos,
      slicesByService: this.#slicesByService,
      leases: this.#leases.infos,
      ...(this.#rejected.size > 0 ? { rejected: this.rejected() } : {}),
    };
  }

  #log(kind: JournalKind, key: string): true {
    this.#version++;
    this.#journal.push({ kind, key });
    if (this.#journal.length > JOURNAL_LIMIT) {
      const drop = this.#journal.length - JOURNAL_LIMIT / 2;
      this.#journal = this.#journal.slice(drop);
      this.#floor += drop;
    }
    return true;
  }

  /** The Node of this name, when indexed. */
  node(name: string): NodeInfo | null {
    return this.#nodes.infos.get(objectKey('', name)) ?? null;
  }

  /** The Endpoints objects indexed so far, by `ns/name`; the same map until the next change. */
  endpoints(): ReadonlyMap<string, EndpointsInfo> {
    return this.#endpoints.snapshot();
  }

  #upsertNode(obj: Meta): boolean {
    return this.#upsertApart(this.#nodes, obj, () => toNodeInfo(obj as V1Node));
  }

  /** An object kept apart from the snapshot's cached maps (its own view, read by the source). */
  #upsertApart<T>(map: Versioned<T>, obj: Meta, translate: () => T | undefined): boolean {
    const key = keyOfObject(obj);
    if (key === undefined) return false;
    if (map.sameVersion(key, obj)) return false;
    const info = translate();
    if (info === undefined) return map.delete(key);
    map.set(key, info, obj);
    return true;
  }

  snapshot(): ClusterSnapshot {
    this.#snapshot ??= Object.freeze({
      services: this.#services.snapshot(),
      slicesByService: (this.#slicesView ??= new Map(this.#slicesByService)),
      leases: this.#leases.snapshot(),
      ...(this.#rejected.size > 0 ? { rejected: this.rejected() } : {}),
    });
    return this.#snapshot;
  }

  #changed(kind: JournalKind, key: string): true {
    this.#snapshot = undefined;
    this.#log(kind, key);
    return true;
  }

  #upsertSimple<T extends { namespace: string; name: string }>(
    kind: 'services' | 'leases',
    map: Versioned<T>,
    obj: Meta,
    translate: () => T | undefined,
  ): boolean {
    const key = keyOfObject(obj);
    if (key === undefined) return false;
    // Each version is translated once: a re-delivered one (a re-list) costs nothing.
    if (map.sameVersion(key, obj)) return false;
    const info = translate();
    if (info === undefined) return map.delete(key) && this.#changed(kind, key);
    map.set(key, info, obj);
    return this.#changed(kind, key);
  }

  #upsertSlice(obj: Meta): boolean {
    const key = keyOfObject(obj);
    if (key === undefined) return false;
    if (this.#slices.sameVersion(key, obj)) return false;
    const info = toEndpointSliceInfo(obj as V1EndpointSlice);
    // A slice that lost its service-name label no longer belongs to any Service.
    if (info === undefined) return this.#removeKey('endpointslices', key);
    const prev = this.#slices.infos.get(key);
    const serviceKey = objectKey(info.namespace, info.serviceName);
    if (prev && prev.serviceKey !== serviceKey) {
      this.#ungroup(prev.serviceKey, key);
      this.#log('slices', prev.serviceKey);
    }
    this.#slices.set(key, { info, serviceKey }, obj);
    this.#group(serviceKey, key, info);
    return this.#changed('slices', serviceKey);
  }

  #removeKey(kind: IndexedKind, key: string): boolean {
    if (kind === 'services') return this.#services.delete(key) && this.#changed('services', key);
    if (kind === 'leases') return this.#leases.delete(key) && this.#changed('leases', key);
    if (kind === 'nodes') return this.#nodes.delete(key);
    if (kind === 'endpoints') return this.#endpoints.delete(key) && this.#log('endpoints', key);
    if (kind === 'pods') {
      if (!this.#pods.delete(key)) return false;
      this.#podList = undefined;
      return true;
    }
    const prev = this.#slices.infos.get(key);
    if (!prev) return false;
    this.#slices.delete(key);
    this.#ungroup(prev.serviceKey, key);
    return this.#changed('slices', prev.serviceKey);
  }

  // Groups are replaced, never mutated, so arrays handed out in a snapshot stay valid.
  #group(serviceKey: string, sliceKey: string, info: EndpointSliceInfo): void {
    this.#slicesView = undefined;
    const others = (this.#slicesByService.get(serviceKey) ?? []).filter((s) => objectKey(s.namespace, s.name) !== sliceKey);
    this.#slicesByService.set(serviceKey, [...others, info]);
  }

  #ungroup(serviceKey: string, sliceKey: string): void {
    this.#slicesView = undefined;
    const rest = (this.#slicesByService.get(serviceKey) ?? []).filter((s) => objectKey(s.namespace, s.name) !== sliceKey);
    if (rest.length === 0) this.#slicesByService.delete(serviceKey);
    else this.#slicesByService.set(serviceKey, rest);
  }
}
