// The incremental engine: the same verdict as evaluate() (report.ts), at a
// cost in proportion to what changed, not to the cluster.
//
// The pipeline is evaluate()'s, stage by stage (docs/architecture.md):
//
//   cluster view ─▶ kube-vip's placement decisions per Service (expected.ts,
//   recorded as data) ─▶ expected routes with their provenance, per slot ─▶
//   diff against the kernel mirror, per slot (diff.ts) ─▶ classification
//   (kubevip-context.ts) ─▶ report (report.ts)
//
// A *slot* is one bare IP address: a destination's address part
// (10.0.0.0/24 → 10.0.0.0), a VIP, a hostname. Everything diff() decides
// about a kernel route or an expected route reads only the slot of its
// destination: the expected route at that destination, the claims on the
// destination and on its bare address, the not-judged VIPs of that
// destination or address, the kernel routes at destinations with that
// address. The blankets are the one global input (a change re-diffs every
// slot; they come from hostnames and DHCP VIPs and rarely change). So the
// engine keeps, per slot, the expected set restricted to it and its diff,
// and a change re-derives:
//
// - a Service (its object, its EndpointSlices, its svc_election Lease, or
//   the expiry of that Lease by time alone): that Service's recorded steps,
//   then the slots the old and the new steps touch;
// - an Endpoints object (enable_endpoints): its Service, likewise;
// - this node's Node: the model's own steps (the control-plane VIP), then
//   the slots they touch before and after;
// - a kernel route: the slot of its destination.
//
// Anything else a Service's steps read (the model, the node's interfaces,
// the global lease's state, the set of kube-vip instances) rebuilds
// everything, still one Service at a time, as does a source coming back or
// a change the caller cannot name. The lists of the report (drift, not
// judged, rows) are kept sorted and patched slot by slot; classification
// (transient windows, which move with time) is redone at every update over
// the drifted routes only.
//
// Written here rather than taken from a library: the incremental-view
// libraries of the field (differential dataflow and the like) are not
// available to a dependency-free core, and the slot decomposition is what
// makes a change cheap. The from-scratch evaluate() stays the reference: the
// checker compares both at every full check (resync corrections), and a
// property test (test/unit/engine.property.test.ts) holds them equal after
// every step of random API and kernel changes.

import type { ClusterChanges, ClusterSnapshot, InterfaceInfo, ServiceInfo, ThisNodeView } from './cluster.ts';
import { diff } from './diff.ts';
import type { DiffResult, MissingRoute, OrphanRoute, UnjudgedRoute } from './diff.ts';
import {
  byKey,
  dedupeBlankets,
  filterService,
  leaseValidUntil,
  mergeExpected,
  recordModel,
  recordService,
  recordingLists,
  recordingSlots,
  serviceAddresses,
  serviceContext,
  serviceLeaseKey,
  slotOf,
  slotSet,
} from './expected.ts';
import type { Claim, ExcludedVip, ExpectedSet, Recording, UnjudgedBlanket } from './expected.ts';
import { annotateWith, neverRoutedAs, PROTO_BOOT } from './kubevip-context.ts';
import type { AnnotationSources } from './kubevip-context.ts';
import type { KubeVipInstance, KubeVipModel } from './model.ts';
import { assembleReport, driftRow, evaluate, okRow, unjudgedRow } from './report.ts';
import type { CheckInput, CheckResult, ExpectedRows, ReportRow } from './report.ts';
import type { Family, KernelDump, KernelRoute, SourceStatus } from './types.ts';

/** The kernel side as the engine reads it: a KernelMirror (kernel-mirror.ts) satisfies it. */
export interface KernelView {
  /** The table's routes at one destination, owned and foreign, in dump order. */
  at(destination: string): { readonly owned: readonly KernelRoute[]; readonly foreign: readonly KernelRoute[] };
  /** The whole table. Read only when everything is rebuilt. */
  dump(): KernelDump;
}

export interface EngineInput extends Omit<CheckInput, 'kernel' | 'kubernetes'> {
  readonly kernel: {
    readonly status: SourceStatus;
    /** null when the table could not be read. */
    readonly view: KernelView | null;
    /** Destinations whose routes changed since the last update; 'all' when unknown. */
    readonly touched: ReadonlySet<string> | 'all';
    readonly interfaces: readonly InterfaceInfo[] | null;
  };
  readonly kubernetes: {
    readonly status: SourceStatus;
    /** The current view; it may be the source's live index, read synchronously within update(). */
    readonly snapshot: ClusterSnapshot | null;
    /** What changed since the last update; 'all' when unknown. */
    readonly changed: ClusterChanges | 'all';
  };
}

