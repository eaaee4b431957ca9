// Opening the real adapters for `run` and `check`.

import type { ClusterSource, EventSink, KernelTable } from '../core/ports.ts';
import { createNodeEventSink } from '../kube/events.ts';
import { hasNetAdmin } from '../kernel/capabilities.ts';
import { createNetlinkKernelTable } from '../kernel/netlink.ts';
import { createKubeClusterSource } from '../kube/source.ts';
import type { ClusterSnapshot, NodePodsView } from '../core/cluster.ts';
import { configMapOf, readKubeVipConfigFile } from '../kubevip/config-file.ts';
import { deriveKnobs } from '../kubevip/derive.ts';
import { findKubeVipContainers } from '../kubevip/resolve.ts';
import { loadKubeConfig } from '../kube/kubeconfig.ts';
import { ConfigError } from './config.ts';
import type { Config } from './config.ts';
import type { Logger } from '../surface/logger.ts';

export function openKernel(config: Config, logger: Logger): KernelTable {
  return createNetlinkKernelTable({
    table: config.model.table,
    protocol: config.model.protocol,
    notifyBufferSize: config.notificationBuffer,
    logger: logger.child({ component: 'kernel' }),
  });
}

/**
 * Whether repairs can change routes (CAP_NET_ADMIN effective; null when it
 * cannot be told). --remediate without it says so once, at start, instead of
 * failing at every repair.
 */
export function repairCapability(config: Config, logger: Logger): boolean | null {
  const capable = hasNetAdmin();
  if (config.remediate && !config.dryRun && capable === false) {
    logger.warn(
      '--remediate without CAP_NET_ADMIN: routewarden reports drift but cannot change routes, so every repair is refused (guard not_permitted); grant NET_ADMIN or drop --remediate',
    );
  }
  return capable;
}

export function openCluster(config: Config, logger: Logger): ClusterSource {
  let kubeConfig;
  try {
    kubeConfig = loadKubeConfig(config.kubeconfig);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const source = createKubeClusterSource({
    kubeConfig,
    logger: logger.child({ component: 'kubernetes' }),
    idleTimeoutMs: config.watchIdleTimeoutMs,
    ...(config.model.servicesNamespace ? { namespace: config.model.servicesNamespace } : {}),
    // --kube-vip-config auto: the pods on this node, to read kube-vip's own settings,
    // and this node's Node (its InternalIPs decide kube-vip's control-plane health check).
    ...(config.kubeVipConfig === 'auto'
      ? {
          nodePods: { nodeName: config.model.nodeName, ...(config.kubeVipSelector ? { labelSelector: config.kubeVipSelector } : {}) },
          thisNode: { name: config.model.nodeName },
        }
      : {}),
  });
  // Endpoints are watched only while a kube-vip on this node reads them
  // (enable_endpoints): without it no `endpoints` grant is needed.
  if (config.kubeVipConfig === 'auto') {
    const selector = config.kubeVipSelector ?? '';
    // Called at every informer event (each object of the initial LIST): read
    // the pods from the live view, not snapshot(), which copies every changed
    // kind's map, and look at kube-vip's containers only when the pods changed.
    // The ConfigMaps behind kube-vip config files are watched the same way,
    // each by name: only those a kube-vip pod on this node mounts.
    let seen: NodePodsView | undefined;
    let seenConfigMaps: ClusterSnapshot['configMaps'];
    let reads = false;
    let configMaps: ReadonlySet<string> = new Set();
    source.onChange(() => {
      const live = source.live();
      const pods = live.nodePods;
      const podsChanged = pods?.state !== seen?.state || pods?.pods !== seen?.pods;
      if (podsChanged || live.configMaps !== seenConfigMaps) ({ configMaps, readsEndpoints: reads } = kubeVipNeeds(pods, selector, live.configMaps));
      seen = pods;
      seenConfigMaps = live.configMaps;
      source.watchConfigMaps(configMaps);
      source.watchEndpoints(reads);
    });
  }
  return source;
}

/**
 * What the kube-vip pods on this node need watched, in one walk (one
 * derivation per container): the ConfigMaps (`ns/name`) behind their config
 * files, and whether some routing-table-mode kube-vip sets
 * enable_endpoints=true (a value routewarden can read; vip_routingtable may
 * come from a config file, enable_endpoints never does).
 */
function kubeVipNeeds(
  pods: NodePodsView | undefined,
  selector: string,
  configMaps: ClusterSnapshot['configMaps'],
): { configMaps: ReadonlySet<string>; readsEndpoints: boolean } {
  const keys = new Set<string>();
  let readsEndpoints = false;
  if (pods?.state !== 'ok') return { configMaps: keys, readsEndpoints };
  for (const { pod, container } of findKubeVipContainers(pods.pods, selector)) {
    const { knobs, configFile } = deriveKnobs(pod, container, (path) => readKubeVipConfigFile(pod, container, path, configMaps, null));
    const key = configFile ? configMapOf(pod, container, configFile.path) : null;
    if (key !== null) keys.add(key);
    readsEndpoints ||=
      'value' in knobs.routingTable && knobs.routingTable.value === true && 'value' in knobs.enableEndpoints && knobs.enableEndpoints.value === true;
  }
  return { configMaps: keys, readsEndpoints };
}

/** How long `check` waits for the informers to list everything. */
const SYNC_TIMEOUT_MS = 30_000;

/**
 * `check` reads the API once: wait until the source is synced, or give up as
 * soon as it reports an error (an unreachable API is exit 2, not "no Services").
 */
export async function waitForSync(cluster: ClusterSource, timeoutMs = SYNC_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await new Promise<void>((resolve) => {
    let unsubscribe = (): void => {};
    let finished = false;
    const tick = (): void => {
      if (finished) return;
      // With kube-vip discovery, its pods and this Node must have been listed (or have failed) too.
      const snap = cluster.status().state === 'ok' ? cluster.snapshot() : null;
      const podsPending =
        snap !== null &&
        (snap.nodePods?.state === 'unsynced' ||
          snap.thisNode?.state === 'unsynced' ||
          snap.endpoints?.state === 'unsynced' ||
          [...(snap.configMaps?.values() ?? [])].some((c) => c.state === 'unsynced'));
      if ((cluster.status().state !== 'unsynced' && !podsPending) || Date.now() >= deadline) {
        finished = true;
        unsubscribe();
        clearInterval(poll);
        resolve();
      }
    };
    const poll = setInterval(tick, 100);
    unsubscribe = cluster.onChange(tick);
    tick();
  });
}

/** Kubernetes Events on this node's Node object (RoutesRepaired, RepairBlocked). */
export function openEvents(config: Config, logger: Logger): EventSink {
  return createNodeEventSink({ kubeConfig: loadKubeConfig(config.kubeconfig), nodeName: config.model.nodeName, logger: logger.child({ component: 'events' }) });
}
