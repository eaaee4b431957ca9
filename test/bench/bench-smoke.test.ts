// The benchmark harness itself runs end to end at a tiny scale and produces a
// well-formed table. No timing is asserted: numbers are the benchmark's
// business (docs/performance.md), not a test's.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { describeIfRoot } from '../helpers/netns.ts';

const MAIN = fileURLToPath(new URL('../../bench/main.ts', import.meta.url));

interface Row {
  section: string;
  metric: string;
  value: number;
  goal: string;
  met: boolean | null;
}

describeIfRoot('npm run bench -- --quick --smoke', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rw-bench-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('measures every row at a tiny scale and prints the table', { timeout: 420_000 }, () => {
    const json = join(dir, 'results.json');
    const r = spawnSync(process.execPath, [MAIN, '--quick', '--smoke', '--no-docs', '--json', json], { encoding: 'utf8', timeout: 400_000 });
    expect(r.status, r.stderr).toBe(0);
    const { rows, info } = JSON.parse(readFileSync(json, 'utf8')) as { rows: Row[]; info: { command: string; machineAtStart: { cores: number } } };
    expect(info.command).toBe('npm run bench -- --quick --smoke --no-docs --json ' + json);
    expect(info.machineAtStart.cores).toBeGreaterThan(0);
    // Every measure of issues #8 and #14 is there, and every row has a value.
    const sections = new Set(rows.map((row) => row.section.slice(0, 2)));
    expect([...sections].sort()).toEqual(['1.', '2.', '3.', '4.', '5.', '6.', '7.', '8.', '9.']);
    for (const row of rows) expect(Number.isFinite(row.value), `${row.section} / ${row.metric}`).toBe(true);
    // The printed table has a line per row.
    for (const row of rows) expect(r.stdout).toContain(row.metric);
    expect(r.stdout).toMatch(/^metric\s+value\s+baseline\s+ratio\s+goal\s+met\?$/m);
    // The per-route series cap holds whatever the drift.
    const capped = rows.find((row) => row.metric.startsWith('drifted_route_info series') && row.goal.includes('capped'));
    expect(capped?.met).toBe(true);
    // The churn (section 8) and each scale of the curve (two tiny ones in section 9): the verdict
    // after the churn equals the one-shot check's, with the planted drift seen; every latency
    // probe was seen; CPU was counted over changes.
    const churns = [...new Set(rows.filter((row) => /^[89]\./.test(row.section)).map((row) => row.section))];
    expect(churns).toHaveLength(3);
    for (const section of churns) {
      const of = rows.filter((row) => row.section === section);
      const verdict = of.find((row) => row.metric.startsWith('verdict after the churn = from-scratch check'));
      expect(verdict, section).toMatchObject({ value: 0, met: true });
      expect(verdict!.metric).toMatch(/orphan [1-9]\d*, missing [1-9]/);
      expect(
        of.find((row) => row.metric === 'probe changes not seen within 10 s'),
        section,
      ).toMatchObject({ value: 0, met: true });
      for (const kind of ['Service change', 'route change']) {
        const median = of.find((row) => row.metric.startsWith(`${kind} → /metrics median`));
        expect(median?.metric, section).toMatch(/\(n=[1-9]\d*\)$/);
      }
      const cpu = of.find((row) => row.metric.startsWith('CPU of routewarden run'));
      expect(cpu?.metric, section).toMatch(/, [1-9]\d* changes in/);
      expect(cpu!.value).toBeGreaterThan(0);
    }
    // The cost-per-change table, one line per scale.
    expect(r.stdout).toMatch(/^\| 20 \| .* \| equal \|$/m);
    expect(r.stdout).toMatch(/^\| 60 \| .* \| equal \|$/m);
  });
});

describe('npm run bench with bad flags', () => {
  it.each([
    [['--services', 'abc'], '--services must be an integer of at least 1, got "abc"'],
    [['--reps', '0'], '--reps must be an integer of at least 1, got "0"'],
    [['--routes', '1.5'], '--routes must be an integer of at least 1, got "1.5"'],
    [['--churn-seconds', '-1'], "Option '--churn-seconds' argument is ambiguous."],
    [['--bogus'], "Unknown option '--bogus'"],
    [['--only', 'churn,bogus'], '--only takes a comma-separated list of kernel, worker, detection, scrape, churn, curve; got "bogus"'],
    [['--curve', '1000,5'], '--curve must be an integer of at least 10, got "5"'],
    [['--curve-churn-seconds', '0'], '--curve-churn-seconds must be an integer of at least 1, got "0"'],
  ])('%j: one line and exit 2, nothing started', (args, message) => {
    const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000 });
    expect({ status: r.status, stderr: r.stderr, stdout: r.stdout }).toEqual({ status: 2, stderr: `npm run bench: ${message}\n`, stdout: '' });
  });
});
