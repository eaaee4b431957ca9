// --kube-vip-config at run time: which kube-vip settings a check uses. At
// start-up the kernel adapter must be bound to one (table, protocol): the
// first discovery decides it (explicit flags still win). Every check then
// re-reads the node's pods, so a kube-vip restart or a changed env shows up
// in the next report without restarting routewarden.

import type { ClusterSnapshot } from '../core/cluster.ts';
import type { DefaultGateway } from '../core/default-gateway.ts';
import type { KubeVipModel } from '../core/model.ts';
import type { RouteProtocol, TableId } from '../core/types.ts';
import { resolveKubeVip } from '../kubevip/resolve.ts';
import type { ExplicitFlags, KubeVipView } from '../kubevip/resolve.ts';
import type { DiscoverySettings, Logger } from './ports.ts';

export interface KubeVipDiscovery {
  readonly mode: 'auto' | 'off';
  readonly selector: string;
  readonly explicit: ExplicitFlags;
  readonly startGraceMs: number;
  /** The node whose pods are read (routewarden's --node-name). */
  readonly node: string;
  /** routewarden's model from its own flags and defaults. */
  readonly flags: KubeVipModel;
  /** The (table, protocol) the kernel adapter reads. */
  readonly bound: { readonly table: TableId; readonly protocol: RouteProtocol };
}

export function discoveryFor(flagsConfig: DiscoverySettings, bound: KubeVipDiscovery['bound']): KubeVipDiscovery {
  return {
    mode: flagsConfig.kubeVipConfig,
    selector: flagsConfig.kubeVipSelector,
    explicit: flagsConfig.explicit,
    startGraceMs: flagsConfig.kubeVipStartGraceMs,
    node: flagsConfig.model.nodeName,
    flags: flagsConfig.model,
    bound,
  };
}

/** One resolution from a snapshot; pods are "not ok" while the Kubernetes view is not. */
export function resolveFrom(
  d: KubeVipDiscovery | Omit<KubeVipDiscovery, 'bound'>,
  snapshot: ClusterSnapshot | null,
  bound: KubeVipDiscovery['bound'] | null,
  gateway?: DefaultGateway | null,
): KubeVipView {
  return resolveKubeVip({
    mode: d.mode,
    flags: d.flags,
    explicit: d.explicit,
    pods: snapshot ? snapshot.nodePods : { state: 'unsynced', message: 'the Kubernetes view is not ok', pods: [] },
    selector: d.selector,
    node: d.node,
    bound,
    ...(gateway !== undefined ? { gateway } : {}),
    ...(snapshot?.configMaps ? { configMaps: snapshot.configMaps } : {}),
  });
}

/**
 * The configuration to open the kernel adapter with: the flags' config with
 * the primary kube-vip instance's model (table, protocol, route type for
 * repairs), and the discovery every later check uses.
 */
export function startupConfig<C extends DiscoverySettings>(
  flagsConfig: C,
  snapshot: ClusterSnapshot | null,
  logger: Logger,
): { config: C; discovery: KubeVipDiscovery } {
  const partial = discoveryFor(flagsConfig, { table: flagsConfig.model.table, protocol: flagsConfig.model.protocol });
  const view = resolveFrom(partial, snapshot, null);
  const model = view.primary;
  const log = view.report.found > 0 ? logger.info.bind(logger) : logger.warn.bind(logger);
  if (flagsConfig.kubeVipConfig === 'auto')
    log({ kubeVip: view.report.message, table: model.table, protocol: model.protocol, election: model.election }, 'kube-vip configuration');
  const config = Object.freeze({ ...flagsConfig, model });
  return { config, discovery: { ...partial, bound: { table: model.table, protocol: model.protocol } } };
}