const CONTROL_PLANE_SLOTS = Symbol('model');
type Owner = string | typeof CONTROL_PLANE_SLOTS;

interface ServiceEntry {
  readonly svc: ServiceInfo;
  readonly ops: Recording;
  readonly slots: readonly string[];
  /** The svc_election lease its placement read. */
  readonly leaseKey: string | undefined;
  /** Until when its lease verdict holds (leaseValidUntil); Infinity when time alone changes nothing. */
  readonly validUntil: number;
  /** Excluded VIPs or blankets: the global lists must be rebuilt when it changes. */
  readonly hasLists: boolean;
  /** A LoadBalancer Service this instance processes, without an address yet (E1). */
  readonly unaddressed: boolean;
}

/** One kube-vip instance's (or the flags' model's) expected side, Service by Service. */
class InstanceStore {
  readonly services = new Map<string, ServiceEntry>();
  /** The Services (and the model) whose steps touch each slot: one owner as itself, several in a Set. */
  readonly bySlot = new Map<string, Owner | Set<Owner>>();
  readonly byLease = new Map<string, Set<string>>();
  readonly singleDevices = new Map<string, readonly string[]>();
  modelOps: Recording;
  #unaddressed = 0;
  /** The earliest validUntil of any entry (a lower bound: entries only shrink it). */
  horizon = Infinity;

  readonly id: string | undefined;
  readonly model: KubeVipModel;

  constructor(id: string | undefined, model: KubeVipModel, interfaces: readonly InterfaceInfo[] | null, node: ThisNodeView | undefined) {
    this.id = id;
    this.model = model;
    this.modelOps = recordModel(model, interfaces, node);
    for (const slot of recordingSlots(this.modelOps)) this.#index(slot, CONTROL_PLANE_SLOTS);
  }

  get unaddressed(): number {
    return this.#unaddressed;
  }

  /** Re-derives one Service (absent from the snapshot: removes it); adds the slots it touched before or now. */
  derive(key: string, ctx: ReturnType<typeof serviceContext>, touched: Set<string>): boolean {
    const prev = this.services.get(key);
    const svc = ctx.snapshot.services.get(key);
    let listsChanged = prev?.hasLists ?? false;
    if (prev) {
      for (const slot of prev.slots) {
        touched.add(slot);
        this.#unindex(slot, key);
      }
      if (prev.leaseKey !== undefined) this.#unlease(prev.leaseKey, key);
      if (prev.unaddressed) this.#unaddressed--;
      this.services.delete(key);
    }
    if (!svc) return listsChanged;
    const { model, now } = ctx;
    const ops = recordService(key, svc, ctx);
    const slots = [...recordingSlots(ops)];
    const leaseKey = model.election === 'service' ? serviceLeaseKey(svc) : undefined;
    const lists = recordingLists(ops);
    const hasLists = lists.excluded.length > 0 || lists.blankets.length > 0;
    const a = filterService(svc, model) === null ? serviceAddresses(svc) : null;
    const unaddressed = a !== null && a.ips.length === 0 && a.hostnames.length === 0;
    const validUntil = leaseKey === undefined ? Infinity : leaseValidUntil(ctx.snapshot.leases.get(leaseKey), now, model.leaseSkewSeconds);
    this.services.set(key, { svc, ops, slots, leaseKey, validUntil, hasLists, unaddressed });
    for (const slot of slots) {
      touched.add(slot);
      this.#index(slot, key);
    }
    if (leaseKey !== undefined) {
      let set = this.byLease.get(leaseKey);
      if (!set) this.byLease.set(leaseKey, (set = new Set()));
      set.add(key);
    }
    if (unaddressed) this.#unaddressed++;
    this.horizon = Math.min(this.horizon, validUntil);
    return listsChanged || hasLists;
  }

  /** Services whose lease verdict may have changed by time alone since `now`; recomputes the horizon. */
  expired(now: number): string[] {
    if (now <= this.horizon) return [];
    const out: string[] = [];
    let horizon = Infinity;
    for (const [key, e] of this.services) {
      if (now > e.validUntil) out.push(key);
      else horizon = Math.min(horizon, e.validUntil);
    }
    this.horizon = horizon;
    return out;
  }

  /** The recordings touching a slot, in the order expectedRoutes() replays them: Services by key, the model's last. */
  recordings(slot: string): Recording[] {
    const found = this.bySlot.get(slot);
    if (found === undefined) return [];
    const keys: string[] = [];
    let model = false;
    for (const o of found instanceof Set ? found : [found as Owner]) {
      if (o === CONTROL_PLANE_SLOTS) model = true;
      else keys.push(o as string);
    }
    keys.sort(byKey);
    const out = keys.map((k) => this.services.get(k)!.ops);
    if (model) out.push(this.modelOps);
    return out;
  }

