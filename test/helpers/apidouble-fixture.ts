// Shared set-up for tests that drive the API double through the real
// client-node: a double on a loopback port, a KubeConfig for it, and a poll
// helper (assertions wait on conditions with a deadline, never on sleeps).

import { PATIENCE_MS } from './patience.ts';
import { KubeConfig } from '@kubernetes/client-node';
import { createApiDouble, type ApiDouble, type ApiDoubleOptions } from '../../tools/apidouble/index.ts';

export interface DoubleFixture {
  readonly double: ApiDouble;
  readonly kubeConfig: KubeConfig;
  readonly kubeconfigPath: string;
  close(): Promise<void>;
}

export async function startDouble(opts: ApiDoubleOptions = {}): Promise<DoubleFixture> {
  const double = createApiDouble(opts);
  await double.listen({ port: 0 });
  const kubeconfigPath = double.kubeconfig();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  return { double, kubeConfig, kubeconfigPath, close: () => double.close() };
}

/**
 * Polls `probe` until it returns a value other than undefined/false, or fails
 * with `what` and the last observed value after `timeoutMs`.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  opts: { timeoutMs?: number; intervalMs?: number; describe?: () => unknown } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? PATIENCE_MS);
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const state = opts.describe ? ` (state: ${JSON.stringify(opts.describe())})` : '';
      const err = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out waiting for ${what}${state}${err}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 20));
  }
}
