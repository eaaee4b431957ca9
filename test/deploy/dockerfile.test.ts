// The Dockerfile read as data: no Docker engine runs here, so everything that
// can be checked without one is. image-install.test.ts then builds the same
// file layout without Docker and runs the entrypoint.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.ts';
import { OPTIONS } from '../../src/cli/options.ts';
import { dockerignore, parseDockerfile, symlinksIn, type CopyStep, type Stage } from './dockerfile.ts';
import { OUT_DIR } from '../../scripts/build.ts';
import { findKubectl, kustomizations, podSpecOf, readYaml, render, ROOT, routewardenContainer, type KubeObject } from './manifests.ts';

const df = parseDockerfile();
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
};
const runtime = df.stages.at(-1)!;
const copies = (s: Stage): CopyStep[] => s.steps.filter((x): x is CopyStep => x.kind === 'COPY');
const runs = (s: Stage): string[] => s.steps.flatMap((x) => (x.kind === 'RUN' ? [x.command] : []));
const stageNamed = (name: string): Stage | undefined => df.stages.find((s) => s.name === name);
const ignored = dockerignore();
const tracked = (path: string): string[] =>
  execFileSync('git', ['ls-files', '-z', '--', path], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f !== '');

describe('Dockerfile', () => {
  it('parses, every build argument resolves, and it asks for the BuildKit frontend its RUN --mount and COPY --chmod need', () => {
    expect(df.problems).toEqual([]);
    expect(df.directives.syntax).toMatch(/^docker\/dockerfile:1(\.|$)/);
  });

  it('builds every stage on an official Node.js 24 image', () => {
    expect(df.stages.length).toBeGreaterThan(1);
    for (const s of df.stages) expect(s.image, `stage ${s.name}`).toMatch(/^(docker\.io\/(library\/)?)?node:24(\.\d+)*(-[a-z0-9.-]+)?(@sha256:[0-9a-f]{64})?$/);
  });

  it('names stages uniquely and copies only from earlier stages', () => {
    const names = df.stages.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    df.stages.forEach((s, i) => {
      for (const c of copies(s)) {
        if (c.from === null) continue;
        const j = names.indexOf(c.from);
        expect(j, `line ${c.line}: COPY --from=${c.from} in stage ${s.name}`).toBeGreaterThanOrEqual(0);
        expect(j, `line ${c.line}: COPY --from=${c.from} must name an earlier stage`).toBeLessThan(i);
      }
    });
  });

  it('copies from the build context only files that git tracks and .dockerignore lets through', () => {
    const sources = df.stages.flatMap((s) =>
      copies(s)
        .filter((c) => c.from === null)
        .flatMap((c) => c.sources.map((src) => ({ src, line: c.line }))),
    );
    expect(sources.length).toBeGreaterThan(0);
    for (const { src, line } of sources) {
      expect(existsSync(join(ROOT, src)), `line ${line}: ${src} does not exist`).toBe(true);
      const files = tracked(src);
      expect(files.length, `line ${line}: ${src} is not in git, so a fresh clone lacks it`).toBeGreaterThan(0);
      expect(
        files.filter((f) => ignored.ignores(f)),
        `line ${line}: .dockerignore drops these from the context`,
      ).toEqual([]);
    }
  });

  it('keeps dependencies, build output and git history out of the build context', () => {
    for (const p of ['node_modules/commander/package.json', 'dist/cli/main.js', '.git/HEAD', 'test/deploy/dockerfile.test.ts'])
      expect(ignored.ignores(p), p).toBe(true);
  });

  it('runs production dependencies, compiled dist/, bin/ and package.json; no sources, no dev dependencies', () => {
    const wd = runtime.workdir;
    const into = copies(runtime)
      .map((c) => posix.relative(wd, c.dest))
      .sort();
    expect(into).toEqual(['', 'bin', 'dist', 'node_modules'].sort());
    const pkgCopy = copies(runtime).find((c) => c.dest === wd)!;
    expect([pkgCopy.from, pkgCopy.sources]).toEqual([null, ['package.json']]);

    // node_modules: from a stage that installs from the lockfile without devDependencies.
    const nm = copies(runtime).find((c) => c.dest === posix.join(wd, 'node_modules'))!;
    const deps = stageNamed(nm.from!)!;
    expect(nm.sources).toEqual([posix.join(deps.workdir, 'node_modules')]);
    expect(runs(deps).some((r) => /^npm ci\b.*--omit=dev\b/.test(r))).toBe(true);
    expect(
      runs(deps).some((r) => /^npm (install|i)\b/.test(r)),
      'npm install may rewrite the lockfile; use npm ci',
    ).toBe(false);

    // dist: where the build stage's `npm run build` writes (scripts/build.ts's OUT_DIR).
    const dist = copies(runtime).find((c) => c.dest === posix.join(wd, 'dist'))!;
    const build = stageNamed(dist.from!)!;
    const outDir = OUT_DIR;
    expect(dist.sources).toEqual([posix.join(build.workdir, outDir)]);
    expect(runs(build)).toContain('npm run build');
    expect(copies(build).some((c) => c.from === null && c.sources.includes('src'))).toBe(true);
  });

  it("puts `routewarden` on PATH as package.json's bin entry, and runs `routewarden run`", () => {
    const links = runs(runtime).flatMap(symlinksIn);
    const link = links.find((l) => l.link === '/usr/local/bin/routewarden');
    expect(link, 'ln -s … /usr/local/bin/routewarden (on PATH in the official node images)').toBeDefined();
    expect(link!.target).toBe(posix.join(runtime.workdir, pkg.bin.routewarden!));
    expect(readFileSync(join(ROOT, pkg.bin.routewarden!), 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    const binCopy = copies(runtime).find((c) => c.dest === posix.join(runtime.workdir, 'bin'))!;
    expect(binCopy.flags.chmod, 'the entry script must be executable whatever the checkout did to file modes').toBe('0755');

    expect(runtime.entrypoint).toEqual(['routewarden']);
    expect(runtime.cmd).toEqual(['run']);
    const commands = buildProgram(
      { run: async () => 0, check: async () => 0, demo: async () => 0 },
      { stdout: () => {}, stderr: () => {} },
    ).program.commands.map((c) => c.name());
    expect(commands).toContain(runtime.cmd![0]);
  });

  it('defaults to an unprivileged numeric user, the one the read-only overlay runs as', () => {
    const m = /^(\d+)(?::(\d+))?$/.exec(runtime.user ?? '');
    expect(m, `USER ${runtime.user}: numeric, so that runAsNonRoot can verify it`).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    const kubectl = findKubectl();
    const readOnly = kustomizations().find((d) => d.endsWith(join('overlays', 'read-only')));
    if (kubectl === null || readOnly === undefined) return;
    const objects = render(kubectl, readOnly);
    const uid = routewardenContainer(objects).securityContext?.runAsUser ?? podSpecOf(objects).securityContext?.runAsUser;
    expect(uid).toBe(Number(m![1]));
  });

  it('exposes the port routewarden listens on by default and the DaemonSet declares', () => {
    const listen = OPTIONS.find((o) => o.flag === 'listen')!.default!;
    const port = listen.slice(listen.lastIndexOf(':') + 1);
    expect(runtime.expose).toEqual([port]);
    const objects = readYaml(join(ROOT, 'deploy', 'base', 'daemonset.yaml')) as KubeObject[];
    expect(routewardenContainer(objects).ports?.map((p) => String(p.containerPort))).toEqual([port]);
  });

  it('sets NODE_ENV=production at run time', () => {
    expect(runtime.env.NODE_ENV).toBe('production');
  });
});
