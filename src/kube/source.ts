// The Kubernetes side of routewarden: three informers (Services,
// EndpointSlices, Leases) feeding one incrementally maintained index. List
// and watch only, never polling. status() is ok only while every informer has
// listed successfully and is watching; an API failure is never mistaken for
// "no Services" (docs/repair.md rule 2). freshness() says when the server last
// proved the view current (docs/reliability.md); rejected objects are left
// out of the view alone, logged and counted.

import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ClusterSnapshot, ConfigMapInfo, ConfigMapView } from '../core/cluster.ts';
import type { ClusterSource } from '../core/ports.ts';
import type { SourceStatus } from '../core/types.ts';
import type { RejectedObject } from '../core/cluster.ts';
import { ClusterIndex, type IndexedKind } from './cluster-index.ts';
import { ResourceInformer, type Backoff, type InformerSpec, type InformerState } from './informer.ts';
import { SERVICE_NAME_LABEL, keyOfObject, toConfigMapInfo } from './translate.ts';

export interface KubeClusterSourceOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  /** kube-vip's `svc_namespace`: Services and EndpointSlices of this namespace only. Default: all. */
  readonly namespace?: string;
  /**
   * Where Leases are watched. Default: all namespaces, because the global
   * services lease lives in kube-vip's own namespace, not the Services'.
   */
  readonly leaseNamespace?: string;
  /** Restart backoff after a failed list or watch. Default 1 s doubling to 30 s. */
  readonly backoff?: Backoff;
  /** A LIST that has not answered by then is aborted and retried. Default 60 s. */
  readonly listTimeoutMs?: number;
  /** Objects per LIST page. Default 500. */
  readonly pageSize?: number;
  /** A watch silent (no event, no bookmark) this long is dead and re-listed. Default 90 s. */
  readonly idleTimeoutMs?: number;
  /** Range of every watch's timeoutSeconds. Default 300 to 600. */
  readonly watchTimeoutSeconds?: { readonly min: number; readonly max: number };
  /**
   * kube-vip discovery (--kube-vip-config auto): also list and watch the pods
   * on this node (field selector spec.nodeName), optionally narrowed by a
   * label selector, and expose them as `snapshot().nodePods`. Their informer
   * has its own state: pods that cannot be read never make the Services view
   * fail; discovery falls back to flags and says so.
   */
  readonly nodePods?: { readonly nodeName: string; readonly labelSelector?: string };
  /**
   * Also list and watch this node's Node object only (field selector
   * metadata.name=<name>) and expose it as `snapshot().thisNode`: kube-vip's
   * control-plane health check reads its InternalIPs. Its own state, like the
   * pods': a Node that cannot be read (RBAC) never makes the view fail.
   */
  readonly thisNode?: { readonly name: string };
}

/** The informers started on demand, each with its own state (never part of status()). */
type OnDemandKind = 'pods' | 'nodes' | 'endpoints' | 'configmaps';

type CoreKind = Exclude<IndexedKind, OnDemandKind>;

/** The worst of several informers' states (error, then unsynced), with their messages. */
function worstOf(states: readonly InformerState[]): InformerState {
  for (const phase of ['error', 'unsynced'] as const) {
    const bad = states.filter((s) => s.phase === phase);
    if (bad.length > 0) return { phase, message: bad.map((s) => s.message).join('; ') };
  }
  return { phase: 'ok' };
}

export interface KubeClusterSource extends ClusterSource {
  /** The state of each informer, for logs and the status page (`pods` only with kube-vip discovery). */
  informers(): Readonly<Record<CoreKind, InformerState>> & { readonly [K in OnDemandKind]?: InformerState };
  /**
   * Watch Endpoints objects (kube-vip with `enable_endpoints=true` reads them
   * instead of EndpointSlices), or stop: started on demand, so a cluster whose
   * kube-vip does not use them needs no `endpoints` grant. While on, they are
   * `snapshot().endpoints`.
   */
  watchEndpoints(on: boolean): void;
  /**
   * Read and watch exactly these ConfigMaps (`ns/name`), each with its own
   * informer (field selector metadata.name=<name> in its namespace, so a Role
   * with `resourceNames` suffices): the ones behind a kube-vip `--config-file`.
   * Those no longer named are dropped. While watched, they are `snapshot().configMaps`.
   */
  watchConfigMaps(keys: ReadonlySet<string>): void;
  /** The index's view, uncopied (ClusterSource.live): always there on this source. */
  live(): ClusterSnapshot;
}

