// Server-side printing (meta.k8s.io/v1 Table), so that `kubectl get svc`
// against the double shows TYPE and EXTERNAL-IP as against a real cluster.
// Resources without columns here are answered as plain lists, which kubectl
// prints as NAME and AGE.

import type { ResourceId } from './resources.ts';
import type { KubeObject } from './store.ts';

interface Column {
  readonly name: string;
  readonly type: 'string' | 'integer';
  readonly format?: string;
  readonly cell: (o: KubeObject, now: number) => string | number;
}

type Json = Record<string, unknown>;
const rec = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** kubectl's short age: 45s, 12m, 5h, 3d. */
export function shortAge(fromIso: string | undefined, now: number): string {
  const t = fromIso === undefined ? Number.NaN : Date.parse(fromIso);
  if (!Number.isFinite(t)) return '<unknown>';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7_200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3_600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

const name: Column = { name: 'Name', type: 'string', format: 'name', cell: (o) => o.metadata?.name ?? '' };
const age: Column = { name: 'Age', type: 'string', cell: (o, now) => shortAge(o.metadata?.creationTimestamp, now) };
const orNone = (s: string): string => (s === '' ? '<none>' : s);

const COLUMNS: Partial<Record<ResourceId, readonly Column[]>> = {
  services: [
    name,
    { name: 'Type', type: 'string', cell: (o) => str(rec(o.spec).type) || 'ClusterIP' },
    { name: 'Cluster-IP', type: 'string', cell: (o) => orNone(str(rec(o.spec).clusterIP)) },
    {
      name: 'External-IP',
      type: 'string',
      cell: (o) => {
        const ips = arr(rec(rec(o.status).loadBalancer).ingress).map((i) => str(rec(i).ip) || str(rec(i).hostname));
        return ips.length > 0 ? ips.join(',') : str(rec(o.spec).type) === 'LoadBalancer' ? '<pending>' : '<none>';
      },
    },
    {
      name: 'Port(s)',
      type: 'string',
      cell: (o) =>
        orNone(
          arr(rec(o.spec).ports)
            .map((p) => `${String(rec(p).port)}/${str(rec(p).protocol) || 'TCP'}`)
            .join(','),
        ),
    },
    age,
  ],
  endpointslices: [
    name,
    { name: 'AddressType', type: 'string', cell: (o) => str(o.addressType) },
    {
      name: 'Ports',
      type: 'string',
      cell: (o) =>
        orNone(
          arr(o.ports)
            .map((p) => String(rec(p).port))
            .join(','),
        ),
    },
    {
      name: 'Endpoints',
      type: 'string',
      cell: (o) =>
        orNone(
          arr(o.endpoints)
            .flatMap((e) => arr(rec(e).addresses).map(str))
            .join(','),
        ),
    },
    age,
  ],
  leases: [name, { name: 'Holder', type: 'string', cell: (o) => str(rec(o.spec).holderIdentity) }, age],
};

/** True when the Accept header asks for a Table (kubectl's default for `get`). */
export function wantsTable(accept: string | undefined): boolean {
  return accept !== undefined && /;\s*as=Table/.test(accept);
}

/** The Table for `items`, or undefined when the resource has no columns here. */
export function toTable(resource: ResourceId, items: readonly KubeObject[], resourceVersion: string, now: number): object | undefined {
  const cols = COLUMNS[resource];
  if (!cols) return undefined;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: cols.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: '', priority: 0 })),
    rows: items.map((o) => ({
      cells: cols.map((c) => c.cell(o, now)),
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}
