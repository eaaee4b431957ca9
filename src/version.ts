// What this build is: --version and routewarden_build_info report it.
//
// The version is package.json's. The revision is the git commit the code was
// built from: the bundle (scripts/build.ts) has it baked in at build time as
// the constant __ROUTEWARDEN_REVISION__; the TypeScript sources run from a
// checkout ask git for it, and say "unknown" where git cannot answer (no git,
// not a checkout). Never asked of git from an installed bundle: the directory
// around an installed package may be someone else's repository.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_JSON, PACKAGE_ROOT } from './package-root.ts';

declare const __ROUTEWARDEN_REVISION__: string | undefined;

export const VERSION: string = PACKAGE_JSON.version;

/** Git revision of the checkout at `dir`, or "unknown". */
export function gitRevision(dir: string): string {
  if (!existsSync(join(dir, '.git'))) return 'unknown';
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
    return /^[0-9a-f]{40,64}$/.test(out) ? out : 'unknown';
  } catch {
    return 'unknown';
  }
}

export const REVISION: string = typeof __ROUTEWARDEN_REVISION__ === 'string' ? __ROUTEWARDEN_REVISION__ : gitRevision(PACKAGE_ROOT);

/** The Node.js running this process, as `node --version` prints it. */
export const NODE_VERSION: string = process.version;

/** What `routewarden --version` prints. */
export const VERSION_LINE = `${VERSION} (revision ${REVISION}, node ${NODE_VERSION})`;
