// One resource's informer: a paged LIST, then a WATCH from the list's
// resourceVersion, resumed from the last version seen. It keeps no cache of
// its own: every object goes straight to the hooks (the translated index), so
// a Service is held once, translated, and the raw JSON is garbage at once.
// client-node's ListWatch kept every object a second time, as deserialized
// model instances (docs/performance.md).
//
// What it promises, and how:
//
// - It knows whether its view can be trusted. state() is ok only after a LIST
//   succeeded and the watch following it is open; a failed LIST is an error,
//   never "no objects".
// - The LIST is paged (`limit`, `continue`): the memory peak is one page, not
//   the whole resource. The watch starts from the first page's
//   resourceVersion, so a change made between two pages is replayed, not lost.
// - A watch the server ends cleanly (its timeout, a restart) is resumed from
//   the last resourceVersion: no LIST. 410 Gone (an ERROR event inside the
//   200 stream) means the history is compacted: unsynced, then a full LIST.
// - It can show how fresh its view is (lastHeardAt: the last LIST, event or
//   bookmark). Like client-go's reflector every watch asks for
//   `timeoutSeconds` (randomised, 5 to 10 minutes) and `allowWatchBookmarks`;
//   the apiserver then sends a bookmark about once a minute even when nothing
//   changes. A watch that delivers nothing (no event, no bookmark) for
//   `idleTimeoutMs`, or that outlives its own timeoutSeconds plus a slack, is
//   dead whatever its socket says: the informer re-lists (in doubt, a LIST,
//   never a resume). A watch that went silent after its headers was once
//   resumed for ever while the source said ok (docs/reliability.md).
// - One object whose translation throws is the index's business (it rejects
//   that object alone); an exception from a hook is caught here too, so one
//   object can never fail a LIST or vanish silently from a watch.
// - Any other failure (LIST or WATCH) is an error and restarts with capped,
//   jittered exponential backoff through a full LIST, so that recovery never
//   declares ok on a view that has not caught up (objects deleted while we
//   were blind are dropped by the list, see `listed`).
// - stop() aborts the LIST in flight, the backoff delay and the watch (also
//   one still connecting: kubeWatch hands out its controller only once
//   connected, so it is aborted then).

import { setTimeout as delay } from 'node:timers/promises';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { describeKubeError } from './errors.ts';
import { kubeRequest, kubeWatch } from './rest.ts';
import { keyOfObject } from './translate.ts';

export type InformerPhase = 'unsynced' | 'ok' | 'error';

export interface InformerState {
  readonly phase: InformerPhase;
  /** One line; present when phase is not ok. */
  readonly message?: string;
}

export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

export interface InformerSpec {
  /** For messages: `services`, `endpointslices`, `leases`. */
  readonly name: string;
  /** The collection's path, e.g. /api/v1/services; LIST and WATCH both use it. */
  readonly path: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

export interface InformerHooks<T extends KubernetesObject> {
  upsert(obj: T): void;
  remove(obj: T): void;
  /** A LIST succeeded; `keys` (namespace/name) is the complete current set, every object already upserted. */
  listed(keys: ReadonlySet<string>): void;
  stateChanged(state: InformerState): void;
  /** A hook threw on this object (a bug or an object nothing can read): it is skipped, the rest goes on. */
  hookFailed?(obj: T, err: unknown): void;
  /** Restarts and recoveries are worth a log line; informer events are not. */
  log(level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>): void;
}

export interface InformerOptions {
  readonly kubeConfig: KubeConfig;
  readonly backoff: Backoff;
  /** A LIST (all its pages) that has not answered by then is aborted and retried. */
  readonly listTimeoutMs: number;
  /** Objects per LIST page. Default 500 (client-go's). */
  readonly pageSize?: number;
  readonly random?: () => number;
  /**
   * A watch that delivers no event and no bookmark for this long is dead: the
   * informer re-lists. Default 90 s (the apiserver bookmarks every minute).
   */
  readonly idleTimeoutMs?: number;
  /** Range of the `timeoutSeconds` every watch asks for. Default 300 to 600 (client-go's). */
  readonly watchTimeoutSeconds?: { readonly min: number; readonly max: number };
  readonly clock?: () => number;
}

interface ListPage {
  readonly metadata?: { readonly resourceVersion?: string; readonly continue?: string };
  readonly items?: readonly KubernetesObject[];
}

/** A watch generation's outcome, decided by its first terminal event. */
type WatchEnd =
  | { readonly kind: 'resume' }
  | { readonly kind: 'gone' }
  /** Alive by its socket, but not by what it delivered: re-list. */
  | { readonly kind: 'stale'; readonly message: string }
  | { readonly kind: 'failed'; readonly message: string };

const DEFAULT_PAGE_SIZE = 500;
/** A watch that ended sooner than this is resumed only after the initial backoff. */
const MIN_WATCH_MS = 1_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 90_000;
const DEFAULT_WATCH_TIMEOUT_S = { min: 300, max: 600 } as const;
/** How long past its own timeoutSeconds a watch may stay open before it is declared dead. */
const WATCH_DEADLINE_SLACK_MS = 30_000;

export class ResourceInformer<T extends KubernetesObject> {
  readonly #spec: InformerSpec;
  readonly #hooks: InformerHooks<T>;
  readonly #opts: InformerOptions;
  readonly #random: () => number;
  readonly #clock: () => number;
  readonly #idleMs: number;

