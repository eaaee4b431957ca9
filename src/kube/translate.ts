// Pure translation from Kubernetes objects to the core's cluster model.
//
// The informers hand over the raw parsed JSON of LIST pages and WATCH events
// (timestamps are RFC 3339 strings, Lease times with microseconds), typed with
// client-node's model interfaces. client-node's deserialised model instances
// (timestamps as Date objects) are accepted too, so every time reader takes a
// Date or a string; no field is trusted to be present: the API's defaults are
// applied explicitly.

import type {
  V1ConfigMap,
  V1ConfigMapProjection,
  V1ConfigMapVolumeSource,
  V1Container,
  V1ContainerStatus,
  V1EndpointSlice,
  V1Endpoints,
  V1Lease,
  V1Node,
  V1Pod,
  V1Service,
  V1Volume,
} from '@kubernetes/client-node';
import {
  objectKey,
  type ConfigMapInfo,
  type ConfigMapVolume,
  type ContainerInfo,
  type ContainerStatusInfo,
  type EnvVarInfo,
  type PodInfo,
  type EndpointConditions,
  type EndpointInfo,
  type EndpointSliceInfo,
  type EndpointsAddressInfo,
  type EndpointsInfo,
  type IngressEntry,
  type LeaseInfo,
  type NodeInfo,
  type ServiceInfo,
  type VolumeInfo,
  type VolumeMountInfo,
} from '../core/cluster.ts';
import { ANNOTATION, parseLoadbalancerIPs } from '../core/expected.ts';
import { parseIp } from '../core/ip.ts';

/** The label that ties an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Date, RFC 3339 string or epoch ms to epoch ms; anything unreadable is undefined, never NaN. */
export function toEpochMs(value: unknown): number | undefined {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'string' && value !== '') ms = Date.parse(value);
  else if (typeof value === 'number') ms = value;
  else return undefined;
  return Number.isFinite(ms) ? ms : undefined;
}

const nonEmpty = (s: string | undefined | null): string | undefined => (typeof s === 'string' && s !== '' ? s : undefined);

// Memory at scale (docs/performance.md): JSON.parse gives every occurrence of
// a value its own string and every array the size it was parsed at, and a
// filtered copy room to grow. The translated index is what stays resident, so
// values that repeat across thousands of objects (namespaces, node names,
// Service types, address families) are shared, arrays are kept at their exact
// size, and endpoint conditions are one object per combination.

const INTERN_LIMIT = 50_000;
const interned = new Map<string, string>();

/** One shared copy of a value that repeats across objects. Bounded: a full table starts over. */
export function intern(s: string): string {
  const known = interned.get(s);
  if (known !== undefined) return known;
  if (interned.size >= INTERN_LIMIT) interned.clear();
  interned.set(s, s);
  return s;
}

const isString = (x: unknown): x is string => typeof x === 'string';

/** The strings of `xs`, interned: the parsed array itself when it holds nothing else (exact size, no copy). */
function internedStrings(xs: readonly unknown[] | undefined | null): readonly string[] {
  if (!Array.isArray(xs) || xs.length === 0) return EMPTY;
  const list = xs.every(isString) ? (xs as string[]) : xs.filter(isString).slice();
  for (let i = 0; i < list.length; i++) list[i] = intern(list[i]!);
  return list;
}

/** How many strings `xs` holds, without copying them out. */
function countStrings(xs: readonly unknown[] | undefined | null): number {
  if (!Array.isArray(xs)) return 0;
  let n = 0;
  for (const x of xs) if (isString(x)) n++;
  return n;
}
const EMPTY: readonly string[] = Object.freeze([]);
const NO_INGRESS: readonly IngressEntry[] = Object.freeze([]);

function stringRecord(r: Record<string, string> | undefined | null): Readonly<Record<string, string>> {
  if (r === undefined || r === null) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(r)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * Thrown by a translator for an object it refuses: the index leaves that
 * object alone out of the view and says why (docs/reliability.md).
 */
export class RejectedObjectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RejectedObjectError';
  }
}

