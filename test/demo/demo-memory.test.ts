// `routewarden demo --memory` as a user runs it, without a terminal: both
// stories end to end on the in-memory kernel table, exit 0 in sync.

import { describe, expect, it } from 'vitest';
import { cannotListen, demoOnUnbindable, finished, portClosed, printedPort, startDemo } from './helpers.ts';

describe('routewarden demo --memory (no terminal)', () => {
  it('tells both stories straight through and exits 0 with the table in sync', async () => {
    const started = Date.now();
    const demo = startDemo(['--memory', '--listen', '127.0.0.1:0']);
    const port = await printedPort(demo);
    expect(port).toBeGreaterThan(0);
    const { code } = await finished(demo);
    const out = demo.output();
    expect(code, out).toBe(0);
    expect(out).toContain('kernel       in-memory kernel table (asked for with --memory)');

    // Story 1 (#762): the orphan and the missing route, as /drift and /metrics said them.
    expect(out).toMatch(/orphan\s+192\.0\.2\.10\/32 dev lo\s+reason no-service/);
    expect(out).toMatch(/missing\s+192\.0\.2\.20\/32 dev lo\s+reason not-in-kernel\s+services default\/web/);
    expect(out).toContain('routewarden_orphan_routes{family="ipv4"} 1');
    expect(out).toContain('routewarden_missing_routes{family="ipv4"} 1');
    expect(out).toMatch(
      /RoutesRepaired .*flush-rebuild repair of table 198: added 192\.0\.2\.11\/32, 192\.0\.2\.20\/32; deleted 192\.0\.2\.10\/32, 192\.0\.2\.11\/32/,
    );
    expect(out).toContain('routewarden_remediations_total{strategy="flush-rebuild",result="success"} 1');

    // Story 2: interface-down, then not-in-kernel, then a surgical repair that deletes nothing.
    expect(out).toMatch(/missing\s+2001:db8::30\/128 dev vips0\s+reason interface-down/);
    expect(out).toMatch(/missing\s+2001:db8::30\/128 dev vips0\s+reason not-in-kernel/);
    expect(out).toContain('routewarden_missing_routes{family="ipv6"} 1');
    expect(out).toMatch(/surgical repair of table 198: added 192\.0\.2\.30\/32, 2001:db8::30\/128; deleted none/);

    expect(out).toContain('The table is in sync.');
    expect(Date.now() - started).toBeLessThan(45_000);
    expect(await portClosed(port)).toBe(true);
  });

  it('--scenario seed-762 tells only the first story', async () => {
    const demo = startDemo(['--memory', '--listen', '127.0.0.1:0', '--scenario', 'seed-762']);
    const { code } = await finished(demo);
    expect(code, demo.output()).toBe(0);
    expect(demo.output()).toContain('Story 1 of 1: kube-vip issue #762');
    expect(demo.output()).not.toContain('vips0');
  });

  it('an unknown scenario is a one-line error and exit 2', async () => {
    const demo = startDemo(['--memory', '--scenario', 'nope']);
    const { code } = await finished(demo);
    expect(code).toBe(2);
    expect(demo.output()).toMatch(/^routewarden: .*'nope' is invalid\. Allowed choices are seed-762, dual-stack-bounce, all\.\n$/);
  });

  it.each([
    ['--memory', ''],
    ['--api-only', 'API double: '],
  ])('demo %s on a busy --listen port, or an address it may not bind: one line, exit 2, not a demo serving nothing', async (mode, what) => {
    const [busy, foreign] = await demoOnUnbindable([mode]);
    expect(busy!.code, busy!.output).toBe(2);
    expect(busy!.output).toMatch(cannotListen(busy!.listen, 'EADDRINUSE', what));
    expect(foreign!.code, foreign!.output).toBe(2);
    expect(foreign!.output).toMatch(cannotListen(foreign!.listen, 'EADDRNOTAVAIL', what));
  });

  it('SIGINT mid-story stops it, closes the port and exits 130', async () => {
    const demo = startDemo(['--memory', '--listen', '127.0.0.1:0']);
    const port = await printedPort(demo);
    // The first step is out; the story cannot end before a repair waits out its 2s grace.
    await demo.waitFor(/\[1\/6\]/);
    demo.child.kill('SIGINT');
    const { code } = await finished(demo, 15_000);
    expect(code, demo.output()).toBe(130);
    expect(demo.output()).toContain('Stopped (SIGINT); cleaning up.');
    expect(demo.output()).not.toContain('The table is in sync.');
    expect(await portClosed(port)).toBe(true);
  });
});
