// An end-to-end world for integration tests: a throw-away network namespace
// (the node's kernel), the Kubernetes API double in this process (reachable
// from inside the namespace through a TCP->unix forwarder), and the real
// `routewarden` CLI run inside the namespace exactly as a user runs it.

import { PATIENCE_MS } from './patience.ts';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { createApiDouble } from '../../tools/apidouble/index.ts';
import type { ApiDouble, ApiDoubleOptions, KindName } from '../../tools/apidouble/index.ts';
import type { Report } from '../../src/core/report.ts';
import { afterAll, beforeAll } from 'vitest';
import { createNetns, forwardTcpToUnix, killAndWait } from './netns.ts';
import type { Netns, TcpForwarder } from './netns.ts';

export const CLI = fileURLToPath(new URL('../../bin/routewarden.js', import.meta.url));
export const NODE_NAME = 'worker-1';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface World {
  readonly ns: Netns;
  readonly api: ApiDouble;
  readonly dir: string;
  /** kubeconfig valid inside the namespace. */
  readonly kubeconfig: string;
  /** Run `routewarden <args>` inside the namespace to completion. */
  cli(args: readonly string[], opts?: { env?: Record<string, string>; timeoutMs?: number }): Promise<CliResult>;
  /** Start `routewarden <args>` inside the namespace and keep it running. */
  spawnCli(args: readonly string[], opts?: { env?: Record<string, string> }): ChildProcess;
  /** `ip <args>` inside the namespace. */
  ip(args: string): Promise<string>;
  /** HTTP GET on 127.0.0.1:<port> inside the namespace (where `run` listens). */
  get(port: number, path: string): Promise<{ status: number; body: string }>;
  destroy(): Promise<void>;
}

/**
 * The double bookmarks every watch once a second by default: the apiserver
 * does so about once a minute, and routewarden repairs only from a view the
 * server confirmed after the drift appeared (docs/reliability.md); a second
 * keeps tests with a short --grace fast.
 */
export async function createWorld(opts: { readonly api?: ApiDoubleOptions } = {}): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'rw-world-'));
  const ns = await createNetns();
  const api = createApiDouble({ bookmarkIntervalMs: 1_000, ...opts.api });
  const socketPath = join(dir, 'api.sock');
  let forwarder: TcpForwarder | null = null;
  const children = new Set<ChildProcess>();
  try {
    await api.listen({ port: 0, host: '127.0.0.1' });
    await api.listen({ path: socketPath });
    forwarder = await forwardTcpToUnix(ns, 0, socketPath);
  } catch (err) {
    await api.close();
    await ns.destroy();
    throw err;
  }
  const kubeconfig = api.kubeconfig(join(dir, 'kubeconfig'), { server: `http://127.0.0.1:${forwarder.port}` });
  // Readable by the unprivileged user some tests run routewarden as.
  chmodSync(dir, 0o755);
  chmodSync(kubeconfig, 0o644);
  chmodSync(socketPath, 0o666);
  const baseEnv = (extra?: Record<string, string>) => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    NODE_NAME,
    KUBECONFIG: kubeconfig,
    ...extra,
  });

  const spawnCli = (args: readonly string[], opts?: { env?: Record<string, string> }): ChildProcess => {
    const child = ns.spawnNode(CLI, args, { env: baseEnv(opts?.env), stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  };

  return {
    ns,
    api,
    dir,
    kubeconfig,
    ip: (args) => ns.ip(args),
    async get(port, path) {
      const r = await ns.exec(['curl', '-s', '-o', '-', '-w', '\n%{http_code}', `http://127.0.0.1:${port}${path}`]);
      const i = r.stdout.lastIndexOf('\n');
      return { status: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i) };
    },
    spawnCli,
    cli(args, opts) {
      return new Promise<CliResult>((resolve, reject) => {
        const child = spawnCli(args, opts);
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`routewarden ${args.join(' ')} did not finish in time\nstdout: ${stdout}\nstderr: ${stderr}`));
        }, opts?.timeoutMs ?? PATIENCE_MS);
        child.once('exit', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
      });
    },
    async destroy() {
      for (const c of [...children]) await killAndWait(c);
      await forwarder?.close();
      await api.close();
      await ns.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Poll until `fn` returns a truthy value or the deadline passes. */
/** Polls `fn` until it yields a value; gives up after PATIENCE_MS (a bound on hangs, not a speed test). */
export async function eventually<T>(fn: () => Promise<T> | T, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + PATIENCE_MS;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The value of one sample in a Prometheus exposition, NaN when absent. */
export function sample(body: string, name: string, labels = ''): number {
  const escaped = labels.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^${name}${labels ? `\\{${escaped}\\}` : ''} (\\S+)$`, 'm').exec(body);
  return m ? Number(m[1]) : NaN;
}

/** Empty the API double of these kinds and flush these kernel tables (both families). */
export async function resetWorld(w: World, kinds: readonly KindName[], tables: readonly number[] = [198]): Promise<void> {
  for (const kind of kinds) {
    for (const o of w.api.list(kind)) w.api.delete(kind, o.metadata?.namespace, o.metadata?.name ?? '');
  }
  // Flushing a table that does not exist yet is an error to `ip`; ignore it.
  for (const t of tables) {
    for (const fam of ['-4', '-6']) await w.ip(`${fam} route flush table ${t}`).catch(() => '');
  }
}

/** `routewarden check --output json <args>` in the namespace, parsed. */
export async function checkJson(w: World, args: readonly string[] = []): Promise<{ code: number | null; report: Report; stderr: string }> {
  const r = await w.cli(['check', '--output', 'json', ...args]);
  try {
    return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
  } catch {
    throw new Error(`check printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

/**
 * One world for a describe block: created before its tests, destroyed after.
 * Returns a getter, since the world exists only once beforeAll has run.
 */
export function useWorld(opts: Parameters<typeof createWorld>[0] = {}): () => World {
  let w: World | undefined;
  beforeAll(async () => {
    w = await createWorld(opts);
  });
  afterAll(async () => {
    await w?.destroy();
  });
  return () => {
    if (!w) throw new Error('the world is not created yet (use it inside a test)');
    return w;
  };
}

/** `ip monitor route` inside the namespace: the table-198 destinations it saw deleted. */
export function monitorDeletions(w: World): { deleted: () => string[]; stop: () => Promise<void>; ready: Promise<void> } {
  const child = w.ns.spawn(['ip', '-o', 'monitor', 'route']);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  // Give `ip monitor` time to subscribe: add and remove a marker route and wait to see it.
  const ready = eventually(async () => {
    await w.ip('route replace 192.0.2.254/32 dev lo table 4242');
    await w.ip('route del 192.0.2.254/32 dev lo table 4242');
    return out.includes('Deleted 192.0.2.254');
  }, 'ip monitor to subscribe').then(() => undefined);
  return {
    ready,
    deleted: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('Deleted ') && l.includes('table 198'))
        .map((l) => l.split(' ')[1]!),
    stop: () => killAndWait(child),
  };
}
