// What `npm run build` puts in the bundle and what it leaves out
// (scripts/build.ts): built into a temporary folder and read back through
// its source map. Running the bundle is tested elsewhere: the packed package
// (package.test.ts) and the image against the API double (image-install.test.ts).

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, UNDICI_LEFT_OUT } from '../../scripts/build.ts';
import { ROOT } from './manifests.ts';

describe('the bundle', () => {
  let dir: string;
  let sources: string[];
  let text: string;
  let entry: string;

  beforeAll(async () => {
    // Inside the checkout (.tmp/, which git ignores): the bundle finds the
    // packages it leaves outside (pino, netlink) in node_modules above it.
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    dir = mkdtempSync(join(ROOT, '.tmp', 'bundle-test-'));
    const out = await buildBundle(dir);
    entry = out;
    text = readFileSync(out, 'utf8');
    sources = (JSON.parse(readFileSync(`${out}.map`, 'utf8')) as { sources: string[] }).sources;
  }, 120_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("carries client-node's KubeConfig, not its generated API classes", () => {
    // The sources as client-node's own source maps name them (src/*.ts).
    expect(sources.some((s) => /@kubernetes\/client-node\/(src|dist)\/config\.(ts|js)$/.test(s))).toBe(true);
    expect(sources.filter((s) => /@kubernetes\/client-node\/(src|dist)\/gen\/(apis|models)\//.test(s))).toEqual([]);
  });

  it('leaves undici out: no file of it is bundled, its names resolve to the module that refuses', () => {
    expect(sources.filter((s) => /node_modules\/undici\//.test(s))).toEqual([]);
    expect(sources).toContain('undici-left-out:undici');
    expect(text).toContain("is not in routewarden's bundle");
  });

  it('the module undici resolves to fails loudly when reached, never quietly', async () => {
    const stub = (await import(`data:text/javascript,${encodeURIComponent(UNDICI_LEFT_OUT)}`)) as {
      Agent: new () => unknown;
      ProxyAgent: new () => unknown;
      fetch: () => Promise<unknown>;
    };
    expect(() => new stub.Agent()).toThrow(/undici\.Agent is not in routewarden's bundle/);
    expect(() => new stub.ProxyAgent()).toThrow(/undici\.ProxyAgent is not in routewarden's bundle/);
    await expect(stub.fetch()).rejects.toThrow(/undici\.fetch is not in routewarden's bundle/);
  });

  it("imports node:http through require(): loading the bundle does not load Node's own undici and web streams", () => {
    // Node's ES facade of node:http reads its lazy WebSocket, CloseEvent and
    // MessageEvent exports, which load internal/deps/undici/undici.
    expect(text).not.toMatch(/from\s*"(node:)?http"/);
    const probe = join(dir, 'probe.cjs');
    writeFileSync(
      probe,
      "process.on('exit', () => process.stderr.write('builtins: ' + process.moduleLoadList.filter((m) => /undici|webstreams/.test(m)).join(',') + '\\n'));",
    );
    const r = spawnSync(process.execPath, ['--require', probe, entry, '--version'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('builtins: \n');
  });
});
