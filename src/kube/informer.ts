// One resource's informer (client-node's ListWatch), wrapped so that we know
// — rather than guess — whether its view can be trusted.
//
// What client-node 2.x's ListWatch does (dist/cache.js, dist/watch.js), and
// what this wrapper does about it:
//
// - start() resolves even when the LIST failed: the error only goes to the
//   'error' callbacks and the cache stays empty. An empty cache is therefore
//   never read as "no objects": we wrap the list function and record its
//   success ourselves.
// - After a list or watch failure ListWatch stops for good (it only restarts
//   itself after a clean close, a client-side timeout, or a 410). We restart it
//   with capped, jittered exponential backoff, on a fresh ListWatch so that
//   recovery always goes through a full LIST (objects deleted while we were
//   blind are dropped by the list, see onListed).
// - A watch that cannot connect within its 30 s request timeout ends with a
//   TimeoutError that ListWatch treats as benign and silently retries; a hung
//   apiserver would look healthy forever. The wrapped Watch reports it.
// - A 410 Gone arrives as an ERROR event inside a 200 stream; ListWatch then
//   re-lists on the same instance. We flip to unsynced until that list and the
//   new watch succeed.
// - stop() neither aborts a list in flight nor a reconnect delay; both then go
//   on to open a new watch. The list is given an AbortSignal, the delay is
//   ours and cancellable, and the wrapped Watch refuses to start once stopped.

