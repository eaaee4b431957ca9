// kube-vip pods as API objects (what the API double serves), for the
// integration tests that run the real CLI against them.

import type { KubeObject } from '../../tools/apidouble/index.ts';
import { NODE_NAME } from './world.ts';

export type Env = Record<string, string | { fieldRef: string }>;

/** A kube-vip pod as the kubelet reports it: container running since `startedAt`, Ready unless said otherwise. */
export function kubeVipPod(opts: {
  name?: string;
  node?: string;
  env: Env;
  args?: string[];
  startedAt?: Date;
  ready?: boolean;
  deleting?: boolean;
  image?: string;
  labels?: Record<string, string>;
  /** spec.volumes and the kube-vip container's volumeMounts, as written in a manifest. */
  volumes?: object[];
  volumeMounts?: object[];
}): KubeObject {
  const startedAt = opts.startedAt ?? new Date(Date.now() - 3_600_000);
  const ready = opts.ready ?? true;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: opts.name ?? 'kube-vip-ds-abcde',
      namespace: 'kube-system',
      labels: opts.labels ?? { 'app.kubernetes.io/name': 'kube-vip' },
      ...(opts.deleting ? { deletionTimestamp: new Date(Date.now() + 30_000).toISOString(), deletionGracePeriodSeconds: 30 } : {}),
    },
    spec: {
      nodeName: opts.node ?? NODE_NAME,
      hostNetwork: true,
      containers: [
        {
          name: 'kube-vip',
          image: opts.image ?? 'ghcr.io/kube-vip/kube-vip:v1.2.3',
          args: opts.args ?? ['manager'],
          env: Object.entries(opts.env).map(([name, v]) =>
            typeof v === 'string' ? { name, value: v } : { name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: v.fieldRef } } },
          ),
          ...(opts.volumeMounts ? { volumeMounts: opts.volumeMounts } : {}),
        },
      ],
      ...(opts.volumes ? { volumes: opts.volumes } : {}),
    },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      containerStatuses: [
        {
          name: 'kube-vip',
          ready,
          restartCount: 2,
          image: 'ghcr.io/kube-vip/kube-vip:v1.2.3',
          imageID: '',
          started: true,
          state: { running: { startedAt: startedAt.toISOString() } },
        },
      ],
    },
  };
}
