// Sections 2 (warm check) and 4 (repair) of `npm run bench`, in a process of
// their own: the benchmark's process also hosts the API double and its 22,000
// objects, whose garbage collections would land in routewarden's timings. Here
// the heap holds what a routewarden pod holds, the process gets the
// DaemonSet's NODE_OPTIONS and malloc tunables (the parent sets them), and it
// talks to the double over HTTP through the real Kubernetes adapter, as the
// CLI does. Runs in the parent's network namespace (inherited).
//
//   node bench/worker.ts '<json WorkerInput>'   (spawned by bench/main.ts; prints one JSON line)

import { spawn } from 'node:child_process';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { routeProtocol, tableId } from '../src/core/types.ts';
import { createNetlinkKernelTable } from '../src/kernel/netlink.ts';
import { loadKubeConfig } from '../src/kube/kubeconfig.ts';
import { createKubeClusterSource } from '../src/kube/source.ts';
import { silentLogger } from '../src/surface/logger.ts';
import { generateCluster } from './cluster.ts';
import { makeChecker, measureCheck, measureRepair, type CheckTimes, type RepairTimes } from './inprocess.ts';
import { PROTO, TABLE } from './kernel.ts';
import { since } from './stats.ts';

export interface WorkerInput {
  readonly kubeconfig: string;
  readonly services: number;
  readonly routes: number;
  readonly nodes: number;
  readonly reps: number;
  readonly repairReps: number;
}

export interface WorkerOutput {
  readonly syncMs: number;
  readonly check: CheckTimes;
  /** V8's collections while measureCheck() ran (warm-up, timed checks, the parts alone), by kind. */
  readonly gc: GcStats;
  readonly repairs: readonly RepairTimes[];
}

export interface GcStats {
  readonly minor: { readonly count: number; readonly maxMs: number };
  readonly major: { readonly count: number; readonly maxMs: number };
}

/** Counts V8's collections from now until stop(): scavenges (minor) and mark-compacts (major). */
function observeGc(): { stop(): GcStats } {
  const minor = { count: 0, maxMs: 0 };
  const major = { count: 0, maxMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      const into = kind === constants.NODE_PERFORMANCE_GC_MINOR ? minor : kind === constants.NODE_PERFORMANCE_GC_MAJOR ? major : null;
      if (!into) continue;
      into.count++;
      into.maxMs = Math.max(into.maxMs, e.duration);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop() {
      observer.disconnect();
      return { minor, major };
    },
  };
}

async function work(input: WorkerInput): Promise<WorkerOutput> {
  const cluster = generateCluster(input.services, input.routes, input.nodes);
  const routes = cluster.placed.length;
  const kernel = createNetlinkKernelTable({ table: tableId(TABLE), protocol: routeProtocol(PROTO) });
  const source = createKubeClusterSource({ kubeConfig: loadKubeConfig(input.kubeconfig), logger: silentLogger() });
  try {
    const t = performance.now();
    await source.start();
    while (source.status().state !== 'ok') {
      if (since(t) > 120_000) throw new Error(`source not synced: ${JSON.stringify(source.status())}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const syncMs = since(t);
    const checker = makeChecker(kernel, source);
    const gcs = observeGc();
    const check = await measureCheck(checker, kernel, source, input.reps, routes);
    const gc = gcs.stop();
    const repairs: RepairTimes[] = [];
    for (const strategy of ['flush-rebuild', 'surgical'] as const) {
      repairs.push(await measureRepair(strategy, kernel, checker, cluster.placed, input.repairReps));
    }
    return { syncMs, check, gc, repairs };
  } finally {
    await source.stop();
    await kernel.close();
  }
}

/** Runs the worker with `env` (NODE_OPTIONS, MALLOC_*) and returns what it measured. */
export function runWorker(input: WorkerInput, env: Readonly<Record<string, string>>): Promise<WorkerOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify(input)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp', ...env },
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`bench worker exited with code ${code}`));
        return;
      }
      try {
        resolve(JSON.parse(out) as WorkerOutput);
      } catch {
        reject(new Error(`bench worker printed no result: ${out.slice(0, 200)}`));
      }
    });
  });
}

if (import.meta.main) {
  try {
    const result = await work(JSON.parse(process.argv[2] ?? '') as WorkerInput);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } catch (err) {
    process.stderr.write(`bench worker: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