  /** Excluded VIPs and blankets of the whole set, in expectedRoutes()'s order. */
  lists(): { excluded: ExcludedVip[]; blankets: UnjudgedBlanket[] } {
    const excluded: ExcludedVip[] = [];
    const blankets: UnjudgedBlanket[] = [];
    const keys = [...this.services.keys()].filter((k) => this.services.get(k)!.hasLists).sort(byKey);
    for (const ops of [...keys.map((k) => this.services.get(k)!.ops), this.modelOps]) {
      const l = recordingLists(ops);
      excluded.push(...l.excluded);
      blankets.push(...l.blankets);
    }
    return { excluded, blankets: dedupeBlankets(blankets) };
  }

  #index(slot: string, owner: Owner): void {
    const found = this.bySlot.get(slot);
    if (found === undefined) this.bySlot.set(slot, owner);
    else if (found instanceof Set) found.add(owner);
    else if (found !== owner) this.bySlot.set(slot, new Set([found, owner]));
  }

  /** This node's Node changed: re-records the model's own steps (the control-plane VIP); adds the slots they touched before or now. */
  remodel(interfaces: readonly InterfaceInfo[] | null, node: ThisNodeView | undefined, touched: Set<string>): void {
    for (const slot of recordingSlots(this.modelOps)) {
      touched.add(slot);
      this.#unindex(slot, CONTROL_PLANE_SLOTS);
    }
    this.modelOps = recordModel(this.model, interfaces, node);
    for (const slot of recordingSlots(this.modelOps)) {
      touched.add(slot);
      this.#index(slot, CONTROL_PLANE_SLOTS);
    }
  }

  #unindex(slot: string, key: Owner): void {
    const found = this.bySlot.get(slot);
    if (found === undefined) return;
    if (!(found instanceof Set)) {
      if (found === key) this.bySlot.delete(slot);
      return;
    }
    found.delete(key);
    if (found.size === 1) this.bySlot.set(slot, found.values().next().value!);
  }

  #unlease(leaseKey: string, key: string): void {
    const set = this.byLease.get(leaseKey);
    if (!set) return;
    set.delete(key);
    if (set.size === 0) this.byLease.delete(leaseKey);
  }
}

type FamilyCounts = { expected: number; kernel: number; orphan: number; missing: number; foreign: number };
const zero = (): Record<Family, FamilyCounts> => ({
  ipv4: { expected: 0, kernel: 0, orphan: 0, missing: 0, foreign: 0 },
  ipv6: { expected: 0, kernel: 0, orphan: 0, missing: 0, foreign: 0 },
});

/** What is kept of one slot between updates: its share of the counts, its proto boot routes (the lists hold the rest). */
interface SlotState {
  readonly counts: Record<Family, FamilyCounts>;
  /** Foreign proto boot routes here that some claim names (for the limitation notes). */
  readonly bootRoutes: readonly string[];
}

/** One slot's fresh verdict, while it is merged into the lists. */
interface SlotVerdict extends SlotState {
  readonly diff: DiffResult;
  /** Rows that do not depend on classification: not-judged and ok rows. */
  readonly rows: readonly ReportRow[];
}

const NONE: readonly never[] = Object.freeze([]);
const EMPTY_SET: ExpectedSet = { routes: new Map(), claims: new Map(), excluded: NONE, unjudged: NONE, blankets: NONE };
const EMPTY_SLOT: SlotVerdict = { diff: { orphans: NONE, missing: NONE, matched: NONE, unjudged: NONE }, rows: NONE, counts: zero(), bootRoutes: NONE };

/** Rank of a row among rows of one destination, as evaluate() orders them. */
const RANK: Readonly<Record<ReportRow['verdict'], number>> = { 'not-judged': 0, orphan: 1, missing: 2, ok: 3 };

/**
 * Items per chunk of a SlotList before it is split in two. About the square
 * root of 10,000 rows: a change copies one chunk and the array of chunks,
 * both about a hundred pointers (with 512, a change's copies were a few KB
 * that outlived the next scavenge and filled the old generation).
 */
const CHUNK_MAX = 128;

/** A SlotList's items at one instant, in order: its chunks, never changed afterwards. */
export type Chunks<T> = readonly (readonly T[])[];

/**
 * A list kept sorted by a key, items replaced slot by slot. Items with equal
 * keys always share a slot and keep the order they were given in, so
 * replacing a slot never reorders another slot's items. Held in chunks of at
 * most CHUNK_MAX items, copied on write: replacing a slot copies the chunks
 * it lands in and the short array of chunks, not the whole list (at 10,000
 * report rows that copy, and the garbage it left, was most of a change's
 * cost). A snapshot (`chunks`) is therefore free and stays valid for ever;
 * the flat array is built only when asked (`items`).
 */
