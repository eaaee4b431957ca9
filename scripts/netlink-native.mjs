// postinstall: build the `netlink` package's native binding from
// native/netlink/binding.cc, routewarden's patched copy (its header says what
// it fixes and why the fix has to be native: a notification overflow aborted
// the process). Runs at every `npm ci` / `npm install`, from a clean clone as
// in CI and the image's build stages.
//
// It refuses to go on, and so fails the install, when the package is not the
// 0.3.0 release the patch was made from (a silent mismatch would ship either
// the crash or a binding built for another package version), and when the
// build fails: a routewarden that can be killed by a route burst must not
// install quietly. node-gyp is npm's own (npm sets npm_config_node_gyp for
// lifecycle scripts); the headers are where npm's `nodedir` points, or
// node-gyp's usual download.
//
// A build is skipped when the one in place is already right: the binding in
// build/Release loads, exports `routewardenPatch`, and its stamp
// (build/Release/routewarden-build.json, written after each build) names the
// patched source it was built from and the running Node's ABI
// (process.versions.modules), platform and architecture. Anything else
// (no stamp, another source, another Node, a binding that does not load)
// rebuilds: a repeated `npm install` costs a second, not a compile.
//
// Plain JavaScript, not TypeScript like the other scripts: it also runs when
// the published package is installed, and Node does not strip types under
// node_modules.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PATCHED = fileURLToPath(new URL('../native/netlink/binding.cc', import.meta.url));
const VERSION = '0.3.0';
/** sha256 of netlink 0.3.0's src/binding.cc, the file the patch was made from. */
const UPSTREAM_SHA256 = '1fffbbd4ec97cef1d6808d0c38354d0b3980d77a6e1450c1b1c76c140a60346d';

/** @param {string} message @returns {never} */
const fail = (message) => {
  console.error(`routewarden postinstall: ${message}`);
  process.exit(1);
};
const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

const require = createRequire(import.meta.url);
/** @type {string} */
let pkgDir = '';
try {
  pkgDir = dirname(require.resolve('netlink/package.json'));
} catch {
  fail('the netlink package is not installed');
}
const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
if (version !== VERSION) fail(`netlink ${version} is installed; native/netlink/binding.cc patches ${VERSION}: update the patch with the version`);

const target = join(pkgDir, 'src', 'binding.cc');
const current = existsSync(target) ? sha256(target) : '';
const source = sha256(PATCHED);
if (current !== source) {
  if (current !== UPSTREAM_SHA256) fail(`${target} is neither netlink ${VERSION}'s binding.cc nor routewarden's patched copy`);
  copyFileSync(PATCHED, target);
}

// What a build in place must have been made from and for, to be kept.
const STAMP = join(pkgDir, 'build', 'Release', 'routewarden-build.json');
const wanted = { source, modules: process.versions.modules, platform: process.platform, arch: process.arch };
/** The binding node-gyp-build loads, as the netlink package itself resolves it (its dependency, not ours). */
const load = () => createRequire(join(pkgDir, 'package.json'))('node-gyp-build')(pkgDir);

/** @returns {number | undefined} the patch of the binding in place, when its stamp matches `wanted` and it loads. */
function builtAlready() {
  try {
    const stamp = JSON.parse(readFileSync(STAMP, 'utf8'));
    if (Object.entries(wanted).some(([k, v]) => stamp[k] !== v)) return undefined;
    return load().routewardenPatch;
  } catch {
    return undefined;
  }
}

const kept = builtAlready();
if (kept !== undefined) {
  console.log(
    `routewarden postinstall: netlink ${VERSION} native binding with routewarden's patch ${kept} already built for this Node (ABI ${wanted.modules}); not rebuilt`,
  );
  process.exit(0);
}

const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
const build = spawnSync(cmd, args, { cwd: pkgDir, stdio: ['ignore', 'inherit', 'inherit'] });
if (build.status !== 0)
  fail(`building the patched netlink binding failed (${build.error?.message ?? `exit ${build.status}`}); it needs python3, make and a C++ compiler`);

// node-gyp-build prefers build/Release over the prebuilds: make sure that is what loads.
const binding = load();
if (binding.routewardenPatch === undefined) fail('the patched netlink binding was built but the prebuilt one still loads');
writeFileSync(STAMP, `${JSON.stringify(wanted)}\n`);
console.log(`routewarden postinstall: netlink ${VERSION} native binding built with routewarden's patch ${binding.routewardenPatch}`);
