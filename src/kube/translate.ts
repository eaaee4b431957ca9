// Pure translation from client-node objects to the core's cluster model.
//
// Informers hand over two shapes for the same type: objects from the initial
// LIST are deserialised model instances (timestamps are Date objects), while
// objects from WATCH events are the raw parsed JSON (timestamps are RFC 3339
// strings, Lease times with microseconds). Field names are the same camelCase
// in both. Every reader here therefore accepts Date or string, and never
// trusts a field to be present: the API's defaults are applied explicitly.

import type { V1EndpointSlice, V1Lease, V1Service } from '@kubernetes/client-node';
import {
  objectKey,
  type EndpointConditions,
  type EndpointInfo,
  type EndpointSliceInfo,
  type IngressEntry,
  type LeaseInfo,
  type ServiceInfo,
} from '../core/cluster.ts';

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

function stringRecord(r: Record<string, string> | undefined | null): Readonly<Record<string, string>> {
  if (r === undefined || r === null) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(r)) if (typeof v === 'string') out[k] = v;
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
  return {
    namespace: svc.metadata?.namespace ?? '',
    name,
    uid: svc.metadata?.uid ?? '',
    // The API defaults an omitted type to ClusterIP.
    type: nonEmpty(spec?.type) ?? 'ClusterIP',
    annotations: stringRecord(svc.metadata?.annotations),
    ...(loadBalancerClass !== undefined ? { loadBalancerClass } : {}),
    ...(loadBalancerIP !== undefined ? { loadBalancerIP } : {}),
    ingress,
    // kube-vip compares against Local only; anything else (including unset) behaves as Cluster.
    externalTrafficPolicy: spec?.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
    ipFamilies: (spec?.ipFamilies ?? []).filter((f): f is string => typeof f === 'string'),
  };
}

const ADDRESS_TYPES = new Set<EndpointSliceInfo['addressType']>(['IPv4', 'IPv6', 'FQDN']);

/** Keeps true/false/null as given and leaves absent conditions out: kube-vip treats a nil `serving` as false. */
function conditions(c: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null } | undefined): EndpointConditions {
  const out: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null } = {};
  if (c?.ready !== undefined) out.ready = c.ready;
  if (c?.serving !== undefined) out.serving = c.serving;
  if (c?.terminating !== undefined) out.terminating = c.terminating;
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
      addresses: (e.addresses ?? []).filter((a): a is string => typeof a === 'string'),
      ...(nodeName !== undefined ? { nodeName } : {}),
      ...(hostname !== undefined ? { hostname } : {}),
      conditions: conditions(e.conditions),
    };
  });
  return { namespace: slice.metadata?.namespace ?? '', name, serviceName, addressType, endpoints };
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
    namespace: l.metadata?.namespace ?? '',
    name,
    // A released lease has holderIdentity "" (kube-vip's ReleaseOnCancel); keep it as given.
    ...(typeof spec?.holderIdentity === 'string' ? { holderIdentity: spec.holderIdentity } : {}),
    ...(renewTime !== undefined ? { renewTime } : {}),
    ...(acquireTime !== undefined ? { acquireTime } : {}),
    ...(typeof duration === 'number' && Number.isFinite(duration) ? { leaseDurationSeconds: duration } : {}),
  };
}