  #state: InformerState;
  /** Bumped by stop() and by every restart: callbacks of an older generation are ignored. */
  #generation = 0;
  #stopped = true;
  /** Aborts the LIST in flight, the watch and the reconnect delay of the current generation. */
  #abort = new AbortController();
  #restartTimer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #okSince: number | undefined;
  /** When the server last proved this view current: a LIST, an event, a bookmark. */
  #lastHeardAt: number | undefined;
  /** The last resourceVersion seen; '' until a LIST succeeded. */
  #resourceVersion = '';
  #startSettled: (() => void) | undefined;
  /** Requests in flight; stop() waits for them (they are aborted, so briefly). */
  readonly #inflight = new Set<Promise<unknown>>();

  constructor(spec: InformerSpec, hooks: InformerHooks<T>, opts: InformerOptions) {
    this.#spec = spec;
    this.#hooks = hooks;
    this.#opts = opts;
    this.#random = opts.random ?? Math.random;
    this.#clock = opts.clock ?? Date.now;
    this.#idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#state = { phase: 'unsynced', message: `${spec.name}: waiting for the initial list` };
  }

  state(): InformerState {
    return this.#state;
  }

  /** Epoch ms at which the server last proved this view current (LIST, event or bookmark); undefined before the first LIST. */
  lastHeardAt(): number | undefined {
    return this.#lastHeardAt;
  }

  #heard(): void {
    this.#lastHeardAt = this.#clock();
  }

