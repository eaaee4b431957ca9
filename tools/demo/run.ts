// The demo in this process: the stage, the session, the stories, the end.
// Memory mode runs it directly; namespace mode runs it in a child process
// that lives inside the namespace (see parent.ts).

import { lstatSync, rmdirSync, unlinkSync } from 'node:fs';
import { Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Config, LoadContext } from '../../src/cli/config.ts';
import type { Report } from '../../src/core/report.ts';
import { createLogger } from '../../src/surface/logger.ts';
import type { Logger } from '../../src/surface/logger.ts';
import { createKubeVipPlayer } from './kube-vip.ts';
import { stdoutNarrator } from './narrator.ts';
import type { Narrator } from './narrator.ts';
import { demoConfig } from './options.ts';
import type { DemoOptions } from './options.ts';
import { startSession } from './session.ts';
import type { DemoSession } from './session.ts';
import { createMemoryStage, createNetnsStage } from './stage.ts';
import type { Stage } from './stage.ts';
import { clearStage, STORIES } from './stories.ts';
import type { Step, Story, StoryContext } from './stories.ts';
import { createLineReader, exitCodeForSignal, onTermination } from './terminal.ts';
import type { LineReader } from './terminal.ts';
import { DemoInterrupted, DemoTimeout } from './wait.ts';

export interface RunStoriesOptions {
  readonly session: DemoSession;
  readonly narrator: Narrator;
  readonly stories: readonly Story[];
  readonly signal: AbortSignal;
  /** Called before every step but the very first: --step waits for Enter here, tests look around. */
  readonly pause?: (at: { readonly story: Story; readonly step: Step }) => Promise<void>;
}

/** Tells the stories in order; returns routewarden's last report. */
export async function runStories(opts: RunStoriesOptions): Promise<Report | undefined> {
  const { session, narrator, stories, signal } = opts;
  const kubeVip = createKubeVipPlayer({ kernel: session.stage.kubeVipKernel, model: session.config.model, narrator });
  const ctx: StoryContext = { session, kubeVip, narrator, signal, node: session.config.model.nodeName };
  let first = true;
  for (const [s, story] of stories.entries()) {
    narrator.story(s + 1, stories.length, story.title);
    for (const line of story.intro) narrator.say(line);
    await clearStage(ctx);
    for (const [i, step] of story.steps.entries()) {
      if (!first) await opts.pause?.({ story, step });
      first = false;
      session.setProgress(`Story ${s + 1} of ${stories.length}, step ${i + 1} of ${story.steps.length}: ${step.title}.`);
      narrator.step(i + 1, story.steps.length, step.title);
      await step.run(ctx);
    }
  }
  session.setProgress('The demo is complete.');
  return session.service.checker.lastReport() ?? undefined;
}

export const storiesFor = (scenario: DemoOptions['scenario']): Story[] =>
  scenario === 'all' ? [STORIES['seed-762'], STORIES['dual-stack-bounce']] : [STORIES[scenario]];

function header(narrator: Narrator, session: DemoSession, config: Config): void {
  const u = session.url;
  narrator.heading("routewarden demo: kube-vip's routing table on a simulated node, no cluster needed");
  narrator.blank();
  narrator.field('kernel', session.stage.description);
  narrator.field('cluster', 'a Kubernetes API double, read through @kubernetes/client-node informers (list + watch)');
  narrator.field(
    'routewarden',
    `the same service \`routewarden run\` runs: node ${config.model.nodeName}, table ${config.model.table}, protocol ${config.model.protocol},`,
  );
  narrator.field('', `--remediate, --grace ${config.graceMs / 1000}s, --interval ${config.intervalMs / 1000}s`);
  narrator.blank();
  narrator.field('status page', `${u}/`);
  narrator.field('drift', `${u}/drift`);
  narrator.field('metrics', `${u}/metrics`);
  narrator.field('health', `${u}/healthz  ${u}/readyz`);
}

export type StageChoice = { readonly kind: 'memory'; readonly why: string } | { readonly kind: 'netns'; readonly ns: string };

export interface RunHereOptions {
  readonly options: DemoOptions;
  readonly ctx: LoadContext;
  readonly stage: StageChoice;
}

