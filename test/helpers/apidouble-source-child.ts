// Child process for the "no dangling handles" test: starts the Kubernetes
// cluster source against the API double, waits for the requested state,
// stops it, and then must exit on its own. It never calls process.exit: a
// timer, socket or request left behind by stop() keeps it alive, and the
// parent test sees that as a hang.
//
// usage: node apidouble-source-child.ts <kubeconfig> synced|failing

import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { createKubeClusterSource } from '../../src/kube/source.ts';
import { PATIENCE_MS } from './patience.ts';

const [kubeconfigPath, mode] = process.argv.slice(2);
if (kubeconfigPath === undefined || (mode !== 'synced' && mode !== 'failing')) {
  console.error('usage: apidouble-source-child.ts <kubeconfig> synced|failing');
  process.exitCode = 2;
} else {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const source = createKubeClusterSource({ kubeConfig, logger: pino({ level: 'silent' }), backoff: { initialMs: 50, maxMs: 5_000 } });
  const want = mode === 'synced' ? 'ok' : 'error';
  const giveUp = setTimeout(() => {
    console.error(`never reached ${want}: ${JSON.stringify(source.status())}`);
    process.exitCode = 1;
    void source.stop();
  }, PATIENCE_MS);
  const done = source.onChange(() => {
    if (source.status().state !== want) return;
    done();
    clearTimeout(giveUp);
    // Stop with a restart pending (failing) or with watches open (synced).
    void source.stop().then(() => console.log(`stopped ${want}`));
  });
  await source.start();
}
