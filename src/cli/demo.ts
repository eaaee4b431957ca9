// `routewarden demo` from the shipped CLI: the demo and the Kubernetes API
// double it runs are tools (tools/demo, tools/apidouble), not part of what a
// node runs, so they are not in the bundle or the image. A checkout has them:
// the CLI loads the demo from there, by a path esbuild cannot follow, only
// when `demo` is asked for. Anywhere else it says so in one line.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PACKAGE_ROOT } from '../package-root.ts';
import type { LoadContext } from './config.ts';

/**
 * Where the demo's defaults differ from `run`'s: stories that last seconds,
 * served on loopback only, and quiet logs (the narration is the output).
 * Here rather than in tools/demo so that `routewarden demo --help` shows
 * them without loading the demo; tools/demo/options.ts applies them.
 */
export const DEMO_DEFAULTS = { listen: '127.0.0.1:9798', interval: '1s', 'log-level': 'warn' } as const;

/** The demo's entry module in a checkout. */
export const DEMO_ENTRY = join(PACKAGE_ROOT, 'tools', 'demo', 'demo.ts');

type DemoCommand = (opts: Record<string, string | boolean | undefined>, ctx: LoadContext) => Promise<number>;

/** The demo's command, or null when this installation has no tools/ (the image, an npm install). */
export async function loadDemo(entry: string = DEMO_ENTRY): Promise<DemoCommand | null> {
  if (!existsSync(entry)) return null;
  const mod = (await import(pathToFileURL(entry).href)) as { demoCommand: DemoCommand };
  return mod.demoCommand;
}

export const DEMO_NEEDS_CHECKOUT = 'the demo runs from a checkout of the routewarden repository (tools/demo), not from an installed image or package';
