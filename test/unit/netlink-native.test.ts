// scripts/netlink-native.mjs, the postinstall that builds the patched netlink
// binding, decides when a build in place can be kept. Run as npm runs it, on
// a copy of the installed package (never the checkout's own, which other
// tests load), with node-gyp replaced by a stand-in that only records that
// it was called: a build here would be a minute of compiling for nothing.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('the netlink postinstall', () => {
  let dir: string;
  let pkg: string;
  let stamp: string;
  const calls = (): number => (existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8').split('\n').length - 1 : 0);

  /** `node scripts/netlink-native.mjs` in the copy, as npm's lifecycle runs it. */
  const postinstall = (): { status: number | null; out: string } => {
    const r = spawnSync(process.execPath, [join(dir, 'scripts', 'netlink-native.mjs')], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, npm_config_node_gyp: join(dir, 'node-gyp.cjs'), CALLS: join(dir, 'calls') },
    });
    return { status: r.status, out: r.stdout + r.stderr };
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rw-postinstall-'));
    for (const path of ['scripts/netlink-native.mjs', 'native/netlink/binding.cc', 'node_modules/netlink'])
      cpSync(join(ROOT, path), join(dir, path), { recursive: true });
    if (!existsSync(join(dir, 'node_modules/netlink/node_modules/node-gyp-build')))
      cpSync(join(ROOT, 'node_modules/node-gyp-build'), join(dir, 'node_modules/node-gyp-build'), { recursive: true });
    mkdirSync(join(dir, 'node_modules/netlink/build/Release'), { recursive: true });
    // The stand-in "builds" by leaving the checkout's patched binding (copied above) in place.
    writeFileSync(join(dir, 'node-gyp.cjs'), "require('node:fs').appendFileSync(process.env.CALLS, process.argv.slice(2).join(' ') + '\\n');\n");
    pkg = join(dir, 'node_modules/netlink');
    stamp = join(pkg, 'build/Release/routewarden-build.json');
    rmSync(stamp, { force: true });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('builds when no stamp says what the binding in place was built for, and stamps it', () => {
    const r = postinstall();
    expect(r.status, r.out).toBe(0);
    expect(calls()).toBe(1);
    expect(r.out).toMatch(/native binding built with routewarden's patch \d+/);
    expect(JSON.parse(readFileSync(stamp, 'utf8'))).toMatchObject({ modules: process.versions.modules, platform: process.platform, arch: process.arch });
  });

  it('keeps a patched binding built from the same source for this Node', () => {
    const before = calls();
    const r = postinstall();
    expect(r.status, r.out).toBe(0);
    expect(calls()).toBe(before);
    expect(r.out).toContain(`already built for this Node (ABI ${process.versions.modules}); not rebuilt`);
  });

  it.each([
    ['another Node ABI', { modules: '1' }],
    ['another patched source', { source: '0'.repeat(64) }],
    ['another architecture', { arch: 'sparc' }],
  ])('rebuilds a binding stamped for %s', (_what, change) => {
    const good = readFileSync(stamp, 'utf8');
    writeFileSync(stamp, JSON.stringify({ ...JSON.parse(good), ...change }));
    const before = calls();
    const r = postinstall();
    expect(r.status, r.out).toBe(0);
    expect(calls()).toBe(before + 1);
    expect(readFileSync(stamp, 'utf8')).toBe(good);
  });

  it('rebuilds when the stamped binding is gone, and fails the install when the build leaves none that carries the patch', () => {
    const binding = join(pkg, 'build/Release/netlink_binding.node');
    const saved = readFileSync(binding);
    rmSync(binding);
    try {
      const before = calls();
      const r = postinstall();
      expect(calls()).toBe(before + 1);
      expect(r.status).toBe(1);
      expect(r.out).toContain('the patched netlink binding was built but the prebuilt one still loads');
    } finally {
      writeFileSync(binding, saved);
    }
  });
});
