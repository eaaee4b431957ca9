// Shared by the deploy tests: where the manifests are, reading and rendering
// them, and validating them against the Kubernetes OpenAPI schemas.

import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEPLOY = join(ROOT, 'deploy');
export const BASE = join(DEPLOY, 'base');
export const OVERLAYS = join(DEPLOY, 'overlays');

export type KubeObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } } & Record<
  string,
  unknown
>;

/** Every YAML file below a directory. */
export function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(entry.name)) out.push(p);
  }
  return out.sort();
}

/** Directories holding a kustomization: the base and every overlay, found rather than listed. */
export function kustomizations(): string[] {
  const dirs = [BASE, ...readdirSync(OVERLAYS).map((d) => join(OVERLAYS, d))];
  return dirs.filter((d) => statSync(d).isDirectory() && existsSync(join(d, 'kustomization.yaml')));
}

export const rel = (p: string): string => relative(ROOT, p);

/** Parses every document of a YAML stream; syntax errors and duplicate keys throw. */
export function parseYaml(text: string, where: string): unknown[] {
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
  if (!Array.isArray(docs)) throw new Error(`${where}: not a YAML stream`);
  const out: unknown[] = [];
  for (const d of docs) {
    if (d.errors.length > 0) throw new Error(`${where}: ${d.errors.map((e) => e.message).join('; ')}`);
    const v = d.toJS({ maxAliasCount: 0 }) as unknown;
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

export const readYaml = (file: string): unknown[] => parseYaml(readFileSync(file, 'utf8'), rel(file));

/** kubectl on PATH, or null. */
export function findKubectl(): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter).concat('/usr/bin', '/usr/local/bin')) {
    const p = join(dir, 'kubectl');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** `kubectl kustomize DIR`, parsed. */
export function render(kubectl: string, dir: string): KubeObject[] {
  const text = execFileSync(kubectl, ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  return parseYaml(text, `kubectl kustomize ${rel(dir)}`) as KubeObject[];
}

// --- schema validation -------------------------------------------------------

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: unknown) => Validatable;

/** The kubernetes-models module of an apiVersion (CRDs from their own packages). */
function modelModule(apiVersion: string): string {
  if (apiVersion === 'monitoring.coreos.com/v1') return '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
  return `kubernetes-models/${apiVersion}`;
}

/**
 * Validates an object against the OpenAPI schema of its kind (kubernetes-models'
 * generated validators). Those schemas, like the apiserver's, accept unknown
 * fields; for built-in kinds strictUnknownFields() adds the check that
 * `kubectl apply --validate=strict` makes.
 */
export async function validateObject(obj: KubeObject): Promise<string[]> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(modelModule(obj.apiVersion))) as Record<string, unknown>;
  } catch {
    return [`no schema for apiVersion ${obj.apiVersion}`];
  }
  const Model = mod[obj.kind] as ModelClass | undefined;
  if (Model === undefined) return [`no schema for ${obj.apiVersion} ${obj.kind}`];
  const errors: string[] = [];
  try {
    new Model(obj).validate();
  } catch (err) {
    errors.push((err as Error).message);
  }
  return errors.concat(strictUnknownFields(obj));
}

type AttributeMap = { baseName: string; type: string }[];
type K8sModel = { getAttributeTypeMap?: () => AttributeMap };

/** client-node's generated model class for a built-in kind, e.g. V1DaemonSet. */
function clientNodeModel(apiVersion: string, kind: string): string | null {
  const version = apiVersion.split('/').pop()!;
  const name = `${version[0]!.toUpperCase()}${version.slice(1)}${kind}`;
  const lib = k8s as unknown as Record<string, K8sModel | undefined>;
  for (const candidate of [name, `Core${name}`]) if (lib[candidate]?.getAttributeTypeMap) return candidate;
  return null;
}

const LEAF_TYPES = new Set(['string', 'number', 'boolean', 'Date', 'any', 'object', 'IntOrString']);

/** Fields that no schema of client-node's generated models knows: typos such as readOnlyRootFileSystem. */
export function strictUnknownFields(obj: KubeObject): string[] {
  const top = clientNodeModel(obj.apiVersion, obj.kind);
  if (top === null) return [];
  const lib = k8s as unknown as Record<string, K8sModel | undefined>;
  const out: string[] = [];
  const walk = (value: unknown, type: string, path: string): void => {
    if (value === null || value === undefined || LEAF_TYPES.has(type)) return;
    const arr = /^Array<(.+)>$/.exec(type);
    if (arr) {
      if (Array.isArray(value)) value.forEach((v, i) => walk(v, arr[1]!, `${path}[${i}]`));
      return;
    }
    const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
    if (map) {
      for (const [k, v] of Object.entries(value as object)) walk(v, map[1]!, `${path}.${k}`);
      return;
    }
    const model = lib[type];
    if (!model?.getAttributeTypeMap || typeof value !== 'object') return;
    const attrs = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
    for (const [k, v] of Object.entries(value as object)) {
      const t = attrs.get(k);
      if (t === undefined) out.push(`unknown field ${path}.${k} (${type})`);
      else walk(v, t, `${path}.${k}`);
    }
  };
  walk(obj, top, obj.kind);
  return out;
}

// --- accessors -----------------------------------------------------------------

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}
export interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  securityContext?: {
    runAsUser?: number;
    runAsNonRoot?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    privileged?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
  };
  livenessProbe?: { httpGet?: { path: string; port: number | string } };
  readinessProbe?: { httpGet?: { path: string; port: number | string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
export interface PodSpec {
  hostNetwork?: boolean;
  dnsPolicy?: string;
  serviceAccountName?: string;
  tolerations?: { operator?: string; key?: string; effect?: string }[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
  containers: Container[];
}

export function one<T extends KubeObject>(objects: KubeObject[], kind: string): T {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected exactly one ${kind}, found ${found.length}`);
  return found[0] as T;
}

export function podSpecOf(objects: KubeObject[]): PodSpec {
  const ds = one(objects, 'DaemonSet') as KubeObject & { spec: { template: { spec: PodSpec } } };
  return ds.spec.template.spec;
}

export function routewardenContainer(objects: KubeObject[]): Container {
  const containers = podSpecOf(objects).containers;
  const c = containers.find((x) => x.name === 'routewarden');
  if (c === undefined) throw new Error(`no container named routewarden (found ${containers.map((x) => x.name).join(', ')})`);
  return c;
}

/** The literal env of a container, with downward-API values as placeholders (what the kubelet would fill in). */
export function envOf(c: Container): Record<string, string> {
  return Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? `<${e.name} from ${JSON.stringify(e.valueFrom)}>`]));
}