/**
 * The lifeline to the parent in namespace mode: fd 3 is a pipe the parent
 * holds open. If the parent dies (even by SIGKILL), it closes and we stop.
 */
function watchParent(onGone: () => void): () => void {
  let socket: Socket;
  try {
    socket = new Socket({ fd: 3, readable: true, writable: false });
  } catch {
    return () => {};
  }
  socket.on('end', onGone);
  socket.on('close', onGone);
  socket.on('error', onGone);
  socket.resume();
  socket.unref();
  return () => {
    socket.removeAllListeners();
    socket.on('error', () => {});
    socket.destroy();
  };
}

export async function runDemoHere(o: RunHereOptions): Promise<number> {
  const config = demoConfig(o.options.flags, o.ctx);
  const narrator = stdoutNarrator(o.ctx.env);
  const logger: Logger = createLogger({ level: config.logLevel, format: config.logFormat, toStderr: true });
  const controller = new AbortController();
  let stoppedBy: NodeJS.Signals | null = null;
  const removeSignals = onTermination((signal) => {
    stoppedBy ??= signal;
    controller.abort(signal);
  });
  let parentGone = false;
  const stopWatching =
    o.options.insideNetns !== undefined
      ? watchParent(() => {
          parentGone = true;
          controller.abort('the demo parent process went away');
        })
      : () => {};
  const stage: Stage =
    o.stage.kind === 'netns'
      ? createNetnsStage({ ns: o.stage.ns, table: config.model.table, protocol: config.model.protocol, logger })
      : createMemoryStage({ why: o.stage.why, table: config.model.table, protocol: config.model.protocol, logger });
  // Only a person at a terminal can press Enter; anything else runs straight through.
  const input: LineReader | null = process.stdin.isTTY ? createLineReader(process.stdin) : null;
  let session: DemoSession | null = null;
  try {
    session = await startSession({
      config,
      stage,
      logger,
      signal: controller.signal,
      ...(o.options.httpSocket !== undefined && { listenPath: o.options.httpSocket }),
      ...(o.options.publicUrl !== undefined && { publicUrl: o.options.publicUrl }),
    });
    header(narrator, session, session.config);
    const final = await runStories({
      session,
      narrator,
      stories: storiesFor(o.options.scenario),
      signal: controller.signal,
      ...(o.options.step &&
        input && {
          pause: async () => {
            narrator.prompt('⏎ Enter for the next step, Ctrl-C to stop ');
            await input.next(controller.signal);
          },
        }),
    });
    narrator.blank();
    if (!final?.inSync) {
      narrator.failed('The story ended with the table out of sync.');
      return 1;
    }
    narrator.done(`The table is in sync. That was the demo: ${session.url}/ still shows the final state.`);
    if (input) {
      narrator.prompt('Look around; press Enter (or Ctrl-C) to stop. ');
      await input.next(controller.signal).catch(() => {});
      narrator.blank();
    }
    return 0;
  } catch (err) {
    if (err instanceof DemoInterrupted) {
      narrator.blank();
      narrator.say(`Stopped (${err.reason}); cleaning up.`);
      return stoppedBy ? exitCodeForSignal(stoppedBy) : 1;
    }
    if (err instanceof DemoTimeout) {
      narrator.failed(err.message);
      return 1;
    }
    throw err;
  } finally {
    input?.close();
    if (session) await session.stop();
    else await stage.close().catch(() => {});
    stopWatching();
    removeSignals();
    if (parentGone && o.options.httpSocket !== undefined) removeSocketDir(o.options.httpSocket);
  }
}

/**
 * The parent made a private directory for the HTTP socket and would have
 * removed it; when it was killed, the child is the last one to leave. Only
 * the socket and then the directory if empty: never a recursive delete of a
 * path that came in on the command line.
 */
function removeSocketDir(socketPath: string): void {
  try {
    if (lstatSync(socketPath).isSocket()) unlinkSync(socketPath);
  } catch {
    // already gone
  }
  try {
    rmdirSync(dirname(socketPath));
  } catch {
    // not empty, or gone: leave it
  }
}
