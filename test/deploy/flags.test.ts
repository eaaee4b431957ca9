// Every flag and environment variable the manifests hand routewarden is one it
// accepts: checked against OPTIONS (src/cli/options.ts, where each flag is
// defined once), against what the built CLI prints in --help, and by loading
// the configuration a pod of each kustomization would run with.

import { execFileSync, spawnSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/cli/config.ts';
import { buildProgram } from '../../src/cli/main.ts';
import { envName, optionsFor, type OptionDef } from '../../src/cli/options.ts';
import {
  BASE,
  envOf,
  findKubectl,
  kustomizations,
  OVERLAYS,
  readYaml,
  rel,
  render,
  ROOT,
  routewardenContainer,
  yamlFiles,
  type Container,
  type KubeObject,
} from './manifests.ts';

type Command = 'run' | 'check' | 'demo';
const COMMANDS: readonly Command[] = ['run', 'check', 'demo'];

/** Environment variables other than ROUTEWARDEN_* that the manifests may set, and the test that proves each is honoured. */
const OTHER_ENV: Readonly<Record<string, string>> = {
  NODE_NAME: 'the default of --node-name: "NODE_NAME is what --node-name defaults to"',
  NODE_OPTIONS: 'Node.js runtime options: "Node.js accepts the manifests\' NODE_OPTIONS"',
  MALLOC_ARENA_MAX: 'a glibc malloc tunable: "glibc malloc tunables are numbers glibc accepts"',
  MALLOC_MMAP_THRESHOLD_: 'a glibc malloc tunable: "glibc malloc tunables are numbers glibc accepts"',
  MALLOC_TRIM_THRESHOLD_: 'a glibc malloc tunable: "glibc malloc tunables are numbers glibc accepts"',
};

interface Site {
  readonly where: string;
  readonly container: Container;
}

/** Sidecars with flags of their own (deploy/overlays/kube-rbac-proxy), not routewarden's. */
const SIDECARS = new Set(['kube-rbac-proxy']);

function containersOf(obj: KubeObject): Container[] {
  const spec = (obj as { spec?: { template?: { spec?: { containers?: Container[] } } } }).spec?.template?.spec;
  return (spec?.containers ?? []).filter((c) => !SIDECARS.has(c.name));
}

/** Every container in the raw files (base and patches) and, with kubectl, in every rendered kustomization. */
function sites(): Site[] {
  const out: Site[] = [];
  const raw = yamlFiles(BASE)
    .concat(yamlFiles(OVERLAYS))
    .filter((f) => basename(f) !== 'kustomization.yaml');
  for (const file of raw) for (const obj of readYaml(file) as KubeObject[]) for (const c of containersOf(obj)) out.push({ where: rel(file), container: c });
  const kubectl = findKubectl();
  if (kubectl !== null) {
    for (const dir of kustomizations())
      for (const obj of render(kubectl, dir)) for (const c of containersOf(obj)) out.push({ where: `kubectl kustomize ${rel(dir)}`, container: c });
  }
  return out;
}

/** A patch without args inherits the base's; routewarden's DaemonSet runs `run`. */
const commandOf = (c: Container): string => c.args?.[0] ?? 'run';

interface FlagUse {
  readonly flag: string;
  readonly value: string | undefined;
}

/** `--x=v`, `--x v` and bare boolean `--x`, as commander reads them for this command's options; anything else is a stray. */
function flagsOf(args: readonly string[], defs: readonly OptionDef[]): { flags: FlagUse[]; strays: string[] } {
  const flags: FlagUse[] = [];
  const strays: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(args[i]!);
    if (!m) {
      strays.push(args[i]!);
      continue;
    }
    const def = defs.find((d) => d.flag === m[1]);
    let value = m[2];
    if (value === undefined && def !== undefined && def.kind !== 'boolean' && i + 1 < args.length) value = args[++i];
    flags.push({ flag: m[1]!, value });
  }
  return { flags, strays };
}

/** Names routewarden would not recognise, each with where it came from. */
function unknownNames(site: Site): string[] {
  const c = site.container;
  const command = commandOf(c);
  if (!(COMMANDS as readonly string[]).includes(command)) return [`${site.where}: unknown command ${JSON.stringify(command)}`];
  const defs = optionsFor(command as Command);
  const bad: string[] = [];
  const { flags, strays } = flagsOf(c.args?.slice(1) ?? [], defs);
  for (const a of strays) bad.push(`${site.where}: stray argument ${JSON.stringify(a)}`);
  for (const f of flags) if (!defs.some((d) => d.flag === f.flag)) bad.push(`${site.where}: --${f.flag} is not a flag of \`routewarden ${command}\``);
  for (const e of c.env ?? []) {
    if (e.name.startsWith('ROUTEWARDEN_')) {
      if (!defs.some((d) => envName(d.flag) === e.name)) bad.push(`${site.where}: ${e.name} is no ROUTEWARDEN_* variable of \`routewarden ${command}\``);
    } else if (!(e.name in OTHER_ENV)) {
      bad.push(`${site.where}: ${e.name} is neither a ROUTEWARDEN_* variable nor one of ${Object.keys(OTHER_ENV).join(', ')}`);
    }
  }
  return bad;
}

const ALL = sites();
if (findKubectl() === null) console.warn('[deploy] kubectl not found: checking flags in the raw manifests only, not in rendered overlays');