export class SlotList<T> {
  #chunks: Chunks<T> = NONE;
  /** What this replace() already copied, and may change in place. */
  #ownTop = false;
  readonly #own = new Set<readonly T[]>();
  readonly #bySlot = new Map<string, readonly T[]>();
  #size = 0;
  #counted = 0;
  #flat: readonly T[] | null = NONE;

  readonly key: (t: T) => string;
  /** Which items `counted` counts. */
  readonly #counts: (t: T) => boolean;
  readonly #chunkMax: number;

  constructor(key: (t: T) => string, counts: (t: T) => boolean = () => false, chunkMax = CHUNK_MAX) {
    this.key = key;
    this.#counts = counts;
    this.#chunkMax = chunkMax;
  }

  get size(): number {
    return this.#size;
  }

  /** How many items the constructor's predicate holds for. */
  get counted(): number {
    return this.#counted;
  }

  /** The items now, in order, as chunks that never change. */
  get chunks(): Chunks<T> {
    return this.#chunks;
  }

  /** The items in order, as one array (built once per change). */
  get items(): readonly T[] {
    this.#flat ??= flatten(this.#chunks);
    return this.#flat;
  }

  /** Drops the items of `touched` slots and puts `fresh` (each slot's items in their order) in. */
  replace(touched: ReadonlySet<string>, fresh: readonly (readonly [string, readonly T[]])[]): void {
    this.#ownTop = false;
    this.#own.clear();
    for (const slot of touched) {
      const old = this.#bySlot.get(slot);
      if (!old) continue;
      for (const item of old) this.#remove(item);
      this.#bySlot.delete(slot);
    }
    for (const [slot, list] of fresh) {
      if (list.length === 0) continue;
      for (const item of list) this.#insert(item);
      this.#bySlot.set(slot, list);
    }
    this.#own.clear();
  }

  clear(): void {
    this.#chunks = NONE;
    this.#bySlot.clear();
    this.#size = 0;
    this.#counted = 0;
    this.#flat = NONE;
  }

  /** The array of chunks and chunk `c`, both writable (copied once per replace()). */
  #writable(c: number): { top: T[][]; chunk: T[] } {
    if (!this.#ownTop) {
      this.#chunks = this.#chunks.slice();
      this.#ownTop = true;
    }
    const top = this.#chunks as T[][];
    if (c < top.length && !this.#own.has(top[c]!)) {
      top[c] = top[c]!.slice();
      this.#own.add(top[c]!);
    }
    this.#flat = null;
    return { top, chunk: top[c]! };
  }

  /** Index of the last chunk whose first key is at most `k` (strictly below with `strict`); 0 when none. */
  #chunkFor(k: string, strict: boolean): number {
    let lo = 0;
    let hi = this.#chunks.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const first = this.key(this.#chunks[mid]![0]!);
      if (strict ? first < k : first <= k) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** After every item of a key at most `k`. */
  #insert(item: T): void {
    this.#size++;
    if (this.#counts(item)) this.#counted++;
    if (this.#chunks.length === 0) {
      const chunk = [item];
      this.#chunks = [chunk];
      this.#ownTop = true;
      this.#own.add(chunk);
      this.#flat = null;
      return;
    }
    const k = this.key(item);
    const c = this.#chunkFor(k, false);
    const { top, chunk } = this.#writable(c);
    let lo = 0;
    let hi = chunk.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.key(chunk[mid]!) <= k) lo = mid + 1;
      else hi = mid;
    }
    chunk.splice(lo, 0, item);
    if (chunk.length > this.#chunkMax) {
      const tail = chunk.splice(chunk.length >> 1);
      this.#own.add(tail);
      top.splice(c + 1, 0, tail);
    }
  }

  /** Removes this very item (by identity among the items of its key). */
  #remove(item: T): void {
    const k = this.key(item);
    for (let c = this.#chunkFor(k, true); c < this.#chunks.length; c++) {
      const at = this.#chunks[c]!;
      let lo = 0;
      let hi = at.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.key(at[mid]!) < k) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo; i < at.length; i++) {
        if (at[i] === item) {
          const { top, chunk } = this.#writable(c);
          chunk.splice(i, 1);
          if (chunk.length === 0) top.splice(c, 1);
          this.#size--;
          if (this.#counts(item)) this.#counted--;
          return;
        }
        if (this.key(at[i]!) !== k) return;
      }
    }
  }
}

function flatten<T>(chunks: Chunks<T>): readonly T[] {
  return chunks.length === 0 ? NONE : chunks.length === 1 ? chunks[0]! : chunks.flat();
}

