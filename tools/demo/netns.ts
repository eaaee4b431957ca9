// The demo's throw-away network namespace, driven with iproute2. Only the demo
// spawns `ip`, and only for what kube-vip's world does outside routewarden
// (creating the namespace and its links, bouncing an interface); routewarden's
// own kernel adapter talks netlink and never spawns anything. Every command
// names the namespace (`ip -n <ns>`), so none can touch the host's own.

import { execFile } from 'node:child_process';

/** Namespaces the demo creates are `rw-demo-<pid of the demo's parent process>`. */
export const NAMESPACE_PREFIX = 'rw-demo-';

export interface IpResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function ip(args: readonly string[], timeoutMs = 10_000): Promise<IpResult> {
  return new Promise((resolve) => {
    execFile('ip', args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      // A missing binary has a string code (ENOENT); report it as -1 with its message.
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && typeof err.code !== 'number' ? err.message : '') });
    });
  });
}

async function mustIp(what: string, args: readonly string[]): Promise<string> {
  const r = await ip(args);
  if (r.code !== 0) throw new Error(`${what}: ip ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`);
  return r.stdout;
}

export const namespaceName = (pid: number): string => `${NAMESPACE_PREFIX}${pid}`;

/** Creates the namespace with `lo` up (the API double inside listens on its loopback). */
export async function createNamespace(name: string): Promise<void> {
  await mustIp(`creating network namespace ${name}`, ['netns', 'add', name]);
  try {
    await mustIp(`in ${name}`, ['-n', name, 'link', 'set', 'lo', 'up']);
  } catch (err) {
    await deleteNamespace(name);
    throw err;
  }
}

/** Deletes the namespace; an absent one is fine. Returns false when it is still there afterwards. */
export async function deleteNamespace(name: string): Promise<boolean> {
  await ip(['netns', 'delete', name]);
  return !(await listNamespaces()).includes(name);
}

export async function listNamespaces(): Promise<string[]> {
  const r = await ip(['netns', 'list']);
  if (r.code !== 0) return [];
  // Lines look like "rw-demo-4242 (id: 3)" or just "rw-demo-4242".
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Deletes demo namespaces whose demo process is gone (a demo killed with
 * SIGKILL cannot clean up after itself). Returns the names removed.
 */
export async function sweepStaleNamespaces(): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await listNamespaces()) {
    const m = new RegExp(`^${NAMESPACE_PREFIX}(\\d+)$`).exec(name);
    if (!m || alive(Number(m[1]))) continue;
    if (await deleteNamespace(name)) removed.push(name);
  }
  return removed;
}

/**
 * An interface for VIP routes, up. A dummy link where the kernel has the
 * driver, else an ifb link (some CI kernels are built without dummy): both are
 * plain devices that routes can point at.
 */
export async function addLink(ns: string, name: string): Promise<void> {
  const dummy = await ip(['-n', ns, 'link', 'add', name, 'type', 'dummy']);
  if (dummy.code !== 0) {
    if (!/unknown device type|not supported/i.test(dummy.stderr)) throw new Error(`adding interface ${name} in ${ns}: ${dummy.stderr.trim()}`);
    await mustIp(`adding interface ${name} in ${ns}`, ['-n', ns, 'link', 'add', name, 'type', 'ifb']);
  }
  await setLinkUp(ns, name, true);
}

export async function setLinkUp(ns: string, name: string, up: boolean): Promise<void> {
  await mustIp(`setting ${name} ${up ? 'up' : 'down'} in ${ns}`, ['-n', ns, 'link', 'set', 'dev', name, up ? 'up' : 'down']);
}
