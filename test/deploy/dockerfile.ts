// The Dockerfile as data: its stages, each with its base image, working
// directory and steps, parsed by dockerfile-ast (the parser behind the VS Code
// Docker language server), with build ARGs resolved to their defaults.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, posix } from 'node:path';
import type { Ignore } from '@balena/dockerignore';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { ROOT } from './manifests.ts';

export const DOCKERFILE = join(ROOT, 'Dockerfile');

/**
 * The repository's .dockerignore with Docker's matching rules. The package is
 * CommonJS (`module.exports = factory`) but its typings declare a default
 * export, which NodeNext then places under `.default`; require() sidesteps that.
 */
export function dockerignore(): Ignore {
  const factory = createRequire(import.meta.url)('@balena/dockerignore') as () => Ignore;
  return factory().add(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
}

export interface CopyStep {
  readonly kind: 'COPY';
  readonly line: number;
  /** Stage name for COPY --from, null for the build context. */
  readonly from: string | null;
  readonly sources: readonly string[];
  /** Absolute destination, resolved against WORKDIR. */
  readonly dest: string;
  /** Docker's rule: a destination ending in "/", or one of several sources, is a directory. */
  readonly destIsDir: boolean;
  readonly flags: Readonly<Record<string, string | null>>;
}

export interface RunStep {
  readonly kind: 'RUN';
  readonly line: number;
  /** The shell command, without RUN's own flags (--mount...). */
  readonly command: string;
}

export type Step = CopyStep | RunStep;

export interface Stage {
  readonly name: string;
  /** The base image with ARGs resolved. */
  readonly image: string;
  readonly workdir: string;
  readonly steps: readonly Step[];
  /** Build arguments the stage declares (ARG after its FROM), with their defaults or null. */
  readonly args: Readonly<Record<string, string | null>>;
  readonly env: Readonly<Record<string, string>>;
  readonly user: string | null;
  readonly expose: readonly string[];
  /** Exec form only; null when absent or in shell form. */
  readonly entrypoint: readonly string[] | null;
  readonly cmd: readonly string[] | null;
}

export interface ParsedDockerfile {
  readonly directives: Readonly<Record<string, string>>;
  readonly stages: readonly Stage[];
  readonly problems: readonly string[];
}

/** `ln -s TARGET LINK` steps of a RUN command chained with &&. */
export function symlinksIn(command: string): { target: string; link: string }[] {
  return command
    .split('&&')
    .map((part) => part.trim().split(/\s+/))
    .filter((w) => w[0] === 'ln' && w[1] === '-s' && w.length === 4)
    .map((w) => ({ target: w[2]!, link: w[3]! }));
}

/** The JSON (exec) form of an instruction's arguments, or null for the shell form. */
function execForm(instr: Instruction): string[] | null {
  const raw = instr.getArgumentsContent()?.trim() ?? '';
  if (!raw.startsWith('[')) return null;
  try {
    const v = JSON.parse(raw) as unknown;
    return Array.isArray(v) && v.every((s) => typeof s === 'string') ? (v as string[]) : null;
  } catch {
    return null;
  }
}

export function parseDockerfile(text: string = readFileSync(DOCKERFILE, 'utf8')): ParsedDockerfile {
  const df = DockerfileParser.parse(text);
  const problems: string[] = [];
  const args = new Map<string, string>();
  for (const a of df.getInitialARGs()) {
    const p = a.getProperty();
    if (p?.getName() && p.getValue() !== null) args.set(p.getName(), p.getValue()!);
  }
  const resolve = (s: string): string =>
    s.replace(/\$\{(\w+)\}|\$(\w+)/g, (m, a: string | undefined, b: string | undefined) => {
      const v = args.get((a ?? b)!);
      if (v === undefined) problems.push(`unresolved build argument ${m}`);
      return v ?? m;
    });

  const stages: Stage[] = [];
  let cur: {
    name: string;
    image: string;
    workdir: string;
    steps: Step[];
    args: Record<string, string | null>;
    env: Record<string, string>;
    user: string | null;
    expose: string[];
    entrypoint: string[] | null;
    cmd: string[] | null;
  } | null = null;
  for (const instr of df.getInstructions()) {
    const kw = instr.getKeyword();
    const line = instr.getRange().start.line + 1;
    if (kw === 'ARG' && cur === null) continue;
    if (kw === 'FROM') {
      if (cur) stages.push(cur);
      const from = df.getFROMs().find((f) => f.getRange().start.line === instr.getRange().start.line)!;
      cur = {
        name: from.getBuildStage() ?? String(stages.length),
        image: resolve(from.getImage() ?? ''),
        workdir: '/',
        steps: [],
        args: {},
        env: {},
        user: null,
        expose: [],
        entrypoint: null,
        cmd: null,
      };
      continue;
    }
    if (cur === null) {
      problems.push(`line ${line}: ${kw} before the first FROM`);
      continue;
    }
    const content = instr.getArgumentsContent() ?? '';
    switch (kw) {
      case 'WORKDIR':
        cur.workdir = posix.resolve(cur.workdir, content.trim());
        break;
      case 'COPY': {
        const copy = df.getCOPYs().find((c) => c.getRange().start.line === instr.getRange().start.line)!;
        const words = execForm(copy) ?? copy.getArguments().map((a) => a.getValue());
        const flags = Object.fromEntries(copy.getFlags().map((f) => [f.getName(), f.getValue()]));
        const dest = words.at(-1) ?? '';
        const sources = words.slice(0, -1);
        const destIsDir = dest.endsWith('/') || sources.length > 1;
        cur.steps.push({
          kind: 'COPY',
          line,
          from: (flags.from as string | undefined) ?? null,
          sources,
          dest: posix.resolve(cur.workdir, dest),
          destIsDir,
          flags,
        });
        break;
      }
      case 'RUN': {
        // getArgumentsContent() includes RUN's flags; drop the leading --x=y words.
        const command = content
          .replace(/^\s*(?:--\S+\s+)*/, '')
          .replace(/\\\n/g, ' ')
          .replace(/\s+/g, ' ')
          .trim();
        cur.steps.push({ kind: 'RUN', line, command });
        break;
      }
      case 'ENV': {
        const m = /^(\w+)=(.*)$/.exec(content.trim());
        if (m) cur.env[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
        else problems.push(`line ${line}: ENV in a form this test does not read; use ENV KEY=value`);
        break;
      }
      case 'ARG': {
        const m = /^(\w+)(?:=(.*))?$/.exec(content.trim());
        if (m) cur.args[m[1]!] = m[2] === undefined ? null : m[2].replace(/^"(.*)"$/, '$1');
        else problems.push(`line ${line}: ARG in a form this test does not read; use ARG NAME[=default]`);
        break;
      }
      case 'USER':
        cur.user = content.trim();
        break;
      case 'EXPOSE':
        cur.expose.push(...content.trim().split(/\s+/));
        break;
      case 'ENTRYPOINT':
        cur.entrypoint = execForm(instr);
        break;
      case 'CMD':
        cur.cmd = execForm(instr);
        break;
      default:
        break;
    }
  }
  if (cur) stages.push(cur);
  const directives = Object.fromEntries(df.getDirectives().map((d) => [d.getName(), d.getValue()]));
  return { directives, stages, problems };
}
