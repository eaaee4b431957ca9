// Running `routewarden demo` as a user does: `node bin/routewarden.js demo ...`
// in a child process, reading what it prints, optionally on a pseudo-terminal
// (util-linux `script`) so that --step and Ctrl-C behave as at a keyboard.

import { PATIENCE_MS } from '../helpers/patience.ts';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/routewarden.js', import.meta.url));

export interface DemoProcess {
  readonly child: ChildProcess;
  /** Everything printed so far (stdout and stderr, in arrival order). */
  output(): string;
  /** Resolves with the first match of `re` in the output, or rejects after `timeoutMs` with the output so far. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Bytes to the process's input (on a pty: keystrokes). */
  type(text: string): void;
}

const sh = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

export const hasScript = (): boolean => existsSync('/usr/bin/script');

export function startDemo(args: readonly string[], opts: { pty?: boolean; env?: NodeJS.ProcessEnv; detached?: boolean } = {}): DemoProcess {
  const argv = [process.execPath, BIN, 'demo', ...args];
  const env = { ...process.env, NO_COLOR: '1', ...opts.env };
  // script -q (no banner) -e (its exit code is the command's) -f (flush) -c <command>: the demo gets a TTY.
  // script runs the command through $SHELL -c. `exec` makes the demo the pty's
  // foreground process itself: dash (Debian's /bin/sh, what CI's root shell
  // may be) would otherwise stay in between, die of the Ctrl-C and make
  // script report 130 whatever the demo returned; at a real terminal the
  // interactive shell survives Ctrl-C and reports the demo's own status.
  const child = opts.pty
    ? spawn('script', ['-qefc', `exec ${argv.map(sh).join(' ')}`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'], detached: opts.detached ?? false })
    : spawn(argv[0]!, argv.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'], detached: opts.detached ?? false });
  let out = '';
  const watchers = new Set<() => void>();
  const onData = (d: Buffer): void => {
    out += d.toString();
    for (const w of [...watchers]) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      for (const w of [...watchers]) w();
      resolve({ code, signal });
    });
  });
  return {
    child,
    output: () => out,
    exited,
    type: (text) => void child.stdin!.write(text),
    waitFor(re, timeoutMs = PATIENCE_MS) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = re.exec(out);
          if (m) {
            done();
            resolve(m);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`demo exited (${child.exitCode ?? child.signalCode}) before printing ${re}:\n${out}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`demo did not print ${re} within ${timeoutMs} ms:\n${out}`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          watchers.delete(check);
        };
        watchers.add(check);
        check();
      });
    },
  };
}

/** The exit of a demo, or a failure with its output when it takes longer than `timeoutMs`. */
export async function finished(demo: DemoProcess, timeoutMs = 2 * PATIENCE_MS): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      demo.child.kill('SIGKILL');
      reject(new Error(`demo did not finish within ${timeoutMs} ms:\n${demo.output()}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([demo.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The port of the status page URL the demo printed. */
export async function printedPort(demo: DemoProcess): Promise<number> {
  const m = await demo.waitFor(/status page\s+http:\/\/127\.0\.0\.1:(\d+)\//);
  return Number(m[1]);
}

/** True when nothing accepts connections on 127.0.0.1:port. */
export function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

export function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

/** Processes running inside a namespace (`ip netns pids`). */
export function pidsIn(ns: string): number[] {
  try {
    return execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map(Number);
  } catch {
    return [];
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function getText(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

/**
 * `routewarden demo <args>` told to listen where it cannot: on a loopback port
 * another server holds (EADDRINUSE) and on an address this host does not have
 * (EADDRNOTAVAIL). Each run's exit code and whole output, in that order.
 */
export async function demoOnUnbindable(args: readonly string[]): Promise<{ listen: string; code: number | null; output: string }[]> {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const runs = [];
  try {
    for (const listen of [`127.0.0.1:${(busy.address() as AddressInfo).port}`, '192.0.2.1:9798']) {
      const demo = startDemo([...args, '--listen', listen]);
      const { code } = await finished(demo);
      runs.push({ listen, code, output: demo.output() });
    }
  } finally {
    busy.close();
  }
  return runs;
}

/** The one line a demo that cannot listen prints: `<what>listening on <listen>: listen <errno>: …`. */
export const cannotListen = (listen: string, errno: string, what = ''): RegExp =>
  new RegExp(`^routewarden: ${what}listening on ${listen.replaceAll('.', '\\.')}: listen ${errno}: [^\\n]*\\n$`);
