// The layers of docs/architecture.md, as .dependency-cruiser.cjs states them:
// the tree keeps them, the committed graph is the one the tool draws, and
// each rule does catch the import it forbids (a rule that matches nothing
// would pass any tree), shown on a small tree of fixtures built here.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ARCHITECTURE_DOC,
  cruiseWith,
  folderEdges,
  mermaid,
  PIPELINE,
  PIPELINE_MARKERS,
  pipelineEdges,
  pipelineMermaid,
  withGraph,
} from '../../scripts/gen-graph.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

type Cruise = Awaited<ReturnType<typeof cruiseWith>>;
/** `rule: from -> to`, a package by its name (wherever node_modules really is). */
const violations = (r: Cruise): string[] =>
  [
    ...new Set(r.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+).*$/, 'node_modules/$1')}`)),
  ].sort();

describe('the layers of src/ and tools/', () => {
  it('break none of the rules of .dependency-cruiser.cjs', async () => {
    const r = await cruiseWith(['src', 'tools']);
    expect(violations(r)).toEqual([]);
    // The cruise found the tree (a wrong path would find nothing and break nothing).
    expect(r.summary.totalCruised).toBeGreaterThan(60);
    expect(r.modules.some((m) => m.source === 'src/core/report.ts')).toBe(true);
  });

  it('docs/architecture.md shows the graph dependency-cruiser finds (npm run gen:graph)', async () => {
    const doc = readFileSync(ARCHITECTURE_DOC, 'utf8');
    const edges = await folderEdges();
    expect(doc, 'the graph is stale: run npm run gen:graph').toBe(withGraph(doc, mermaid(edges)));
    // The one import of tools/ from src/ is the CLI's dynamic demo import.
    expect(edges.filter((e) => e.from.startsWith('src/') && e.to.startsWith('tools/'))).toEqual([{ from: 'src/cli', to: 'tools/demo', dynamic: true }]);
  });

  it('the core reads as a pipeline: each stage imports only earlier stages, and docs/architecture.md shows it (npm run gen:graph)', async () => {
    const edges = await pipelineEdges();
    const back = edges.filter((e) => PIPELINE.indexOf(e.to as never) >= PIPELINE.indexOf(e.from as never));
    expect(back, 'a stage imports a later one').toEqual([]);
    const doc = readFileSync(ARCHITECTURE_DOC, 'utf8');
    expect(doc, 'the pipeline graph is stale: run npm run gen:graph').toBe(withGraph(doc, pipelineMermaid(edges), PIPELINE_MARKERS));
  });
});

describe('each rule catches what it forbids (a fixture tree)', () => {
  let dir: string;
  /** path -> source; every import below is either allowed or a violation listed in the test. */
  const FILES: Record<string, string> = {
    // Allowed: the layering as it should be.
    'src/core/t.ts': 'export type T = number;\nexport const t = 1;',
    'src/core/u.ts': "import { t } from './t.ts';\nexport const u = t;",
    'src/kernel/x.ts': "import { hostname } from 'node:os';\nimport { t } from '../core/t.ts';\nexport const x = hostname() + t;",
    'src/kubevip/y.ts': "import type { T } from '../core/t.ts';\nexport const y: T = 2;",
    'src/app/ports.ts': "import type { T } from '../core/t.ts';\nexport interface P { seen(t: T): void }",
    'src/app/k.ts': "import { y } from '../kubevip/y.ts';\nexport const k = y;",
    'src/app/checker.ts': 'export const checker = 3;',
    'src/surface/o.ts': "import type { P } from '../app/ports.ts';\nexport const o: P = { seen() {} };",
    'src/package-root.ts': 'export const root = "/";',
    'src/version.ts': "import { root } from './package-root.ts';\nexport const version = root;",
    'src/cli/main.ts': [
      "import { k } from '../app/k.ts';",
      "import { o } from '../surface/o.ts';",
      "import { x } from '../kernel/x.ts';",
      "import { version } from '../version.ts';",
      'export const main = [k, o, x, version];',
    ].join('\n'),
    'src/cli/demo.ts': [
      "export const demo = async () => (await import('../../tools/demo/demo.ts')).run;",
      // Violations: a static import of the demo, and a dynamic import of another tool.
      "import { run } from '../../tools/demo/demo.ts';",
      "export const other = async () => (await import('../../tools/apidouble/i.ts')).api;",
      'export const r = run;',
    ].join('\n'),
    'tools/apidouble/i.ts': 'export const api = 4;',
    'tools/demo/demo.ts': "import { main } from '../../src/cli/main.ts';\nimport { api } from '../apidouble/i.ts';\nexport const run = [main, api];",

    // Violations, one or two rules each.
    'src/core/io.ts': "import { readFileSync } from 'node:fs';\nexport const io = readFileSync;",
    'src/core/up.ts': "import { o } from '../surface/o.ts';\nexport const up = o;",
    'src/core/c1.ts': "import { c2 } from './c2.ts';\nexport const c1 = () => c2();",
    'src/core/c2.ts': "import { c1 } from './c1.ts';\nexport const c2 = () => c1();",
    'src/kernel/app.ts': "import type { P } from '../app/ports.ts';\nexport type Q = P;",
    'src/kubevip/kernel.ts': "import { x } from '../kernel/x.ts';\nexport const v = x;",
    'src/kube/cli.ts': "import { main } from '../cli/main.ts';\nexport const c = main;",
    'src/app/config.ts': "import type { main } from '../cli/main.ts';\nexport type M = typeof main;",
    'src/app/metrics.ts': "import { o } from '../surface/o.ts';\nexport const m = o;",
    'src/app/adapter.ts': "import { x } from '../kernel/x.ts';\nexport const a = x;",
    'src/surface/checker.ts': "import { checker } from '../app/checker.ts';\nexport const s = checker;",
    'src/surface/version.ts': "import { version } from '../version.ts';\nexport const v = version;",
    'src/surface/tool.ts': "import { api } from '../../tools/apidouble/i.ts';\nexport const s = api;",
    'src/cli/tool.ts': "import { api } from '../../tools/apidouble/i.ts';\nexport const s = api;",
    'src/cli/missing.ts': "import { gone } from './gone.ts';\nexport const m = gone;",
    'src/cli/dev.ts': "import { describe } from 'vitest';\nexport const d = describe;",
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'routewarden-layers-'));
    for (const [path, text] of Object.entries(FILES)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), `${text}\n`);
    }
    // package.json tells production from development dependencies.
    writeFileSync(join(dir, 'package.json'), readFileSync(join(ROOT, 'package.json')));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds exactly the forbidden imports, by the rule that forbids each', async () => {
    const r = await cruiseWith(['src', 'tools'], {}, dir);
    expect(violations(r)).toEqual([
      'adapters-only-core: src/kernel/app.ts -> src/app/ports.ts',
      'adapters-only-core: src/kube/cli.ts -> src/cli/main.ts',
      'adapters-only-core: src/kubevip/kernel.ts -> src/kernel/x.ts',
      'app-owns-its-ports: src/app/adapter.ts -> src/kernel/x.ts',
      'app-owns-its-ports: src/app/config.ts -> src/cli/main.ts',
      'app-owns-its-ports: src/app/metrics.ts -> src/surface/o.ts',
      'core-is-pure: src/core/io.ts -> fs',
      'core-is-pure: src/core/up.ts -> src/surface/o.ts',
      'no-circular: src/core/c1.ts -> src/core/c2.ts',
      'not-to-dev-dep: src/cli/dev.ts -> node_modules/vitest',
      'not-to-unresolvable: src/cli/missing.ts -> ./gone.ts',
      'nothing-imports-cli: src/app/config.ts -> src/cli/main.ts',
      'nothing-imports-cli: src/kube/cli.ts -> src/cli/main.ts',
      'root-modules-for-cli: src/surface/version.ts -> src/version.ts',
      'src-not-tools-but-dynamically: src/cli/demo.ts -> tools/demo/demo.ts',
      'src-not-tools-but-the-demo: src/cli/demo.ts -> tools/apidouble/i.ts',
      'src-not-tools: src/cli/tool.ts -> tools/apidouble/i.ts',
      'src-not-tools: src/surface/tool.ts -> tools/apidouble/i.ts',
      'surface-implements-ports: src/surface/checker.ts -> src/app/checker.ts',
      'surface-implements-ports: src/surface/tool.ts -> tools/apidouble/i.ts',
      'surface-implements-ports: src/surface/version.ts -> src/version.ts',
    ]);
    // Every rule of the configuration is shown to catch something.
    const rules = (await import(join(ROOT, '.dependency-cruiser.cjs'))) as { default: { forbidden: { name: string }[] } };
    const caught = new Set(r.summary.violations.map((v) => v.rule.name));
    expect(rules.default.forbidden.map((f) => f.name).filter((n) => !caught.has(n))).toEqual([]);
  });
});
