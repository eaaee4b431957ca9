// `routewarden demo`: routewarden on a simulated node, no cluster needed.
// Chooses where the kernel table lives and hands over:
//   --api-only           only the simulated Kubernetes API (api-only.ts)
//   root, no --memory    a throw-away network namespace; this process relays
//                        HTTP and cleans up, a child inside runs the demo (parent.ts)
//   otherwise            the in-memory kernel table, all in this process (run.ts)
// The internal --inside-netns marks that child.

import type { LoadContext } from '../../src/cli/config.ts';
import { runApiOnly } from './api-only.ts';
import { demoConfig, parseDemoOptions } from './options.ts';
import { runInNamespace } from './parent.ts';
import { runDemoHere } from './run.ts';

const isRoot = (): boolean => process.getuid?.() === 0;

export async function demoCommand(opts: Record<string, string | boolean | undefined>, ctx: LoadContext): Promise<number> {
  const options = parseDemoOptions(opts, ctx.env);
  // Validate every flag before anything is created.
  const config = demoConfig(options.flags, ctx);
  if (options.apiOnly) return runApiOnly(config, options.listenExplicit, ctx.env);
  if (options.insideNetns !== undefined) return runDemoHere({ options, ctx, stage: { kind: 'netns', ns: options.insideNetns } });

  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  let why: string;
  if (options.memory) why = 'asked for with --memory';
  else if (!isRoot()) why = 'not running as root; as root the demo uses a real network namespace';
  else {
    const attempt = await runInNamespace(options, config, say);
    if (attempt.ran) return attempt.code;
    why = attempt.why;
    say(`${why}; using the in-memory kernel table instead`);
  }
  return runDemoHere({ options, ctx, stage: { kind: 'memory', why } });
}
