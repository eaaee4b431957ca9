// The ClusterRole grants exactly what routewarden's code calls: the required
// set is derived from the API calls in src/kube (rbac-scan.ts), never listed
// by hand, and any grant missing (a 403 in production) or extra (privilege
// nobody uses) fails with its name.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { createApiDouble, type Verb } from '../../tools/apidouble/index.ts';
import { resourceById, type ResourceId } from '../../tools/apidouble/resources.ts';
import { createNodeEventSink } from '../../src/kube/events.ts';
import { createKubeClusterSource } from '../../src/kube/source.ts';
import { silentLogger } from '../../src/surface/logger.ts';
import { waitFor } from '../helpers/apidouble-fixture.ts';
import { BASE, findKubectl, kustomizations, one, podSpecOf, readYaml, rel, render, ROOT, type KubeObject } from './manifests.ts';
import { compareGrants, grantKey, grantsForRequest, grantsOfRole, resolveApiMethod, scanFile, scanFiles, type Grant } from './rbac-scan.ts';

/**
 * Grants held before any code calls them, each for a named upcoming feature
 * (grant key => the feature and why). Keep this short: a grant belongs here
 * only while its feature is being written, and the test below fails as soon
 * as the code calls it, so that it moves from "reserved" to "required".
 * Empty now: pods list/watch, reserved for kube-vip config discovery, became
 * required when src/kube/source.ts gained the pods informer; nodes list/watch
 * is required since it gained the informer on this node's Node (kube-vip's
 * control-plane health check reads its InternalIPs), and nothing asks for
 * nodes get, so the role does not grant it.
 */
const RESERVED: Readonly<Record<string, string>> = {};

/**
 * Grants the code uses only on demand, so deploy/base does not hold them:
 * each names the overlay that adds it (the chart's matching value is
 * compared with that overlay in chart.test.ts). Endpoints list/watch: the
 * Endpoints informer starts only while a kube-vip on the node sets
 * enable_endpoints=true (src/cli/adapters.ts, KubeClusterSource
 * watchEndpoints); it reveals every pod IP behind a Service, so only the
 * clusters that need it grant it.
 */
const ON_DEMAND: Readonly<Record<string, string>> = {
  'core/endpoints:list': 'kube-vip-endpoints',
  'core/endpoints:watch': 'kube-vip-endpoints',
};

/**
 * Grants the code uses on demand on one named object, so no ClusterRole holds
 * them: the overlay named adds a Role in that object's namespace limited by
 * `resourceNames` (list/watch are authorized by name because the code asks
 * with fieldSelector metadata.name=<name>). ConfigMap list/watch: the
 * ConfigMap behind a kube-vip --config-file (src/cli/adapters.ts,
 * KubeClusterSource watchConfigMaps), each watched only while a kube-vip pod
 * on the node mounts it.
 */
const ON_DEMAND_BY_NAME: Readonly<Record<string, string>> = {
  'core/configmaps:list': 'kube-vip-config-file',
  'core/configmaps:watch': 'kube-vip-config-file',
};

const SRC = join(ROOT, 'src');
const KUBE = join(SRC, 'kube');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f))
    .sort();
}

const scan = scanFiles(tsFiles(KUBE), ROOT);
const required = new Set(scan.uses.flatMap((u) => u.grants.map(grantKey)));
const expected = new Set([...required, ...Object.keys(RESERVED)].filter((k) => !(k in ON_DEMAND) && !(k in ON_DEMAND_BY_NAME)));
/** What a rendered kustomization grants: the base's, plus the on-demand grants its overlay adds. */
const expectedIn = (dir: string): Set<string> =>
  new Set([...expected, ...Object.entries(ON_DEMAND).flatMap(([k, overlay]) => (dir.endsWith(`/overlays/${overlay}`) ? [k] : []))]);

function baseClusterRole(): KubeObject & { rules?: [] } {
  return one(readYaml(join(BASE, 'clusterrole.yaml')) as KubeObject[], 'ClusterRole');
}

