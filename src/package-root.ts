// Where routewarden's package.json is: found by walking up from this module,
// so that it is the same answer from the TypeScript sources (src/) and from
// the bundle (dist/cli/main.js), whose import.meta.url is a different depth.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface PackageJson {
  readonly name?: unknown;
  readonly version: string;
}

function find(): { dir: string; pkg: PackageJson } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    const pkg = existsSync(candidate) ? (JSON.parse(readFileSync(candidate, 'utf8')) as PackageJson) : undefined;
    if (pkg?.name === 'routewarden') return { dir, pkg };
    const up = dirname(dir);
    if (up === dir) throw new Error(`routewarden's package.json not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

const found = find();

/** The directory holding routewarden's package.json. */
export const PACKAGE_ROOT: string = found.dir;

/** routewarden's package.json, as read while looking for it. */
export const PACKAGE_JSON: PackageJson = found.pkg;
