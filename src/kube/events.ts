// Kubernetes Events on this node's Node object, the way kubelet reports node
// events (core/v1 Event in the "default" namespace, involvedObject = Node), so
// `kubectl describe node` shows what routewarden repaired or refused to.

import { CoreV1Api } from '@kubernetes/client-node';
import type { CoreV1Event, KubeConfig } from '@kubernetes/client-node';
import type { EventSink } from '../core/ports.ts';
import type { Logger } from '../surface/logger.ts';

export interface NodeEventSinkOptions {
  readonly kubeConfig: KubeConfig;
  readonly nodeName: string;
  readonly logger: Logger;
  readonly clock?: () => number;
}

/** The Event object, pure, for tests. */
export function nodeEvent(nodeName: string, e: Parameters<EventSink['emit']>[0], now: Date): CoreV1Event {
  return {
    metadata: { generateName: `${nodeName}.routewarden.`, namespace: 'default' },
    involvedObject: { apiVersion: 'v1', kind: 'Node', name: nodeName },
    reason: e.reason,
    // The API server caps an Event message at 1 KiB.
    message: e.message.length > 1024 ? `${e.message.slice(0, 1021)}...` : e.message,
    type: e.type,
    source: { component: 'routewarden', host: nodeName },
    reportingComponent: 'routewarden',
    reportingInstance: nodeName,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}

export function createNodeEventSink(opts: NodeEventSinkOptions): EventSink {
  const api = opts.kubeConfig.makeApiClient(CoreV1Api);
  const clock = opts.clock ?? Date.now;
  return {
    async emit(e) {
      const body = nodeEvent(opts.nodeName, e, new Date(clock()));
      try {
        await api.createNamespacedEvent({ namespace: 'default', body });
        opts.logger.debug({ reason: e.reason }, 'posted Kubernetes Event');
      } catch (err) {
        throw new Error(`posting Event ${e.reason} for node ${opts.nodeName}: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}
