// routewarden's kubeconfig rule (--kubeconfig, KUBECONFIG, in-cluster,
// ~/.kube/config) and its one-line errors.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KubeConfigError, loadKubeConfig, resolveKubeConfigOrigin } from '../../src/kube/kubeconfig.ts';

const dir = mkdtempSync(join(tmpdir(), 'rw-kubeconfig-'));

function kubeconfig(name: string, server: string, extra: { skipTls?: boolean; currentContext?: string | null } = {}, path = join(dir, name)): string {
  const lines = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    `    server: ${server}`,
    ...(extra.skipTls ? ['    insecure-skip-tls-verify: true'] : []),
    'users:',
    `- name: ${name}`,
    '  user: {token: t}',
    'contexts:',
    `- name: ${name}`,
    `  context: {cluster: ${name}, user: ${name}}`,
    ...(extra.currentContext === null ? [] : [`current-context: ${extra.currentContext ?? name}`]),
  ];
  writeFileSync(path, lines.join('\n'));
  return path;
}

const flagFile = kubeconfig('flag', 'https://flag.example:6443');
const envFile = kubeconfig('env', 'https://env.example:6443');
const envFile2 = kubeconfig('env2', 'https://env2.example:6443');
const homeDir = join(dir, 'home');
mkdirSync(join(homeDir, '.kube'), { recursive: true });
kubeconfig('home', 'https://home.example:6443', {}, join(homeDir, '.kube', 'config'));
const emptyHome = join(dir, 'nohome');
const saRoot = join(dir, 'sa');
mkdirSync(join(saRoot, 'var/run/secrets/kubernetes.io/serviceaccount'), { recursive: true });
writeFileSync(join(saRoot, 'var/run/secrets/kubernetes.io/serviceaccount/token'), 'token');
writeFileSync(join(saRoot, 'var/run/secrets/kubernetes.io/serviceaccount/ca.crt'), '');
const inClusterEnv = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('which configuration is used', () => {
  const cases: { name: string; flag?: string; env: NodeJS.ProcessEnv; home: string; server: string }[] = [
    {
      name: '--kubeconfig wins over everything',
      flag: flagFile,
      env: { KUBECONFIG: envFile, ...inClusterEnv },
      home: homeDir,
      server: 'https://flag.example:6443',
    },
    { name: 'KUBECONFIG wins over in-cluster and home', env: { KUBECONFIG: envFile, ...inClusterEnv }, home: homeDir, server: 'https://env.example:6443' },
    {
      name: 'KUBECONFIG list: missing files skipped, first existing file wins',
      env: { KUBECONFIG: `${join(dir, 'missing')}:${envFile2}:${envFile}` },
      home: homeDir,
      server: 'https://env2.example:6443',
    },
    { name: 'in-cluster wins over ~/.kube/config', env: inClusterEnv, home: homeDir, server: 'https://10.96.0.1:443' },
    { name: '~/.kube/config last', env: {}, home: homeDir, server: 'https://home.example:6443' },
  ];

  it.each(cases)('$name', ({ flag, env, home, server }) => {
    // client-node's loadFromCluster reads process.env itself.
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    const kc = loadKubeConfig(flag, { env, homeDir: home, inClusterRoot: saRoot });
    expect(kc.getCurrentCluster()?.server).toBe(server);
  });

  it('reports where it came from', () => {
    expect(resolveKubeConfigOrigin(undefined, { env: inClusterEnv, homeDir, inClusterRoot: saRoot })).toEqual({ kind: 'in-cluster' });
    expect(resolveKubeConfigOrigin(undefined, { env: {}, homeDir })).toEqual({ kind: 'file', paths: [join(homeDir, '.kube', 'config')], from: 'home' });
  });

  it('needs the service-account token for in-cluster', () => {
    expect(() => loadKubeConfig(undefined, { env: inClusterEnv, homeDir: emptyHome, inClusterRoot: join(dir, 'no-sa') })).toThrow(
      /no Kubernetes configuration found/,
    );
  });
});

describe('errors are one line', () => {
  const bad = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const cases: { name: string; path: string; env?: NodeJS.ProcessEnv; message: RegExp }[] = [
    { name: 'explicit file missing', path: join(dir, 'nope'), message: /^reading kubeconfig .*nope: ENOENT: no such file or directory/ },
    { name: 'not YAML', path: bad('garbage', 'clusters: [unclosed\n  - x: {'), message: /^reading kubeconfig .*garbage: / },
    { name: 'no current-context', path: kubeconfig('nocurrent', 'https://x:6443', { currentContext: null }), message: /: no current-context$/ },
    {
      name: 'unknown current-context',
      path: kubeconfig('unknown', 'https://x:6443', { currentContext: 'other' }),
      message: /current-context "other" is not defined/,
    },
    {
      name: 'plain http without insecure-skip-tls-verify',
      path: kubeconfig('plainhttp', 'http://x:8080'),
      message: /plain http:\/\/ without insecure-skip-tls-verify/,
    },
    { name: 'not a URL', path: kubeconfig('badurl', 'not a url'), message: /invalid server URL "not a url"/ },
    { name: 'KUBECONFIG pointing nowhere', path: '', env: { KUBECONFIG: join(dir, 'a') }, message: /^KUBECONFIG=.*: no such file$/ },
  ];

  it.each(cases)('$name', ({ path, env, message }) => {
    let err: unknown;
    try {
      loadKubeConfig(path === '' ? undefined : path, { env: env ?? {}, homeDir: emptyHome });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KubeConfigError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
  });

  it('accepts plain http with insecure-skip-tls-verify (the API double)', () => {
    const kc = loadKubeConfig(kubeconfig('double', 'http://127.0.0.1:1234', { skipTls: true }), { env: {} });
    expect(kc.getCurrentCluster()?.skipTLSVerify).toBe(true);
  });

  it('with nothing configured says what to do', () => {
    expect(() => loadKubeConfig(undefined, { env: {}, homeDir: emptyHome })).toThrow(/pass --kubeconfig, set KUBECONFIG/);
  });
});
