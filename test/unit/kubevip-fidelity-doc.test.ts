// docs/kube-vip-fidelity.md stays true (practices.md habit 9): a row for every
// case E1–E28 of docs/kube-vip-routing.md §8, and every test it cites exists.

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const doc = readFileSync(root('docs/kube-vip-fidelity.md'), 'utf8');
const tests = ['test/unit', 'test/integration', 'test/conformance']
  .flatMap((d) =>
    readdirSync(root(d))
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => readFileSync(root(`${d}/${f}`), 'utf8')),
  )
  .join('\n')
  .replaceAll("\\'", "'");

/** The quoted test names of the last cell of a table row. */
function citedTests(row: string): string[] {
  const cells = row
    .split(/(?<!\\)\|/)
    .map((c) => c.trim())
    .filter((c) => c !== '');
  const last = (cells.at(-1) ?? '').replaceAll('\\"', '\u0000');
  return [...last.matchAll(/"([^"]+)"/g)].map((m) => m[1]!.replaceAll('\u0000', '"'));
}

const rows = doc.split('\n').filter((l) => /^\| E\d+ /.test(l));
/** Round two's divergence rows (D1–D9 of issue #12, F1–F8 found walking kube-vip's code). */
const divergences = doc.split('\n').filter((l) => /^\| [DF]\d+ /.test(l));
/** kube-vip's config file (C1–C7). */
const configFileRows = doc.split('\n').filter((l) => /^\| C\d+ /.test(l));

describe('docs/kube-vip-fidelity.md', () => {
  it('has one conformance row per case E1–E28', () => {
    expect(rows.map((r) => /^\| (E\d+)/.exec(r)![1])).toEqual(Array.from({ length: 28 }, (_, i) => `E${i + 1}`));
  });

  it.each(rows.map((r) => [/^\| (E\d+)/.exec(r)![1]!, r] as const))('%s cites tests that exist', (_id, row) => {
    const names = citedTests(row);
    expect(names.length).toBeGreaterThan(0);
    const missing = names.filter(
      (n) =>
        !n
          .split('…')
          .map((p) => p.trim())
          .filter((p) => p !== '')
          .every((p) => tests.includes(p) || tests.includes(p.replaceAll('"', '\\"'))),
    );
    expect(missing).toEqual([]);
  });

  it('has a row for each divergence D1–D9 and F1–F8', () => {
    expect(divergences.map((r) => /^\| ([DF]\d+)/.exec(r)![1])).toEqual([
      ...Array.from({ length: 9 }, (_, i) => `D${i + 1}`),
      ...Array.from({ length: 8 }, (_, i) => `F${i + 1}`),
    ]);
  });

  it('has the config-file rows C1–C7', () => {
    expect(configFileRows.map((r) => /^\| (C\d+)/.exec(r)![1])).toEqual(Array.from({ length: 7 }, (_, i) => `C${i + 1}`));
  });

  it.each([...divergences, ...configFileRows].map((r) => [/^\| ([CDF]\d+)/.exec(r)![1]!, r] as const))('%s cites tests that exist', (_id, row) => {
    const names = citedTests(row);
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((n) => !(tests.includes(n) || tests.includes(n.replaceAll('"', '\\"'))))).toEqual([]);
  });
});
