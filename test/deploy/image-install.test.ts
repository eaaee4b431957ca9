// The image's entrypoint runs from a production-only install. No Docker engine
// runs here, so the test plays the Dockerfile itself: each stage gets a
// directory standing for its root filesystem, COPY copies (through
// .dockerignore, as the build context would), and RUN runs the npm commands
// as written. Then `routewarden`, found on PATH through the Dockerfile's own
// symlink, runs with ENTRYPOINT + CMD: --version, --help, a bad flag, and a
// real `run` against the Kubernetes API double with /readyz and /metrics.
//
// One liberty, stated: the build stage's full `npm ci` (devDependencies
// included) is replaced by the repository's node_modules, installed from the
// same lockfile. The production install is real: `npm ci --omit=dev` from the
// registry, exactly as the prod-deps stage runs it.

import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiDouble, type ApiDouble } from '../../tools/apidouble/index.ts';
import { optionsFor } from '../../src/cli/options.ts';
import { dockerignore, parseDockerfile, symlinksIn, type Stage } from './dockerfile.ts';
import { ROOT } from './manifests.ts';
import { imageBuildArgs } from '../../scripts/image.ts';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
const ignored = dockerignore();
const buildArgs: Record<string, string> = imageBuildArgs();

/** Node.js 24 (vitest's own) first on PATH: the `#!/usr/bin/env node` line and npm's scripts find it. */
const PATH = [dirname(process.execPath), process.env.PATH ?? ''].join(delimiter);

function sh(cmd: string, args: string[], cwd: string, timeoutMs = 240_000, extraEnv: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, PATH, ...extraEnv } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${cwd} exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** Plays one stage into `roots[stage.name]`. */
function playStage(stage: Stage, roots: Map<string, string>, work: string): void {
  const root = join(work, stage.name);
  roots.set(stage.name, root);
  const inRoot = (p: string): string => join(root, p);
  mkdirSync(inRoot(stage.workdir), { recursive: true });
  for (const step of stage.steps) {
    if (step.kind === 'COPY') {
      const fromRoot = step.from === null ? ROOT : roots.get(step.from)!;
      for (const src of step.sources) {
        const from = join(fromRoot, src);
        const isDir = statSync(from).isDirectory();
        const to = isDir || !step.destIsDir ? inRoot(step.dest) : join(inRoot(step.dest), basename(src));
        mkdirSync(isDir ? to : dirname(to), { recursive: true });
        cpSync(from, to, {
          recursive: true,
          // The build context is what .dockerignore lets through.
          filter: (p) => step.from !== null || p === from || !ignored.ignores(relative(ROOT, p)),
        });
        if (step.flags.chmod) chmodTree(to, parseInt(step.flags.chmod, 8));
      }
      continue;
    }
    const cwd = inRoot(stage.workdir);
    for (const part of step.command.split('&&').map((p) => p.trim())) {
      const words = part.split(/\s+/);
      if (/^npm ci\b/.test(part) && !words.includes('--omit=dev')) {
        // The liberty stated at the top: the repository's own devDependency install.
        symlinkSync(join(ROOT, 'node_modules'), join(cwd, 'node_modules'), 'dir');
      } else if (/^npm (ci|run) /.test(part)) {
        // The stage's build arguments, as `npm run image` passes them (unset ones stay unset).
        const args = Object.fromEntries(
          Object.entries(stage.args).flatMap(([k, d]) => {
            const v = buildArgs[k] ?? d;
            return v === null || v === undefined ? [] : [[k, v]];
          }),
        );
        sh('npm', words.slice(1), cwd, 240_000, args);
      } else if (words[0] === 'rm') {
        // Removes system files of the base image; the played root has none.
      } else if (words[0] === 'apt-get') {
        // The base image's system packages (the native build's toolchain): the played build uses this machine's.
      } else if (symlinksIn(part).length === 1) {
        const { target, link } = symlinksIn(part)[0]!;
        mkdirSync(dirname(inRoot(link)), { recursive: true });
        symlinkSync(inRoot(target), inRoot(link));
      } else {
        throw new Error(`line ${step.line}: the played build does not know how to run ${JSON.stringify(part)}; teach test/deploy/image-install.test.ts`);
      }
    }
  }
}

