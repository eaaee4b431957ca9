// Derives the RBAC grants routewarden needs from the code that calls the API,
// so that the ClusterRole can be compared with what the code does rather than
// with a hand-kept list.
//
// Two kinds of call reach the API server from src/kube:
// - typed client methods (`core.listServiceForAllNamespaces(...)`,
//   `api.createNamespacedEvent(...)`) on an object made by
//   `kubeConfig.makeApiClient(SomeV1Api)`. The method is looked up in
//   client-node's own generated request factory (dist/gen/apis/<Class>.js),
//   which states its HTTP method and path: that, not the method's name, says
//   which resource and verb it needs;
// - plain REST calls, `kubeRequest(kubeConfig, { method: 'POST', path:
//   `/api/v1/namespaces/${ns}/events`, ... })` (src/kube/rest.ts): the
//   method (GET when absent) and the path literal say the verb and resource.
//   The one call whose path is not a literal is the informer's own LIST of
//   `spec.path`, which the informer path literals below already grant;
// - informer watch paths, written as string literals (`'/api/v1/services'`,
//   `` `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases` ``): list + watch
//   on that collection.
//
// The scan fails closed: a client-node entry point it does not understand, an
// API client it cannot tie to a variable, or a method it cannot resolve is a
// problem to report, never a silent "needs nothing".

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

export interface Grant {
  /** API group; "" for the core group. */
  readonly group: string;
  /** Resource, or resource/subresource. */
  readonly resource: string;
  readonly verb: string;
}

/** Why a grant is needed: the call site. */
export interface ApiUse {
  readonly site: string;
  readonly call: string;
  readonly grants: readonly Grant[];
}

export interface ScanResult {
  readonly uses: readonly ApiUse[];
  readonly problems: readonly string[];
}

export const grantKey = (g: Grant): string => `${g.group === '' ? 'core' : g.group}/${g.resource}:${g.verb}`;

/**
 * Client-node values that reach the API only through a path literal the scan
 * sees (ListWatch, Watch, makeInformer), or not at all.
 */
const NON_CALLING_VALUES = new Set(['KubeConfig', 'ListWatch', 'Watch', 'makeInformer', 'Observable', 'ApiException', 'RequestContext', 'HttpMethod']);

/** src/kube/rest.ts's request function; its calls are read from their arguments. */
const REST_CALL = 'kubeRequest';

const CLIENT_NODE = '@kubernetes/client-node';

const require = createRequire(import.meta.url);
const generatedApisDir = join(dirname(require.resolve(CLIENT_NODE)), 'gen', 'apis');

export interface ResolvedMethod {
  readonly httpMethod: string;
  readonly path: string;
}

const generatedSources = new Map<string, string | null>();

function generatedSource(className: string): string | null {
  if (!generatedSources.has(className)) {
    const file = join(generatedApisDir, `${className}.js`);
    generatedSources.set(className, existsSync(file) ? readFileSync(file, 'utf8') : null);
  }
  return generatedSources.get(className)!;
}

/** Whether client-node has a generated typed API class of this name. */
export const isApiClass = (className: string): boolean => /Api$/.test(className) && generatedSource(className) !== null;

/** The HTTP method and path template of a typed client method, from client-node's generated request factory. */
export function resolveApiMethod(className: string, method: string): ResolvedMethod | null {
  const src = generatedSource(className);
  if (src === null) return null;
  const start = src.search(new RegExp(`\\n\\s+async ${method}\\(`));
  if (start < 0) return null;
  const next = src.indexOf('\n    async ', start + 1);
  const body = src.slice(start, next < 0 ? undefined : next);
  const path = /const localVarPath = '([^']+)'/.exec(body)?.[1];
  const httpMethod = /makeRequestContext\(localVarPath, HttpMethod\.(\w+)\)/.exec(body)?.[1];
  return path !== undefined && httpMethod !== undefined ? { httpMethod, path } : null;
}

interface ParsedPath {
  readonly group: string;
  readonly resource: string;
  readonly named: boolean;
}

/** `/api/v1/namespaces/{namespace}/pods/{name}/log` => core, pods/log, named. */
export function parseApiPath(path: string): ParsedPath | null {
  const segs = path
    .split('?')[0]!
    .split('/')
    .filter((s) => s !== '');
  let rest: string[];
  let group: string;
  if (segs[0] === 'api' && segs.length >= 3) {
    group = '';
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 4) {
    group = segs[1]!;
    rest = segs.slice(3);
  } else {
    return null;
  }
  const isParam = (s: string | undefined): boolean => s !== undefined && /^\{.*\}$/.test(s);
  if (rest[0] === 'namespaces' && rest.length >= 3 && isParam(rest[1])) rest = rest.slice(2);
  const [resource, name, sub] = rest;
  if (resource === undefined || isParam(resource)) return null;
  if (name !== undefined && !isParam(name)) return null;
  return { group, resource: sub !== undefined ? `${resource}/${sub}` : resource, named: name !== undefined };
}

