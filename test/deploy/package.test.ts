// The npm package as a user gets it: `npm pack` (whose prepack builds the
// bundle), then `npm install <tarball>` into an empty folder and
// `npx routewarden` there. Also what an older Node.js makes of the entry
// script: one line and exit 2, tried with a real older `node` when the
// machine has one (Debian's /usr/bin/node), skipped with the reason otherwise.

import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { optionsFor } from '../../src/cli/options.ts';
import { gitRevision } from '../../src/version.ts';
import { BUNDLE_EXTERNAL } from '../../scripts/build.ts';
import { ROOT } from './manifests.ts';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  homepage: string;
  repository: { url: string };
  bugs: { url: string };
};

/** Node.js 24 (vitest's own) first on PATH, as npm scripts have it: `npx`, npm and the `#!/usr/bin/env node` line find it. */
const PATH = [dirname(process.execPath), process.env.PATH ?? ''].join(delimiter);
const ENV = { ...process.env, PATH, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };

function sh(cmd: string, args: string[], cwd: string, timeoutMs = 240_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: ENV });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The major version the entry script requires, as package.json's engines states it. */
const requiredMajor = Number(/^>=\s*(\d+)(\.\d+)*$/.exec(pkg.engines.node)?.[1]);

/** A `node` older than the one required, if the machine has one. */
function olderNode(): { path: string; version: string } | null {
  for (const path of ['/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(path)) continue;
    const r = spawnSync(path, ['--version'], { encoding: 'utf8' });
    const v = r.stdout?.trim() ?? '';
    if (r.status === 0 && Number(/^v(\d+)\./.exec(v)?.[1]) < requiredMajor) return { path, version: v.slice(1) };
  }
  return null;
}
const older = olderNode();

describe('the npm package: packed, installed into an empty folder, run with npx', () => {
  let work: string;
  let tarball: string;
  let files: string[];
  let app: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'routewarden-pack-'));
    // npm pack runs prepack (the bundle into dist/); --json lists the files it packed.
    const out = ok(sh('npm', ['pack', '--json', '--pack-destination', work], ROOT), 'npm pack');
    const [info] = JSON.parse(out.slice(out.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    tarball = join(work, info!.filename);
    files = info!.files.map((f) => f.path).sort();
    app = join(work, 'app');
    ok(sh('mkdir', ['-p', app], work), 'mkdir');
    ok(sh('npm', ['install', '--prefer-offline', '--no-package-lock', tarball], app), 'npm install <tarball>');
  }, 400_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('packs the built bundle, the entry script, licence, readme and changelog, and the netlink patch its postinstall builds; no sources, tests or source maps', () => {
    for (const f of [
      'package.json',
      'bin/routewarden.js',
      'dist/cli/main.js',
      'LICENSE',
      'README.md',
      'CHANGELOG.md',
      'alerts/routewarden.rules.yaml',
      'dashboards/routewarden.json',
      // The postinstall builds netlink's patched native binding wherever the package is installed.
      'scripts/netlink-native.mjs',
      'native/netlink/binding.cc',
    ])
      expect(files, f).toContain(f);
    const postinstall = ['scripts/netlink-native.mjs'];
    expect(
      files.filter((f) => (/^(src|test|scripts|bench|deploy|node_modules)\//.test(f) && !postinstall.includes(f)) || f.endsWith('.map') || f.endsWith('.ts')),
    ).toEqual([]);
  });

  it('installs only the runtime dependencies the bundle leaves outside (and theirs); the rest is inside dist/', () => {
    const installed = readdirSync(join(app, 'node_modules'));
    for (const d of Object.keys(pkg.dependencies)) expect(installed, d).toContain(d);
    // Bundled at build time: a devDependency must not be needed, so none is installed.
    const bundled = ['commander', 'express', 'prom-client', 'zod', '@kubernetes'];
    for (const d of bundled)
      expect(
        Object.keys(pkg.devDependencies).some((k) => k === d || k.startsWith(`${d}/`)),
        d,
      ).toBe(true);
    expect(installed.filter((d) => bundled.includes(d))).toEqual([]);
  });

  it('npx routewarden --version prints the version, the git revision it was built from and the Node.js version', () => {
    const r = sh('npx', ['--no-install', 'routewarden', '--version'], app, 60_000);
    expect([r.status, r.stderr]).toEqual([0, '']);
    const revision = gitRevision(ROOT);
    expect(r.stdout.trim()).toBe(`${pkg.version} (revision ${revision}, node ${process.version})`);
  });

  it('npx routewarden check --help lists every flag of check', () => {
    const r = sh('npx', ['--no-install', 'routewarden', 'check', '--help'], app, 60_000);
    expect(r.status, r.stderr).toBe(0);
    expect(
      optionsFor('check')
        .map((o) => `--${o.flag}`)
        .filter((f) => !r.stdout.includes(f)),
    ).toEqual([]);
  });

  it('a bad flag of the installed package is one line and exit 2', () => {
    const r = sh('npx', ['--no-install', 'routewarden', 'check', '--table', 'nope'], app, 60_000);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it.skipIf(older === null)(
    `on an older Node.js (${older ? `${older.path}, v${older.version}` : 'none on this machine: skipped'}) the installed routewarden prints what it needs and what it found, and exits 2`,
    () => {
      const bin = join(app, 'node_modules', '.bin', 'routewarden');
      const r = spawnSync(older!.path, [bin, '--version'], { cwd: app, encoding: 'utf8', env: ENV });
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`routewarden: needs Node.js >= ${requiredMajor}, found ${older!.version} (${older!.path})\n`);
      expect(r.status).toBe(2);
    },
  );
});

describe('the entry script and package.json', () => {
  it('has as production dependencies exactly the packages the bundle leaves outside', () => {
    expect(Object.keys(pkg.dependencies).sort()).toEqual([...BUNDLE_EXTERNAL].sort());
  });

  it('requires the Node.js major that package.json engines names', () => {
    expect(requiredMajor).toBeGreaterThanOrEqual(24);
    const script = readFileSync(join(ROOT, 'bin', 'routewarden.js'), 'utf8');
    expect(Number(/REQUIRED_MAJOR = (\d+);/.exec(script)?.[1])).toBe(requiredMajor);
  });

  it.skipIf(older === null)(
    `from a checkout, an older Node.js (${older ? `v${older.version}` : 'none on this machine: skipped'}) gets the same one line and exit 2, whatever the command`,
    () => {
      for (const args of [['--version'], ['run'], ['check', '--output', 'json']]) {
        const r = spawnSync(older!.path, [join(ROOT, 'bin', 'routewarden.js'), ...args], { encoding: 'utf8' });
        expect([r.status, r.stdout, r.stderr.split('\n').length]).toEqual([2, '', 2]);
        expect(r.stderr).toMatch(new RegExp(`^routewarden: needs Node\\.js >= ${requiredMajor}, found ${older!.version.replaceAll('.', '\\.')} `));
      }
    },
  );

  it('declares the Apache-2.0 licence with its text, and where the project lives', () => {
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(
      /^\s*Apache License\s+Version 2\.0, January 2004\s+http:\/\/www\.apache\.org\/licenses\/\s+TERMS AND CONDITIONS/,
    );
    const home = pkg.homepage;
    expect(home).toMatch(/^https:\/\/github\.com\/[\w.-]+\/[\w.-]+$/);
    expect(pkg.repository.url).toBe(`git+${home}.git`);
    expect(pkg.bugs.url).toBe(`${home}/issues`);
  });

  it('every runbook_url of the alert rules points into that repository, at a runbook that exists', () => {
    const rules = readFileSync(join(ROOT, 'alerts', 'routewarden.rules.yaml'), 'utf8');
    const urls = [...rules.matchAll(/runbook_url: (\S+)/g)].map((m) => m[1]!);
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) {
      expect(url.startsWith(`${pkg.homepage}/blob/main/`), url).toBe(true);
      expect(existsSync(join(ROOT, url.slice(`${pkg.homepage}/blob/main/`.length))), url).toBe(true);
    }
  });

  it('the changelog follows Keep a Changelog, with a section for the package version', () => {
    const log = readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8');
    expect(log).toMatch(/keepachangelog\.com/);
    expect(log).toMatch(/^## \[Unreleased\]$/m);
    expect(log).toMatch(new RegExp(`^## \\[${pkg.version.replaceAll('.', '\\.')}\\] - \\d{4}-\\d{2}-\\d{2}$`, 'm'));
    for (const [, name] of log.matchAll(/^## \[([^\]]+)\]/gm))
      expect(log, `link for [${name}]`).toMatch(new RegExp(`^\\[${name!.replaceAll('.', '\\.')}\\]: ${pkg.homepage}/`, 'm'));
  });

  it('the git revision is a commit hash or "unknown"', () => {
    expect(gitRevision(ROOT)).toMatch(/^([0-9a-f]{40}|unknown)$/);
    expect(gitRevision(tmpdir())).toBe('unknown');
    expect(execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()).toBe(gitRevision(ROOT));
  });
});
