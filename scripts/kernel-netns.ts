// For scripts that set up routes with `ip`: run the script's body inside a
// network namespace of its own, never in the host's. The script calls
// inOwnNetns(import.meta.url, body); the outer run creates `rwscript-<pid>`,
// re-executes the script inside it and deletes it afterwards. The inner run
// checks it really is inside that namespace before doing anything.

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const INSIDE = 'RW_SCRIPT_NETNS';

export async function inOwnNetns(scriptUrl: string, body: () => Promise<void>): Promise<void> {
  const expected = process.env[INSIDE];
  if (expected) {
    const actual = execFileSync('ip', ['netns', 'identify', String(process.pid)], { encoding: 'utf8' }).trim();
    if (actual !== expected) throw new Error(`refusing to run: not inside network namespace ${expected}`);
    execFileSync('ip', ['link', 'set', 'lo', 'up']);
    return body();
  }
  const ns = `rwscript-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['netns', 'exec', ns, process.execPath, fileURLToPath(scriptUrl), ...process.argv.slice(2)], {
      env: { ...process.env, [INSIDE]: ns },
      stdio: 'inherit',
    });
  } catch (err) {
    // The inner run has said what went wrong (stderr is shared): pass its exit code on, without a second report.
    const status = (err as { status?: number | null }).status;
    if (typeof status !== 'number') throw err;
    process.exitCode = status;
  } finally {
    execFileSync('ip', ['netns', 'delete', ns]);
  }
}
