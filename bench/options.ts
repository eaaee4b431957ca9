// The benchmark's flags. Three sizes: the full run (issue #8's scale), --quick
// (same scale, fewer repetitions and a short churn: a couple of minutes) and
// --smoke (a tiny scale, only to prove the harness runs end to end).

import { parseArgs } from 'node:util';

export interface BenchOptions {
  readonly quick: boolean;
  readonly smoke: boolean;
  /** LoadBalancer Services in the API double. */
  readonly services: number;
  /** Routes in kube-vip's table on the node under test (= the expected set). */
  readonly routes: number;
  /** Routes of another protocol in the same table. */
  readonly foreign: number;
  readonly nodes: number;
  /** The second kernel scale. */
  readonly bigRoutes: number;
  /** Repetitions of the kernel read (per side) and of the warm check. */
  readonly reps: number;
  /** Repetitions of each repair (per strategy and side). */
  readonly repairReps: number;
  /** Detection trials per kind (route add, route del, Service add, Service delete). */
  readonly trials: number;
  readonly churnSeconds: number;
  /** The phases to run (--only); every phase by default. */
  readonly only: ReadonlySet<Phase>;
  /** Scales (Services = routes) of the cost-per-change curve. */
  readonly curve: readonly number[];
  /** Churn at each scale of the curve. */
  readonly curveChurnSeconds: number;
  /** Write the table into docs/performance.md. */
  readonly docs: boolean;
  /** Where the JSON results go. */
  readonly json: string;
  /** The command line as typed, for the report. */
  readonly argv: readonly string[];
}

/**
 * The benchmark's phases: kernel read (1), warm check and repair in the
 * worker (2, 4), detection latency (3), /metrics scrape (7), churn with its
 * latency probes and the verdict against a from-scratch check (5, 6, 8), and
 * the 1k/10k/50k curve (9).
 */
export const PHASES = ['kernel', 'worker', 'detection', 'scrape', 'churn', 'curve'] as const;
export type Phase = (typeof PHASES)[number];

export function parseOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
      services: { type: 'string' },
      routes: { type: 'string' },
      foreign: { type: 'string' },
      nodes: { type: 'string' },
      'big-routes': { type: 'string' },
      reps: { type: 'string' },
      'repair-reps': { type: 'string' },
      trials: { type: 'string' },
      'churn-seconds': { type: 'string' },
      only: { type: 'string' },
      curve: { type: 'string' },
      'curve-churn-seconds': { type: 'string' },
      docs: { type: 'boolean' },
      'no-docs': { type: 'boolean' },
      json: { type: 'string' },
    },
    strict: true,
  });
  const quick = values.quick || values.smoke;
  const smoke = values.smoke;
  /** A count flag: an integer of at least `min` (1 unless zero means something). */
  const num = (name: string, raw: string | undefined, fallback: number, min = 1): number => {
    if (raw === undefined) return fallback;
    const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be an integer of at least ${min}, got ${JSON.stringify(raw)}`);
    return n;
  };
  const only = new Set<Phase>();
  for (const raw of (values.only ?? PHASES.join(',')).split(',')) {
    const phase = raw.trim();
    if (!(PHASES as readonly string[]).includes(phase))
      throw new Error(`--only takes a comma-separated list of ${PHASES.join(', ')}; got ${JSON.stringify(raw)}`);
    only.add(phase as Phase);
  }
  const curve = (values.curve ?? (smoke ? '20,60' : '1000,10000,50000')).split(',').map((raw) => num('curve', raw.trim(), 0, 10));
  const services = num('services', values.services, smoke ? 50 : 10_000);
  return {
    quick,
    smoke,
    services,
    routes: num('routes', values.routes, smoke ? 50 : 10_000),
    foreign: num('foreign', values.foreign, smoke ? 20 : 1_000, 0),
    nodes: num('nodes', values.nodes, smoke ? 10 : 500),
    // At most --routes: the second kernel scale is skipped.
    bigRoutes: num('big-routes', values['big-routes'], smoke ? 200 : 50_000, 0),
    reps: num('reps', values.reps, smoke ? 5 : quick ? 40 : 200),
    repairReps: num('repair-reps', values['repair-reps'], smoke ? 1 : quick ? 2 : 5),
    trials: num('trials', values.trials, smoke ? 3 : quick ? 15 : 50),
    churnSeconds: num('churn-seconds', values['churn-seconds'], smoke ? 6 : quick ? 60 : 600),
    only,
    curve,
    curveChurnSeconds: num('curve-churn-seconds', values['curve-churn-seconds'], smoke ? 6 : quick ? 60 : 120),
    docs: values['no-docs'] ? false : (values.docs ?? (!quick && !smoke && only.size === PHASES.length)),
    json: values.json ?? `/tmp/routewarden-bench-${process.pid}.json`,
    argv,
  };
}
