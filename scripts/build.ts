// `npm run build`: the CLI as the image ships it, one ES module bundle at
// dist/cli/main.js (where bin/routewarden.js looks first).
//
// Why a bundle and not tsc's one-file-per-module output: @kubernetes/client-node
// re-exports its whole generated API from one index, and Node keeps the source
// of every loaded module for lazy compilation. Loading it unbundled costs about
// 80 MB of resident memory before a single object is read; bundled, only the
// code routewarden reaches (KubeConfig and what it loads) is kept.
// Measured in docs/performance.md.
//
// The bundle is ASCII only (checked): see the comment at `charset` below.
//
// Left outside the bundle, loaded from node_modules at run time: `netlink`
// (a native addon, found by node-gyp-build next to its package) and pino
// (which resolves worker files by path for its transports). Left out
// altogether: tools/ (the demo and the API double; see toolsStayOutside).
//
//   node scripts/build.ts [--outdir <dir>]     default: dist

import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { gitRevision } from '../src/version.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/**
 * The packages the bundle loads from node_modules at run time (see the header):
 * package.json's production dependencies, exactly (test/deploy/package.test.ts).
 */
export const BUNDLE_EXTERNAL = ['netlink', 'pino'] as const;

/** Where `npm run build` writes, relative to the package root (the Dockerfile copies it from there). */
export const OUT_DIR = 'dist';

/**
 * What routewarden takes from @kubernetes/client-node, by the module that
 * defines it. The package's index re-exports its whole generated API (about
 * 760 model classes and 60 API classes, 0.8 MB of source that would run at
 * start-up and stay resident), and KubeConfig's own module reaches the same
 * code through `./gen/index.js` for two names. Neither is a deep import
 * routewarden's sources make: they import the package, and only the bundle
 * is narrowed. A name missing here fails the build (esbuild reports the
 * import it cannot resolve), never the running binary.
 */
const CLIENT_NODE_ENTRY = "export { KubeConfig } from '@kubernetes/client-node/dist/config.js';";
const CLIENT_NODE_GEN_FOR_CONFIG = [
  "export { createConfiguration } from '@kubernetes/client-node/dist/gen/configuration.js';",
  "export { ServerConfiguration } from '@kubernetes/client-node/dist/gen/servers.js';",
].join('\n');

const narrowClientNode: Plugin = {
  name: 'narrow-client-node',
  setup(b) {
    b.onResolve({ filter: /^@kubernetes\/client-node$/ }, () => ({ path: 'entry', namespace: 'client-node-narrow' }));
    b.onResolve({ filter: /^\.\/gen\/index\.js$/ }, (args) =>
      /@kubernetes\/client-node\/dist\/config\.js$/.test(args.importer) ? { path: 'gen', namespace: 'client-node-narrow' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'client-node-narrow' }, (args) => ({
      resolveDir: ROOT,
      loader: 'js',
      contents: args.path === 'entry' ? CLIENT_NODE_ENTRY : CLIENT_NODE_GEN_FOR_CONFIG,
    }));
  },
};

/**
 * undici, left out. client-node's `config.js` imports it for
 * `createDispatcher` (undici's Agent and ProxyAgent) and its generated HTTP
 * library for `fetch`; routewarden calls neither: its requests and watches go
 * through src/kube/rest.ts over node:http/https, with the options and agent
 * from `applyToHTTPSOptions`. Bundled, undici is about 1 MB of source that
 * Node evaluates at start-up and keeps. Its names resolve to a module that
 * fails loudly if a future call path reaches them (test/deploy/bundle.test.ts
 * checks the bundle carries no undici and still starts).
 */
export const UNDICI_LEFT_OUT = [
  "const refuse = (name) => { throw new Error('undici.' + name + ' is not in routewarden\\'s bundle (scripts/build.ts leaves undici out)'); };",
  "export class Agent { constructor() { refuse('Agent'); } }",
  "export class ProxyAgent { constructor() { refuse('ProxyAgent'); } }",
  // A throw in the executor rejects: fetch fails as a promise, as undici's does.
  "export function fetch() { return new Promise(() => refuse('fetch')); }",
].join('\n');

const undiciStaysOut: Plugin = {
  name: 'undici-stays-out',
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, () => ({ path: 'undici', namespace: 'undici-left-out' }));
    b.onLoad({ filter: /.*/, namespace: 'undici-left-out' }, () => ({ resolveDir: ROOT, loader: 'js', contents: UNDICI_LEFT_OUT }));
  },
};

/**
 * node:http through require(), not an ES import. Node's ES module facade of a
 * built-in module reads every export when the module is imported, and
 * node:http has three lazy ones (WebSocket, CloseEvent, MessageEvent) that
 * load Node's own copy of undici and its web streams: about 0.8 MB of source
 * and the objects it builds, resident for nothing (no routewarden code uses
 * them). Every `import ... from 'node:http'` in the bundle (routewarden's and
 * client-node's) gets this module instead: the same module object from
 * require(), each name read from it once, except those three; importing one
 * of them fails the build.
 */
const HTTP_LAZY_WEB = new Set(['WebSocket', 'CloseEvent', 'MessageEvent']);

function httpRequired(): string {
  const names = Object.keys(createRequire(import.meta.url)('node:http') as object).filter((k) => !HTTP_LAZY_WEB.has(k));
  return [
    "const http = require('node:http');",
    'export default http;',
    ...names.filter((k) => /^[A-Za-z_$][\w$]*$/.test(k)).map((k) => `export const ${k} = http.${k};`),
  ].join('\n');
}

const httpThroughRequire: Plugin = {
  name: 'http-through-require',
  setup(b) {
    b.onResolve({ filter: /^(node:)?http$/ }, (args) => (args.kind === 'import-statement' ? { path: 'http', namespace: 'http-through-require' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'http-through-require' }, () => ({ resolveDir: ROOT, loader: 'js', contents: httpRequired() }));
  },
};

/**
 * tools/ (the demo, the Kubernetes API double) is not part of what a node
 * runs. src/cli/demo.ts imports the demo from there only when `routewarden
 * demo` runs in a checkout; the bundle keeps that import as written (its
 * relative path holds from dist/cli/ as from src/cli/) instead of carrying
 * the tools inside it.
 */
const toolsStayOutside: Plugin = {
  name: 'tools-stay-outside',
  setup(b) {
    b.onResolve({ filter: /(^|\/)tools\// }, (args) => ({ path: args.path, external: true }));
  },
};

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
    external: [...BUNDLE_EXTERNAL],
    // CommonJS dependencies inside an ES module bundle still call require().
    banner: { js: "import { createRequire as __routewardenRequire } from 'node:module'; const require = __routewardenRequire(import.meta.url);" },
    // Node keeps a module's source for lazy compilation, as one string: a
    // single non-ASCII character makes all of it two bytes a character (8 MB
    // instead of 4). Strings are escaped, and the licence comments (one has
    // a name with an umlaut) go to main.js.LEGAL.txt beside the bundle.
    charset: 'ascii',
    legalComments: 'external',
    logLevel: 'warning',
    plugins: [narrowClientNode, undiciStaysOut, httpThroughRequire, toolsStayOutside],
    // src/version.ts: the revision baked in, BUILD_REVISION (the
    // Dockerfile's build argument: its context has no .git) else git's answer.
    define: { __ROUTEWARDEN_REVISION__: JSON.stringify(process.env.BUILD_REVISION || gitRevision(ROOT)) },
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
