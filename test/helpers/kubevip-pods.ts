// Builders for kube-vip pods in core terms (PodInfo), for the kube-vip unit tables.

import type { ConfigMapView, ContainerInfo, EnvVarInfo, PodInfo, VolumeMountInfo, VolumeSourceInfo } from '../../src/core/cluster.ts';
import { NODE, NOW } from './fixtures.ts';

export const KUBE_VIP_IMAGE = 'ghcr.io/kube-vip/kube-vip:v1.2.3';

/** env entries: a string is a literal, `{ fieldRef }` / `{ valueFromKind }` a reference. */
export type EnvSpec = Readonly<Record<string, string | { fieldRef: string } | { valueFromKind: string }>>;

export function container(over: { env?: EnvSpec; args?: string[]; command?: string[]; image?: string; name?: string; envFrom?: string[] } = {}): ContainerInfo {
  const env: EnvVarInfo[] = Object.entries(over.env ?? {}).map(([name, v]) => (typeof v === 'string' ? { name, value: v } : { name, ...v }));
  return {
    name: over.name ?? 'kube-vip',
    image: over.image ?? KUBE_VIP_IMAGE,
    command: over.command ?? [],
    args: over.args ?? ['manager'],
    env,
    envFrom: over.envFrom ?? [],
  };
}

/** A running, ready kube-vip pod in table mode unless a case says otherwise. */
export function kubeVipPod(over: Partial<PodInfo> & { env?: EnvSpec; args?: string[]; startedAt?: number | null; restarts?: number } = {}): PodInfo {
  const { env, args, startedAt, restarts, ...rest } = over;
  const c = container({ env: env ?? { vip_routingtable: 'true', svc_enable: 'true', vip_interface: 'lo' }, ...(args ? { args } : {}) });
  const started = startedAt === undefined ? NOW - 3_600_000 : startedAt;
  return {
    namespace: 'kube-system',
    name: 'kube-vip-abcde',
    uid: 'uid-kv',
    nodeName: NODE,
    labels: { app: 'kube-vip' },
    annotations: {},
    hostNetwork: true,
    phase: 'Running',
    ready: started !== null,
    containers: [c],
    containerStatuses: [
      {
        name: 'kube-vip',
        ready: started !== null,
        restartCount: restarts ?? 0,
        state: started === null ? 'waiting' : 'running',
        ...(started !== null ? { startedAt: started } : {}),
      },
    ],
    ...rest,
  };
}

/** The ConfigMap a kube-vip config file comes from in the builders below. */
export const CONFIG_MAP = { namespace: 'kube-system', name: 'kube-vip-config' } as const;

/**
 * A kube-vip pod started with `--config-file <path>` (default
 * /etc/kube-vip/config.yaml) from volume `config` mounted at /etc/kube-vip,
 * backed by ConfigMap kube-vip-config unless `volume` says otherwise.
 */
export function configFilePod(
  over: {
    env?: EnvSpec;
    args?: string[];
    path?: string;
    volume?: VolumeSourceInfo;
    mount?: Omit<VolumeMountInfo, 'name'>;
    startedAt?: number | null;
  } = {},
): PodInfo {
  const path = over.path ?? '/etc/kube-vip/config.yaml';
  const pod = kubeVipPod({
    env: over.env ?? { svc_enable: 'true' },
    args: over.args ?? ['manager', `--config-file=${path}`],
    ...(over.startedAt !== undefined ? { startedAt: over.startedAt } : {}),
  });
  return {
    ...pod,
    containers: pod.containers.map((c) => ({ ...c, volumeMounts: [{ name: 'config', ...(over.mount ?? { mountPath: '/etc/kube-vip' }) }] })),
    volumes: [{ name: 'config', source: over.volume ?? { kind: 'configMap', name: CONFIG_MAP.name } }],
  };
}

/** The watched ConfigMaps with kube-vip-config holding `data` (or in `state`, e.g. refused). */
export function configMapsWith(
  data: Record<string, string>,
  over: { state?: ConfigMapView['state']; message?: string; changedAt?: number; missing?: boolean } = {},
): ReadonlyMap<string, ConfigMapView> {
  const state = over.state ?? 'ok';
  return new Map([
    [
      `${CONFIG_MAP.namespace}/${CONFIG_MAP.name}`,
      {
        state,
        ...(over.message !== undefined ? { message: over.message } : {}),
        configMap: state !== 'ok' || over.missing ? null : { ...CONFIG_MAP, data, ...(over.changedAt !== undefined ? { changedAt: over.changedAt } : {}) },
      },
    ],
  ]);
}