const unjudgedKey = (u: UnjudgedRoute): string => u.destination ?? u.address ?? '';
const rowKey = (r: ReportRow): string => r.destination;

/** The result of an update, and how it was computed. */
export interface EngineResult extends CheckResult {
  /** 'patched': from the changes alone; 'rebuilt': everything was derived again. */
  readonly mode: 'patched' | 'rebuilt' | 'unavailable';
}

export class IncrementalEngine {
  #stores: InstanceStore[] = [];
  #variant = '';
  #globalLeases = '';
  #nodeKey = 'null';
  #endpoints: ClusterSnapshot['endpoints'] = undefined;
  #valid = false;
  #lastNow = -Infinity;
  readonly #slots = new Map<string, SlotState>();
  readonly #sharedStates = new Map<string, SlotState>();
  /** Kernel destinations (owned or foreign routes) per slot. */
  readonly #kernelSlots = new Map<string, Set<string>>();
  #excluded: readonly ExcludedVip[] = [];
  #blankets: readonly UnjudgedBlanket[] = [];
  #blanketsKey = '';
  readonly #counts = zero();
  readonly #orphans = new SlotList<OrphanRoute>((o) => o.destination);
  readonly #missing = new SlotList<MissingRoute>((m) => m.destination);
  readonly #unjudged = new SlotList<UnjudgedRoute>(unjudgedKey);
  /** The rows that do not depend on classification (not judged, ok); counted: those of expected routes. */
  readonly #rows = new SlotList<ReportRow>(rowKey, (r) => r.expected);
  /** Services kube-vip never routes (E16, E17), by key. */
  readonly #neverRouted = new Map<string, 'E16' | 'E17'>();
  #neverRoutedSorted: { e16: string[]; e17: string[] } | null = null;
  /** Slots with foreign proto boot routes. */
  readonly #bootSlots = new Set<string>();
  /** The last merged rows, reused while neither the static rows nor the drifted rows changed. */
  #merged: { readonly base: Chunks<ReportRow>; readonly drift: string; readonly rows: readonly ReportRow[] } | null = null;
  /** The leading expected rows last asked for, reused likewise. */
  #head: { readonly base: Chunks<ReportRow>; readonly drift: string; readonly k: number; readonly rows: readonly ReportRow[] } | null = null;

  /** Forget everything: the next update rebuilds. */
  invalidate(): void {
    this.#valid = false;
  }