/** The RBAC verb of one HTTP request (the apiserver's RequestInfo rules). */
export function grantsForRequest(httpMethod: string, path: string): Grant[] | null {
  const p = parseApiPath(path);
  if (p === null) return null;
  const verb = {
    GET: p.named ? 'get' : 'list',
    POST: 'create',
    PUT: 'update',
    PATCH: 'patch',
    DELETE: p.named ? 'delete' : 'deletecollection',
  }[httpMethod];
  return verb === undefined ? null : [{ group: p.group, resource: p.resource, verb }];
}

/** An informer on a collection path lists it and then watches it. */
export function grantsForWatchPath(path: string): Grant[] | null {
  const p = parseApiPath(path);
  if (p === null) return null;
  return [
    { group: p.group, resource: p.resource, verb: p.named ? 'get' : 'list' },
    { group: p.group, resource: p.resource, verb: 'watch' },
  ];
}

/** The text of a string or template literal, with `${...}` as `{param}`. */
function literalText(node: ts.Node): string | null {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node)) return node.head.text + node.templateSpans.map((s) => `{param}${s.literal.text}`).join('');
  return null;
}

/** The name a value is bound to: `x` in `const x = ...`, `#x` / `x` in a class field or `this.x = ...`. */
function bindingName(node: ts.Node): string | null {
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) && parent.initializer === node && ts.isIdentifier(parent.name)) return parent.name.text;
  if (ts.isPropertyDeclaration(parent) && parent.initializer === node) return parent.name.getText();
  if (ts.isBinaryExpression(parent) && parent.right === node && parent.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
    const left = parent.left;
    if (ts.isPropertyAccessExpression(left) && left.expression.kind === ts.SyntaxKind.ThisKeyword) return left.name.getText();
  }
  return null;
}

/** The name a call's receiver is known by: `core` in `core.f()`, `#api` in `this.#api.f()`. */
function receiverName(expr: ts.Expression): string | null {
  if (ts.isIdentifier(expr)) return expr.text;
  if (ts.isPropertyAccessExpression(expr) && expr.expression.kind === ts.SyntaxKind.ThisKeyword) return expr.name.getText();
  return null;
}

