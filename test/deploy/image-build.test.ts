// The image, built for real and run for real: `npm run image`'s own code
// (scripts/image.ts) builds the Dockerfile with buildah (chroot isolation: no
// daemon, no nested containers), and `buildah run` starts the image's
// ENTRYPOINT + CMD with its USER, WORKDIR and ENV inside a throw-away network
// namespace, where a drift is planted in the kernel table and the Kubernetes
// API double is reachable. It runs twice, as deploy/ runs it: as the image's
// default user (uid 1000, the read-only overlay's), and as the repair overlay
// runs it (uid 0 with NET_ADMIN as its only capability), which must repair.
//
// The base: node:24-bookworm-slim when the machine has it, else the stand-in
// that .ci/stand-in-base makes where the official image cannot be pulled (the
// same layout from Debian and npm packages). Skipped, saying why, without
// root, buildah or a base. The first build takes minutes; later ones reuse
// buildah's layer cache.
//
// Not reproduced by buildah run: readOnlyRootFilesystem and
// allowPrivilegeEscalation: false (the process writes nothing and execs
// nothing, so neither changes what is tested here).

import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpointSlice, service } from '../../tools/apidouble/index.ts';
import { gitRevision } from '../../src/version.ts';
import { buildImage, DEFAULT_TAG } from '../../scripts/image.ts';
import { isRoot, killAndWait } from '../helpers/netns.ts';
import { createWorld, eventually, NODE_NAME, sample, type World } from '../helpers/world.ts';
import { BASE, findKubectl, OVERLAYS, readYaml, render, ROOT, routewardenContainer, type KubeObject } from './manifests.ts';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
export const STAND_IN_BASE = 'localhost/routewarden-stand-in:node24-bookworm-slim';
const OFFICIAL_BASE = 'docker.io/library/node:24-bookworm-slim';

const has = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const buildahPresent = has('buildah', ['--version']);
const base = !buildahPresent ? null : ([OFFICIAL_BASE, STAND_IN_BASE].find((image) => has('buildah', ['inspect', '--type', 'image', image])) ?? null);
const skip = !isRoot()
  ? `needs root for buildah and network namespaces (uid ${process.getuid?.()})`
  : !buildahPresent
    ? 'buildah is not installed (.ci/run installs it)'
    : base === null
      ? `no Node.js 24 base image: neither ${OFFICIAL_BASE} nor ${STAND_IN_BASE} (.ci/stand-in-base makes it)`
      : null;
if (skip) console.warn(`SKIPPED "the image, built and run": ${skip}`);

/** Linux capabilities by name. buildah 1.28 ignores --cap-add after --cap-drop ALL, so "all but these" is spelled out. */
const CAPABILITIES = [
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'IPC_OWNER',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_CHROOT',
  'SYS_PTRACE',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_NICE',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'LEASE',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'SETFCAP',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'AUDIT_READ',
  'PERFMON',
  'BPF',
  'CHECKPOINT_RESTORE',
];

interface SecurityContext {
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly capabilities?: { readonly drop?: readonly string[]; readonly add?: readonly string[] };
}
interface DeployedContainer {
  readonly env?: readonly { name: string; value?: string }[];
  readonly securityContext?: SecurityContext;
}

/** The routewarden container as an overlay (or the base) deploys it. */
function deployed(dir: string): DeployedContainer {
  const kubectl = findKubectl();
  const objects = kubectl ? render(kubectl, dir) : (readYaml(join(BASE, 'daemonset.yaml')) as KubeObject[]);
  return routewardenContainer(objects) as DeployedContainer;
}

/** buildah run flags for a container's securityContext: its user, and exactly its capabilities. */
function securityFlags(sc: SecurityContext | undefined): string[] {
  const out: string[] = [];
  if (sc?.runAsUser !== undefined) out.push('--user', `${sc.runAsUser}:${sc.runAsGroup ?? sc.runAsUser}`);
  const caps = sc?.capabilities;
  if (caps?.drop?.includes('ALL')) {
    const keep = new Set(caps.add ?? []);
    for (const c of keep) out.push('--cap-add', `CAP_${c}`);
    for (const c of CAPABILITIES) if (!keep.has(c)) out.push('--cap-drop', `CAP_${c}`);
  }
  return out;
}

/** /proc/<pid>/status of the image's process holding `marker` in its environment. */
function processWithMarker(marker: string): { pid: number; uid: string; gid: string; capEff: bigint } | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      if (!environ.includes(marker)) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0');
      if (!argv[0]!.endsWith('node')) continue;
      const status = readFileSync(`/proc/${entry}/status`, 'latin1');
      const field = (name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';
      return { pid: Number(entry), uid: field('Uid'), gid: field('Gid'), capEff: BigInt(`0x${field('CapEff')}`) };
    } catch {
      // gone, or not ours to read
    }
  }
  return null;
}

