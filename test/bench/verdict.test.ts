// The benchmark's verdict comparison (bench/churn.ts): the running process's
// /drift against a one-shot `routewarden check`. It must see a difference in
// any part of the verdict and ignore only when the report was made.

import { describe, expect, it } from 'vitest';
import { compareReports, verdictProblems, type ReportJson, type Verdict } from '../../bench/churn.ts';

const report = (over: Partial<ReportJson> & { checkedAt?: string } = {}): ReportJson & { checkedAt: string } => ({
  checkedAt: '2026-12-02T21:00:00.000Z',
  inSync: false,
  sources: { kernel: 'ok', kubernetes: 'ok' },
  counts: { expected: 2, kernel: 2, orphan: 1, missing: 1, foreign: 0, transient: 0, limitation: 0, unjudged: 0 },
  orphans: [{ destination: '10.200.0.1/32', family: 'ipv4', device: 'lo', reason: 'no-service', class: 'drift', services: [] } as never],
  missing: [{ destination: '10.64.0.9/32', family: 'ipv4', device: 'lo', reason: 'not-in-kernel', class: 'drift', services: ['default/a'] } as never],
  unjudged: [],
  routes: [
    { destination: '10.64.0.9/32', verdict: 'missing' },
    { destination: '10.200.0.1/32', verdict: 'orphan' },
  ],
  ...over,
});

describe('compareReports', () => {
  it('equal verdicts made at different times => no difference, whatever the row order', () => {
    const a = report();
    const b = report({ checkedAt: '2026-12-02T21:00:05.000Z', routes: [...a.routes!].reverse() } as never);
    expect(compareReports(a, b)).toEqual([]);
  });

  it.each([
    ['a count', { counts: { ...report().counts, orphan: 2 } }, /^counts: running/],
    [
      'an orphan row',
      { orphans: [{ destination: '10.200.0.2/32', family: 'ipv4', device: 'lo', reason: 'no-service', class: 'drift', services: [] } as never] },
      /^orphans: 1 rows only in the running report .*10\.200\.0\.2.*1 only in the from-scratch one/,
    ],
    ['a missing row field', { missing: [{ ...(report().missing[0] as object), reason: 'wrong-device' } as never] }, /^missing: 1 rows only/],
    ['an unjudged row', { unjudged: [{ address: 'a.example', reason: 'hostname' }] }, /^unjudged: 1 rows only in the running report/],
    [
      "a route's verdict",
      {
        routes: [
          { destination: '10.64.0.9/32', verdict: 'ok' },
          { destination: '10.200.0.1/32', verdict: 'orphan' },
        ],
      },
      /^routes: 1 rows only/,
    ],
    ['inSync', { inSync: true }, /^inSync: running true \/ from scratch false$/],
  ])('%s differs => reported', (_what, over, line) => {
    const differences = compareReports(report(over as Partial<ReportJson>), report());
    expect(differences).toHaveLength(1);
    expect(differences[0]).toMatch(line);
  });
});

describe('verdictProblems', () => {
  const ok: Verdict = { equal: true, differences: [], plantedSeen: true, settled: true, running: {}, scratch: {}, checkMs: 1 };
  it('passes only when equal, settled and the planted drift is seen', () => {
    expect(verdictProblems(ok)).toEqual([]);
    expect(verdictProblems({ ...ok, equal: false, differences: ['counts: x'] })).toEqual(['counts: x']);
    expect(verdictProblems({ ...ok, settled: false })).toEqual(['the running process never showed the planted drift on /metrics (60 s)']);
    expect(verdictProblems({ ...ok, plantedSeen: false })).toEqual(['the from-scratch check does not show the planted drift']);
  });
});
