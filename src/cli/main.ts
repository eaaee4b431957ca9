// The composition root: the only place that knows every concrete adapter.
// main() returns the exit code; bad input is one line on stderr and exit 2,
// never a stack trace.

import { hostname } from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import { checkSystemTable, ConfigError, loadConfig } from './config.ts';
import type { Config } from './config.ts';
import { envName, optionsFor } from './options.ts';
import { NODE_VERSION, REVISION, VERSION, VERSION_LINE } from '../version.ts';
import { DEMO_DEFAULTS } from './demo-defaults.ts';
import { DEMO_NEEDS_CHECKOUT, loadDemo } from './demo.ts';
import { createLogger } from '../surface/logger.ts';
import type { Logger } from '../surface/logger.ts';
import { formatTextReport } from './text-report.ts';
import { createService, openHttpFront } from './service.ts';
import { useMemorySaver } from './memory-saver.ts';
import { createApp } from '../surface/http.ts';
import { createMetrics } from '../surface/metrics.ts';
import type { RepairOutcome } from '../app/repair.ts';
import { openCluster, openEvents, openKernel, repairCapability, waitForSync } from './adapters.ts';
import type { CheckResult } from '../core/report.ts';
import type { KernelTable } from '../core/ports.ts';
import { startupConfig } from '../app/kubevip.ts';
import { openWebConfig, WebConfigError } from '../surface/web-server.ts';

/** Exit codes of `check` (docs/configuration.md, "Commands and exit codes"). */
export const EXIT = { inSync: 0, drift: 1, error: 2 } as const;

type Action = (opts: Record<string, string | boolean | undefined>) => Promise<number>;

function addOptions(cmd: Command, command: 'run' | 'check' | 'demo'): Command {
  for (const def of optionsFor(command)) {
    const spec = def.kind === 'boolean' ? `--${def.flag} [bool]` : `--${def.flag} <${def.kind === 'enum' ? def.choices!.join('|') : def.kind}>`;
    const help = `${def.description} [env ${envName(def.flag)}${def.default !== undefined ? `, default ${JSON.stringify(def.default)}` : ''}]`;
    cmd.addOption(new Option(spec, help));
  }
  return cmd;
}

export function buildProgram(
  actions: Record<'run' | 'check' | 'demo', Action>,
  out: { stdout: (s: string) => void; stderr: (s: string) => void },
): { program: Command; result: () => Promise<number> | null } {
  let pending: Promise<number> | null = null;
  const program = new Command('routewarden')
    .description("Keeps kube-vip's routing table honest: detects orphan and missing routes, exports Prometheus metrics, repairs on request.")
    .version(VERSION_LINE, '--version')
    .exitOverride()
    .configureOutput({ writeOut: out.stdout, writeErr: out.stderr, outputError: () => {} })
    .showHelpAfterError(false);
  const sub = (name: 'run' | 'check' | 'demo', description: string) => {
    const cmd = addOptions(new Command(name).description(description), name)
      .exitOverride()
      .configureOutput({ writeOut: out.stdout, writeErr: out.stderr, outputError: () => {} });
    cmd.action((opts: Record<string, string | boolean | undefined>) => {
      pending = actions[name](opts);
    });
    program.addCommand(cmd);
    return cmd;
  };
  sub('run', 'long-running: checks continuously and serves HTTP (the DaemonSet mode)');
  sub('check', 'one-shot: read both sides once, print the report, exit 0 in sync, 1 drift, 2 could not check');
  const demo = sub('demo', 'self-contained: a simulated cluster and kernel table, no cluster needed');
  demo.addOption(new Option('--scenario <name>', 'story to tell').choices(['seed-762', 'dual-stack-bounce', 'all']).default('all'));
  demo.addOption(new Option('--step', 'wait for Enter between steps (on a terminal)'));
  demo.addOption(new Option('--api-only', 'only start the simulated cluster (sample objects) and print a kubeconfig; --listen sets its address'));
  demo.addOption(new Option('--memory', 'use the in-memory kernel table even when root'));
  // The help of the shared options must show the demo's own defaults.
  for (const [flag, value] of Object.entries(DEMO_DEFAULTS)) {
    const option = demo.options.find((o) => o.long === `--${flag}`);
    if (option) option.description = option.description.replace(/default "[^"]*"/, `default ${JSON.stringify(value)}`);
  }
  // Internal: the demo re-runs itself inside its network namespace with these.
  demo.addOption(new Option('--inside-netns <name>').hideHelp());
  demo.addOption(new Option('--http-socket <path>').hideHelp());
  demo.addOption(new Option('--public-url <url>').hideHelp());
  return { program, result: () => pending };
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const stdout = (s: string) => process.stdout.write(s);
  const stderr = (s: string) => process.stderr.write(s);
  const ctx = { env, hostname: hostname().toLowerCase() };
  // run and check take only the option table's flags, which loadConfig reads.
  const withConfig =
    (command: Config['command'], fn: (c: Config) => Promise<number>): Action =>
    async (opts) =>
      fn(loadConfig(command, opts, ctx));
  const { program, result } = buildProgram(
    {
      run: withConfig('run', runCommand),
      check: withConfig('check', checkCommand),
      demo: async (opts) => {
        const demoCommand = await loadDemo();
        if (demoCommand === null) {
          stderr(`routewarden: ${DEMO_NEEDS_CHECKOUT}\n`);
          return EXIT.error;
        }
        return demoCommand(opts, ctx);
      },
    },
    { stdout, stderr },
  );

  try {
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT.error;
    }
    await program.parseAsync(argv, { from: 'user' });
    const pending = result();
    return pending ? await pending : EXIT.inSync;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      stderr(`routewarden: ${err.message.replace(/^error: /, '')}\n`);
      return EXIT.error;
    }
    if (err instanceof ConfigError || err instanceof WebConfigError) {
      stderr(`routewarden: ${err.message}\n`);
      return EXIT.error;
    }
    stderr(`routewarden: ${(err as Error).message ?? String(err)}\n`);
    return EXIT.error;
  }
}