// What one Service may cost. The apiserver caps all annotations of an object
// at 256 KiB together; a dual-stack Service has two addresses, a shared-IP
// setup a handful. A 1 MB list of addresses (accepted by a lax server, or
// a bug) once made every check parse it again, 0.3 s each, and grew the
// process by 300 MB a minute: beyond these bounds the Service is rejected.
export const MAX_LB_IPS_ANNOTATION_BYTES = 16 * 1024;
export const MAX_LB_ADDRESSES = 256;

/** The loadbalancerIPs annotation, parsed once per object version and bounded. */
function loadbalancerIPs(annotation: string | undefined): ServiceInfo['loadbalancerIPs'] {
  if (annotation === undefined) return undefined;
  if (annotation.length > MAX_LB_IPS_ANNOTATION_BYTES) {
    throw new RejectedObjectError(`annotation ${ANNOTATION.loadbalancerIPs} is ${annotation.length} characters long, more than ${MAX_LB_IPS_ANNOTATION_BYTES}`);
  }
  const parsed = parseLoadbalancerIPs(annotation);
  const n = parsed.ips.length + parsed.hostnames.length;
  if (n > MAX_LB_ADDRESSES) throw new RejectedObjectError(`annotation ${ANNOTATION.loadbalancerIPs} lists ${n} addresses, more than ${MAX_LB_ADDRESSES}`);
  return { ips: parsed.ips.map(intern), hostnames: parsed.hostnames };
}

/**
 * A Service's kube-vip annotations: the only ones routewarden reads. Others
 * (kubectl's last-applied-configuration, a whole copy of the object) would
 * only cost memory; the loadbalancerIPs one is kept parsed instead.
 */
function kubeVipAnnotations(r: Record<string, string> | undefined | null): Readonly<Record<string, string>> {
  if (r === undefined || r === null || typeof r !== 'object') return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(r)) {
    if (typeof v === 'string' && k.startsWith('kube-vip.io/') && k !== ANNOTATION.loadbalancerIPs) out[k] = v;
  }
  return out;
}

/** `namespace/name` of any object, or undefined when it has no name. */
export function keyOfObject(obj: { metadata?: { name?: string; namespace?: string } }): string | undefined {
  const name = nonEmpty(obj.metadata?.name);
  return name === undefined ? undefined : objectKey(obj.metadata?.namespace ?? '', name);
}

/** A Service, or undefined when the object has no name. */
export function toServiceInfo(svc: V1Service): ServiceInfo | undefined {
  const name = nonEmpty(svc.metadata?.name);
  if (name === undefined) return undefined;
  const spec = svc.spec;
  const ingress: IngressEntry[] = [];
  for (const i of svc.status?.loadBalancer?.ingress ?? []) {
    const ip = nonEmpty(i.ip);
    const hostname = nonEmpty(i.hostname);
    if (ip === undefined && hostname === undefined) continue;
    ingress.push({ ...(ip !== undefined ? { ip } : {}), ...(hostname !== undefined ? { hostname } : {}) });
  }
  const loadBalancerClass = nonEmpty(spec?.loadBalancerClass);
  const loadBalancerIP = nonEmpty(spec?.loadBalancerIP);
  const rawLbIPs = svc.metadata?.annotations?.[ANNOTATION.loadbalancerIPs];
  const lbIPs = loadbalancerIPs(typeof rawLbIPs === 'string' ? rawLbIPs : undefined);
  return {
    namespace: intern(svc.metadata?.namespace ?? ''),
    name,
    // The API defaults an omitted type to ClusterIP.
    type: intern(nonEmpty(spec?.type) ?? 'ClusterIP'),
    annotations: kubeVipAnnotations(svc.metadata?.annotations),
    ...(lbIPs !== undefined ? { loadbalancerIPs: lbIPs } : {}),
    ...(loadBalancerClass !== undefined ? { loadBalancerClass } : {}),
    ...(loadBalancerIP !== undefined ? { loadBalancerIP } : {}),
    ingress: ingress.length === 0 ? NO_INGRESS : ingress.slice(),
    // kube-vip compares against Local only; anything else (including unset) behaves as Cluster.
    externalTrafficPolicy: spec?.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
    ipFamilies: internedStrings(spec?.ipFamilies),
  };
}

