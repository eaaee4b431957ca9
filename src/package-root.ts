// Where routewarden's package.json is: found by walking up from this module,
// so that it is the same answer from the TypeScript sources (src/) and from
// the bundle (dist/cli/main.js), whose import.meta.url is a different depth.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function find(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate) && (JSON.parse(readFileSync(candidate, 'utf8')) as { name?: unknown }).name === 'routewarden') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`routewarden's package.json not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** The directory holding routewarden's package.json. */
export const PACKAGE_ROOT: string = find();
