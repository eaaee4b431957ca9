// Node events through the real client-node against the API double.

import { CoreV1Api } from '@kubernetes/client-node';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createNodeEventSink } from '../../src/kube/events.ts';
import { startDouble, type DoubleFixture } from '../helpers/apidouble-fixture.ts';

let fx: DoubleFixture;
beforeEach(async () => {
  fx = await startDouble();
});
afterEach(async () => {
  await fx.close();
});

it('records an Event on the Node that kubectl describe node would show', async () => {
  const sink = createNodeEventSink({
    kubeConfig: fx.kubeConfig,
    nodeName: 'worker-1',
    logger: { debug: () => undefined },
    now: () => new Date(Date.UTC(2026, 10, 26, 12)),
  });
  await sink.emit({ type: 'Warning', reason: 'RepairBlocked', message: 'would delete 150 routes (max 100)' });
  const events = await fx.kubeConfig
    .makeApiClient(CoreV1Api)
    .listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.kind=Node,involvedObject.name=worker-1' });
  expect(events.items).toHaveLength(1);
  expect(events.items[0]).toMatchObject({
    type: 'Warning',
    reason: 'RepairBlocked',
    message: 'would delete 150 routes (max 100)',
    involvedObject: { kind: 'Node', name: 'worker-1', uid: 'worker-1' },
    source: { component: 'routewarden', host: 'worker-1' },
    count: 1,
  });
  expect(events.items[0]?.metadata?.name).toMatch(/^worker-1\./);
  expect(events.items[0]?.lastTimestamp?.toISOString()).toBe('2026-11-26T12:00:00.000Z');
});

it('rejects with the node, the reason and a one-line cause when the API refuses', async () => {
  const sink = createNodeEventSink({ kubeConfig: fx.kubeConfig, nodeName: 'worker-1', logger: { debug: () => undefined } });
  await fx.double.outage(true);
  await expect(sink.emit({ type: 'Normal', reason: 'RoutesRepaired', message: 'm' })).rejects.toThrow(
    /^recording event RoutesRepaired on node worker-1: HTTP 503 ServiceUnavailable: the API double is in a simulated outage$/,
  );
});
