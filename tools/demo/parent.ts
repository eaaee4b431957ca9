// Namespace mode, the parent's half. netlink talks to the network namespace
// of the process that opens the socket, and a Node process cannot move itself
// into another one, so the demo creates a throw-away namespace and runs its
// own second half inside it (`ip netns exec <ns> node routewarden.js demo
// --inside-netns <ns> ...`). That child runs the simulated cluster, the
// kube-vip player and routewarden's service, which serves HTTP on a Unix
// socket; the parent relays --listen on the host to that socket, so the URLs
// the demo prints work from the host. On exit, whatever the cause, the parent
// ends the child, stops relaying and deletes the namespace.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../src/cli/config.ts';
import { camel } from '../../src/cli/options.ts';
import { relayTcpToUnix } from './forwarder.ts';
import type { TcpToUnixRelay } from './forwarder.ts';
import { PACKAGE_ROOT } from '../../src/package-root.ts';
import { baseUrl } from './http.ts';
import { createNamespace, deleteNamespace, namespaceName, sweepStaleNamespaces } from './netns.ts';
import type { DemoOptions } from './options.ts';
import { exitCodeForSignal, onTermination } from './terminal.ts';

const BIN = join(PACKAGE_ROOT, 'bin', 'routewarden.js');
/** How long the child gets to stop by itself before it is killed. */
const CHILD_STOP_GRACE_MS = 10_000;

export type NamespaceAttempt = { readonly ran: true; readonly code: number } | { readonly ran: false; readonly why: string };

/** The child's command line: the same demo, told where it runs, with the user's own flags. */
function childArgs(o: DemoOptions, ns: string, socketPath: string, publicUrl: string): string[] {
  const args = ['demo', '--inside-netns', ns, '--http-socket', socketPath, '--public-url', publicUrl, '--scenario', o.scenario];
  if (o.step) args.push('--step');
  for (const flag of ['table', 'protocol', 'interval', 'log-level'] as const) {
    const value = o.flags[camel(flag)];
    if (typeof value === 'string') args.push(`--${flag}`, value);
  }
  return args;
}

function waitForExit(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      // A child that could not be started emits 'error' and maybe never 'exit'.
      child.once('error', () => resolve({ code: child.exitCode ?? 1, signal: null }));
    }
  });
}

/**
 * Runs the demo inside a new namespace. Returns ran: false (and creates
 * nothing) when no namespace can be made, so the caller can fall back to the
 * in-memory table.
 */
export async function runInNamespace(o: DemoOptions, config: Config, say: (line: string) => void): Promise<NamespaceAttempt> {
  const swept = await sweepStaleNamespaces();
  if (swept.length > 0) say(`removed network namespaces left by demos that were killed: ${swept.join(', ')}`);
  const ns = namespaceName(process.pid);
  try {
    await createNamespace(ns);
  } catch (err) {
    return { ran: false, why: `could not create a network namespace: ${(err as Error).message}` };
  }

  const dir = mkdtempSync(join(tmpdir(), 'rw-demo-'));
  let relay: TcpToUnixRelay | null = null;
  let child: ChildProcess | null = null;
  let stoppedBy: NodeJS.Signals | null = null;
  let killTimer: NodeJS.Timeout | null = null;
  const removeSignals = onTermination((signal) => {
    // Pass the very signal on, as an init process does: on Ctrl-C the terminal
    // signals the child too, and whichever copy it sees first says SIGINT;
    // a signal sent to this process alone reaches it only this way. A second
    // signal means "now".
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    if (stoppedBy) {
      child.kill('SIGKILL');
      return;
    }
    stoppedBy = signal;
    child.kill(signal);
    killTimer = setTimeout(() => child?.kill('SIGKILL'), CHILD_STOP_GRACE_MS);
  });

  try {
    const socketPath = join(dir, 'http.sock');
    relay = await relayTcpToUnix({ host: config.listen.host ?? '::', port: config.listen.port }, socketPath);
    const publicUrl = baseUrl(config.listen.host, relay.port);
    child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...process.execArgv, BIN, ...childArgs(o, ns, socketPath, publicUrl)], {
      // fd 3 is the child's lifeline: it closes when this process dies.
      stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
    });
    child.on('error', (err) => say(`starting the demo inside ${ns}: ${err.message}`));
    const { code, signal } = await waitForExit(child);
    // The child decides its own status (Ctrl-C after the last step is a normal
    // end); only a child that was killed takes it from the signal.
    if (code !== null) return { ran: true, code };
    return { ran: true, code: exitCodeForSignal(stoppedBy ?? signal ?? 'SIGKILL') };
  } finally {
    if (killTimer) clearTimeout(killTimer);
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await waitForExit(child);
    }
    child?.stdio[3]?.destroy();
    await relay?.close();
    // The namespace goes last: nothing of ours is left running inside it.
    if (!(await deleteNamespace(ns))) say(`could not delete network namespace ${ns}; remove it with: ip netns delete ${ns}`);
    rmSync(dir, { recursive: true, force: true });
    removeSignals();
  }
}