import { ListWatch, Observable, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { ConfigurationOptions } from '@kubernetes/client-node';
import { describeKubeError } from './errors.ts';

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

/** Request options for a list call: an abort signal carried by client-node middleware. */
export type ListOptions = ConfigurationOptions;

export interface InformerSpec<T extends KubernetesObject> {
  /** For messages: `services`, `endpointslices`, `leases`. */
  readonly name: string;
  /** The watch path, e.g. /api/v1/services. */
  readonly path: string;
  /** Lists with the same selectors as the watch; must pass `options` to the API call. */
  readonly list: (options: ListOptions) => Promise<KubernetesListObject<T>>;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

export interface InformerHooks<T extends KubernetesObject> {
  upsert(obj: T): void;
  remove(obj: T): void;
  /** A LIST succeeded; `items` is the complete current set. */
  listed(items: readonly T[]): void;
  stateChanged(state: InformerState): void;
  /** Restarts and recoveries are worth a log line; informer events are not. */
  log(level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>): void;
}

export interface InformerOptions {
  readonly kubeConfig: KubeConfig;
  readonly backoff: Backoff;
  /** A LIST that has not answered by then is aborted and retried. */
  readonly listTimeoutMs: number;
  readonly random?: () => number;
}

function signalOptions(signal: AbortSignal): ListOptions {
  return {
    middleware: [
      {
        pre: (ctx) => {
          ctx.setSignal(signal);
          return new Observable(Promise.resolve(ctx));
        },
        post: (rc) => new Observable(Promise.resolve(rc)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/** The part of an informer the wrapped Watch reports to; bound to one ListWatch generation. */
interface WatchObserver {
  live(): boolean;
  opened(): void;
  connectFailed(err: unknown): void;
  event(phase: string, obj: unknown): void;
}

class ObservedWatch extends Watch {
  readonly #observer: WatchObserver;

  constructor(kubeConfig: KubeConfig, observer: WatchObserver) {
    super(kubeConfig);
    this.#observer = observer;
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const o = this.#observer;
    // Stopped while ListWatch was listing or sleeping: open nothing.
    if (!o.live()) return new AbortController();
    let finished = false;
    let opened = false;
    const controller = await super.watch(
      path,
      queryParams,
      (phase, obj, raw) => {
        o.event(phase, obj);
        callback(phase, obj, raw);
      },
      (err: unknown) => {
        if (!finished && err && !opened) o.connectFailed(err);
        finished = true;
        done(err);
      },
    );
    if (!o.live()) {
      controller.abort();
      return controller;
    }
    if (!finished) {
      opened = true;
      o.opened();
      // opened() notifies listeners, and one of them may have stopped us:
      // ListWatch has not stored this controller yet, so its stop() missed it.
      if (!o.live()) controller.abort();
    }
    return controller;
  }
}

export class ResourceInformer<T extends KubernetesObject> {
  readonly #spec: InformerSpec<T>;
  readonly #hooks: InformerHooks<T>;
  readonly #opts: InformerOptions;
  readonly #random: () => number;

  #state: InformerState;
  #generation = 0;
  #stopped = true;
  #listWatch: ListWatch<T> | undefined;
  /** Aborts the list in flight and the reconnect delay of the current generation. */
  #abort = new AbortController();
  #restartTimer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #okSince: number | undefined;
  /** True once the current generation's LIST succeeded (reset by a 410). */
  #listed = false;
  /** LIST calls in flight; stop() waits for them (they are aborted, so briefly). */
  readonly #inflight = new Set<Promise<unknown>>();

  constructor(spec: InformerSpec<T>, hooks: InformerHooks<T>, opts: InformerOptions) {
    this.#spec = spec;
    this.#hooks = hooks;
    this.#opts = opts;
    this.#random = opts.random ?? Math.random;
    this.#state = { phase: 'unsynced', message: `${spec.name}: waiting for the initial list` };
  }

  state(): InformerState {
    return this.#state;
  }

  /** Starts listing and watching; resolves once the first attempt has either synced or failed. */
  async start(): Promise<void> {
    if (!this.#stopped) return;
    this.#stopped = false;
    await this.#run();
  }

  /**
   * Stops the informer, its timers and its requests. A watch whose connection
   * is still being established cannot be reached (client-node keeps its
   * AbortController until connected); it is aborted as soon as it connects.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#generation++;
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    this.#abort.abort(new Error(`${this.#spec.name} informer stopped`));
    const lw = this.#listWatch;
    this.#listWatch = undefined;
    await lw?.stop();
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

  /** One generation: a fresh ListWatch, so the first thing it does is a full LIST. */
  async #run(): Promise<void> {
    const gen = ++this.#generation;
    this.#abort = new AbortController();
    const abort = this.#abort;
    this.#listed = false;
    const live = (): boolean => !this.#stopped && gen === this.#generation;
    const name = this.#spec.name;

    const list = async (): Promise<KubernetesListObject<T>> => {
      const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(this.#opts.listTimeoutMs)]);
      const result = await this.#track(this.#spec.list(signalOptions(signal)));
      // A list that resolves after stop() must not lead ListWatch on to a watch.
      if (!live()) throw new Error(`${name} informer stopped`);
      this.#listed = true;
      this.#hooks.listed(result.items ?? []);
      return result;
    };

    const observer: WatchObserver = {
      live,
      opened: () => {
        if (this.#listed) this.#setState({ phase: 'ok' });
      },
      connectFailed: (err) => {
        // ListWatch retries a timed-out connect by itself; until it connects we are blind.
        if (live()) this.#setState({ phase: 'error', message: `watching ${name}: ${describeKubeError(err)}` });
      },
      event: (phase, obj) => {
        if (!live() || phase !== 'ERROR') return;
        const code = (obj as { code?: unknown } | null)?.code;
        if (code === 410) {
          this.#listed = false;
          this.#setState({ phase: 'unsynced', message: `${name}: resource version expired (410 Gone), re-listing` });
        }
      },
    };
    const watch = new ObservedWatch(this.#opts.kubeConfig, observer);
    const delayFn = (ms: number): Promise<void> =>
      new Promise((resolve) => {
        // ListWatch's own delay is a ref'd timer nobody can cancel; this one ends with stop().
        const onAbort = (): void => {
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(() => {
          abort.signal.removeEventListener('abort', onAbort);
          resolve();
        }, ms);
        abort.signal.addEventListener('abort', onAbort, { once: true });
      });
    const lw = new ListWatch<T>(this.#spec.path, watch, list, false, this.#spec.labelSelector, this.#spec.fieldSelector, { delayFn });
    this.#listWatch = lw;

    lw.on('add', (o) => {
      if (live()) this.#hooks.upsert(o);
    });
    lw.on('update', (o) => {
      if (live()) this.#hooks.upsert(o);
    });
    lw.on('delete', (o) => {
      if (live()) this.#hooks.remove(o);
    });
    lw.on('error', (err?: unknown) => {
      if (!live()) return;
      const verb = this.#listed ? 'watching' : 'listing';
      this.#setState({ phase: 'error', message: `${verb} ${name}: ${describeKubeError(err)}` });
      this.#scheduleRestart(gen);
    });
    await lw.start();
  }

  #scheduleRestart(gen: number): void {
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
    const old = this.#listWatch;
    this.#listWatch = undefined;
    this.#generation++; // retire the failed generation's callbacks now
    this.#abort.abort(new Error('restarting'));
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#stopped) return;
      void this.#run();
    }, delay);
    void old?.stop();
  }
}