const explain = (keys: readonly string[]): string =>
  keys
    .map(
      (k) =>
        `  ${k}${
          RESERVED[k]
            ? ` (reserved: ${RESERVED[k]})`
            : ` <- ${
                scan.uses
                  .filter((u) => u.grants.some((g) => grantKey(g) === k))
                  .map((u) => u.site)
                  .join(', ') || 'no call site'
              }`
        }`,
    )
    .join('\n');

describe('RBAC: the ClusterRole against the API calls in src/kube', () => {
  it('scans src/kube without a call it cannot place', () => {
    expect(scan.problems, scan.problems.join('\n')).toEqual([]);
  });

  it('finds the calls of every src/kube file that makes an API client or watches a path', () => {
    // A scan that silently matched nothing would make the comparison vacuous.
    for (const file of tsFiles(KUBE)) {
      const text = readFileSync(file, 'utf8');
      if (!/makeApiClient\(|['`]\/apis?\//.test(text)) continue;
      expect(
        scan.uses.some((u) => u.site.startsWith(`${rel(file)}:`)),
        `no API use found in ${rel(file)}`,
      ).toBe(true);
    }
    expect(required.size).toBeGreaterThan(0);
  });

  it('keeps API calls inside src/kube, where the scan looks', () => {
    // tools/ (the API double, the demo) is not deployed and is not scanned.
    const outside = tsFiles(SRC).filter((f) => !f.startsWith(KUBE));
    const offenders = outside.filter((f) => /^import\s+(?!type\b)[^;]*from\s+['"]@kubernetes\/client-node['"]/m.test(readFileSync(f, 'utf8')));
    expect(offenders.map(rel), 'these files import client-node values outside src/kube: move the calls or widen the scan').toEqual([]);
  });

  it('grants exactly the required and reserved grants, no more, no less', () => {
    const role = grantsOfRole(baseClusterRole());
    expect(role.problems).toEqual([]);
    const diff = compareGrants(expected, role.grants);
    expect(diff.missing, `missing from deploy/base/clusterrole.yaml:\n${explain(diff.missing)}`).toEqual([]);
    expect(diff.extra, `granted but never called:\n${explain(diff.extra)}`).toEqual([]);
  });

  it('holds on-demand grants only for calls the code makes (in an overlay, never in the base)', () => {
    expect(
      [...Object.keys(ON_DEMAND), ...Object.keys(ON_DEMAND_BY_NAME)].filter((k) => !required.has(k)),
      'on-demand grants nothing calls',
    ).toEqual([]);
  });

  it('reserves nothing the code already calls', () => {
    const nowRequired = Object.keys(RESERVED).filter((k) => required.has(k));
    expect(nowRequired, `now called by the code; move out of RESERVED:\n${explain(nowRequired)}`).toEqual([]);
  });

  const kubectl = findKubectl();
  if (kubectl === null) console.warn('[deploy] kubectl not found: skipping the RBAC checks on rendered kustomizations');
  describe.skipIf(kubectl === null)('in every rendered kustomization', () => {
    for (const dir of kustomizations()) {
      it(`${rel(dir)}: same ClusterRole, bound to the DaemonSet's ServiceAccount; nothing else but kube-rbac-proxy's reviews and the /metrics reader`, () => {
        const objects = render(kubectl!, dir);
        const roles = objects.filter((o) => o.kind === 'ClusterRole') as (KubeObject & { rules?: [] })[];
        const role = roles.find((r) => r.metadata.name === baseClusterRole().metadata.name)!;
        expect(role, "the base's ClusterRole").toBeDefined();
        const diff = compareGrants(expectedIn(dir), grantsOfRole(role).grants);
        expect(diff).toEqual({ missing: [], extra: [] });

        type Binding = KubeObject & {
          roleRef: { apiGroup: string; kind: string; name: string };
          subjects: { kind: string; name: string; namespace?: string }[];
        };
        const bindings = objects.filter((o) => o.kind === 'ClusterRoleBinding') as Binding[];
        const bindingOf = (name: string): Binding => {
          const found = bindings.filter((b) => b.roleRef.name === name);
          expect(found, `one ClusterRoleBinding of ${name}`).toHaveLength(1);
          expect(found[0]!.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name });
          return found[0]!;
        };
        expect(bindings, 'a binding per ClusterRole, no other').toHaveLength(roles.length);
        const binding = bindingOf(role.metadata.name);
        const ds = one(objects, 'DaemonSet');
        const sa = podSpecOf(objects).serviceAccountName;
        const own = [{ kind: 'ServiceAccount', name: sa, namespace: ds.metadata.namespace }];
        expect(binding.subjects).toEqual(own);

        // The only other roles an overlay may add: kube-rbac-proxy's (its
        // container runs as routewarden's ServiceAccount) and the scrapers'.
        const proxy = podSpecOf(objects).containers.some((c) => c.name === 'kube-rbac-proxy');
        const others = roles.filter((r) => r !== role);
        expect(others.map((r) => r.metadata.name).sort()).toEqual(proxy ? ['routewarden-kube-rbac-proxy', 'routewarden-metrics-reader'] : []);
        for (const r of others) {
          if (r.metadata.name === 'routewarden-kube-rbac-proxy') {
            expect(r.rules).toEqual([
              { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
              { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
            ]);
            expect(bindingOf(r.metadata.name).subjects).toEqual(own);
          } else {
            expect(r.rules).toEqual([{ nonResourceURLs: ['/metrics'], verbs: ['get'] }]);
            // Granted to the scraper, never to routewarden itself.
            expect(bindingOf(r.metadata.name).subjects.some((x) => x.name === sa && x.namespace === ds.metadata.namespace)).toBe(false);
          }
        }
        const account = one(objects, 'ServiceAccount');
        expect([account.metadata.name, account.metadata.namespace]).toEqual([sa, ds.metadata.namespace]);

        // Grants on one named object: a Role limited by resourceNames, only in the overlay that names it.
        type Role = KubeObject & { rules: { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] }[] };
        const namedRoles = objects.filter((o) => o.kind === 'Role') as Role[];
        const byName = Object.entries(ON_DEMAND_BY_NAME).filter(([, overlay]) => dir.endsWith(`/overlays/${overlay}`));
        expect(namedRoles.length, 'a Role only where an overlay grants access to one named object').toBe(byName.length > 0 ? 1 : 0);
        for (const r of namedRoles) {
          const granted = r.rules.flatMap((rule) => {
            expect(rule.resourceNames, 'limited to one name').toHaveLength(1);
            return rule.verbs.flatMap((verb) =>
              rule.resources.map((resource) => grantKey({ group: rule.apiGroups[0] === '' ? '' : rule.apiGroups[0]!, resource, verb })),
            );
          });
          expect(granted.sort()).toEqual(byName.map(([k]) => k).sort());
          const rb = objects.filter((o) => o.kind === 'RoleBinding') as Binding[];
          expect(rb).toHaveLength(1);
          expect([rb[0]!.metadata.namespace, rb[0]!.roleRef, rb[0]!.subjects]).toEqual([
            r.metadata.namespace,
            { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: r.metadata.name },
            own,
          ]);
        }
      });
    }
  });
});

describe('RBAC: a witness run of the real adapters against the API double', () => {
  // The scan reads the code; this runs it. Every request the Kubernetes
  // adapters make (the cluster source, cluster-wide and namespaced, and the
  // event sink) must be one the scan found, so the scan cannot miss a kind
  // of call that the code really makes on these paths.
  const RBAC_VERB: Readonly<Record<Exclude<Verb, 'DISCOVERY'>, string>> = {
    LIST: 'list',
    WATCH: 'watch',
    GET: 'get',
    CREATE: 'create',
    UPDATE: 'update',
    PATCH: 'patch',
    DELETE: 'delete',
  };

  it('makes only requests the scan derived, and the ClusterRole grants', async () => {
    const double = createApiDouble();
    await double.listen({ port: 0, host: '127.0.0.1' });
    try {
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(double.kubeconfig());
      for (const namespace of [undefined, 'default']) {
        // With kube-vip discovery's informers too: this node's pods and its Node (nodes list/watch, field selector metadata.name).
        const source = createKubeClusterSource({
          kubeConfig,
          logger: silentLogger(),
          ...(namespace ? { namespace } : {}),
          nodePods: { nodeName: 'witness-node' },
          thisNode: { name: 'witness-node' },
        });
        await source.start();
        await waitFor('the cluster source to sync', () => source.status().state === 'ok');
        // The ConfigMap behind a kube-vip config file, watched on demand.
        source.watchConfigMaps(new Set(['kube-system/kube-vip-config']));
        await waitFor('the ConfigMap informer to sync', () => source.informers().configmaps?.phase === 'ok');
        await source.stop();
      }
      await createNodeEventSink({ kubeConfig, nodeName: 'witness-node', logger: silentLogger() }).emit({
        type: 'Normal',
        reason: 'RoutesRepaired',
        message: 'witness',
      });

      const observed = new Set<string>();
      for (const [verb, byResource] of Object.entries(double.stats().requests)) {
        if (verb === 'DISCOVERY') continue;
        for (const [id, n] of Object.entries(byResource)) {
          if (n > 0)
            observed.add(
              grantKey({
                group: resourceById(id as ResourceId).group,
                resource: resourceById(id as ResourceId).plural,
                verb: RBAC_VERB[verb as keyof typeof RBAC_VERB],
              }),
            );
        }
      }
      expect(observed.size).toBeGreaterThan(0);
      expect(
        [...observed].filter((g) => !required.has(g)),
        'requests the scan did not derive',
      ).toEqual([]);
      expect(
        [...observed].filter((g) => !grantsOfRole(baseClusterRole()).grants.has(g) && !(g in ON_DEMAND_BY_NAME)),
        'requests the ClusterRole does not grant',
      ).toEqual([]);
      expect([...observed].filter((g) => g in ON_DEMAND_BY_NAME).sort()).toEqual(Object.keys(ON_DEMAND_BY_NAME).sort());
    } finally {
      await double.close();
    }
  });
});

describe('RBAC comparison: it catches what it should', () => {
  const role = (rules: object[]) => grantsOfRole({ rules: rules as [] });
  const base = baseClusterRole();

  it('reports an extra verb added to the real role', () => {
    const mutated = structuredClone(base) as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
    mutated.rules.push({ apiGroups: [''], resources: ['secrets'], verbs: ['get'] });
    mutated.rules[0]!.verbs.push('delete');
    const diff = compareGrants(expected, grantsOfRole(mutated).grants);
    expect(diff.missing).toEqual([]);
    expect(diff.extra).toEqual(
      [`core/secrets:get`, `${grantKey({ group: mutated.rules[0]!.apiGroups[0]!, resource: mutated.rules[0]!.resources[0]!, verb: 'delete' })}`].sort(),
    );
  });

  it('reports a grant the code needs once it is removed from the real role', () => {
    const mutated = structuredClone(base) as { rules: { verbs: string[] }[] };
    const removed = mutated.rules[0]!.verbs.pop()!;
    const diff = compareGrants(expected, grantsOfRole(mutated).grants);
    expect(diff.extra).toEqual([]);
    expect(diff.missing).toHaveLength(1);
    expect(diff.missing[0]).toMatch(new RegExp(`:${removed}$`));
  });

  it('refuses wildcards, resourceNames and nonResourceURLs rather than comparing them', () => {
    expect(role([{ apiGroups: ['*'], resources: ['services'], verbs: ['list'] }]).problems).toHaveLength(1);
    expect(role([{ apiGroups: [''], resources: ['services'], verbs: ['get'], resourceNames: ['x'] }]).problems).toHaveLength(1);
    expect(role([{ nonResourceURLs: ['/metrics'], verbs: ['get'] }]).problems).toHaveLength(1);
  });

  it.each([
    ['GET', '/api/v1/namespaces/{namespace}/pods', { group: '', resource: 'pods', verb: 'list' }],
    ['GET', '/api/v1/nodes/{name}', { group: '', resource: 'nodes', verb: 'get' }],
    ['GET', '/api/v1/namespaces/{namespace}/pods/{name}/log', { group: '', resource: 'pods/log', verb: 'get' }],
    ['POST', '/api/v1/namespaces/{namespace}/events', { group: '', resource: 'events', verb: 'create' }],
    ['PATCH', '/apis/events.k8s.io/v1/namespaces/{namespace}/events/{name}', { group: 'events.k8s.io', resource: 'events', verb: 'patch' }],
    ['DELETE', '/apis/apps/v1/namespaces/{namespace}/daemonsets', { group: 'apps', resource: 'daemonsets', verb: 'deletecollection' }],
    ['PUT', '/api/v1/namespaces/{name}', { group: '', resource: 'namespaces', verb: 'update' }],
  ] satisfies [string, string, Grant][])('%s %s => %o', (method, path, grant) => {
    expect(grantsForRequest(method, path)).toEqual([grant]);
  });

  it("resolves typed methods through client-node's generated code", () => {
    expect(resolveApiMethod('CoreV1Api', 'createNamespacedEvent')).toEqual({ httpMethod: 'POST', path: '/api/v1/namespaces/{namespace}/events' });
    expect(resolveApiMethod('EventsV1Api', 'createNamespacedEvent')).toEqual({
      httpMethod: 'POST',
      path: '/apis/events.k8s.io/v1/namespaces/{namespace}/events',
    });
    expect(resolveApiMethod('CoreV1Api', 'noSuchMethod')).toBeNull();
  });

  const scanText = (text: string) => scanFile(join(ROOT, 'src/kube/example.ts'), text, ROOT);

  it('derives grants from typed calls and informer paths, ignoring comments', () => {
    const r = scanText(`
      import { CoreV1Api, AppsV1Api, ListWatch, type KubeConfig } from '@kubernetes/client-node';
      // '/api/v1/secrets' in a comment is no call
      class X {
        #apps = kc.makeApiClient(AppsV1Api);
        go() { return this.#apps.readNamespacedDaemonSet({ name: 'a', namespace: 'b' }); }
      }
      const core = kc.makeApiClient(CoreV1Api);
      core.patchNode({ name: 'n', body: {} });
      new ListWatch(\`/apis/discovery.k8s.io/v1/namespaces/\${ns}/endpointslices\`, w, l);
    `);
    expect(r.problems).toEqual([]);
    expect(new Set(r.uses.flatMap((u) => u.grants.map(grantKey)))).toEqual(
      new Set(['apps/daemonsets:get', 'core/nodes:patch', 'discovery.k8s.io/endpointslices:list', 'discovery.k8s.io/endpointslices:watch']),
    );
  });

  it("reads kubeRequest() calls by their method and path, and not their path as an informer's", () => {
    const r = scanText(`
      import { kubeRequest } from './rest.ts';
      await kubeRequest(kc, { method: 'POST', path: \`/api/v1/namespaces/\${ns}/events\`, body: e });
      await kubeRequest(kc, { path: '/apis/apps/v1/daemonsets' });
      await kubeRequest(kc, { path: this.#spec.path, query });
    `);
    expect(r.problems).toEqual([]);
    expect(new Set(r.uses.flatMap((u) => u.grants.map(grantKey)))).toEqual(new Set(['core/events:create', 'apps/daemonsets:list']));
    const bad = scanText(`
      import { kubeRequest } from './rest.ts';
      await kubeRequest(kc, { method, path: '/api/v1/pods' });
      await kubeRequest(kc, { path: somewhere });
      await kubeRequest(kc, request);
    `);
    expect(bad.problems).toHaveLength(3);
  });

  it('fails closed on calls it cannot place', () => {
    const r = scanText(`
      import { CoreV1Api, KubernetesObjectApi } from '@kubernetes/client-node';
      const apis = [kc.makeApiClient(CoreV1Api)];
      apis[0].deleteNamespacedPod({ name: 'a', namespace: 'b' });
    `);
    expect(r.problems.join('\n')).toMatch(/KubernetesObjectApi/);
    expect(r.problems.join('\n')).toMatch(/makeApiClient\(CoreV1Api\) not assigned/);
    expect(r.problems.join('\n')).toMatch(/deleteNamespacedPod\(\) looks like an API call/);
  });
});