const ADDRESS_TYPES = new Set<EndpointSliceInfo['addressType']>(['IPv4', 'IPv6', 'FQDN']);

type Tri = boolean | null | undefined;
const sharedConditions = new Map<string, EndpointConditions>();
const triKey = (v: Tri): string => (v === undefined ? 'u' : v === null ? 'n' : v ? 't' : 'f');

/**
 * Keeps true/false/null as given and leaves absent conditions out: kube-vip
 * treats a nil `serving` as false. One frozen object per combination (27).
 */
function conditions(c: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null } | undefined): EndpointConditions {
  const tri = (v: unknown): Tri => (v === true || v === false || v === null ? v : undefined);
  const ready = tri(c?.ready);
  const serving = tri(c?.serving);
  const terminating = tri(c?.terminating);
  const key = triKey(ready) + triKey(serving) + triKey(terminating);
  let out = sharedConditions.get(key);
  if (out === undefined) {
    const o: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null } = {};
    if (ready !== undefined) o.ready = ready;
    if (serving !== undefined) o.serving = serving;
    if (terminating !== undefined) o.terminating = terminating;
    out = Object.freeze(o);
    sharedConditions.set(key, out);
  }
  return out;
}

/**
 * An EndpointSlice, or undefined when it cannot belong to a Service: no name,
 * no `kubernetes.io/service-name` label, or an address type the API does not define.
 */
export function toEndpointSliceInfo(slice: V1EndpointSlice): EndpointSliceInfo | undefined {
  const name = nonEmpty(slice.metadata?.name);
  const serviceName = nonEmpty(slice.metadata?.labels?.[SERVICE_NAME_LABEL]);
  const addressType = slice.addressType as EndpointSliceInfo['addressType'];
  if (name === undefined || serviceName === undefined || !ADDRESS_TYPES.has(addressType)) return undefined;
  const endpoints: EndpointInfo[] = (slice.endpoints ?? []).map((e) => {
    const nodeName = nonEmpty(e.nodeName);
    const hostname = nonEmpty(e.hostname);
    return {
      addressCount: countStrings(e.addresses),
      ...(nodeName !== undefined ? { nodeName: intern(nodeName) } : {}),
      ...(hostname !== undefined ? { hostname } : {}),
      conditions: conditions(e.conditions),
    };
  });
  return {
    namespace: intern(slice.metadata?.namespace ?? ''),
    name,
    serviceName,
    addressType: intern(addressType) as EndpointSliceInfo['addressType'],
    endpoints,
  };
}

/** A Lease, or undefined when it has no name. Times become epoch milliseconds. */
export function toLeaseInfo(l: V1Lease): LeaseInfo | undefined {
  const name = nonEmpty(l.metadata?.name);
  if (name === undefined) return undefined;
  const spec = l.spec;
  const renewTime = toEpochMs(spec?.renewTime);
  const acquireTime = toEpochMs(spec?.acquireTime);
  const duration = spec?.leaseDurationSeconds;
  return {
    namespace: intern(l.metadata?.namespace ?? ''),
    name,
    // A released lease has holderIdentity "" (kube-vip's ReleaseOnCancel); keep it as given.
    ...(typeof spec?.holderIdentity === 'string' ? { holderIdentity: spec.holderIdentity } : {}),
    ...(renewTime !== undefined ? { renewTime } : {}),
    ...(acquireTime !== undefined ? { acquireTime } : {}),
    ...(typeof duration === 'number' && Number.isFinite(duration) ? { leaseDurationSeconds: duration } : {}),
  };
}