export function scanFile(file: string, text: string, root: string): ScanResult {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const rel = relative(root, file);
  const at = (n: ts.Node): string => `${rel}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`;
  const uses: ApiUse[] = [];
  const problems: string[] = [];

  // Value imports from client-node: local name => exported name.
  const imported = new Map<string, string>();
  for (const stmt of sf.statements) {
    if (!ts.isImportDeclaration(stmt) || (stmt.moduleSpecifier as ts.StringLiteral).text !== CLIENT_NODE) continue;
    const clause = stmt.importClause;
    if (clause === undefined || clause.isTypeOnly) continue;
    if (clause.name !== undefined) problems.push(`${at(stmt)}: default import of ${CLIENT_NODE} is not understood by the RBAC scan`);
    const bindings = clause.namedBindings;
    if (bindings !== undefined && ts.isNamespaceImport(bindings))
      problems.push(`${at(stmt)}: namespace import of ${CLIENT_NODE} is not understood by the RBAC scan`);
    if (bindings !== undefined && ts.isNamedImports(bindings)) {
      for (const el of bindings.elements) {
        if (el.isTypeOnly) continue;
        const exported = (el.propertyName ?? el.name).text;
        if (!isApiClass(exported) && !NON_CALLING_VALUES.has(exported)) {
          problems.push(
            `${at(el)}: ${exported} from ${CLIENT_NODE} may call the API in ways the RBAC scan cannot see; teach test/deploy/rbac-scan.ts about it`,
          );
        }
        imported.set(el.name.text, exported);
      }
    }
  }
  const apiClassOf = (local: string): string | null => {
    const exported = imported.get(local);
    return exported !== undefined && isApiClass(exported) ? exported : null;
  };

  // Pass 1: which names hold which typed API client.
  const clients = new Map<string, string>();
  const visitClients = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'makeApiClient') {
      const arg = node.arguments[0];
      const cls = arg !== undefined && ts.isIdentifier(arg) ? apiClassOf(arg.text) : null;
      const bound = bindingName(node);
      if (cls === null) problems.push(`${at(node)}: makeApiClient(${arg?.getText(sf) ?? ''}) with an API class the scan cannot identify`);
      else if (bound === null) problems.push(`${at(node)}: makeApiClient(${cls}) not assigned to a variable or field; the scan cannot follow its calls`);
      else clients.set(bound, cls);
    }
    ts.forEachChild(node, visitClients);
  };
  visitClients(sf);

  // Every method of every API class the file imports: a call by one of these
  // names on something that is not a known client is a call we cannot place.
  const apiMethodNames = new Set<string>();
  for (const exported of imported.values()) {
    if (!isApiClass(exported)) continue;
    for (const m of generatedSource(exported)!.matchAll(/\n\s+async (\w+)\(/g)) apiMethodNames.add(m[1]!);
  }

  // Pass 2: calls and watch paths.
  const consumed = new Set<ts.Node>();
  const restCall = (node: ts.CallExpression): void => {
    const req = node.arguments[1];
    if (req === undefined || !ts.isObjectLiteralExpression(req)) {
      problems.push(`${at(node)}: ${REST_CALL}() without an object literal request; the scan cannot read its method and path`);
      return;
    }
    const hidden = (p: ts.ObjectLiteralElementLike): boolean =>
      ts.isSpreadAssignment(p) || (ts.isShorthandPropertyAssignment(p) && ['method', 'path'].includes(p.name.text));
    if (req.properties.some(hidden)) {
      problems.push(
        `${at(node)}: ${REST_CALL}() with its method or path in a spread or shorthand property; the scan reads only \`method: ...\` and \`path: ...\``,
      );
      return;
    }
    const prop = (name: string): ts.Expression | undefined => {
      for (const p of req.properties) if (ts.isPropertyAssignment(p) && p.name.getText(sf) === name) return p.initializer;
      return undefined;
    };
    const methodNode = prop('method');
    const method = methodNode === undefined ? 'GET' : literalText(methodNode);
    const pathNode = prop('path');
    const path = pathNode !== undefined ? literalText(pathNode) : null;
    if (pathNode !== undefined && path !== null) consumed.add(pathNode);
    if (method === null) {
      problems.push(`${at(node)}: ${REST_CALL}() with a method that is not a literal`);
    } else if (path === null) {
      // The informer lists its own collection; that path is a literal where the informer is set up.
      if (method === 'GET' && pathNode !== undefined && /\bspec\.path$/.test(pathNode.getText(sf))) return;
      problems.push(`${at(node)}: ${REST_CALL}() with a path the scan cannot read`);
    } else {
      const grants = grantsForRequest(method, path);
      if (grants === null) problems.push(`${at(node)}: ${method} ${path} does not parse as a resource request`);
      else uses.push({ site: at(node), call: `${REST_CALL} ${method} ${path}`, grants });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === REST_CALL) restCall(node);
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const method = node.expression.name.getText();
      const recv = receiverName(node.expression.expression);
      const cls = recv !== null ? clients.get(recv) : undefined;
      if (cls !== undefined) {
        const resolved = resolveApiMethod(cls, method);
        const grants = resolved !== null ? grantsForRequest(resolved.httpMethod, resolved.path) : null;
        if (grants === null) problems.push(`${at(node)}: ${cls}.${method} does not resolve to an API request in client-node's generated code`);
        else uses.push({ site: at(node), call: `${cls}.${method} (${resolved!.httpMethod} ${resolved!.path})`, grants });
      } else if (apiMethodNames.has(method) && method !== 'makeApiClient') {
        problems.push(`${at(node)}: ${node.expression.getText(sf)}() looks like an API call on a receiver the scan cannot tie to an API class`);
      }
    }
    const lit = consumed.has(node) ? null : literalText(node);
    if (lit !== null && /^\/apis?\//.test(lit)) {
      const grants = grantsForWatchPath(lit);
      if (grants === null) problems.push(`${at(node)}: API path ${JSON.stringify(lit)} does not parse as a resource path`);
      else uses.push({ site: at(node), call: `informer on ${lit}`, grants });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { uses, problems };
}

export function scanFiles(files: readonly string[], root: string): ScanResult {
  const uses: ApiUse[] = [];
  const problems: string[] = [];
  for (const f of files) {
    const r = scanFile(f, readFileSync(f, 'utf8'), root);
    uses.push(...r.uses);
    problems.push(...r.problems);
  }
  return { uses, problems };
}

export interface RoleGrants {
  readonly grants: ReadonlySet<string>;
  /** Rules the comparison cannot express as (group, resource, verb): wildcards, resourceNames, nonResourceURLs. */
  readonly problems: readonly string[];
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** Expands a ClusterRole's rules into one key per (group, resource, verb). */
export function grantsOfRole(role: { rules?: PolicyRule[] }): RoleGrants {
  const grants = new Set<string>();
  const problems: string[] = [];
  (role.rules ?? []).forEach((rule, i) => {
    const groups = rule.apiGroups ?? [];
    const resources = rule.resources ?? [];
    const verbs = rule.verbs ?? [];
    if ([...groups, ...resources, ...verbs].includes('*')) problems.push(`rule ${i}: wildcard grants more than the code calls`);
    if (rule.resourceNames !== undefined) problems.push(`rule ${i}: resourceNames are not compared; state the grant without them`);
    if (rule.nonResourceURLs !== undefined) problems.push(`rule ${i}: nonResourceURLs are not called by routewarden`);
    for (const group of groups) for (const resource of resources) for (const verb of verbs) grants.add(grantKey({ group, resource, verb }));
  });
  return { grants, problems };
}

export interface GrantDiff {
  /** Needed by the code, not granted: routewarden would get 403. */
  readonly missing: readonly string[];
  /** Granted, not needed: more privilege than the code uses. */
  readonly extra: readonly string[];
}

export function compareGrants(required: ReadonlySet<string>, granted: ReadonlySet<string>): GrantDiff {
  return {
    missing: [...required].filter((g) => !granted.has(g)).sort(),
    extra: [...granted].filter((g) => !required.has(g)).sort(),
  };
}