const DEFAULT_BACKOFF: Backoff = { initialMs: 1_000, maxMs: 30_000 };
/** Node heartbeats: one Lease per node renewed every 10 s, never kube-vip's. */
const NODE_LEASE_NAMESPACE = 'kube-node-lease';

const KINDS: readonly CoreKind[] = ['services', 'endpointslices', 'leases'];

export function createKubeClusterSource(opts: KubeClusterSourceOptions): KubeClusterSource {
  const { kubeConfig, logger, namespace, leaseNamespace } = opts;
  const backoff = opts.backoff ?? DEFAULT_BACKOFF;
  if (!(backoff.initialMs > 0) || !(backoff.maxMs >= backoff.initialMs)) {
    throw new Error(`invalid informer backoff: initialMs ${backoff.initialMs}, maxMs ${backoff.maxMs}`);
  }
  const rejectedTotal: Record<string, number> = {};
  const index = new ClusterIndex({
    onReject: (r: RejectedObject) => {
      rejectedTotal[r.kind] = (rejectedTotal[r.kind] ?? 0) + 1;
      logger.warn(
        { kind: r.kind, namespace: r.namespace, name: r.name, reason: r.reason },
        `kubernetes object rejected, left out of the view: ${r.kind} ${r.namespace}/${r.name}: ${r.reason}`,
      );
    },
  });
  const listeners = new Set<() => void>();
  let last: SourceStatus = { state: 'unsynced', message: 'kubernetes: not started' };

  const notify = (): void => {
    for (const cb of [...listeners]) {
      try {
        cb();
      } catch (err) {
        logger.error({ err }, 'cluster source change listener threw');
      }
    }
  };

  const sliceSelector = SERVICE_NAME_LABEL; // only slices that belong to a Service
  const leaseFields = leaseNamespace === undefined ? `metadata.namespace!=${NODE_LEASE_NAMESPACE}` : undefined;
  const podSel = opts.nodePods;
  const podFields = podSel ? `spec.nodeName=${podSel.nodeName}` : undefined;
  const podLabels = podSel?.labelSelector ? podSel.labelSelector : undefined;
  const thisNode = opts.thisNode;
  const specs: { readonly [K in CoreKind]: InformerSpec } & { readonly pods?: InformerSpec; readonly nodes?: InformerSpec } = {
    ...(thisNode ? { nodes: { name: 'nodes', path: '/api/v1/nodes', fieldSelector: `metadata.name=${thisNode.name}` } } : {}),
    ...(podSel
      ? {
          pods: {
            name: 'pods',
            path: '/api/v1/pods',
            fieldSelector: podFields!,
            ...(podLabels !== undefined ? { labelSelector: podLabels } : {}),
          },
        }
      : {}),
    services: {
      name: 'services',
      path: namespace === undefined ? '/api/v1/services' : `/api/v1/namespaces/${encodeURIComponent(namespace)}/services`,
    },
    endpointslices: {
      name: 'endpointslices',
      path:
        namespace === undefined
          ? '/apis/discovery.k8s.io/v1/endpointslices'
          : `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/endpointslices`,
      labelSelector: sliceSelector,
    },
    leases: {
      name: 'leases',
      path:
        leaseNamespace === undefined
          ? '/apis/coordination.k8s.io/v1/leases'
          : `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(leaseNamespace)}/leases`,
      ...(leaseFields !== undefined ? { fieldSelector: leaseFields } : {}),
    },
  };

  const informerOptions = {
    kubeConfig,
    backoff,
    listTimeoutMs: opts.listTimeoutMs ?? 60_000,
    ...(opts.pageSize !== undefined ? { pageSize: opts.pageSize } : {}),
    ...(opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
    ...(opts.watchTimeoutSeconds !== undefined ? { watchTimeoutSeconds: opts.watchTimeoutSeconds } : {}),
  };
  const makeInformer = (kind: IndexedKind, spec: InformerSpec): ResourceInformer<KubernetesObject> =>
    new ResourceInformer(
      spec,
      {
        upsert: (obj) => {
          if (index.upsert(kind, obj)) notify();
        },
        remove: (obj) => {
          if (index.remove(kind, obj)) notify();
        },
        listed: (present) => {
          if (index.retainOnly(kind, present)) notify();
        },
        stateChanged: () => {
          if (kind === 'pods' || kind === 'nodes' || kind === 'endpoints') {
            notify(); // discovery re-reads the pods' (and the Node's) state on the next check
            return;
          }
          const next = aggregate();
          if (next.state !== last.state || next.message !== last.message) {
            if (next.state !== last.state) logger.info({ from: last.state, to: next.state, reason: next.message }, 'kubernetes source state changed');
            last = next;
            notify();
          }
        },
        hookFailed: (obj, err) =>
          logger.error({ err, kind, namespace: obj.metadata?.namespace, name: obj.metadata?.name }, 'applying a kubernetes object failed; skipped'),
        log: (level, msg, fields) => logger[level]({ ...fields }, msg),
      },
      informerOptions,
    );

  // The ConfigMaps behind kube-vip config files: one informer each, started and stopped on demand.
  const configMapInformers = new Map<string, ResourceInformer<KubernetesObject>>();
  const configMapData = new Map<string, ConfigMapInfo>();
  let configMapView: ReadonlyMap<string, ConfigMapView> | undefined;
  const configMapChanged = (): void => {
    configMapView = undefined;
    notify();
  };
  const makeConfigMapInformer = (key: string): ResourceInformer<KubernetesObject> => {
    const slash = key.indexOf('/');
    const [ns, name] = [key.slice(0, slash), key.slice(slash + 1)];
    return new ResourceInformer(
      { name: `configmap ${key}`, path: `/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps`, fieldSelector: `metadata.name=${name}` },
      {
        upsert: (obj) => {
          const info = keyOfObject(obj) === key ? toConfigMapInfo(obj) : undefined;
          if (info === undefined) return;
          configMapData.set(key, info);
          configMapChanged();
        },
        remove: (obj) => {
          if (keyOfObject(obj) === key && configMapData.delete(key)) configMapChanged();
        },
        listed: (present) => {
          if (!present.has(key) && configMapData.delete(key)) configMapChanged();
        },
        stateChanged: configMapChanged,
        hookFailed: (obj, err) =>
          logger.error({ err, kind: 'configmaps', namespace: obj.metadata?.namespace, name: obj.metadata?.name }, 'applying a ConfigMap failed; skipped'),
        log: (level, msg, fields) => logger[level]({ ...fields }, msg),
      },
      informerOptions,
    );
  };
  const configMaps = (): ReadonlyMap<string, ConfigMapView> => {
    configMapView ??= new Map(
      [...configMapInformers].map(([key, inf]) => {
        const st = inf.state();
        return [
          key,
          {
            state: st.phase,
            ...(st.message !== undefined ? { message: st.message } : {}),
            configMap: st.phase === 'ok' ? (configMapData.get(key) ?? null) : null,
          },
        ];
      }),
    );
    return configMapView;
  };
  const informers = Object.fromEntries(KINDS.map((kind) => [kind, makeInformer(kind, specs[kind])])) as Record<CoreKind, ResourceInformer<KubernetesObject>>;
  const podInformer = specs.pods ? makeInformer('pods', specs.pods) : null;
  const nodeInformer = specs.nodes ? makeInformer('nodes', specs.nodes) : null;
  const endpointsSpec: InformerSpec = {
    name: 'endpoints',
    path: namespace === undefined ? '/api/v1/endpoints' : `/api/v1/namespaces/${encodeURIComponent(namespace)}/endpoints`,
  };
  let endpointsInformer: ResourceInformer<KubernetesObject> | null = null;

  function aggregate(): SourceStatus {
    const worst = worstOf(KINDS.map((k) => informers[k].state()));
    return worst.phase === 'ok' ? { state: 'ok' } : { state: worst.phase, message: worst.message ?? '' };
  }

  let started = false;
  /** The index's view with the on-demand kinds (this node's pods, its Node, Endpoints) that are being watched. */
  function withOnDemand(base: ClusterSnapshot): ClusterSnapshot {
    if (!podInformer && !nodeInformer && !endpointsInformer && configMapInformers.size === 0) return base;
    const st = podInformer?.state();
    const nt = nodeInformer?.state();
    const et = endpointsInformer?.state();
    return {
      ...base,
      ...(st ? { nodePods: { state: st.phase, ...(st.message !== undefined ? { message: st.message } : {}), pods: index.pods() } } : {}),
      ...(nt && thisNode
        ? {
            thisNode: {
              state: nt.phase,
              ...(nt.message !== undefined ? { message: nt.message } : {}),
              name: thisNode.name,
              node: nt.phase === 'ok' ? index.node(thisNode.name) : null,
            },
          }
        : {}),
      ...(et ? { endpoints: { state: et.phase, ...(et.message !== undefined ? { message: et.message } : {}), byService: index.endpoints() } } : {}),
      ...(configMapInformers.size > 0 ? { configMaps: configMaps() } : {}),
    };
  }

  return {
    async start() {
      if (started) return;
      started = true;
      last = aggregate();
      await Promise.all([...KINDS.map((k) => informers[k].start()), podInformer?.start(), nodeInformer?.start()]);
    },

    async stop() {
      started = false;
      const onDemand = endpointsInformer;
      endpointsInformer = null;
      const cms = [...configMapInformers.values()];
      configMapInformers.clear();
      configMapData.clear();
      configMapView = undefined;
      await Promise.all([...KINDS.map((k) => informers[k].stop()), podInformer?.stop(), nodeInformer?.stop(), onDemand?.stop(), ...cms.map((i) => i.stop())]);
      // A stopped source has no view at all; never leave a stale "ok" behind.
      last = { state: 'unsynced', message: 'kubernetes: stopped' };
    },

    status: () => last,

    snapshot: (): ClusterSnapshot => withOnDemand(index.snapshot()),

    watchEndpoints(on) {
      if (on === (endpointsInformer !== null) || !started) return;
      if (on) {
        endpointsInformer = makeInformer('endpoints', endpointsSpec);
        logger.info({}, 'kube-vip reads Endpoints (enable_endpoints): watching Endpoints');
        void endpointsInformer.start();
      } else {
        const stopping = endpointsInformer!;
        endpointsInformer = null;
        void stopping.stop().then(() => index.retainOnly('endpoints', new Set()));
        logger.info({}, 'no kube-vip reads Endpoints any more: stopped watching them');
      }
      notify();
    },

    watchConfigMaps(keys) {
      if (!started) return;
      let changed = false;
      for (const [key, inf] of [...configMapInformers]) {
        if (keys.has(key)) continue;
        configMapInformers.delete(key);
        configMapData.delete(key);
        void inf.stop();
        logger.info({ configMap: key }, `no kube-vip config file comes from ConfigMap ${key} any more: stopped watching it`);
        changed = true;
      }
      for (const key of keys) {
        if (configMapInformers.has(key)) continue;
        const inf = makeConfigMapInformer(key);
        configMapInformers.set(key, inf);
        logger.info({ configMap: key }, `a kube-vip config file comes from ConfigMap ${key}: watching it`);
        void inf.start();
        changed = true;
      }
      if (changed) configMapChanged();
    },

    live: (): ClusterSnapshot => withOnDemand(index.live()),

    changes: (cursor) => index.changesSince(cursor),

    onChange(cb) {
      listeners.add(cb);
      return () => {
        listeners.delete(cb);
      };
    },

    freshness() {
      // The view is as fresh as its stalest part: Services, EndpointSlices and Leases all decide routes,
      // and so do this Node and the Endpoints while they are known (a failed one is not judged from).
      let oldest: number | undefined;
      for (const k of KINDS) {
        const at = informers[k].lastHeardAt();
        if (at === undefined) return { lastHeardAt: undefined };
        oldest = oldest === undefined ? at : Math.min(oldest, at);
      }
      for (const inf of [nodeInformer, endpointsInformer]) {
        const at = inf?.state().phase === 'ok' ? inf.lastHeardAt() : undefined;
        if (at !== undefined) oldest = Math.min(oldest!, at);
      }
      return { lastHeardAt: oldest };
    },

    rejectedTotal: () => ({ ...rejectedTotal }),

    informers: () => ({
      ...(Object.fromEntries(KINDS.map((k) => [k, informers[k].state()])) as Record<CoreKind, InformerState>),
      ...(podInformer ? { pods: podInformer.state() } : {}),
      ...(nodeInformer ? { nodes: nodeInformer.state() } : {}),
      ...(endpointsInformer ? { endpoints: endpointsInformer.state() } : {}),
      ...(configMapInformers.size > 0 ? { configmaps: worstOf([...configMapInformers.values()].map((i) => i.state())) } : {}),
    }),
  };
}