  update(input: EngineInput): EngineResult {
    const kernelOk = input.kernel.status.state === 'ok' && input.kernel.view !== null;
    const kubeOk = input.kubernetes.status.state === 'ok' && input.kubernetes.snapshot !== null;
    if (!kernelOk || !kubeOk) {
      // Nothing to compare: the report says why, and the next comparison starts afresh.
      this.#valid = false;
      const result = evaluate({
        ...input,
        kernel: { status: input.kernel.status, dump: kernelOk ? input.kernel.view!.dump() : null, interfaces: input.kernel.interfaces },
        kubernetes: { status: input.kubernetes.status, snapshot: input.kubernetes.snapshot },
      });
      return { ...result, mode: 'unavailable' };
    }
    const snapshot = input.kubernetes.snapshot!;
    const view = input.kernel.view!;
    const { now } = input;
    const instances = input.kubeVip?.context.instances;
    const parts: { id: string | undefined; model: KubeVipModel }[] =
      instances && instances.length > 0 ? instances.map((i) => ({ id: i.id, model: i.model })) : [{ id: undefined, model: input.model }];
    const variant = JSON.stringify([parts, input.kernel.interfaces]);
    const contexts = parts.map((p) => serviceContext(snapshot, p.model, input.kernel.interfaces, now));
    const globalLeases = JSON.stringify(contexts.map((c) => c.globalLease));
    // This node's Node is read by the model's own steps alone (the
    // control-plane VIP's families): a change re-records those. An Endpoints
    // object (enable_endpoints) is read by its Service's steps alone: the
    // journal names it and that Service is derived again; a source without
    // it in its journal, or the Endpoints view's state changing, rebuilds.
    const nodeKey = JSON.stringify(snapshot.thisNode ?? null);
    const endpoints = snapshot.endpoints;
    const changes = input.kubernetes.changed;
    const endpointsJournaled = changes !== 'all' && changes.endpoints !== undefined;
    const rebuild =
      !this.#valid ||
      variant !== this.#variant ||
      globalLeases !== this.#globalLeases ||
      endpoints?.state !== this.#endpoints?.state ||
      (!endpointsJournaled && endpoints?.byService !== this.#endpoints?.byService) ||
      input.kubernetes.changed === 'all' ||
      input.kernel.touched === 'all' ||
      now < this.#lastNow;
    this.#lastNow = now;
    const touched = new Set<string>();
    let listsChanged = false;
    this.#endpoints = endpoints;
    if (rebuild) {
      this.#variant = variant;
      this.#globalLeases = globalLeases;
      this.#nodeKey = nodeKey;
      this.#stores = parts.map((p) => new InstanceStore(p.id, p.model, input.kernel.interfaces, snapshot.thisNode));
      this.#slots.clear();
      this.#kernelSlots.clear();
      this.#bootSlots.clear();
      this.#neverRouted.clear();
      this.#neverRoutedSorted = null;
      for (const list of [this.#orphans, this.#missing, this.#unjudged, this.#rows]) list.clear();
      for (const f of ['ipv4', 'ipv6'] as const) this.#counts[f] = zero()[f];
      this.#merged = null;
      this.#head = null;
      const keys = [...snapshot.services.keys()];
      this.#stores.forEach((store, i) => {
        for (const key of keys) store.derive(key, contexts[i]!, touched);
        for (const slot of store.bySlot.keys()) touched.add(slot);
      });
      for (const key of keys) this.#classifyService(key, snapshot, instances);
      const dump = view.dump();
      for (const r of [...dump.owned, ...dump.foreign]) touched.add(this.#indexKernel(r.destination, true));
      listsChanged = true;
      this.#valid = true;
    } else {
      const changed = changes as ClusterChanges;
      if (nodeKey !== this.#nodeKey) {
        this.#nodeKey = nodeKey;
        for (const store of this.#stores) store.remodel(input.kernel.interfaces, snapshot.thisNode, touched);
        listsChanged = true;
      }
      const services = new Set<string>([...changed.services, ...changed.slices, ...(changed.endpoints ?? [])]);
      this.#stores.forEach((store, i) => {
        const mine = new Set(services);
        for (const lease of changed.leases) for (const key of store.byLease.get(lease) ?? []) mine.add(key);
        for (const key of store.expired(now)) mine.add(key);
        for (const key of mine) listsChanged = store.derive(key, contexts[i]!, touched) || listsChanged;
      });
      for (const key of changed.services) this.#classifyService(key, snapshot, instances);
      for (const dest of input.kernel.touched as ReadonlySet<string>) {
        const at = view.at(dest);
        touched.add(this.#indexKernel(dest, at.owned.length > 0 || at.foreign.length > 0));
      }
    }
    if (listsChanged) {
      const lists = this.#stores.map((s) => s.lists());
      const merged =
        this.#stores.length === 1 && this.#stores[0]!.id === undefined
          ? lists[0]!
          : { excluded: dedupeBy(lists.flatMap((l) => l.excluded)), blankets: dedupeBlankets(lists.flatMap((l) => l.blankets)) };
      this.#excluded = merged.excluded;
      const key = JSON.stringify(merged.blankets);
      if (key !== this.#blanketsKey) {
        // Blankets decide whether any unexpected route is judged: every slot again.
        this.#blankets = merged.blankets;
        this.#blanketsKey = key;
        for (const slot of this.#slots.keys()) touched.add(slot);
      }
    }
    this.#patch(touched, view, input.kernel.interfaces);
    return this.#assemble(input, snapshot, rebuild ? 'rebuilt' : 'patched');
  }

  /**
   * One SlotState per distinct set of counts, for slots without boot routes:
   * almost every slot holds one route that is where it should be, and
   * 10,000 copies of the same counts (five objects each) were 2 MB of heap.
   */
  #shared(counts: Record<Family, FamilyCounts>): SlotState {
    const key = `${Object.values(counts.ipv4).join()} ${Object.values(counts.ipv6).join()}`;
    let state = this.#sharedStates.get(key);
    if (!state) {
      // Bounded: past the bound, the counts are kept as they are.
      if (this.#sharedStates.size >= 256) return { counts, bootRoutes: NONE };
      this.#sharedStates.set(key, (state = Object.freeze({ counts, bootRoutes: NONE })));
    }
    return state;
  }

  /** Records a kernel destination under its slot; returns the slot. */
  #indexKernel(dest: string, present: boolean): string {
    const slot = slotOf(dest);
    let set = this.#kernelSlots.get(slot);
    if (present) {
      if (!set) this.#kernelSlots.set(slot, (set = new Set()));
      set.add(dest);
    } else if (set) {
      set.delete(dest);
      if (set.size === 0) this.#kernelSlots.delete(slot);
    }
    return slot;
  }

  #classifyService(key: string, snapshot: ClusterSnapshot, instances: readonly KubeVipInstance[] | undefined): void {
    const svc = snapshot.services.get(key);
    const id = svc && instances ? neverRoutedAs(svc, instances) : null;
    if ((this.#neverRouted.get(key) ?? null) === id) return;
    if (id) this.#neverRouted.set(key, id);
    else this.#neverRouted.delete(key);
    this.#neverRoutedSorted = null;
  }

  #slotSetOrEmpty(slot: string): ExpectedSet {
    return this.#stores.some((s) => s.bySlot.has(slot)) ? this.#slotSet(slot) : { ...EMPTY_SET, blankets: this.#blankets };
  }

  /** The expected set restricted to one slot, merged across instances as mergeExpected() does. */
  #slotSet(slot: string): ExpectedSet {
    const sets = this.#stores.map((s) => ({ store: s, set: slotSet(slot, s.recordings(slot), s.model, this.#blankets, s.singleDevices) }));
    if (sets.length === 1 && sets[0]!.store.id === undefined) return sets[0]!.set;
    const merged = mergeExpected(sets.map(({ store, set }) => ({ id: store.id!, set: { ...set, blankets: [] } })));
    return { ...merged, blankets: this.#blankets };
  }

  /** Re-diffs the touched slots and patches the lists and counts. */
  #patch(touched: ReadonlySet<string>, view: KernelView, interfaces: readonly InterfaceInfo[] | null): void {
    if (touched.size === 0) return;
    const fresh: [string, SlotVerdict][] = [];
    for (const slot of [...touched].sort(byKey)) {
      const prev = this.#slots.get(slot) ?? EMPTY_SLOT;
      const next = this.#diffSlot(slot, view, interfaces);
      for (const f of ['ipv4', 'ipv6'] as const)
        for (const k of ['expected', 'kernel', 'orphan', 'missing', 'foreign'] as const) this.#counts[f][k] += next.counts[f][k] - prev.counts[f][k];
      if (next === EMPTY_SLOT) this.#slots.delete(slot);
      else this.#slots.set(slot, next.bootRoutes.length > 0 ? { counts: next.counts, bootRoutes: next.bootRoutes } : this.#shared(next.counts));
      if (next.bootRoutes.length > 0) this.#bootSlots.add(slot);
      else this.#bootSlots.delete(slot);
      fresh.push([slot, next]);
    }
    this.#orphans.replace(
      touched,
      fresh.map(([s, st]) => [s, st.diff.orphans]),
    );
    this.#missing.replace(
      touched,
      fresh.map(([s, st]) => [s, st.diff.missing]),
    );
    this.#unjudged.replace(
      touched,
      fresh.map(([s, st]) => [s, st.diff.unjudged]),
    );
    this.#rows.replace(
      touched,
      fresh.map(([s, st]) => [s, st.rows]),
    );
  }

  #diffSlot(slot: string, view: KernelView, interfaces: readonly InterfaceInfo[] | null): SlotVerdict {
    const set = this.#slotSetOrEmpty(slot);
    const owned: KernelRoute[] = [];
    const foreign: KernelRoute[] = [];
    for (const dest of this.#kernelSlots.get(slot) ?? []) {
      const at = view.at(dest);
      owned.push(...at.owned);
      foreign.push(...at.foreign);
    }
    if (set.routes.size === 0 && set.claims.size === 0 && set.unjudged.length === 0 && owned.length === 0 && foreign.length === 0) return EMPTY_SLOT;
    const d = diff(set, { owned, foreign }, interfaces);
    const counts = zero();
    for (const r of set.routes.values()) counts[r.family].expected++;
    for (const r of owned) counts[r.family].kernel++;
    for (const r of foreign) counts[r.family].foreign++;
    for (const o of d.orphans) counts[o.family].orphan++;
    for (const m of d.missing) counts[m.family].missing++;
    const rows: { row: ReportRow; seq: number }[] = [];
    for (const u of d.unjudged) {
      const row = unjudgedRow(u);
      if (row) rows.push({ row, seq: rows.length });
    }
    for (const ok of d.matched) rows.push({ row: okRow(ok.expected, ok.route.device), seq: rows.length });
    rows.sort((a, b) => byKey(a.row.destination, b.row.destination) || RANK[a.row.verdict] - RANK[b.row.verdict] || a.seq - b.seq);
    const boot = foreign.filter((r) => r.protocol === PROTO_BOOT && claimsIn(set, r.destination).length > 0).map((r) => r.destination);
    const orNone = <T>(l: readonly T[]): readonly T[] => (l.length === 0 ? NONE : l);
    return {
      diff: { orphans: orNone(d.orphans), missing: orNone(d.missing), matched: NONE, unjudged: orNone(d.unjudged) },
      rows: rows.map((r) => r.row),
      counts,
      bootRoutes: orNone(boot),
    };
  }

  #sources(view: KernelView): AnnotationSources {
    return {
      // Replayed on demand (drifted routes only): the slots' sets are not kept.
      claimsAt: (destination) => claimsIn(this.#slotSetOrEmpty(slotOf(destination)), destination),
      foreignProtocolAt: (destination) => view.at(destination).foreign.at(-1)?.protocol,
      unaddressed: (inst) => this.#stores.find((s) => s.id === inst.id)?.unaddressed ?? 0,
      neverRouted: () => {
        if (!this.#neverRoutedSorted) {
          const e16: string[] = [];
          const e17: string[] = [];
          for (const [key, id] of this.#neverRouted) (id === 'E16' ? e16 : e17).push(key);
          this.#neverRoutedSorted = { e16: e16.sort(byKey), e17: e17.sort(byKey) };
        }
        return this.#neverRoutedSorted;
      },
      bootRoutesOnVips: () => [...this.#bootSlots].flatMap((s) => this.#slots.get(s)!.bootRoutes).sort(byKey),
    };
  }

  #assemble(input: EngineInput, snapshot: ClusterSnapshot, mode: EngineResult['mode']): EngineResult {
    const raw: DiffResult = { orphans: this.#orphans.items, missing: this.#missing.items, matched: [], unjudged: this.#unjudged.items };
    const annotated = input.kubeVip ? annotateWith(raw, input.kubeVip.context, snapshot, this.#sources(input.kernel.view!), input.now) : null;
    const d = annotated?.diff ?? raw;
    // The rows (10,000 at scale) are built only when the report's `routes`
    // are read (/drift, the status page); the metrics read the leading
    // expected rows alone. Both from this instant's chunks, which never change.
    const base = this.#rows.chunks;
    const drift =
      d.orphans.length > 0 || d.missing.length > 0 ? [...d.orphans.map((o) => driftRow('orphan', o)), ...d.missing.map((m) => driftRow('missing', m))] : NONE;
    const signature = drift.length > 0 ? JSON.stringify(drift) : '';
    const rows = (): readonly ReportRow[] => {
      if (this.#merged?.base === base && this.#merged.drift === signature) return this.#merged.rows;
      const merged = drift.length > 0 ? mergeRows(base, drift) : flatten(base);
      this.#merged = { base, drift: signature, rows: merged };
      return merged;
    };
    const expected: ExpectedRows = {
      count: this.#rows.counted + d.missing.length,
      head: (k) => {
        if (this.#head?.base === base && this.#head.drift === signature && this.#head.k === k) return this.#head.rows;
        const head = mergeRows(base, drift, k);
        this.#head = { base, drift: signature, k, rows: head };
        return head;
      },
    };
    const report = assembleReport(
      input,
      { kernelOk: true, kubeOk: true, snapshot },
      {
        diff: d,
        byFamily: { ipv4: { ...this.#counts.ipv4 }, ipv6: { ...this.#counts.ipv6 } },
        excluded: this.#excluded,
        rows,
        expectedRows: expected,
        limitations: annotated?.limitations ?? [],
      },
    );
    return { report, diff: d, expected: null, kernel: null, mode };
  }
}

function dedupeBy(list: readonly ExcludedVip[]): ExcludedVip[] {
  const seen = new Set<string>();
  return list.filter((e) => {
    const k = `${e.service} ${e.address} ${e.reason}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function claimsIn(set: ExpectedSet, destination: string): readonly Claim[] {
  return set.claims.get(destination) ?? set.claims.get(slotOf(destination)) ?? [];
}

/**
 * The sorted static rows with the drifted rows merged in, in evaluate()'s
 * order; with `limit`, only the first `limit` rows of expected routes.
 */
function mergeRows(base: Chunks<ReportRow>, drift: readonly ReportRow[], limit?: number): ReportRow[] {
  const add = drift
    .map((row, seq) => ({ row, seq }))
    .filter(({ row }) => limit === undefined || row.expected)
    .sort((a, b) => byKey(a.row.destination, b.row.destination) || RANK[a.row.verdict] - RANK[b.row.verdict] || a.seq - b.seq);
  const out: ReportRow[] = [];
  const max = limit ?? Infinity;
  let j = 0;
  const before = (a: ReportRow, b: ReportRow) => a.destination < b.destination || (a.destination === b.destination && RANK[a.verdict] < RANK[b.verdict]);
  for (const chunk of base) {
    for (const row of chunk) {
      if (out.length >= max) return out;
      while (j < add.length && before(add[j]!.row, row)) {
        out.push(add[j++]!.row);
        if (out.length >= max) return out;
      }
      if (limit === undefined || row.expected) out.push(row);
    }
  }
  for (; j < add.length && out.length < max; j++) out.push(add[j]!.row);
  return out;
}