  /** Calls a hook; one object that makes it throw is reported and skipped. */
  #apply(fn: (obj: T) => void, obj: T): void {
    try {
      fn(obj);
    } catch (err) {
      this.#hooks.hookFailed?.(obj, err);
    }
  }

  /** Starts listing and watching; resolves once the first attempt has either synced or failed. */
  async start(): Promise<void> {
    if (!this.#stopped) return;
    this.#stopped = false;
    await new Promise<void>((resolve) => {
      this.#startSettled = resolve;
      void this.#run();
    });
  }

  /** start() resolves at the first of: watch open, a failure, stop(). */
  #settleStart(): void {
    const settled = this.#startSettled;
    this.#startSettled = undefined;
    settled?.();
  }

  /** Stops the informer, its timers and its requests. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#generation++;
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    this.#abort.abort(new Error(`${this.#spec.name} informer stopped`));
    this.#settleStart();
    await Promise.allSettled([...this.#inflight]);
    // Quietly: a stopping informer tells nobody, the source reports itself stopped.
    this.#state = { phase: 'unsynced', message: `${this.#spec.name}: stopped` };
  }

  #setState(next: InformerState): void {
    if (next.phase === this.#state.phase && next.message === this.#state.message) return;
    const was = this.#state.phase;
    this.#state = next;
    if (next.phase === 'ok') this.#okSince = Date.now();
    if (was !== next.phase && next.phase === 'ok' && was === 'error') this.#hooks.log('info', `${this.#spec.name} informer recovered`);
    this.#hooks.stateChanged(next);
  }

  #track<P>(p: Promise<P>): Promise<P> {
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p)).catch(() => undefined);
    return p;
  }

  #selectors(): Record<string, string | undefined> {
    return { labelSelector: this.#spec.labelSelector, fieldSelector: this.#spec.fieldSelector };
  }

  /** One generation: a full LIST, then watches resumed for as long as they end benignly. */
  async #run(): Promise<void> {
    const gen = ++this.#generation;
    this.#abort = new AbortController();
    const signal = this.#abort.signal;
    const live = (): boolean => !this.#stopped && gen === this.#generation && !signal.aborted;

    try {
      await this.#track(this.#list(signal, live));
    } catch (err) {
      if (!live()) return;
      this.#setState({ phase: 'error', message: `listing ${this.#spec.name}: ${describeKubeError(err)}` });
      this.#scheduleRestart(gen);
      return;
    }
    if (!live()) return;

    for (;;) {
      const opened = Date.now();
      const end = await this.#watchOnce(signal, live);
      if (!live() || end === null) return;
      if (end.kind === 'resume') {
        // A server that ends every watch at once must not make this a busy loop.
        if (Date.now() - opened < MIN_WATCH_MS) await delay(this.#opts.backoff.initialMs, undefined, { signal }).catch(() => undefined);
        continue;
      }
      if (end.kind === 'gone' || end.kind === 'stale') {
        this.#resourceVersion = '';
        const why = end.kind === 'gone' ? 'resource version expired (410 Gone)' : end.message;
        if (end.kind === 'stale') this.#hooks.log('warn', `${this.#spec.name} watch is dead; re-listing`, { reason: why });
        this.#setState({ phase: 'unsynced', message: `${this.#spec.name}: ${why}, re-listing` });
        // A server that answers every watch with silence must not make this a busy loop.
        if (end.kind === 'stale' && Date.now() - opened < MIN_WATCH_MS) await delay(this.#opts.backoff.initialMs, undefined, { signal }).catch(() => undefined);
        if (!live()) return;
        void this.#run();
        return;
      }
      this.#setState({ phase: 'error', message: `watching ${this.#spec.name}: ${end.message}` });
      this.#scheduleRestart(gen);
      return;
    }
  }

  /** All pages of the collection into the hooks; then `listed` with the complete key set. */
  async #list(outer: AbortSignal, live: () => boolean): Promise<void> {
    const signal = AbortSignal.any([outer, AbortSignal.timeout(this.#opts.listTimeoutMs)]);
    const limit = String(this.#opts.pageSize ?? DEFAULT_PAGE_SIZE);
    const present = new Set<string>();
    let resourceVersion: string | undefined;
    let cont: string | undefined;
    do {
      const page = (await kubeRequest(this.#opts.kubeConfig, {
        path: this.#spec.path,
        query: { ...this.#selectors(), limit, ...(cont !== undefined ? { continue: cont } : {}) },
        signal,
      })) as ListPage;
      // A list that answers after stop() or a restart must not touch the index.
      if (!live()) return;
      // The first page's version: changes made while later pages were read are replayed by the watch.
      resourceVersion ??= page.metadata?.resourceVersion ?? '';
      for (const item of page.items ?? []) {
        const key = keyOfObject(item);
        if (key !== undefined) present.add(key);
        this.#apply((o) => this.#hooks.upsert(o), item as T);
      }
      cont = page.metadata?.continue || undefined;
    } while (cont !== undefined);
    this.#resourceVersion = resourceVersion;
    this.#heard();
    this.#hooks.listed(present);
  }

  /**
   * One watch request from the current resourceVersion. Resolves when it ends:
   * null when stopped or superseded, otherwise what to do next.
   */
  async #watchOnce(signal: AbortSignal, live: () => boolean): Promise<WatchEnd | null> {
    let settle!: (end: WatchEnd | null) => void;
    const ended = new Promise<WatchEnd | null>((resolve) => {
      settle = resolve;
    });
    let controller: AbortController | undefined;
    let outcome: WatchEnd | undefined;
    let opened = false;
    let deadline: NodeJS.Timeout | undefined;
    /** The first terminal event decides; the request is closed and the loop told. */
    const finish = (end: WatchEnd): void => {
      outcome ??= end;
      clearTimeout(deadline);
      controller?.abort();
      settle(live() ? outcome : null);
    };
    const onEvent = (type: string, obj: unknown): void => {
      if (!live() || outcome !== undefined) return;
      const o = obj as T & { code?: unknown };
      switch (type) {
        case 'ADDED':
        case 'MODIFIED':
          this.#heard();
          this.#apply((x) => this.#hooks.upsert(x), o);
          break;
        case 'DELETED':
          this.#heard();
          this.#apply((x) => this.#hooks.remove(x), o);
          break;
        case 'BOOKMARK':
          this.#heard();
          break;
        case 'ERROR':
          // The apiserver answers an expired resourceVersion with a Status inside the 200 stream.
          finish(o?.code === 410 ? { kind: 'gone' } : { kind: 'failed', message: `ERROR event: ${describeKubeError({ statusCode: o?.code, body: o })}` });
          return;
        default:
          return;
      }
      const rv = o?.metadata?.resourceVersion;
      if (typeof rv === 'string' && rv !== '') this.#resourceVersion = rv;
    };
    const onDone = (err: unknown): void => {
      // A clean end (the server's timeout, a restart): resume. kubeWatch's
      // inactivity timeout on an open watch: nothing, not even a bookmark, for
      // the idle bound: the stream cannot be shown to be current, re-list.
      if (err === null || err === undefined) finish({ kind: 'resume' });
      // 410 as the HTTP status (not inside the stream): the same expired history, re-list now.
      else if ((err as { statusCode?: unknown }).statusCode === 410) finish({ kind: 'gone' });
      else if (opened && (err as { name?: unknown }).name === 'TimeoutError') {
        finish({ kind: 'stale', message: `no event or bookmark for ${Math.round(this.#idleMs / 1000)}s` });
      } else finish({ kind: 'failed', message: describeKubeError(err) });
    };
    const stopped = (): void => {
      clearTimeout(deadline);
      controller?.abort();
      settle(null);
    };
    const { min, max } = this.#opts.watchTimeoutSeconds ?? DEFAULT_WATCH_TIMEOUT_S;
    // Randomised so that the watches of many pods do not all end together.
    const timeoutSeconds = Math.round(min + this.#random() * (max - min));
    const query = { ...this.#selectors(), resourceVersion: this.#resourceVersion, allowWatchBookmarks: true, timeoutSeconds };
    try {
      // Not tracked for stop(): a connect to a hung server is bounded by the
      // idle timeout; it is aborted as soon as it returns.
      controller = await kubeWatch(this.#opts.kubeConfig, { path: this.#spec.path, query, idleMs: this.#idleMs }, onEvent, onDone);
    } catch (err) {
      // watch() throws only before any request (no current cluster).
      onDone(err);
      return ended;
    }
    if (!live()) {
      stopped();
      return ended;
    }
    if (outcome === undefined) {
      opened = true;
      // The server ends the watch at timeoutSeconds; one still open well after that is not being served.
      deadline = setTimeout(
        () => finish({ kind: 'stale', message: `watch still open ${WATCH_DEADLINE_SLACK_MS / 1000}s past its timeoutSeconds=${timeoutSeconds}` }),
        timeoutSeconds * 1000 + WATCH_DEADLINE_SLACK_MS,
      );
      deadline.unref();
      signal.addEventListener('abort', stopped, { once: true });
      void ended.finally(() => signal.removeEventListener('abort', stopped));
      this.#setState({ phase: 'ok' });
      this.#settleStart();
      // A state listener may have stopped us.
      if (!live()) stopped();
    } else {
      controller.abort();
    }
    return ended;
  }

  #scheduleRestart(gen: number): void {
    this.#settleStart();
    if (this.#stopped || gen !== this.#generation || this.#restartTimer !== undefined) return;
    const { initialMs, maxMs } = this.#opts.backoff;
    // A watch that stayed up for a while earns a fresh backoff; one that flaps does not.
    if (this.#okSince !== undefined && Date.now() - this.#okSince >= maxMs) this.#attempt = 0;
    this.#okSince = undefined;
    const base = Math.min(maxMs, initialMs * 2 ** this.#attempt);
    this.#attempt++;
    // Equal jitter: between half and all of the exponential delay, so that many
    // routewarden pods cut off together do not come back in lockstep.
    const delay = Math.round(base / 2 + (this.#random() * base) / 2);
    this.#hooks.log('warn', `${this.#spec.name} informer failed; restarting`, { delayMs: delay, attempt: this.#attempt, reason: this.#state.message });
    this.#generation++; // retire the failed generation's callbacks now
    this.#abort.abort(new Error('restarting'));
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#stopped) return;
      void this.#run();
    }, delay);
  }
}