function envVar(e: { name?: string; value?: string; valueFrom?: Record<string, unknown> & { fieldRef?: { fieldPath?: string } } }): EnvVarInfo | undefined {
  if (typeof e.name !== 'string' || e.name === '') return undefined;
  const from = e.valueFrom;
  if (from) {
    const path = from.fieldRef?.fieldPath;
    if (typeof path === 'string' && path !== '') return { name: e.name, fieldRef: path };
    const kind = Object.keys(from).find((k) => from[k] !== undefined && from[k] !== null) ?? 'unknown';
    return { name: e.name, valueFromKind: kind };
  }
  return { name: e.name, value: typeof e.value === 'string' ? e.value : '' };
}

function container(c: V1Container): ContainerInfo {
  const strings = (xs: unknown): string[] => (Array.isArray(xs) ? xs.filter((x): x is string => typeof x === 'string') : []);
  return {
    name: c.name,
    image: c.image ?? '',
    command: strings(c.command),
    args: strings(c.args),
    env: (c.env ?? []).map((e) => envVar(e as Parameters<typeof envVar>[0])).filter((e): e is EnvVarInfo => e !== undefined),
    envFrom: (c.envFrom ?? []).map((f) =>
      f.configMapRef ? `configMap ${f.configMapRef.name ?? ''}` : f.secretRef ? `secret ${f.secretRef.name ?? ''}` : 'unknown',
    ),
    ...(Array.isArray(c.volumeMounts) && c.volumeMounts.length > 0 ? { volumeMounts: c.volumeMounts.flatMap(volumeMount) } : {}),
  };
}

function volumeMount(m: { name?: unknown; mountPath?: unknown; subPath?: unknown }): VolumeMountInfo[] {
  if (typeof m?.name !== 'string' || typeof m.mountPath !== 'string') return [];
  return [{ name: m.name, mountPath: m.mountPath, ...(typeof m.subPath === 'string' && m.subPath !== '' ? { subPath: m.subPath } : {}) }];
}

function configMapVolume(c: V1ConfigMapVolumeSource | V1ConfigMapProjection): ConfigMapVolume {
  const items = Array.isArray(c.items)
    ? c.items.filter((i) => typeof i?.key === 'string' && typeof i.path === 'string').map((i) => ({ key: i.key, path: i.path }))
    : undefined;
  return { kind: 'configMap', name: c.name ?? '', ...(items !== undefined && items.length > 0 ? { items } : {}) };
}

/** The first source field set on an object, e.g. `emptyDir`, `secret`. */
const sourceType = (o: object): string => Object.keys(o).find((k) => k !== 'name' && (o as Record<string, unknown>)[k] != null) ?? 'unknown';

/** A pod volume, as far as kube-vip's config file needs it (configMap, projected configMaps, hostPath). */
function volume(v: V1Volume): VolumeInfo[] {
  if (typeof v?.name !== 'string') return [];
  if (v.configMap) return [{ name: v.name, source: configMapVolume(v.configMap) }];
  if (v.hostPath) return [{ name: v.name, source: { kind: 'hostPath', path: String(v.hostPath.path ?? '') } }];
  if (v.projected) {
    const sources = (v.projected.sources ?? []).map((s) =>
      s?.configMap ? configMapVolume(s.configMap) : { kind: 'other' as const, type: sourceType(s ?? {}) },
    );
    return [{ name: v.name, source: { kind: 'projected', sources } }];
  }
  return [{ name: v.name, source: { kind: 'other', type: sourceType(v) } }];
}

/** A ConfigMap that backs kube-vip's config file: its string data and when it was last written. */
export function toConfigMapInfo(c: V1ConfigMap): ConfigMapInfo | undefined {
  const name = nonEmpty(c.metadata?.name);
  if (name === undefined) return undefined;
  let changedAt: number | undefined;
  for (const f of c.metadata?.managedFields ?? []) {
    const t = toEpochMs(f?.time);
    if (t !== undefined && (changedAt === undefined || t > changedAt)) changedAt = t;
  }
  return { namespace: c.metadata?.namespace ?? '', name, data: stringRecord(c.data), ...(changedAt !== undefined ? { changedAt } : {}) };
}

