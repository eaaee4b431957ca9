// The deploy manifests parse, validate against the Kubernetes OpenAPI schemas,
// render with kustomize, and hold the invariants a DaemonSet that reads and
// repairs the node's routing table needs, in the base and in every overlay.

import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/cli/config.ts';
import {
  BASE,
  DEPLOY,
  findKubectl,
  kustomizations,
  OVERLAYS,
  one,
  podSpecOf,
  readYaml,
  rel,
  render,
  ROOT,
  envOf,
  routewardenContainer,
  strictUnknownFields,
  validateObject,
  yamlFiles,
  type Container,
  type KubeObject,
} from './manifests.ts';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const isKustomization = (f: string): boolean => basename(f) === 'kustomization.yaml';

/** The kube-rbac-proxy container in front of routewarden, if any. */
const proxyOf = (objects: KubeObject[]): Container | undefined => podSpecOf(objects).containers.find((c) => c.name === 'kube-rbac-proxy');

/** routewarden's configuration as a pod of these manifests would load it. */
function configOf(objects: KubeObject[]) {
  const c = routewardenContainer(objects);
  const [command, ...flags] = c.args ?? ['run'];
  expect(command).toBe('run');
  expect(flags, 'configuration goes through ROUTEWARDEN_* env, which overlays merge by name').toEqual([]);
  return loadConfig('run', {}, { env: envOf(c), hostname: 'hostname-must-not-be-used' });
}

const NET_ADMIN = (c: Container): boolean => (c.securityContext?.capabilities?.add ?? []).includes('NET_ADMIN');

describe('deploy/: every YAML file parses', () => {
  it.each(
    yamlFiles(DEPLOY)
      .filter((f) => f.startsWith(BASE) || f.startsWith(OVERLAYS))
      .map(rel),
  )('%s', (file) => {
    expect(readYaml(join(ROOT, file)).length).toBeGreaterThan(0);
  });
});

describe('deploy/base: every resource validates against its OpenAPI schema', () => {
  const files = yamlFiles(BASE).filter((f) => !isKustomization(f));
  it.each(files.map(rel))('%s', async (file) => {
    for (const obj of readYaml(join(ROOT, file)) as KubeObject[]) expect(await validateObject(obj), `${obj.kind}/${obj.metadata?.name}`).toEqual([]);
  });

  it('lists every resource file in kustomization.yaml', () => {
    const [k] = readYaml(join(BASE, 'kustomization.yaml')) as { resources: string[] }[];
    expect([...k!.resources].sort()).toEqual(files.map((f) => basename(f)).sort());
  });

  it('the schema check itself rejects a typo and a wrong type', async () => {
    const [ds] = readYaml(join(BASE, 'daemonset.yaml')) as KubeObject[];
    const typo = structuredClone(ds!) as KubeObject & { spec: { template: { spec: { containers: Record<string, unknown>[] } } } };
    typo.spec.template.spec.containers[0]!.securityContex = {};
    expect(strictUnknownFields(typo)).toContain('unknown field DaemonSet.spec.template.spec.containers[0].securityContex (V1Container)');
    const wrong = structuredClone(ds!) as KubeObject & { spec: { template: { spec: { hostNetwork: unknown } } } };
    wrong.spec.template.spec.hostNetwork = 'yes';
    expect((await validateObject(wrong)).join()).toMatch(/hostNetwork must be boolean/);
  });
});

describe('the overlays the install guide names exist', () => {
  it.each(['repair', 'read-only', 'kube-vip-settings'])('deploy/overlays/%s', (name) => {
    expect(existsSync(join(OVERLAYS, name, 'kustomization.yaml'))).toBe(true);
  });
});

const kubectl = findKubectl();
if (kubectl === null) console.warn('[deploy] kubectl not found: skipping the kustomize render and the checks on rendered manifests');