describe('flags and environment in deploy/', () => {
  it('finds the routewarden container in the base, in every patch and in every rendered kustomization', () => {
    expect(ALL.some((s) => s.where === 'deploy/base/daemonset.yaml')).toBe(true);
    expect(ALL.every((s) => s.container.name === 'routewarden')).toBe(true);
  });

  it('uses only flags and ROUTEWARDEN_* variables that OPTIONS defines for the command', () => {
    expect(ALL.flatMap(unknownNames)).toEqual([]);
  });

  it('uses only flags and variables that the CLI lists in its --help', () => {
    const byCommand = new Map<string, Set<string>>();
    for (const s of ALL) {
      const command = commandOf(s.container);
      const names = byCommand.get(command) ?? new Set<string>();
      const defs = optionsFor(command as Command);
      for (const f of flagsOf(s.container.args?.slice(1) ?? [], defs).flags) names.add(`--${f.flag}`);
      for (const e of s.container.env ?? []) if (e.name.startsWith('ROUTEWARDEN_')) names.add(`[env ${e.name}`);
      byCommand.set(command, names);
    }
    for (const [command, names] of byCommand) {
      // The real entry point, in a child process, as the image runs it.
      const help = execFileSync(process.execPath, [join(ROOT, 'bin', 'routewarden.js'), command, '--help'], { encoding: 'utf8', timeout: 60_000 });
      const absent = [...names].filter((n) => !help.includes(n));
      expect(absent, `not in \`routewarden ${command} --help\``).toEqual([]);
    }
  });

  it('the checks above catch a misspelt variable, an unknown flag and a flag of another command', () => {
    const site = (container: Partial<Container>): Site => ({ where: 'example', container: { name: 'routewarden', image: 'x', ...container } });
    expect(unknownNames(site({ env: [{ name: 'ROUTEWARDEN_REMEDIATES', value: 'true' }] }))).toHaveLength(1);
    expect(unknownNames(site({ env: [{ name: 'KUBECONFIG_PATH', value: '/x' }] }))).toHaveLength(1);
    expect(unknownNames(site({ args: ['run', '--remediat=true'] }))).toHaveLength(1);
    // --output is a flag of `check`, not of `run`.
    expect(unknownNames(site({ args: ['run', '--output=json'] }))).toHaveLength(1);
    expect(unknownNames(site({ args: ['run', 'extra'] }))).toHaveLength(1);
    expect(unknownNames(site({ args: ['run', '--remediate=true', '--table', '198', '--dry-run'] }))).toEqual([]);
  });

  it('NODE_NAME is what --node-name defaults to', () => {
    expect(loadConfig('run', {}, { env: { NODE_NAME: 'Worker-1' }, hostname: 'elsewhere' }).model.nodeName).toBe('worker-1');
  });

  it('glibc malloc tunables are numbers glibc accepts', () => {
    const values = ALL.flatMap((s) => (s.container.env ?? []).filter((e) => e.name.startsWith('MALLOC_')).map((e) => [e.name, e.value ?? ''] as const));
    expect(values.map(([name]) => name)).toEqual(expect.arrayContaining(['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_']));
    // glibc silently ignores a value it cannot parse, and an mmap threshold
    // above 32 MiB (HEAP_MAX_SIZE / 2 on 64-bit): a typo would measure nothing.
    for (const [name, v] of values) {
      expect(v, `${name}=${v}`).toMatch(/^[1-9][0-9]*$/);
      if (name === 'MALLOC_MMAP_THRESHOLD_') expect(Number(v), `${name}=${v}`).toBeLessThanOrEqual(32 * 1024 * 1024);
    }
  });

  it("Node.js accepts the manifests' NODE_OPTIONS", () => {
    const values = new Set(ALL.flatMap((s) => (s.container.env ?? []).filter((e) => e.name === 'NODE_OPTIONS').map((e) => e.value!)));
    for (const value of values) {
      const r = spawnSync(process.execPath, ['-e', '0'], { env: { ...process.env, NODE_OPTIONS: value }, encoding: 'utf8' });
      expect({ status: r.status, stderr: r.stderr }, `NODE_OPTIONS=${value}`).toEqual({ status: 0, stderr: '' });
    }
  });
});

const kubectl = findKubectl();
describe.skipIf(kubectl === null)('the configuration each kustomization runs with', () => {
  it.each(kustomizations().map(rel))('%s loads without error', async (dir) => {
    const c = routewardenContainer(render(kubectl!, join(ROOT, dir)));
    // Parse the args with routewarden's own CLI definition, then load the
    // configuration from them and the pod's env, as `routewarden run` does.
    let parsed: Record<string, string | boolean | undefined> | undefined;
    const capture = async (opts: Record<string, string | boolean | undefined>) => {
      parsed = opts;
      return 0;
    };
    let stderr = '';
    const { program } = buildProgram({ run: capture, check: capture, demo: capture }, { stdout: () => {}, stderr: (s) => (stderr += s) });
    await program.parseAsync(c.args ?? ['run'], { from: 'user' });
    expect(stderr).toBe('');
    expect(parsed).toBeDefined();
    const config = loadConfig(commandOf(c) as Command, parsed!, { env: envOf(c), hostname: 'hostname-must-not-be-used' });
    expect(config.model.nodeName).not.toBe('hostname-must-not-be-used');
  });
});
