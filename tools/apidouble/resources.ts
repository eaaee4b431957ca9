// The resources the API double serves, described once. Routing, discovery,
// the store and the typed in-process API are all driven by this table, so a
// resource added here is listable, watchable, writable and discoverable.

export interface ResourceDef {
  /** Unique id used by the store and the request counters (kubectl's `plural[.group]`). */
  readonly id: ResourceId;
  /** API group; '' is the legacy core group served under /api. */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly singular: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  /** Subresources served (only `status` is meaningful to the double). */
  readonly subresources: readonly string[];
}

export type ResourceId =
  'services' | 'endpoints' | 'pods' | 'nodes' | 'namespaces' | 'configmaps' | 'events' | 'endpointslices' | 'leases' | 'events.events.k8s.io';

/** The kinds the in-process API accepts; `events.k8s.io/Event` disambiguates the two Event kinds. */
export type KindName = 'Service' | 'Endpoints' | 'Pod' | 'Node' | 'Namespace' | 'ConfigMap' | 'Event' | 'EndpointSlice' | 'Lease' | 'events.k8s.io/Event';

export const RESOURCES: readonly ResourceDef[] = [
  def('services', '', 'v1', 'services', 'service', 'Service', true, ['svc'], ['status']),
  def('endpoints', '', 'v1', 'endpoints', 'endpoints', 'Endpoints', true, ['ep'], []),
  def('pods', '', 'v1', 'pods', 'pod', 'Pod', true, ['po'], ['status']),
  def('nodes', '', 'v1', 'nodes', 'node', 'Node', false, ['no'], ['status']),
  def('namespaces', '', 'v1', 'namespaces', 'namespace', 'Namespace', false, ['ns'], ['status']),
  def('configmaps', '', 'v1', 'configmaps', 'configmap', 'ConfigMap', true, ['cm'], []),
  def('events', '', 'v1', 'events', 'event', 'Event', true, ['ev'], []),
  def('endpointslices', 'discovery.k8s.io', 'v1', 'endpointslices', 'endpointslice', 'EndpointSlice', true, [], []),
  def('leases', 'coordination.k8s.io', 'v1', 'leases', 'lease', 'Lease', true, [], []),
  def('events.events.k8s.io', 'events.k8s.io', 'v1', 'events', 'event', 'Event', true, ['ev'], []),
];

function def(
  id: ResourceId,
  group: string,
  version: string,
  plural: string,
  singular: string,
  kind: string,
  namespaced: boolean,
  shortNames: readonly string[],
  subresources: readonly string[],
): ResourceDef {
  return { id, group, version, plural, singular, kind, namespaced, shortNames, subresources };
}

export const groupVersion = (r: ResourceDef): string => (r.group === '' ? r.version : `${r.group}/${r.version}`);

const byId = new Map<ResourceId, ResourceDef>(RESOURCES.map((r) => [r.id, r]));
const byGroupVersionPlural = new Map<string, ResourceDef>(RESOURCES.map((r) => [`${groupVersion(r)}|${r.plural}`, r]));
const byApiVersionKind = new Map<string, ResourceDef>(RESOURCES.map((r) => [`${groupVersion(r)}|${r.kind}`, r]));

const KIND_TO_ID: Readonly<Record<KindName, ResourceId>> = {
  Service: 'services',
  Endpoints: 'endpoints',
  Pod: 'pods',
  Node: 'nodes',
  Namespace: 'namespaces',
  ConfigMap: 'configmaps',
  Event: 'events',
  EndpointSlice: 'endpointslices',
  Lease: 'leases',
  'events.k8s.io/Event': 'events.events.k8s.io',
};

export function resourceById(id: ResourceId): ResourceDef {
  const r = byId.get(id);
  if (!r) throw new Error(`unknown resource ${id}`);
  return r;
}

export function resourceByKindName(kind: KindName): ResourceDef {
  return resourceById(KIND_TO_ID[kind]);
}

export function resourceByPath(gv: string, plural: string): ResourceDef | undefined {
  return byGroupVersionPlural.get(`${gv}|${plural}`);
}

/** The resource an object belongs to, from its apiVersion and kind. */
export function resourceForObject(apiVersion: string | undefined, kind: string | undefined): ResourceDef | undefined {
  return byApiVersionKind.get(`${apiVersion ?? ''}|${kind ?? ''}`);
}

/** Every group/version served, in discovery order (core first). */
export function groupVersions(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of RESOURCES) seen.set(groupVersion(r), { group: r.group, version: r.version });
  return [...seen.values()];
}
