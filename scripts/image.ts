// `npm run image`: builds the container image from the Dockerfile, tagged
// routewarden:<package version>, with the first builder found: buildah
// (needs no daemon), else docker (when its engine answers), else podman.
// The git revision goes in as the build argument BUILD_REVISION
// (the build context holds no .git), so that --version and
// routewarden_build_info name the commit inside the image too.
//
//   npm run image -- [--tool buildah|docker|podman] [--tag NAME:TAG] [--base IMAGE] [-- BUILDER-ARGS...]
//
// --base replaces the Node.js base image (the Dockerfile's NODE_IMAGE; pin a
// digest for a release). buildah honours BUILDAH_ISOLATION (chroot where
// containers cannot be nested, as in CI here).

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gitRevision } from '../src/version.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOOLS = ['buildah', 'docker', 'podman'] as const;
export type Tool = (typeof TOOLS)[number];

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
export const DEFAULT_TAG = `routewarden:${VERSION}`;

/** The build arguments `npm run image` passes: what the build context cannot know. */
export function imageBuildArgs(): Record<string, string> {
  return { BUILD_REVISION: gitRevision(ROOT) };
}

function works(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 20_000 });
  return r.status === 0;
}

/** The first usable builder: buildah, docker with a reachable engine, podman; null when none. */
export function findBuilder(): Tool | null {
  if (works('buildah', ['--version'])) return 'buildah';
  if (works('docker', ['version', '--format', '{{.Server.Version}}'])) return 'docker';
  if (works('podman', ['--version'])) return 'podman';
  return null;
}

export interface ImageOptions {
  readonly tool?: Tool;
  readonly tag?: string;
  /** Replaces NODE_IMAGE, the Node.js 24 base. */
  readonly base?: string;
  readonly extra?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Capture the builder's output (returned) instead of passing it through. */
  readonly capture?: boolean;
}

/** The builder's command line for these options. */
export function imageCommand(tool: Tool, opts: ImageOptions = {}): string[] {
  const args = { ...imageBuildArgs(), ...(opts.base ? { NODE_IMAGE: opts.base } : {}) };
  return [
    tool,
    'build',
    ...(tool === 'buildah' ? ['--layers'] : []),
    '--file',
    'Dockerfile',
    '--tag',
    opts.tag ?? DEFAULT_TAG,
    ...Object.entries(args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
    ...(opts.extra ?? []),
    '.',
  ];
}

/** Builds the image. Returns the builder's exit status, how long it took, and its output when captured. */
export function buildImage(opts: ImageOptions = {}): { tool: Tool | null; status: number; seconds: number; output: string } {
  const tool = opts.tool ?? findBuilder();
  if (tool === null) return { tool, status: 127, seconds: 0, output: '' };
  const [cmd, ...args] = imageCommand(tool, opts);
  const started = process.hrtime.bigint();
  const r = spawnSync(cmd!, args, {
    cwd: ROOT,
    env: opts.env ?? process.env,
    ...(opts.capture ? { encoding: 'utf8' as const, maxBuffer: 256 * 1024 * 1024 } : { stdio: 'inherit' as const }),
  });
  const output = opts.capture ? `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? `\n${r.error.message}` : ''}` : '';
  return { tool, status: r.status ?? 1, seconds: Number(process.hrtime.bigint() - started) / 1e9, output };
}

function parseArgs(argv: string[]): ImageOptions | string {
  const opts: { tool?: Tool; tag?: string; base?: string; extra?: string[] } = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string | undefined => argv[++i];
    if (a === '--') {
      opts.extra = argv.slice(i + 1);
      break;
    }
    if (a === '--tool') {
      const t = value();
      if (!TOOLS.includes(t as Tool)) return `--tool takes ${TOOLS.join(', ')}, not ${JSON.stringify(t ?? '')}`;
      opts.tool = t as Tool;
    } else if (a === '--tag' || a === '--base') {
      const v = value();
      if (!v) return `${a} needs a value`;
      opts[a === '--tag' ? 'tag' : 'base'] = v;
    } else {
      return `unknown argument ${JSON.stringify(a)} (--tool, --tag, --base, -- builder arguments)`;
    }
  }
  return opts;
}

if (import.meta.main) {
  const opts = parseArgs(process.argv.slice(2));
  if (typeof opts === 'string') {
    console.error(`image: ${opts}`);
    process.exitCode = 2;
  } else {
    const r = buildImage(opts);
    if (r.tool === null) {
      console.error('image: no image builder found: install buildah (no daemon needed), docker or podman');
      process.exitCode = 2;
    } else {
      if (r.status === 0) console.error(`image: built ${opts.tag ?? DEFAULT_TAG} with ${r.tool} in ${r.seconds.toFixed(0)} s`);
      process.exitCode = r.status;
    }
  }
}
