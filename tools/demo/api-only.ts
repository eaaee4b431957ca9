// `routewarden demo --api-only`: only the simulated cluster, with a few
// sample objects, for pointing `routewarden check`, `routewarden run` or
// kubectl at. Runs until Ctrl-C.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiDouble, lease } from '../apidouble/index.ts';
import type { KubeObject } from '../apidouble/index.ts';
import type { Config } from '../../src/cli/config.ts';
import { serviceObjects } from './cluster.ts';
import { stdoutNarrator } from './narrator.ts';
import { DEMO_NODE } from './options.ts';
import { exitCodeForSignal, onTermination } from './terminal.ts';

/** Leases renewed "now" for an hour: valid for as long as anyone explores. */
const LEASE_SECONDS = 3600;

/** The sample cluster: what routewarden expects on demo-node is 4 routes (web, api, dual ×2). */
export function sampleCluster(now: number): KubeObject[] {
  const held = { renewTime: now, acquireTime: now - LEASE_SECONDS * 1000, leaseDurationSeconds: LEASE_SECONDS };
  return [
    ...serviceObjects({ name: 'web', vips: ['192.0.2.10'], node: DEMO_NODE }),
    ...serviceObjects({ name: 'api', vips: ['192.0.2.11'], node: DEMO_NODE }),
    ...serviceObjects({ name: 'dual', vips: ['192.0.2.30', '2001:db8::30'], node: DEMO_NODE }),
    // Local policy with its only endpoint elsewhere: kube-vip places no route on demo-node.
    ...serviceObjects({ name: 'frontend', namespace: 'shop', vips: ['198.51.100.7'], node: 'worker-2', externalTrafficPolicy: 'Local' }),
    // Not a LoadBalancer: kube-vip ignores it.
    ...serviceObjects({ name: 'internal', vips: ['10.96.0.20'], node: DEMO_NODE, type: 'ClusterIP' }),
    // For --election global and --election service. Acquired long ago: a
    // lease that just changed hands is a handover, judged leniently (E5).
    lease({ name: 'plndr-svcs-lock', namespace: 'kube-system', holderIdentity: DEMO_NODE, ...held }),
    lease({ name: 'kubevip-web', holderIdentity: DEMO_NODE, ...held }),
    lease({ name: 'kubevip-api', holderIdentity: 'worker-2', ...held }),
  ];
}

export async function runApiOnly(config: Config, listenExplicit: boolean, env: NodeJS.ProcessEnv): Promise<number> {
  const narrator = stdoutNarrator(env);
  const api = createApiDouble();
  const dir = mkdtempSync(join(tmpdir(), 'rw-demo-api-'));
  let cleaned: Promise<void> | null = null;
  const cleanup = (): Promise<void> => (cleaned ??= api.close().then(() => rmSync(dir, { recursive: true, force: true })));
  try {
    // --listen, when given, is where the API serves; otherwise any free loopback port.
    const listen = listenExplicit ? { host: config.listen.host ?? '127.0.0.1', port: config.listen.port } : { host: '127.0.0.1', port: 0 };
    const { url } = await api.listen(listen);
    for (const o of sampleCluster(Date.now())) api.upsert(o);
    const kubeconfig = api.kubeconfig(join(dir, 'kubeconfig'));
    const k = `--kubeconfig ${kubeconfig}`;

    narrator.heading('routewarden demo --api-only: a simulated Kubernetes API, nothing else');
    narrator.blank();
    narrator.field('API server', `${url} (plain HTTP; list, watch, get, create, apply, update, delete)`);
    narrator.field('kubeconfig', kubeconfig);
    narrator.field('objects', 'Services web, api, dual (dual-stack), shop/frontend (Local, endpoint on worker-2), internal (ClusterIP);');
    narrator.field('', `their EndpointSlices (endpoints on ${DEMO_NODE}); Leases kube-system/plndr-svcs-lock, kubevip-web, kubevip-api`);
    narrator.blank();
    narrator.heading('Try');
    narrator.field('', `kubectl ${k} get svc,endpointslices,leases -A`);
    narrator.field('', `npx routewarden check ${k} --node-name ${DEMO_NODE}`);
    narrator.say("check compares with this machine's own table 198: without kube-vip here, the 4 routes");
    narrator.say(`the cluster puts on ${DEMO_NODE} are reported missing (exit 1). Try --election service or --output json too.`);
    narrator.field('', `npx routewarden run ${k} --node-name ${DEMO_NODE} --listen 127.0.0.1:9798`);
    narrator.blank();
    narrator.prompt('Running until Ctrl-C.\n');

    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      const remove = onTermination((s) => {
        remove();
        resolve(s);
      });
    });
    await cleanup();
    narrator.say(`Stopped (${signal}); removed ${dir}.`);
    // Ctrl-C is how --api-only is meant to end: a normal exit.
    return signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : exitCodeForSignal(signal);
  } finally {
    await cleanup();
  }
}
