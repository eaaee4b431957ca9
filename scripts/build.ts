// `npm run build`: the CLI as the image ships it, one ES module bundle at
// dist/cli/main.js (where bin/routewarden.js looks first).
//
// Why a bundle and not tsc's one-file-per-module output: @kubernetes/client-node
// re-exports its whole generated API from one index, and Node keeps the source
// of every loaded module for lazy compilation. Loading it unbundled costs about
// 80 MB of resident memory before a single object is read; bundled, only the
// code routewarden reaches (KubeConfig, Watch, the request context) is kept.
// Measured in docs/performance.md.
//
// The bundle is ASCII only (checked): see the comment at `charset` below.
//
// Left outside the bundle, loaded from node_modules at run time: `netlink`
// (a native addon, found by node-gyp-build next to its package) and pino
// (which resolves worker files by path for its transports).
//
//   node scripts/build.ts [--outdir <dir>]     default: dist

import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Where `npm run build` writes, relative to the package root (the Dockerfile copies it from there). */
export const OUT_DIR = 'dist';

/** Builds the bundle into `outdir` (replacing it); returns the entry module's path. */
export async function buildBundle(outdir = join(ROOT, OUT_DIR)): Promise<string> {
  rmSync(outdir, { recursive: true, force: true });
  const outfile = join(outdir, 'cli', 'main.js');
  await build({
    entryPoints: [join(ROOT, 'src', 'cli', 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    sourcemap: true,
    minifyWhitespace: true,
    minifySyntax: true,
    external: ['netlink', 'pino'],
    // CommonJS dependencies inside an ES module bundle still call require().
    banner: { js: "import { createRequire as __routewardenRequire } from 'node:module'; const require = __routewardenRequire(import.meta.url);" },
    // Node keeps a module's source for lazy compilation, as one string: a
    // single non-ASCII character makes all of it two bytes a character (8 MB
    // instead of 4). Strings are escaped, and the licence comments (one has
    // a name with an umlaut) go to main.js.LEGAL.txt beside the bundle.
    charset: 'ascii',
    legalComments: 'external',
    logLevel: 'warning',
  });
  const text = readFileSync(outfile);
  const at = text.findIndex((b) => b > 0x7f);
  if (at >= 0) throw new Error(`${outfile} has a non-ASCII byte at offset ${at}; its source would be held as two-byte text`);
  return outfile;
}

if (import.meta.main) {
  const i = process.argv.indexOf('--outdir');
  try {
    console.log(await buildBundle(i >= 0 ? process.argv[i + 1] : undefined));
  } catch (err) {
    console.error(`build failed: ${(err as Error).message.split('\n')[0]}`);
    process.exitCode = 1;
  }
}