async function checkCommand(flagsConfig: Config): Promise<number> {
  // stdout is the report; logs go to stderr, at --log-level (info by default, as --help says).
  const logger = createLogger({ level: flagsConfig.logLevel, format: flagsConfig.logFormat, toStderr: true });
  if (flagsConfig.explicit.get('remediate') === 'env')
    logger.info('ROUTEWARDEN_REMEDIATE is ignored by check: it repairs only with --remediate on its command line');
  const cluster = openCluster(flagsConfig, logger);
  let kernel: KernelTable | null = null;
  try {
    const { createChecker } = await import('../app/checker.ts');
    await cluster.start();
    await waitForSync(cluster);
    // The kernel adapter reads the (table, protocol) kube-vip actually uses.
    const { config, discovery } = startupConfig(flagsConfig, cluster.status().state === 'ok' ? cluster.snapshot() : null, logger);
    // kube-vip's pod may name a system table the flags did not.
    checkSystemTable(config);
    kernel = openKernel(config, logger);
    const checker = createChecker({ kernel, cluster, model: config.model, kubeVip: discovery, logger });
    let result = await checker.check();
    let repair: RepairOutcome | undefined;
    if (config.remediate) {
      const { repairOnce } = await import('../app/repair.ts');
      const capable = repairCapability(config, logger);
      ({ result, outcome: repair } = await repairOnce({ config, kernel, checker, logger, capable, cluster, events: openEvents(flagsConfig, logger) }, result));
    }
    process.stdout.write(config.output === 'json' ? JSON.stringify(result.report, null, 2) + '\n' : formatTextReport(result.report, repair));
    return exitCodeOf(result);
  } finally {
    await cluster.stop();
    await kernel?.close();
  }
}

export function exitCodeOf(result: CheckResult): number {
  const r = result.report;
  if (r.sources.kernel !== 'ok' || r.sources.kubernetes !== 'ok') return EXIT.error;
  return r.inSync ? EXIT.inSync : EXIT.drift;
}

async function runCommand(flagsConfig: Config): Promise<number> {
  const logger = createLogger({ level: flagsConfig.logLevel, format: flagsConfig.logFormat });
  // Before the initial LIST: V8 keeps the heap near what is live (see the module).
  if (useMemorySaver()) logger.debug('V8 memory saver mode on');
  // Before anything starts: a bad web configuration serves nothing (exit 2).
  const web = flagsConfig.webConfigFile === undefined ? null : openWebConfig(flagsConfig.webConfigFile, logger);
  const cluster = openCluster(flagsConfig, logger);
  // The port first, before anything starts: one that cannot be bound is exit
  // 2 at once (it used to hang with the informers running), and /healthz and
  // /metrics answer from the first second, also while kube-vip discovery
  // waits for a slow API (a liveness probe must not kill the pod for that).
  const metrics = createMetrics({ version: VERSION, revision: REVISION, nodeVersion: NODE_VERSION });
  const boot = createApp({
    registry: metrics.registry,
    report: () => null,
    heartbeatAgeMs: () => 0, // starting, bounded by waitForSync's timeout
    heartbeatTimeoutMs: 1,
    ready: () => false,
    version: VERSION,
  });
  const front = await openHttpFront(flagsConfig.listen, boot, web);
  let kernel: KernelTable | null = null;
  try {
    // Discovery binds the kernel adapter to kube-vip's (table, protocol): read
    // the node's pods once before opening it (bounded; flags when the API is slow).
    if (flagsConfig.kubeVipConfig === 'auto') {
      void cluster.start().catch((err: unknown) => logger.error({ err }, 'starting the kubernetes source failed'));
      await waitForSync(cluster);
    }
    const { config, discovery } = startupConfig(flagsConfig, cluster.status().state === 'ok' ? cluster.snapshot() : null, logger);
    // kube-vip's pod may name a system table the flags did not.
    checkSystemTable(config);
    const capable = repairCapability(config, logger);
    kernel = openKernel(config, logger);
    const repair = config.remediate ? await import('../app/repair.ts') : null;
    const repairState = repair?.newRepairState();
    const service = createService({
      config,
      kernel,
      cluster,
      logger,
      metrics,
      front,
      kubeVip: discovery,
      web,
      afterCheck: repair
        ? repair.repairAfterCheck({ config, kernel, logger, capable, cluster, events: openEvents(flagsConfig, logger) }, repairState)
        : undefined,
      repairState: () => repairState,
    });
    service.metrics.repairCapable.set(capable === true ? 1 : 0);
    await service.start();
    return await waitForSignal(logger, () => service.stop());
  } catch (err) {
    await cluster.stop().catch(() => undefined);
    await kernel?.close().catch(() => undefined);
    await front.close();
    throw err;
  }
}

export function waitForSignal(logger: Logger, stop: () => Promise<void>): Promise<number> {
  return new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      logger.info({ signal }, 'shutting down');
      stop().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          resolve(EXIT.error);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