function chmodTree(p: string, mode: number): void {
  chmodSync(p, mode);
  if (statSync(p).isDirectory()) for (const e of readdirSync(p)) chmodTree(join(p, e), mode);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('the image, played without Docker: a production-only install runs the entrypoint', () => {
  const df = parseDockerfile();
  const runtime = df.stages.at(-1)!;
  let work: string;
  let app: string;
  let env: NodeJS.ProcessEnv;

  /** ENTRYPOINT + args, as `docker run IMAGE args...` would. */
  const entry = (args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}) =>
    spawnSync(runtime.entrypoint![0]!, [...runtime.entrypoint!.slice(1), ...args], {
      cwd: app,
      env: { ...env, ...extraEnv },
      encoding: 'utf8',
      timeout: 60_000,
    });

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'routewarden-image-'));
    const roots = new Map<string, string>();
    for (const stage of df.stages) playStage(stage, roots, work);
    const root = roots.get(runtime.name)!;
    app = join(root, runtime.workdir);
    // The image's PATH has /usr/local/bin; the played one has only what the Dockerfile put there, then Node.js 24.
    env = { PATH: [join(root, 'usr', 'local', 'bin'), PATH].join(delimiter), HOME: work, ...runtime.env };
  }, 300_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('holds no sources and no dev-only packages, and every production package of the lockfile', () => {
    expect(existsSync(join(app, 'src')), 'src/ in the image would let bin/ fall back to the TypeScript sources').toBe(false);
    expect(existsSync(join(app, 'dist', 'cli', 'main.js'))).toBe(true);
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; optional?: boolean }> };
    const entries = Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/'));
    const present = (path: string): boolean => existsSync(join(app, path, 'package.json'));
    expect(entries.filter(([path, e]) => e.dev === true && present(path)).map(([path]) => path)).toEqual([]);
    // Optional packages are per platform (esbuild's binaries); every other production package must be there.
    expect(entries.filter(([path, e]) => e.dev !== true && e.optional !== true && !present(path)).map(([path]) => path)).toEqual([]);
    expect(Object.keys(pkg.dependencies).filter((d) => !present(`node_modules/${d}`))).toEqual([]);
  });

  it("loads the netlink native addon with Node.js 24: routewarden's patched build, not the package's prebuilt one", () => {
    const script =
      "require('netlink'); const b = require('node-gyp-build')(require('path').dirname(require.resolve('netlink/package.json'))); console.log(process.versions.node, b.routewardenPatch)";
    const r = spawnSync(process.execPath, ['-e', script], { cwd: app, env, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toMatch(/^24\.\S+ 1$/);
  });

  it('routewarden --version prints the package version, the revision `npm run image` passed in, and the Node.js version', () => {
    const r = entry(['--version']);
    expect(r.error).toBeUndefined();
    expect([r.status, r.stdout.trim(), r.stderr]).toEqual([0, `${pkg.version} (revision ${buildArgs.BUILD_REVISION}, node ${process.version})`, '']);
  });

  it('routewarden --help lists the commands', () => {
    const r = entry(['--help']);
    expect(r.status).toBe(0);
    for (const c of ['run', 'check', 'demo']) expect(r.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
  });

  it('ENTRYPOINT + CMD + --help: `routewarden run --help` lists every flag of run', () => {
    const r = entry([...runtime.cmd!, '--help']);
    expect(r.status).toBe(0);
    expect(
      optionsFor('run')
        .map((o) => `--${o.flag}`)
        .filter((f) => !r.stdout.includes(f)),
    ).toEqual([]);
  });

  it('holds no tools (the demo, the API double): `routewarden demo` says in one line that it needs a checkout, exit 2', () => {
    expect(existsSync(join(app, 'tools'))).toBe(false);
    const bundle = readFileSync(join(app, 'dist', 'cli', 'main.js.map'), 'utf8');
    expect((JSON.parse(bundle) as { sources: string[] }).sources.filter((s) => /(^|\/)(tools|apidouble|demo)\//.test(s))).toEqual([]);
    const r = entry(['demo', '--api-only']);
    expect([r.status, r.stdout]).toEqual([2, '']);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^routewarden: the demo runs from a checkout/);
  });

  it('a bad value is one line on stderr and exit 2, not a stack trace', () => {
    const r = entry([...runtime.cmd!, '--table', 'nope']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--table/);
  });

  describe('`routewarden run` against the Kubernetes API double', () => {
    let double: ApiDouble;
    beforeAll(async () => {
      double = createApiDouble();
      await double.listen({ port: 0, host: '127.0.0.1' });
    });
    afterAll(async () => {
      await double?.close();
    });

    it('becomes ready, serves /metrics, and stops cleanly on SIGTERM', async () => {
      const port = await freePort();
      const child = spawn(runtime.entrypoint![0]!, [...runtime.entrypoint!.slice(1), ...runtime.cmd!], {
        cwd: app,
        env: {
          ...env,
          NODE_NAME: 'image-test-node',
          ROUTEWARDEN_KUBECONFIG: double.kubeconfig(),
          ROUTEWARDEN_LISTEN: `127.0.0.1:${port}`,
          ROUTEWARDEN_LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d));
      child.stderr.on('data', (d: Buffer) => (output += d));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      try {
        const deadline = Date.now() + 30_000;
        let ready = 0;
        while (Date.now() < deadline && child.exitCode === null) {
          ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
            (r) => r.status,
            () => 0,
          );
          if (ready === 200) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        expect(ready, `never ready; output:\n${output}`).toBe(200);
        const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        expect(metrics).toContain(
          `routewarden_build_info{version="${pkg.version}",revision="${buildArgs.BUILD_REVISION}",node_version="${process.version}"} 1`,
        );
        expect(metrics).toMatch(/^routewarden_source_up\{source="kubernetes"\} 1$/m);
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exited, output).toBe(0);
    });
  });
});
