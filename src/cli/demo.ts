// `routewarden demo` from the shipped CLI. The demo and the Kubernetes API
// double it runs are tools (tools/demo, tools/apidouble), not part of what a
// node runs: the bundle leaves them out (scripts/build.ts keeps every import
// of tools/ external) and the image has no tools/. A checkout has them, and
// the CLI imports the demo from there only when `demo` runs; anywhere else it
// says so in one line. This is the one import of tools/ from src/, allowed by
// name in .dependency-cruiser.cjs.
//
// The relative path holds from this file (src/cli/demo.ts) and from the
// bundle (dist/cli/main.js) alike: both sit two directories below the
// package root.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LoadContext } from './config.ts';

export const DEMO_NEEDS_CHECKOUT = 'the demo runs from a checkout of the routewarden repository (tools/demo), not from an installed image or package';

type DemoCommand = (opts: Record<string, string | boolean | undefined>, ctx: LoadContext) => Promise<number>;

/** The demo's command, or null when this installation has no tools/ (the image, an npm install). */
export async function loadDemo(): Promise<DemoCommand | null> {
  if (!existsSync(fileURLToPath(new URL('../../tools/demo/demo.ts', import.meta.url)))) return null;
  const { demoCommand } = await import('../../tools/demo/demo.ts');
  return demoCommand;
}
