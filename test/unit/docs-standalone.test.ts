// The repository stands alone: no file cites notes that live outside it, and
// every `docs/kube-vip-routing.md §N` a file cites is a section of that file.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f !== '' && !f.endsWith('package-lock.json') && /\.(ts|md|ya?ml|json|sh)$|Dockerfile$/.test(f));
const read = (f: string): string => {
  try {
    return readFileSync(root + f, 'utf8');
  } catch {
    return ''; // deleted in the working tree
  }
};

// Built from parts so that this file does not match itself.
const outside = [
  new RegExp(['shared', 'docs'].join('/')),
  new RegExp(['design', 'md §'].join('\\.')),
  new RegExp(['kube-vip-routing-table', 'md'].join('\\.')),
  new RegExp(['kube-vip-config', 'md'].join('\\.')),
  new RegExp(['\\b[Ss]pec', '§'].join(' ')),
  new RegExp(['\\bspec', 'E\\d'].join(' ')),
];

describe('the repository stands alone', () => {
  it('no file cites documents outside the repository', () => {
    const hits = files.flatMap((f) =>
      read(f)
        .split('\n')
        .flatMap((line, i) => (outside.some((re) => re.test(line)) ? [`${f}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(hits).toEqual([]);
  });

  it('every cited section of kube-vip-routing.md exists', () => {
    const doc = read('docs/kube-vip-routing.md');
    const sections = new Set([...doc.matchAll(/^#{2,3} (\d+(?:\.\d+)?)\. /gm)].map((m) => m[1]));
    const cited = new Set<string>();
    for (const f of files) {
      for (const m of read(f).matchAll(/kube-vip-routing\.md`?\)?(?:\]\([^)]*\))? (§[\d.§,–\- ]+)/g)) {
        for (const n of (m[1] ?? '').matchAll(/\d+(?:\.\d+)?/g)) cited.add(n[0]);
      }
    }
    expect(cited.size).toBeGreaterThan(10);
    expect([...cited].filter((n) => !sections.has(n) && !sections.has(n.split('.')[0]))).toEqual([]);
  });
});
