// Where routewarden finds its API server (docs/configuration.md): the --kubeconfig
// path, else $KUBECONFIG, else the in-cluster service account, else
// ~/.kube/config. client-node's loadFromDefault() uses another order
// (~/.kube/config before in-cluster) and silently falls back to
// http://localhost:8080, so it is not used.
//
// Every failure is a KubeConfigError with a one-line message; the CLI turns it
// into exit code 2.

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

export class KubeConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KubeConfigError';
  }
}

export interface KubeConfigEnvironment {
  readonly env?: NodeJS.ProcessEnv;
  readonly homeDir?: string;
  /** Prefix of /var/run/secrets/kubernetes.io/serviceaccount, for tests. */
  readonly inClusterRoot?: string;
}

export type KubeConfigOrigin =
  { readonly kind: 'file'; readonly paths: readonly string[]; readonly from: 'flag' | 'KUBECONFIG' | 'home' } | { readonly kind: 'in-cluster' };

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

const firstLine = (s: string): string => s.split('\n')[0]?.trim() ?? '';

/** Decides where the configuration comes from, without reading it. */
export function resolveKubeConfigOrigin(explicitPath: string | undefined, environment: KubeConfigEnvironment = {}): KubeConfigOrigin {
  const env = environment.env ?? process.env;
  if (explicitPath !== undefined && explicitPath !== '') return { kind: 'file', paths: [explicitPath], from: 'flag' };
  const list = env.KUBECONFIG;
  if (list !== undefined && list !== '') {
    const paths = list.split(delimiter).filter((p) => p !== '');
    // As kubectl does, missing files in the list are skipped; all missing is an error.
    const existing = paths.filter((p) => existsSync(p));
    if (existing.length === 0) throw new KubeConfigError(`KUBECONFIG=${list}: no such file`);
    return { kind: 'file', paths: existing, from: 'KUBECONFIG' };
  }
  const root = environment.inClusterRoot ?? '';
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && existsSync(`${root}${SERVICE_ACCOUNT_TOKEN}`)) {
    return { kind: 'in-cluster' };
  }
  const home = join(environment.homeDir ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return { kind: 'file', paths: [home], from: 'home' };
  throw new KubeConfigError(
    'no Kubernetes configuration found: pass --kubeconfig, set KUBECONFIG, run in a pod with a service account, or create ~/.kube/config',
  );
}

function loadFile(path: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(path);
  } catch (err) {
    throw new KubeConfigError(`reading kubeconfig ${path}: ${firstLine((err as Error).message)}`, { cause: err });
  }
  return kc;
}

/** Checks what client-node would only discover at the first request, with a clearer message. */
function validate(kc: KubeConfig, where: string): void {
  const current = kc.getCurrentContext();
  if (!current) throw new KubeConfigError(`kubeconfig ${where}: no current-context`);
  if (!kc.getContextObject(current)) throw new KubeConfigError(`kubeconfig ${where}: current-context "${current}" is not defined`);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeConfigError(`kubeconfig ${where}: the cluster of context "${current}" is not defined`);
  let url: URL;
  try {
    url = new URL(cluster.server);
  } catch {
    throw new KubeConfigError(`kubeconfig ${where}: cluster "${cluster.name}" has an invalid server URL ${JSON.stringify(cluster.server ?? '')}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new KubeConfigError(`kubeconfig ${where}: cluster "${cluster.name}" server must be http(s), got ${url.protocol}`);
  }
  if (url.protocol === 'http:' && !cluster.skipTLSVerify) {
    // client-node 2.x refuses plain HTTP unless the cluster says insecure-skip-tls-verify.
    throw new KubeConfigError(`kubeconfig ${where}: cluster "${cluster.name}" uses plain http:// without insecure-skip-tls-verify: true`);
  }
}

/**
 * Loads the KubeConfig routewarden uses: `explicitPath` (--kubeconfig), else
 * KUBECONFIG (a path list, first file wins on conflicts), else in-cluster, else
 * ~/.kube/config. Throws KubeConfigError with a one-line message.
 */
export function loadKubeConfig(explicitPath?: string, environment: KubeConfigEnvironment = {}): KubeConfig {
  const origin = resolveKubeConfigOrigin(explicitPath, environment);
  if (origin.kind === 'in-cluster') {
    const kc = new KubeConfig();
    kc.loadFromCluster(environment.inClusterRoot ?? '');
    validate(kc, '(in-cluster)');
    return kc;
  }
  const [first, ...rest] = origin.paths;
  if (first === undefined) throw new KubeConfigError('no kubeconfig path');
  const kc = loadFile(first);
  for (const path of rest) {
    try {
      kc.mergeConfig(loadFile(path), true);
    } catch (err) {
      if (err instanceof KubeConfigError) throw err;
      throw new KubeConfigError(`merging kubeconfig ${path}: ${firstLine((err as Error).message)}`, { cause: err });
    }
  }
  validate(kc, origin.paths.join(delimiter));
  return kc;
}
