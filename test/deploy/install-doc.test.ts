// docs/install.md stays true: every variable and flag it names exists, its
// kube-vip table agrees with the generated reference in docs/configuration.md
// (both ways), and its example overlay renders to what it claims.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { envName, OPTIONS } from '../../src/cli/options.ts';
import { envOf, findKubectl, parseYaml, render, ROOT, routewardenContainer, validateObject, type KubeObject } from './manifests.ts';

const doc = readFileSync(join(ROOT, 'docs', 'install.md'), 'utf8');
const flags = new Set(OPTIONS.map((o) => o.flag));
const envs = new Set(OPTIONS.map((o) => envName(o.flag)));

/** Rows of the markdown table whose header starts with `first`. */
function tableRows(text: string, first: string): string[][] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`| ${first} |`));
  if (start < 0) return [];
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return rows;
}

const ticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

describe('docs/install.md', () => {
  it('names only ROUTEWARDEN_* variables that exist', () => {
    const named = new Set([...doc.matchAll(/\bROUTEWARDEN_[A-Z0-9_]+/g)].map((m) => m[0]));
    expect(named.size).toBeGreaterThan(0);
    expect([...named].filter((n) => !envs.has(n))).toEqual([]);
  });

  it('names only routewarden flags that exist', () => {
    const inTicks = [...doc.matchAll(/`(--[a-z][a-z-]*)(?:=[^`\s]*)?`/g)].map((m) => m[1]!.slice(2));
    const inCommands = [...doc.matchAll(/routewarden (?:run|check|demo)((?: --?[\w=-]+)+)/g)].flatMap((m) =>
      [...m[1]!.matchAll(/--([a-z][a-z-]*)/g)].map((f) => f[1]!),
    );
    expect(inTicks.length + inCommands.length).toBeGreaterThan(0);
    expect([...new Set([...inTicks, ...inCommands])].filter((f) => !flags.has(f))).toEqual([]);
  });

  const installRows = tableRows(doc, 'kube-vip setting');
  const referenceRows = tableRows(readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8'), 'flag');
  /** flag => kube-vip settings, from the generated reference. */
  const reference = new Map(referenceRows.filter((r) => r[4] !== '').map((r) => [ticked(r[0]!)[0]!.slice(2), ticked(r[4]!)[0]!.split(/\s*\/\s*/)] as const));

  it('pairs each kube-vip setting with the flag and variable the reference pairs it with', () => {
    expect(installRows.length).toBeGreaterThan(0);
    expect(reference.size).toBeGreaterThan(0);
    for (const row of installRows) {
      const settings = ticked(row[0]!);
      const flag = ticked(row[2]!)[0]!.slice(2);
      expect(reference.get(flag), `--${flag}`).toEqual(settings);
      const variable = ticked(row[1]!)[0]!;
      // The node name arrives as NODE_NAME from the downward API.
      expect(variable === envName(flag) || (flag === 'node-name' && variable === 'NODE_NAME'), `${variable} for --${flag}`).toBe(true);
    }
  });

  it('lists every flag that mirrors a kube-vip setting', () => {
    const listed = new Set(installRows.map((r) => ticked(r[2]!)[0]!.slice(2)));
    expect([...reference.keys()].filter((f) => !listed.has(f))).toEqual([]);
  });

  const kubectl = findKubectl();
  it.skipIf(kubectl === null)('its example overlay renders, with and without the ServiceMonitor', async () => {
    const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const example = blocks.find((b) => b.startsWith('# my-routewarden/kustomization.yaml'));
    const noMonitor = blocks.find((b) => b.includes('$patch: delete'));
    expect(example).toBeDefined();
    expect(noMonitor).toBeDefined();
    const work = mkdtempSync(join(tmpdir(), 'routewarden-doc-'));
    try {
      // The layout the guide describes: a routewarden checkout next to your overlay.
      symlinkSync(ROOT, join(work, 'routewarden'), 'dir');
      const dir = join(work, 'my-routewarden');
      mkdirSync(dir);
      const [k] = parseYaml(example!, 'install.md example') as { images: { newName: string; newTag: string }[]; patches: unknown[] }[];
      writeFileSync(join(dir, 'kustomization.yaml'), example!);
      const objects = render(kubectl!, dir);
      for (const o of objects) expect(await validateObject(o)).toEqual([]);
      const c = routewardenContainer(objects);
      expect(c.image).toBe(`${k!.images[0]!.newName}:${k!.images[0]!.newTag}`);
      expect(envOf(c).ROUTEWARDEN_ELECTION).toBe('service');
      expect(objects.some((o) => o.kind === 'ServiceMonitor')).toBe(true);

      const [extra] = parseYaml(noMonitor!, 'install.md ServiceMonitor patch') as { patches: unknown[] }[];
      writeFileSync(join(dir, 'kustomization.yaml'), stringify({ ...k, patches: [...k!.patches, ...extra!.patches] }));
      const without: KubeObject[] = render(kubectl!, dir);
      expect(without.map((o) => o.kind)).toEqual(objects.map((o) => o.kind).filter((kind) => kind !== 'ServiceMonitor'));
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
