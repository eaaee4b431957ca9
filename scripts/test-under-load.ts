// The test suite on a busy machine: `npm run test:under-load [-- --runs N]
// [--busy N] [vitest args]`. Starts one busy loop per core (another process
// keeping every core at 100%), then runs the whole suite N times in a row
// (3 by default), stopping at the first failure; exits 0 only when every run
// passed. A test that passes on a quiet machine and fails here depends on
// timing: its waits must be bounded by test/helpers/patience.ts, not by how
// fast the machine is. Hand-written: spawning a few processes needs no
// library.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';

const fail = (message: string): never => {
  process.stderr.write(`test:under-load: ${message}\n`);
  process.exit(2);
};

/** --runs and --busy (`--runs 3` or `--runs=3`); everything else goes to vitest. */
const own: Record<'runs' | 'busy', number> = { runs: 3, busy: availableParallelism() };
const vitestArgs: string[] = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const m = /^--(runs|busy)(?:=(.*))?$/.exec(argv[i]!);
  if (!m) {
    vitestArgs.push(argv[i]!);
    continue;
  }
  const name = m[1] as 'runs' | 'busy';
  const raw = m[2] ?? argv[++i];
  if (raw === undefined || !/^\d+$/.test(raw) || Number(raw) < 1) fail(`--${name} must be an integer of at least 1, got ${JSON.stringify(raw ?? null)}`);
  own[name] = Number(raw);
}
const { runs, busy } = own;

const loops: ChildProcess[] = [];
const stopLoops = (): void => {
  for (const l of loops) l.kill('SIGKILL');
};
process.on('exit', stopLoops);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    stopLoops();
    process.exit(130);
  });
for (let i = 0; i < busy; i++) loops.push(spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
process.stdout.write(`test:under-load: ${busy} busy loop(s), ${runs} run(s) of vitest ${vitestArgs.join(' ')}\n`);

const results: string[] = [];
let failed = false;
for (let run = 1; run <= runs && !failed; run++) {
  const started = Date.now();
  const r = spawnSync('npx', ['vitest', 'run', ...vitestArgs], { stdio: 'inherit' });
  const seconds = Math.round((Date.now() - started) / 1000);
  failed = r.status !== 0;
  results.push(`run ${run}: ${failed ? `FAILED (exit ${r.status ?? r.signal})` : 'passed'} in ${seconds} s`);
}
stopLoops();
process.stdout.write(`test:under-load: ${busy} busy loop(s)\n${results.map((l) => `  ${l}`).join('\n')}\n`);
process.exit(failed ? 1 : 0);
