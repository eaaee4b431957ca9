// Throw-away network namespaces for tests that touch a real kernel. Nothing
// here ever runs `ip` against the host's own namespace: every command is
// `ip -n <ns> ...` or `ip netns exec <ns> ...`, and every namespace is deleted
// on destroy() (and, as a last resort, when the test process exits).

import { PATIENCE_MS } from './patience.ts';
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createServer, connect, type AddressInfo } from 'node:net';
import { describe } from 'vitest';

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Exit code; -1 when the command could not be started or was killed. */
  readonly code: number;
}

export interface Netns {
  readonly name: string;
  /** Run a command inside the namespace (`ip netns exec`). Never throws on a non-zero exit. */
  exec(cmd: readonly string[], options?: { readonly input?: string; readonly timeoutMs?: number }): Promise<ExecResult>;
  /** `ip -n <ns> <args>`, args split on whitespace. Throws with ip's stderr on failure; returns stdout. */
  ip(args: string): Promise<string>;
  /** `ip -n <ns> -batch -`: many commands in one process (1000 routes in a few ms). */
  ipBatch(commands: readonly string[]): Promise<void>;
  /**
   * A dummy-like interface (up, with carrier) with these addresses. Falls back
   * to `ifb` on kernels built without the dummy driver (this CI's is one).
   */
  addDummy(name: string, cidrs?: readonly string[]): Promise<void>;
  /** Spawn any command inside the namespace; it is killed on destroy(). */
  spawn(cmd: readonly string[], options?: SpawnOptions): ChildProcess;
  /** `node <script> ...args` inside the namespace, with this process's Node (Node 24 strips .ts types). */
  spawnNode(script: string, args?: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Kill what was spawned, delete the namespace. Idempotent. */
  destroy(): Promise<void>;
}

export const isRoot = (): boolean => process.getuid?.() === 0;

/**
 * `describe` that runs only as root (network namespaces need CAP_SYS_ADMIN),
 * and says so in the output instead of silently passing.
 */
export function describeIfRoot(name: string, fn: () => void): void {
  const root = isRoot();
  if (!root) {
    console.warn(`SKIPPED "${name}": needs root to create network namespaces (running as uid ${process.getuid?.()}); CI runs as root`);
  }
  describe.skipIf(!root)(name, fn);
}

function run(file: string, args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { timeout: options.timeoutMs ?? PATIENCE_MS, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ stdout, stderr: stderr || (err && typeof err.code !== 'number' ? err.message : ''), code });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

async function mustRun(what: string, file: string, args: readonly string[], input?: string): Promise<string> {
  const r = await run(file, args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`${what}: \`${file} ${args.join(' ')}\` exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

// Last resort when a test process dies without destroy(): namespaces are
// kernel objects and would outlive us.
const live = new Set<string>();
let exitHookInstalled = false;
function trackNamespace(name: string): void {
  live.add(name);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const ns of live) {
      try {
        execFileSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  });
}

let counter = 0;

/** A new namespace `rwtest-<pid>-<n>` with `lo` up. */
export async function createNetns(): Promise<Netns> {
  const name = `rwtest-${process.pid}-${++counter}`;
  await mustRun('creating network namespace', 'ip', ['netns', 'add', name]);
  trackNamespace(name);
  const children = new Set<ChildProcess>();
  let destroyed = false;

  const ns: Netns = {
    name,
    exec: (cmd, options) => run('ip', ['netns', 'exec', name, ...cmd], options),
    ip: (args) => mustRun(`in ${name}`, 'ip', ['-n', name, ...args.trim().split(/\s+/)]),
    async ipBatch(commands) {
      await mustRun(`in ${name}`, 'ip', ['-n', name, '-batch', '-'], `${commands.join('\n')}\n`);
    },
    async addDummy(ifname, cidrs = []) {
      const r = await run('ip', ['-n', name, 'link', 'add', ifname, 'type', 'dummy']);
      if (r.code !== 0) {
        if (!/Unknown device type/i.test(r.stderr)) throw new Error(`adding dummy ${ifname} in ${name}: ${r.stderr.trim()}`);
        await ns.ip(`link add ${ifname} type ifb`);
      }
      await ns.ip(`link set ${ifname} up`);
      // nodad: an IPv6 address is usable at once instead of tentative for a second.
      for (const cidr of cidrs) await ns.ip(`addr add ${cidr} dev ${ifname}${cidr.includes(':') ? ' nodad' : ''}`);
    },
    spawn(cmd, options = {}) {
      if (destroyed) throw new Error(`namespace ${name} is destroyed`);
      const child = spawn('ip', ['netns', 'exec', name, ...cmd], { stdio: 'pipe', ...options });
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    spawnNode: (script, args = [], options) => ns.spawn([process.execPath, script, ...args], options),
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await Promise.all([...children].map((c) => killAndWait(c)));
      await run('ip', ['netns', 'delete', name]);
      live.delete(name);
    },
  };

  try {
    await ns.ip('link set lo up');
  } catch (err) {
    await ns.destroy();
    throw err;
  }
  return ns;
}

/** SIGTERM, then SIGKILL if it has not gone within `graceMs`. */
export function killAndWait(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface TcpForwarder {
  /** The port it listens on inside the namespace (useful when 0 was asked for). */
  readonly port: number;
  close(): Promise<void>;
}

// Plain CommonJS for `node -e`. It exits when its stdin closes, so it cannot
// outlive the test process even if nobody calls close().
const FORWARDER = `
const net = require('node:net');
const [port, target] = process.argv.slice(1);
const server = net.createServer({ allowHalfOpen: true }, (client) => {
  const upstream = net.connect({ path: target, allowHalfOpen: true });
  client.pipe(upstream);
  upstream.pipe(client);
  const drop = () => { client.destroy(); upstream.destroy(); };
  client.on('error', drop);
  upstream.on('error', drop);
  client.on('close', drop);
  upstream.on('close', drop);
});
server.on('error', (err) => { console.error(err.message); process.exit(1); });
server.listen(Number(port), '127.0.0.1', () => {
  console.log(JSON.stringify({ listening: server.address().port }));
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

/**
 * Listen on 127.0.0.1:<port> inside `ns` and relay each connection to the
 * Unix socket `socketPath` on the filesystem. Unix sockets are reachable from
 * any network namespace; the host's loopback is not. Resolves once listening.
 */
export function forwardTcpToUnix(ns: Netns, port: number, socketPath: string, timeoutMs = PATIENCE_MS): Promise<TcpForwarder> {
  const child = ns.spawn([process.execPath, '-e', FORWARDER, String(port), socketPath]);
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      void killAndWait(child);
      reject(new Error(`TCP->unix forwarder in ${ns.name} on port ${port}: ${why}${stderr ? `: ${stderr.trim()}` : ''}`));
    };
    const timer = setTimeout(() => fail(`not listening after ${timeoutMs} ms`), timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const onExit = (code: number | null): void => fail(`exited with code ${code}`);
    child.once('exit', onExit);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n')[0];
      if (line === undefined || !stdout.includes('\n')) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      const listening = (JSON.parse(line) as { listening: number }).listening;
      resolve({ port: listening, close: () => killAndWait(child) });
    });
  });
}

// Listens on a Unix socket path and relays each connection to TCP
// 127.0.0.1:<port> inside the namespace it runs in: how a server in a
// namespace is reached from the host (see exposeToHost).
const UNIX_TO_TCP = `
const net = require('node:net');
const fs = require('node:fs');
const [path, port] = process.argv.slice(1);
try { fs.unlinkSync(path); } catch {}
const server = net.createServer({ allowHalfOpen: true }, (client) => {
  const upstream = net.connect({ port: Number(port), host: '127.0.0.1', allowHalfOpen: true });
  client.pipe(upstream);
  upstream.pipe(client);
  const drop = () => { client.destroy(); upstream.destroy(); };
  for (const s of [client, upstream]) { s.on('error', drop); s.on('close', drop); }
});
server.on('error', (err) => { console.error(err.message); process.exit(1); });
server.listen(path, () => console.log(JSON.stringify({ listening: path })));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

export interface HostExposure {
  /** host:port on the host's loopback that reaches 127.0.0.1:<port> in the namespace. */
  readonly address: string;
  close(): Promise<void>;
}

/**
 * Make TCP 127.0.0.1:<port> inside `ns` reachable from the host's loopback:
 * host TCP -> Unix socket (a file, visible from both) -> namespace TCP.
 */
export async function exposeToHost(ns: Netns, port: number, socketPath: string, timeoutMs = PATIENCE_MS): Promise<HostExposure> {
  const child = ns.spawn([process.execPath, '-e', UNIX_TO_TCP, socketPath, String(port)]);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`unix->tcp relay in ${ns.name}: not listening after ${timeoutMs} ms`)), timeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"listening"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`unix->tcp relay in ${ns.name} exited with code ${code}`));
    });
  });
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect({ path: socketPath, allowHalfOpen: true });
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('error', drop);
      s.on('close', drop);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${addr.port}`,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await killAndWait(child);
    },
  };
}