function containerStatus(s: V1ContainerStatus): ContainerStatusInfo {
  const st = s.state;
  const startedAt = toEpochMs(st?.running?.startedAt);
  const state = st?.running ? 'running' : st?.waiting ? 'waiting' : st?.terminated ? 'terminated' : 'unknown';
  const reason = nonEmpty(st?.waiting?.reason) ?? nonEmpty(st?.terminated?.reason);
  return {
    name: s.name,
    ready: s.ready === true,
    restartCount: typeof s.restartCount === 'number' ? s.restartCount : 0,
    state,
    ...(startedAt !== undefined ? { startedAt } : {}),
    ...(reason !== undefined ? { reason } : {}),
  };
}

/**
 * An Endpoints object as kube-vip's Endpoints provider reads it
 * (providers/endpoints.go): the ready `subsets[].addresses` only, each IP cut
 * at "/", its family by kube-vip's test (not IPv4 = IPv6), its nodeName and
 * hostname for Local traffic policy. Undefined when it has no name.
 */
export function toEndpointsInfo(e: V1Endpoints): EndpointsInfo | undefined {
  const name = nonEmpty(e.metadata?.name);
  if (name === undefined) return undefined;
  const addresses: EndpointsAddressInfo[] = [];
  for (const subset of e.subsets ?? []) {
    for (const a of subset?.addresses ?? []) {
      if (!a) continue;
      const ip = parseIp(String(a.ip ?? '').split('/')[0]!);
      addresses.push({
        family: ip?.family === 'ipv4' ? 'ipv4' : 'ipv6',
        ...(nonEmpty(a.nodeName) !== undefined ? { nodeName: a.nodeName! } : {}),
        ...(nonEmpty(a.hostname) !== undefined ? { hostname: a.hostname! } : {}),
      });
    }
  }
  return { namespace: e.metadata?.namespace ?? '', name, addresses };
}

/** This node's Node, for kube-vip's control-plane health check (its InternalIPs), or undefined when it has no name. */
export function toNodeInfo(n: V1Node): NodeInfo | undefined {
  const name = nonEmpty(n.metadata?.name);
  if (name === undefined) return undefined;
  const internalIPs: string[] = [];
  for (const a of n.status?.addresses ?? []) {
    if (a?.type === 'InternalIP' && typeof a.address === 'string' && a.address !== '') internalIPs.push(a.address);
  }
  return { name, internalIPs };
}

/** A Pod, for kube-vip discovery (--kube-vip-config auto), or undefined when it has no name. */
export function toPodInfo(p: V1Pod): PodInfo | undefined {
  const name = nonEmpty(p.metadata?.name);
  if (name === undefined) return undefined;
  const deletion = toEpochMs(p.metadata?.deletionTimestamp);
  const grace = p.metadata?.deletionGracePeriodSeconds;
  return {
    namespace: p.metadata?.namespace ?? '',
    name,
    uid: p.metadata?.uid ?? '',
    nodeName: p.spec?.nodeName ?? '',
    labels: stringRecord(p.metadata?.labels),
    annotations: stringRecord(p.metadata?.annotations),
    hostNetwork: p.spec?.hostNetwork === true,
    ...(deletion !== undefined ? { deletionTimestamp: deletion } : {}),
    ...(typeof grace === 'number' ? { deletionGracePeriodSeconds: grace } : {}),
    phase: p.status?.phase ?? 'Unknown',
    ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    containers: (p.spec?.containers ?? []).map(container),
    containerStatuses: (p.status?.containerStatuses ?? []).map(containerStatus),
    ...(Array.isArray(p.spec?.volumes) && p.spec.volumes.length > 0 ? { volumes: p.spec.volumes.flatMap(volume) } : {}),
  };
}