describe.skipIf(kubectl === null)('kubectl kustomize', () => {
  const rendered = new Map<string, KubeObject[]>();
  beforeAll(() => {
    for (const dir of kustomizations()) rendered.set(rel(dir), render(kubectl!, dir));
  });
  const dirs = kustomizations().map(rel);
  const objectsOf = (dir: string): KubeObject[] => rendered.get(dir)!;

  describe.each(dirs)('%s', (dir) => {
    it('renders objects that all validate against their schemas', async () => {
      const objects = objectsOf(dir);
      expect(objects.length).toBeGreaterThan(0);
      for (const obj of objects) expect(await validateObject(obj), `${obj.kind}/${obj.metadata.name}`).toEqual([]);
    });

    it('puts every namespaced object in one namespace that admits privileged pods', () => {
      const objects = objectsOf(dir);
      const ns = one(objects, 'Namespace');
      // A Role on one named object of kube-vip (and its binding) lives in kube-vip's namespace (rbac.test.ts checks it).
      const namespaced = objects.filter((o) => !['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(o.kind));
      expect(new Set(namespaced.map((o) => o.metadata.namespace))).toEqual(new Set([ns.metadata.name]));
      // hostNetwork alone is outside the "baseline" Pod Security Standard.
      expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('privileged');
    });

    it('runs one pod per node in the host network namespace, on every node', () => {
      const objects = objectsOf(dir);
      const ds = one(objects, 'DaemonSet') as KubeObject & { spec: { updateStrategy: unknown } };
      const pod = podSpecOf(objects);
      expect(pod.hostNetwork).toBe(true);
      expect(pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
      // Tolerate every taint (control-plane nodes included), like kube-vip.
      expect(pod.tolerations).toContainEqual({ operator: 'Exists' });
      expect(ds.spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } });
      const c = routewardenContainer(objects);
      expect(c.env).toContainEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
      expect(c.image).toMatch(new RegExp(`:${pkg.version.replaceAll('.', '\\.')}$`));
    });

    it('is locked down: no escalation, read-only root, RuntimeDefault seccomp, every capability dropped but NET_ADMIN at most', () => {
      const objects = objectsOf(dir);
      const pod = podSpecOf(objects);
      const sc = routewardenContainer(objects).securityContext!;
      expect(pod.securityContext?.seccompProfile).toEqual({ type: 'RuntimeDefault' });
      expect(sc.allowPrivilegeEscalation).toBe(false);
      expect(sc.readOnlyRootFilesystem).toBe(true);
      expect(sc.privileged ?? false).toBe(false);
      expect(sc.capabilities?.drop).toEqual(['ALL']);
      expect((sc.capabilities?.add ?? []).filter((c) => c !== 'NET_ADMIN')).toEqual([]);
    });

    it('has a capability model that works: NET_ADMIN only as uid 0, and repair only with NET_ADMIN', () => {
      const objects = objectsOf(dir);
      const c = routewardenContainer(objects);
      const pod = podSpecOf(objects);
      const uid = c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
      const nonRoot = c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot ?? false;
      // Kubernetes has no ambient capabilities: an added capability is
      // effective only for uid 0. NET_ADMIN for another uid would do nothing.
      if (NET_ADMIN(c)) {
        expect(uid).toBe(0);
        expect(nonRoot).toBe(false);
      } else {
        expect(nonRoot).toBe(true);
        expect(uid).toBeGreaterThan(0);
      }
      if (configOf(objects).remediate) expect(NET_ADMIN(c), 'repair adds and deletes routes: it needs NET_ADMIN').toBe(true);
    });

    it('serves probes and metrics on the port routewarden listens on', () => {
      const objects = objectsOf(dir);
      const c = routewardenContainer(objects);
      const listen = configOf(objects).listen;
      if (proxyOf(objects)) {
        // Behind kube-rbac-proxy: loopback only, probed there by the kubelet (host network).
        expect(listen.host).toBe('127.0.0.1');
        expect(c.ports ?? []).toEqual([]);
        expect(c.livenessProbe?.httpGet).toEqual({ host: '127.0.0.1', path: '/healthz', port: listen.port });
        expect(c.readinessProbe?.httpGet).toEqual({ host: '127.0.0.1', path: '/readyz', port: listen.port });
      } else {
        const metrics = c.ports?.find((p) => p.name === 'metrics');
        expect(metrics).toBeDefined();
        expect(listen.port).toBe(metrics!.containerPort);
        expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
        expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
      }
      expect(c.resources?.requests?.cpu).toBeDefined();
      expect(c.resources?.requests?.memory).toBeDefined();
      expect(c.resources?.limits?.memory).toBeDefined();
    });

    it('exposes the metrics port through a headless Service that a ServiceMonitor scrapes', () => {
      const objects = objectsOf(dir);
      const ds = one(objects, 'DaemonSet') as KubeObject & { spec: { template: { metadata: { labels: Record<string, string> } } } };
      const svc = one(objects, 'Service') as KubeObject & {
        spec: {
          clusterIP?: string;
          publishNotReadyAddresses?: boolean;
          selector: Record<string, string>;
          ports: { name: string; targetPort: string | number }[];
        };
      };
      const podLabels = ds.spec.template.metadata.labels;
      for (const [k, v] of Object.entries(svc.spec.selector)) expect(podLabels[k], `Service selector ${k}`).toBe(v);
      expect(svc.spec.clusterIP).toBe('None');
      // A pod that is not ready (API unreachable) must still be scraped: its
      // routewarden_source_up of 0 is what the alerts fire on.
      expect(svc.spec.publishNotReadyAddresses).toBe(true);
      // The proxy's TLS port when kube-rbac-proxy is in front, routewarden's own otherwise.
      const exposed = proxyOf(objects) ? 'https' : 'metrics';
      const port = svc.spec.ports.find((p) => p.targetPort === exposed);
      expect(port, `a Service port targeting the container port "${exposed}"`).toBeDefined();

      const sm = one(objects, 'ServiceMonitor') as KubeObject & {
        spec: {
          jobLabel?: string;
          selector: { matchLabels: Record<string, string> };
          endpoints: { port: string; path?: string }[];
          namespaceSelector?: unknown;
        };
      };
      for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) expect(svc.metadata.labels?.[k], `ServiceMonitor selector ${k}`).toBe(v);
      expect(sm.metadata.namespace).toBe(svc.metadata.namespace);
      expect(sm.spec.endpoints).toHaveLength(1);
      expect(sm.spec.endpoints[0]!.port).toBe(port!.name);
      expect(sm.spec.endpoints[0]!.path ?? '/metrics').toBe('/metrics');
    });

    it('gives the scrape the job label the alert rules select on', () => {
      const rules = join(ROOT, 'alerts', 'routewarden.rules.yaml');
      if (!existsSync(rules)) return;
      const objects = objectsOf(dir);
      const sm = one(objects, 'ServiceMonitor') as KubeObject & { spec: { jobLabel?: string } };
      const svc = one(objects, 'Service');
      // The Prometheus Operator names the job after the Service unless jobLabel says otherwise.
      const job = sm.spec.jobLabel !== undefined ? svc.metadata.labels?.[sm.spec.jobLabel] : svc.metadata.name;
      const selected = new Set([...readFileSync(rules, 'utf8').matchAll(/job\s*=\s*\\?"([^"\\]+)\\?"/g)].map((m) => m[1]));
      expect(selected.size).toBeGreaterThan(0);
      expect([...selected]).toEqual([job]);
    });
  });

  describe('each overlay does what its name says', () => {
    const cfg = (dir: string) => configOf(objectsOf(dir));
    const container = (dir: string) => routewardenContainer(objectsOf(dir));

    it('base: detection only, NET_ADMIN ready for repair', () => {
      expect(cfg('deploy/base').remediate).toBe(false);
      expect(NET_ADMIN(container('deploy/base'))).toBe(true);
    });

    it('repair: --remediate on, NET_ADMIN kept', () => {
      expect(cfg('deploy/overlays/repair').remediate).toBe(true);
      expect(cfg('deploy/overlays/repair').dryRun).toBe(false);
      expect(NET_ADMIN(container('deploy/overlays/repair'))).toBe(true);
    });

    it('read-only: no capability at all, not root, repair off', () => {
      const c = container('deploy/overlays/read-only');
      expect(c.securityContext?.capabilities).toEqual({ drop: ['ALL'] });
      expect(c.securityContext?.runAsNonRoot).toBe(true);
      expect(cfg('deploy/overlays/read-only').remediate).toBe(false);
    });

    it('kube-vip-settings: sets table, protocol and election through the environment', () => {
      const env = envOf(container('deploy/overlays/kube-vip-settings'));
      for (const name of ['ROUTEWARDEN_TABLE', 'ROUTEWARDEN_PROTOCOL', 'ROUTEWARDEN_ELECTION']) expect(env).toHaveProperty(name);
      const c = cfg('deploy/overlays/kube-vip-settings');
      expect([c.model.table, c.model.protocol, c.model.election]).toEqual([
        Number(env.ROUTEWARDEN_TABLE),
        Number(env.ROUTEWARDEN_PROTOCOL),
        env.ROUTEWARDEN_ELECTION,
      ]);
    });

    it('kube-rbac-proxy: routewarden on loopback only, the proxy (pinned) passes only /metrics to it, the ServiceMonitor scrapes with its token over TLS', () => {
      const objects = objectsOf('deploy/overlays/kube-rbac-proxy');
      const c = cfg('deploy/overlays/kube-rbac-proxy');
      expect(c.listen).toEqual({ host: '127.0.0.1', port: 9798 });
      expect(c.webDisableStatus).toBe(true);
      const proxy = proxyOf(objects)!;
      expect(proxy.image).toMatch(/^quay\.io\/brancz\/kube-rbac-proxy:v\d+\.\d+\.\d+$/);
      expect(proxy.args).toEqual(
        expect.arrayContaining(['--secure-listen-address=[$(NODE_IP)]:9798', `--upstream=http://127.0.0.1:${c.listen.port}/`, '--allow-paths=/metrics']),
      );
      expect(proxy.env).toContainEqual({ name: 'NODE_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
      expect(proxy.ports).toEqual([{ name: 'https', containerPort: 9798, protocol: 'TCP' }]);
      const sc = proxy.securityContext!;
      expect([sc.runAsNonRoot, sc.allowPrivilegeEscalation, sc.readOnlyRootFilesystem, sc.capabilities]).toEqual([true, false, true, { drop: ['ALL'] }]);
      const sm = one(objects, 'ServiceMonitor') as KubeObject & { spec: { endpoints: Record<string, unknown>[] } };
      expect(sm.spec.endpoints).toEqual([
        expect.objectContaining({
          port: 'https',
          scheme: 'https',
          path: '/metrics',
          bearerTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
          tlsConfig: expect.any(Object),
        }),
      ]);
    });

    it('kube-vip-endpoints: the base plus Endpoints list/watch, nothing else (for a kube-vip with enable_endpoints)', () => {
      type Role = KubeObject & { rules: unknown[] };
      const base = one(objectsOf('deploy/base'), 'ClusterRole') as Role;
      const role = one(objectsOf('deploy/overlays/kube-vip-endpoints'), 'ClusterRole') as Role;
      expect(role.rules).toEqual([...base.rules, { apiGroups: [''], resources: ['endpoints'], verbs: ['list', 'watch'] }]);
      expect(role.metadata).toEqual(base.metadata);
    });

    it("overlays leave the base's other objects as they are", () => {
      // The proxy overlay re-points the Service and the ServiceMonitor at the proxy (tested above);
      // the kube-vip-endpoints overlay adds one rule to the ClusterRole (tested above).
      const base = objectsOf('deploy/base').filter((o) => o.kind !== 'DaemonSet');
      for (const dir of dirs.filter((d) => d !== 'deploy/base' && d !== 'deploy/overlays/kube-rbac-proxy')) {
        const objects = objectsOf(dir);
        for (const b of base.filter((o) => !(dir === 'deploy/overlays/kube-vip-endpoints' && o.kind === 'ClusterRole')))
          expect(
            objects.find((o) => o.kind === b.kind && o.metadata.name === b.metadata.name),
            `${dir}: ${b.kind}/${b.metadata.name}`,
          ).toEqual(b);
      }
    });
  });
});
