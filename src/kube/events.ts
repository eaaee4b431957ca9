// Kubernetes Events about this node (RoutesRepaired, RepairBlocked), so that
// `kubectl describe node` shows what routewarden did. Written as core/v1
// Events on the Node object, in the "default" namespace like the kubelet's
// node events.

import { CoreV1Api, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { EventSink } from '../core/ports.ts';
import { describeKubeError } from './errors.ts';

export interface NodeEventSinkOptions {
  readonly kubeConfig: KubeConfig;
  readonly nodeName: string;
  readonly logger: Pick<Logger, 'debug'>;
  /** Namespace of the Event objects; node events live in "default". */
  readonly namespace?: string;
  readonly now?: () => Date;
}

const COMPONENT = 'routewarden';

/** Builds the Event object; pure, exported for tests. */
export function nodeEvent(
  nodeName: string,
  namespace: string,
  e: Parameters<EventSink['emit']>[0],
  now: Date,
): CoreV1Event {
  return {
    metadata: { generateName: `${nodeName}.`, namespace },
    // The kubelet uses the node name as the Node's uid in its events; kubectl describe matches on it.
    involvedObject: { apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeName },
    type: e.type,
    reason: e.reason,
    message: e.message,
    source: { component: COMPONENT, host: nodeName },
    reportingComponent: COMPONENT,
    reportingInstance: nodeName,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}

export function createNodeEventSink(opts: NodeEventSinkOptions): EventSink {
  const api = opts.kubeConfig.makeApiClient(CoreV1Api);
  const namespace = opts.namespace ?? 'default';
  const now = opts.now ?? (() => new Date());
  return {
    async emit(e) {
      try {
        await api.createNamespacedEvent({ namespace, body: nodeEvent(opts.nodeName, namespace, e, now()) });
        opts.logger.debug({ reason: e.reason }, 'kubernetes event recorded');
      } catch (err) {
        throw new Error(`recording event ${e.reason} on node ${opts.nodeName}: ${describeKubeError(err)}`, { cause: err });
      }
    },
  };
}