/** Owned routes of table 198 (IPv4), as destinations, sorted. */
async function ownedRoutes(w: World): Promise<string[]> {
  const out = await w.ip('-j route show table 198 proto 248').catch(() => '[]');
  return (JSON.parse(out || '[]') as { dst: string }[]).map((r) => r.dst).sort();
}

describe.skipIf(skip !== null)(
  `the image, built by npm run image's code with buildah and run in a network namespace${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let w: World;
    let container: string;
    let config: { User: string; Entrypoint: string[]; Cmd: string[]; Labels: Record<string, string> };
    const running: ChildProcess[] = [];

    beforeAll(async () => {
      const env = { ...process.env, BUILDAH_ISOLATION: 'chroot', PATH: [dirname(process.execPath), process.env.PATH ?? ''].join(delimiter) };
      const built = buildImage({ tool: 'buildah', base: base!, env, capture: true });
      if (built.status !== 0) throw new Error(`the image build failed (${built.status}):\n${built.output.slice(-4000)}`);
      console.info(`image: built ${DEFAULT_TAG} on ${base} with buildah in ${built.seconds.toFixed(0)} s`);
      container = `routewarden-image-test-${process.pid}`;
      const from = spawnSync('buildah', ['from', '--name', container, DEFAULT_TAG], { encoding: 'utf8' });
      if (from.status !== 0) throw new Error(`buildah from: ${from.stderr}`);
      const inspect = spawnSync('buildah', ['inspect', '--type', 'image', DEFAULT_TAG], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      config = (JSON.parse(inspect.stdout) as { OCIv1: { config: typeof config } }).OCIv1.config;
      w = await createWorld();
    }, 1_800_000);

    afterAll(async () => {
      for (const c of running) await killAndWait(c);
      await w?.destroy();
      if (container) spawnSync('buildah', ['rm', container], { stdio: 'ignore' });
    });

    /** `buildah run` of ENTRYPOINT + args inside the namespace, with the deployed env and security flags. */
    function runImage(
      args: readonly string[],
      opts: { env: Record<string, string>; flags?: readonly string[] },
    ): { child: ChildProcess; output: () => string } {
      const envFlags = Object.entries(opts.env).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
      const child = w.ns.spawn(
        [
          'buildah',
          'run',
          '--isolation',
          'chroot',
          '--volume',
          `${w.dir}:${w.dir}:ro`,
          ...(opts.flags ?? []),
          ...envFlags,
          container,
          '--',
          ...config.Entrypoint,
          ...args,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      running.push(child);
      let output = '';
      child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      return { child, output: () => output };
    }

    /** The deployed container's literal env, plus what the kubelet and the cluster would provide. */
    function deployedEnv(c: DeployedContainer, marker: string, extra: Record<string, string> = {}): Record<string, string> {
      const literal = Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
      return { ...literal, NODE_NAME, KUBECONFIG: w.kubeconfig, RW_IMAGE_TEST: marker, ...extra };
    }

    function plantDrift(): Promise<void> {
      // web moved to 10.0.0.6 (missing); the table still has its old 10.0.0.5 (orphan); api's 10.0.0.7 is in sync.
      w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.6'] }));
      w.api.upsert(service({ name: 'api', ingressIPs: ['10.0.0.7'] }));
      for (const s of ['web', 'api'])
        w.api.upsert(endpointSlice({ service: s, addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.5'], nodeName: 'worker-2' }] }));
      return (async () => {
        for (const fam of ['-4', '-6']) await w.ip(`${fam} route flush table 198`).catch(() => '');
        await w.ip('route add 10.0.0.5/32 dev lo table 198 proto 248');
        await w.ip('route add 10.0.0.7/32 dev lo table 198 proto 248');
      })();
    }

    it('is tagged with the package version, labelled with the git revision, and declares uid 1000', () => {
      expect(DEFAULT_TAG).toBe(`routewarden:${pkg.version}`);
      expect(config.Labels['org.opencontainers.image.revision']).toBe(gitRevision(ROOT));
      expect(config.User).toBe('1000:1000');
      expect(config.Entrypoint).toEqual(['routewarden']);
      expect(config.Cmd).toEqual(['run']);
    });

    it('ENTRYPOINT --version prints the version, the revision and Node.js 24', async () => {
      const { child, output } = runImage(['--version'], { env: {} });
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect([code, output().trim()]).toEqual([
        0,
        expect.stringMatching(new RegExp(`^${pkg.version.replaceAll('.', '\\.')} \\(revision ${gitRevision(ROOT)}, node v24\\.\\d+\\.\\d+\\)$`)),
      ]);
    });

    it("ENTRYPOINT + CMD as the image's user (uid 1000, no capabilities): ready, the planted drift on /metrics, the table untouched", async () => {
      await plantDrift();
      const before = await ownedRoutes(w);
      const marker = randomUUID();
      const c = deployed(join(OVERLAYS, 'read-only'));
      const env = deployedEnv(c, marker);
      const port = Number((env.ROUTEWARDEN_LISTEN ?? ':9798').split(':').at(-1));
      // The image's own USER: no --user, whatever the read-only overlay's securityContext says (dockerfile.test.ts checks they agree).
      const { child, output } = runImage(config.Cmd, { env });
      await eventually(async () => (await w.get(port, '/readyz')).status === 200, `/readyz 200; output:\n${output()}`);
      const metrics = (await w.get(port, '/metrics')).body;
      expect(sample(metrics, 'routewarden_orphan_routes', 'family="ipv4"'), metrics).toBe(1);
      expect(sample(metrics, 'routewarden_missing_routes', 'family="ipv4"')).toBe(1);
      expect(metrics).toMatch(
        new RegExp(
          `^routewarden_build_info\\{version="${pkg.version.replaceAll('.', '\\.')}",revision="${gitRevision(ROOT)}",node_version="v24\\.[0-9.]+"\\} 1$`,
          'm',
        ),
      );
      const proc = processWithMarker(`RW_IMAGE_TEST=${marker}`);
      expect(proc, "the image's node process").not.toBeNull();
      expect(proc!.uid.split(/\s+/)).toEqual(['1000', '1000', '1000', '1000']);
      expect(proc!.gid.split(/\s+/)).toEqual(['1000', '1000', '1000', '1000']);
      expect(proc!.capEff).toBe(0n);
      expect(await ownedRoutes(w)).toEqual(before);
      process.kill(proc!.pid, 'SIGTERM');
      const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)));
      expect(code, output()).toBe(0);
    }, 180_000);

    it('as the repair overlay runs it (uid 0, NET_ADMIN only): repairs the planted drift', async () => {
      await plantDrift();
      const marker = randomUUID();
      const c = deployed(join(OVERLAYS, 'repair'));
      expect(c.securityContext?.runAsUser).toBe(0);
      expect(c.securityContext?.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN'] });
      const env = deployedEnv(c, marker, { ROUTEWARDEN_GRACE: '0s' });
      expect(env.ROUTEWARDEN_REMEDIATE).toBe('true');
      const port = Number((env.ROUTEWARDEN_LISTEN ?? ':9798').split(':').at(-1));
      const { child, output } = runImage(config.Cmd, { env, flags: securityFlags(c.securityContext) });
      await eventually(
        async () => JSON.stringify(await ownedRoutes(w)) === JSON.stringify(['10.0.0.6', '10.0.0.7']),
        `the repair; table ${JSON.stringify(await ownedRoutes(w))}; output:\n${output()}`,
      );
      const proc = processWithMarker(`RW_IMAGE_TEST=${marker}`);
      expect(proc, "the image's node process").not.toBeNull();
      expect(proc!.uid.split(/\s+/)).toEqual(['0', '0', '0', '0']);
      expect(proc!.capEff).toBe(1n << 12n); // CAP_NET_ADMIN alone
      const metrics = await eventually(async () => {
        const body = (await w.get(port, '/metrics')).body;
        return sample(body, 'routewarden_orphan_routes', 'family="ipv4"') === 0 ? body : null;
      }, '/metrics to show the table in sync');
      expect(sample(metrics, 'routewarden_remediations_total', 'strategy="flush-rebuild",result="success"')).toBeGreaterThanOrEqual(1);
      process.kill(proc!.pid, 'SIGTERM');
      const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)));
      expect(code, output()).toBe(0);
    }, 180_000);
  },
);

// .ci/run makes the stand-in with .ci/stand-in-base; the names must agree or the test above is skipped for good.
it('.ci/stand-in-base makes the stand-in under the name this test looks for', () => {
  const script = join(ROOT, '.ci', 'stand-in-base');
  expect(existsSync(script)).toBe(true);
  expect(readFileSync(script, 'utf8')).toContain(`image="\${1:-${STAND_IN_BASE}}"`);
});
