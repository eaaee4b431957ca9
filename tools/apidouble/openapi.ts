// The OpenAPI v3 documents kubectl asks for, and the server-side field
// validation they advertise. kubectl (1.27+) reads /openapi/v3 before create
// and apply: when the PATCH operation of a kind lists the `fieldValidation`
// query parameter, it leaves validation to the server and sends
// fieldValidation=Strict (the default of --validate); without the documents
// it refuses to run unless --validate=false.
//
// The schemas are derived from @kubernetes/client-node's models, which are
// generated from the Kubernetes OpenAPI: each model's attribute map gives its
// fields and their types. That is the same source the deploy tests use for
// their strict check (test/deploy/manifests.ts), written once here for the
// double rather than a hand-kept copy of the Kubernetes schemas. What it
// does not carry (required fields, enums, patch strategies) is left out:
// minimal, but what it says is correct.
//
// /openapi/v2 is not served: kubectl only reads it as protobuf (gnostic), and
// uses v3 whenever v3 is there.

import { createHash } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { SERVER_VERSION } from './discovery.ts';
import { groupVersion, RESOURCES, type ResourceDef, type ResourceId } from './resources.ts';

/** client-node's model of each resource the double serves. */
const MODEL: Readonly<Record<ResourceId, string>> = {
  services: 'V1Service',
  endpoints: 'V1Endpoints',
  pods: 'V1Pod',
  nodes: 'V1Node',
  namespaces: 'V1Namespace',
  configmaps: 'V1ConfigMap',
  events: 'CoreV1Event',
  endpointslices: 'V1EndpointSlice',
  leases: 'V1Lease',
  'events.events.k8s.io': 'EventsV1Event',
};

type Attribute = { readonly baseName: string; readonly type: string; readonly format: string };
type Model = { getAttributeTypeMap?: () => Attribute[] };
const models = k8s as unknown as Record<string, Model | undefined>;

const attributes = (model: string): Attribute[] | undefined => models[model]?.getAttributeTypeMap?.();

const ARRAY = /^Array<(.+)>$/;
const MAP = /^\{ \[key: string\]: (.+); \}$/;

/** An OpenAPI schema for a client-node type name, adding the models it refers to into `out`. */
function schemaOf(type: string, format: string, out: Map<string, object>): object {
  const arr = ARRAY.exec(type);
  if (arr) return { type: 'array', items: schemaOf(arr[1]!, '', out) };
  const map = MAP.exec(type);
  if (map) return { type: 'object', additionalProperties: schemaOf(map[1]!, '', out) };
  switch (type) {
    case 'string':
      return format ? { type: 'string', format } : { type: 'string' };
    case 'number':
      return format === 'int32' || format === 'int64' ? { type: 'integer', format } : format ? { type: 'number', format } : { type: 'number' };
    case 'boolean':
      return { type: 'boolean' };
    case 'Date':
      return { type: 'string', format: 'date-time' };
    case 'IntOrString':
      return { 'x-kubernetes-int-or-string': true };
    case 'any':
    case 'object':
      return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  }
  addModel(type, out);
  return { $ref: `#/components/schemas/${type}` };
}

function addModel(name: string, out: Map<string, object>): void {
  if (out.has(name)) return;
  const attrs = attributes(name);
  // A type client-node does not describe: accept anything rather than guess.
  if (attrs === undefined) {
    out.set(name, { type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
    return;
  }
  out.set(name, {}); // placeholder: recursive types
  const properties: Record<string, object> = {};
  for (const a of attrs) properties[a.baseName] = schemaOf(a.type, a.format, out);
  out.set(name, { type: 'object', properties });
}

const gvk = (r: ResourceDef) => ({ group: r.group, version: r.version, kind: r.kind });

const QUERY = (name: string) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } });
const PATH = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string', uniqueItems: true } });

function operation(r: ResourceDef, action: string, body: boolean, params: object[]): object {
  const ref = { $ref: `#/components/schemas/${MODEL[r.id]}` };
  return {
    operationId: `${action}${r.kind}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk(r),
    parameters: params,
    ...(body ? { requestBody: { required: true, content: { 'application/json': { schema: ref } } } } : {}),
    responses: { '200': { description: 'OK', content: { 'application/json': { schema: ref } } } },
  };
}

/** The OpenAPI v3 document of one group/version, or undefined when it is not served. */
export function openApiV3(gv: string): object | undefined {
  const defs = RESOURCES.filter((r) => groupVersion(r) === gv);
  if (defs.length === 0) return undefined;
  const schemas = new Map<string, object>();
  const paths: Record<string, object> = {};
  const prefix = gv === 'v1' ? '/api/v1' : `/apis/${gv}`;
  const writes = [QUERY('dryRun'), QUERY('fieldManager'), QUERY('fieldValidation')];
  for (const r of defs) {
    addModel(MODEL[r.id], schemas);
    const top = schemas.get(MODEL[r.id]) as { 'x-kubernetes-group-version-kind'?: unknown };
    top['x-kubernetes-group-version-kind'] = [gvk(r)];
    const ns = r.namespaced ? [PATH('namespace')] : [];
    const base = `${prefix}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}`;
    paths[base] = { get: operation(r, 'list', false, [...ns]), post: operation(r, 'post', true, [...ns, ...writes]) };
    paths[`${base}/{name}`] = {
      get: operation(r, 'get', false, [...ns, PATH('name')]),
      put: operation(r, 'put', true, [...ns, PATH('name'), ...writes]),
      patch: operation(r, 'patch', true, [...ns, PATH('name'), ...writes, QUERY('force')]),
      delete: operation(r, 'delete', false, [...ns, PATH('name')]),
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: SERVER_VERSION.gitVersion },
    paths,
    components: { schemas: Object.fromEntries(schemas) },
  };
}

const hashOf = (doc: object): string => createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase();

/** /openapi/v3: where each group/version's document is. */
export function openApiV3Root(): object {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of new Set(RESOURCES.map(groupVersion))) {
    const key = gv === 'v1' ? 'api/v1' : `apis/${gv}`;
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hashOf(openApiV3(gv)!)}` };
  }
  return { paths };
}

/**
 * Fields the schema of the object's resource does not know, as the apiserver
 * names them in a strict decoding error: `unknown field "spec.foo"`.
 */
export function unknownFields(r: ResourceDef, obj: unknown): string[] {
  const out: string[] = [];
  const walk = (value: unknown, type: string, path: string): void => {
    if (value === null || value === undefined || typeof value !== 'object') return;
    const arr = ARRAY.exec(type);
    if (arr) {
      if (Array.isArray(value)) value.forEach((v, i) => walk(v, arr[1]!, `${path}[${i}]`));
      return;
    }
    const map = MAP.exec(type);
    if (map) {
      for (const [k, v] of Object.entries(value)) walk(v, map[1]!, path === '' ? k : `${path}.${k}`);
      return;
    }
    const attrs = attributes(type);
    if (attrs === undefined || Array.isArray(value)) return;
    const known = new Map(attrs.map((a) => [a.baseName, a.type]));
    for (const [k, v] of Object.entries(value)) {
      const name = path === '' ? k : `${path}.${k}`;
      const t = known.get(k);
      if (t === undefined) out.push(name);
      else walk(v, t, name);
    }
  };
  walk(obj, MODEL[r.id], '');
  return out;
}
