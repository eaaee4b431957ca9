// Kubernetes Events about this node (RoutesRepaired, RepairBlocked), so that
// `kubectl describe node` shows what routewarden did. Written as core/v1
// Events on the Node object, in the "default" namespace like the kubelet's
// node events.

import type { CoreV1Event, KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { EventSink } from '../core/ports.ts';
import { describeKubeError } from './errors.ts';
import { kubeRequest } from './rest.ts';

export interface NodeEventSinkOptions {
  readonly kubeConfig: KubeConfig;
  readonly nodeName: string;
  readonly logger: Pick<Logger, 'debug'>;
  /** Namespace of the Event objects; node events live in "default". */
  readonly namespace?: string;
  readonly now?: () => Date;
}

const COMPONENT = 'routewarden';
/** An Event is a courtesy: a hung apiserver must not hold a repair's report back for long. */
const EVENT_TIMEOUT_MS = 10_000;

/** Builds the Event object; pure, exported for tests. */
export function nodeEvent(nodeName: string, namespace: string, e: Parameters<EventSink['emit']>[0], now: Date): CoreV1Event {
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
  const namespace = opts.namespace ?? 'default';
  const now = opts.now ?? (() => new Date());
  return {
    async emit(e) {
      try {
        await kubeRequest(opts.kubeConfig, {
          method: 'POST',
          path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`,
          body: nodeEvent(opts.nodeName, namespace, e, now()),
          signal: AbortSignal.timeout(EVENT_TIMEOUT_MS),
        });
        opts.logger.debug({ reason: e.reason }, 'kubernetes event recorded');
      } catch (err) {
        throw new Error(`recording event ${e.reason} on node ${opts.nodeName}: ${describeKubeError(err)}`, { cause: err });
      }
    },
  };
}
