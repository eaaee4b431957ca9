// The demo's options, and the Config its routewarden service runs with: the
// same Config type `run` builds, with what makes a story last seconds instead
// of minutes (interval 1s, grace 2s) and repair turned on.

import { ConfigError, loadConfig } from '../../src/cli/config.ts';
import type { Config, LoadContext } from '../../src/cli/config.ts';
import { envName } from '../../src/cli/options.ts';
// Where the demo's defaults differ from `run`'s: kept beside the CLI, which
// shows them in `demo --help` without loading the demo.
import { DEMO_DEFAULTS } from '../../src/cli/demo-defaults.ts';
import type { Strategy } from '../../src/core/repair.ts';

export const SCENARIOS = ['seed-762', 'dual-stack-bounce', 'all'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** The node the simulated cluster runs its endpoints on, and that routewarden checks. */
export const DEMO_NODE = 'demo-node';

const GRACE_MS = 2_000;
const MIN_REPAIR_INTERVAL_MS = 1_000;

type Raw = Record<string, string | boolean | undefined>;

export interface DemoOptions {
  readonly scenario: Scenario;
  readonly step: boolean;
  readonly apiOnly: boolean;
  readonly memory: boolean;
  /** --listen (or its variable) was given: --api-only then serves the API there. */
  readonly listenExplicit: boolean;
  /** Internal, set by the demo for its own child: the namespace it runs in. */
  readonly insideNetns?: string;
  /** Internal: the Unix socket the child serves HTTP on. */
  readonly httpSocket?: string;
  /** Internal: the URL the parent relays to that socket, for the narration. */
  readonly publicUrl?: string;
  /** The flags shared with `run` (table, protocol, interval, listen, log-level). */
  readonly flags: Raw;
}

const text = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function parseDemoOptions(opts: Raw, env: NodeJS.ProcessEnv): DemoOptions {
  const { scenario = 'all', step, apiOnly, memory, insideNetns, httpSocket, publicUrl, ...flags } = opts;
  if (!(SCENARIOS as readonly unknown[]).includes(scenario)) {
    throw new ConfigError(`invalid --scenario ${JSON.stringify(scenario)}: must be one of ${SCENARIOS.join(', ')}`);
  }
  if (insideNetns !== undefined && (text(httpSocket) === undefined || text(publicUrl) === undefined)) {
    throw new ConfigError('--inside-netns is internal to the demo and needs --http-socket and --public-url');
  }
  return {
    scenario: scenario as Scenario,
    step: step === true,
    apiOnly: apiOnly === true,
    memory: memory === true,
    listenExplicit: flags.listen !== undefined || env[envName('listen')] !== undefined,
    ...(text(insideNetns) !== undefined && { insideNetns: text(insideNetns) }),
    ...(text(httpSocket) !== undefined && { httpSocket: text(httpSocket) }),
    ...(text(publicUrl) !== undefined && { publicUrl: text(publicUrl) }),
    flags,
  };
}

/** The Config of the demo's routewarden service: `run`'s, with the demo's node and timings. */
export function demoConfig(flags: Raw, ctx: LoadContext): Config {
  const withDefaults: Raw = { ...flags };
  for (const flag of ['listen', 'interval'] as const) {
    if (withDefaults[flag] === undefined && ctx.env[envName(flag)] === undefined) withDefaults[flag] = DEMO_DEFAULTS[flag];
  }
  const base = loadConfig('demo', withDefaults, ctx);
  return Object.freeze({
    ...base,
    model: Object.freeze({ ...base.model, nodeName: DEMO_NODE }),
    remediate: true,
    dryRun: false,
    graceMs: GRACE_MS,
    minRepairIntervalMs: MIN_REPAIR_INTERVAL_MS,
    // --log-level info shows routewarden's own JSON logs (on stderr) next to the story.
    logLevel: base.logLevelExplicit ? base.logLevel : DEMO_DEFAULTS['log-level'],
  });
}

/** The same config with another repair strategy (each story has its own). */
export function withStrategy(config: Config, strategy: Strategy): Config {
  return Object.freeze({ ...config, strategy });
}
