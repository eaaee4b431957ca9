// The CLI as the image ships it (Dockerfile: `npm run build`, then bin/ and
// dist/ beside package.json): the bundle scripts/build.ts makes, not the
// TypeScript sources through Node's type stripping, whose WebAssembly stripper
// and per-module sources add tens of megabytes of RSS a production pod never
// has. Built into .tmp/bench/ (git ignores .tmp/), never into dist/, which
// bin/routewarden.js would then prefer for every other run in this checkout.

import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { buildBundle } from '../scripts/build.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = fileURLToPath(new URL('../.tmp/bench/', import.meta.url));

/** Builds the shipped layout and returns the path of its bin/routewarden.js. */
export async function buildShipped(): Promise<string> {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(`${OUT}bin`, { recursive: true });
  await buildBundle(`${OUT}dist`);
  copyFileSync(`${ROOT}package.json`, `${OUT}package.json`);
  copyFileSync(`${ROOT}bin/routewarden.js`, `${OUT}bin/routewarden.js`);
  // netlink and pino stay outside the bundle: Node finds them in the checkout's node_modules, above .tmp/.
  return `${OUT}bin/routewarden.js`;
}

/**
 * NODE_OPTIONS as the DaemonSet sets it (deploy/base/daemonset.yaml), so that
 * the CLI's heap is sized as in a pod; '' when the manifest sets none.
 */
export function deployedNodeOptions(): string {
  const env = deployedContainer()?.env ?? [];
  return env.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
}

/**
 * The DaemonSet's glibc malloc tunables (MALLOC_* variables), which shape
 * resident memory as much as V8's flags do; {} when it sets none.
 */
export function deployedMallocEnv(): Record<string, string> {
  const env = deployedContainer()?.env ?? [];
  return Object.fromEntries(env.filter((e) => e.name.startsWith('MALLOC_') && e.value !== undefined).map((e) => [e.name, e.value!]));
}

interface Container {
  readonly env?: readonly { name: string; value?: string }[];
}

function deployedContainer(): Container | undefined {
  const path = `${ROOT}deploy/base/daemonset.yaml`;
  if (!existsSync(path)) return undefined;
  const ds = parse(readFileSync(path, 'utf8')) as { spec?: { template?: { spec?: { containers?: Container[] } } } };
  return ds.spec?.template?.spec?.containers?.[0];
}
