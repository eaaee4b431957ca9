// `routewarden demo` as root: the real kernel in a throw-away network
// namespace, routewarden's service inside it, its HTTP relayed to the host.
// What must hold whatever happens: the namespace, the processes in it and the
// port are gone when the demo is.

import { PATIENCE_MS } from '../helpers/patience.ts';
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeIfRoot } from '../helpers/netns.ts';
import type { Report } from '../../src/core/report.ts';
import { alive, cannotListen, demoOnUnbindable, finished, getText, hasScript, namespaces, pidsIn, portClosed, printedPort, startDemo } from './helpers.ts';

/** The namespace the demo says it runs in. */
async function namespaceOf(demo: ReturnType<typeof startDemo>): Promise<string> {
  const m = await demo.waitFor(/throw-away network namespace (rw-demo-\d+)/);
  return m[1]!;
}

describeIfRoot('routewarden demo in a network namespace (root)', () => {
  it('a demo killed with SIGKILL: its child stops by itself, and the next demo removes the namespace, tells both stories on the real kernel, exits 0 in sync and leaves nothing', async () => {
    // SIGKILL cannot be caught: the parent cleans nothing up. The child in the
    // namespace notices that its lifeline closed; the namespace stays behind.
    const killed = startDemo(['--listen', '127.0.0.1:0']);
    const stale = await namespaceOf(killed);
    await killed.waitFor(/\[1\/6\]/);
    const orphaned = pidsIn(stale);
    expect(orphaned.length).toBeGreaterThan(0);
    // The parent's private directory for the HTTP socket, from the child's command line.
    const cmdline = readFileSync(`/proc/${orphaned[0]}/cmdline`, 'utf8').split('\0');
    const socketDir = dirname(cmdline[cmdline.indexOf('--http-socket') + 1]!);
    expect(existsSync(socketDir)).toBe(true);
    killed.child.kill('SIGKILL');
    await finished(killed, 10_000);
    await expect.poll(() => orphaned.filter(alive), { timeout: PATIENCE_MS }).toEqual([]);
    expect(namespaces()).toContain(stale);
    // The child, last to leave, removed the socket and the directory.
    expect(existsSync(socketDir)).toBe(false);

    const demo = startDemo(['--listen', '127.0.0.1:0']);
    const ns = await namespaceOf(demo);
    const port = await printedPort(demo);
    const { code } = await finished(demo);
    const out = demo.output();
    expect(code, out).toBe(0);
    expect(out).toContain(`removed network namespaces left by demos that were killed: ${stale}`);
    // The kernel's own account of table 198, not routewarden's.
    expect(out).toMatch(new RegExp(`ip route show table 198  \\(in ${ns}\\)\\n\\s+192\\.0\\.2\\.10 dev lo proto 248\\n\\s+192\\.0\\.2\\.11 dev lo proto 248`));
    expect(out).toMatch(/2001:db8::30 dev vips0 proto 248 metric 1024/);
    expect(out).toMatch(/missing\s+2001:db8::30\/128 dev vips0\s+reason interface-down/);
    expect(out).toContain('The table is in sync.');

    expect(namespaces()).not.toContain(ns);
    expect(namespaces()).not.toContain(stale);
    expect(await portClosed(port)).toBe(true);
  });

  describe.skipIf(!hasScript())('Ctrl-C at a terminal', () => {
    it('with --step, the printed URLs serve from the host while the demo waits; Ctrl-C removes namespace, processes and port', async () => {
      const demo = startDemo(['--step', '--listen', '127.0.0.1:0'], { pty: true });
      const ns = await namespaceOf(demo);
      const port = await printedPort(demo);
      await demo.waitFor(/Enter for the next step/);

      // Step 1 is done and the demo waits for Enter: the host reaches the service in the namespace.
      const drift = await getText(`http://127.0.0.1:${port}/drift`);
      expect(drift.status).toBe(200);
      const report = JSON.parse(drift.body) as Report;
      expect(report).toMatchObject({ node: 'demo-node', inSync: true, counts: { expected: 2, kernel: 2 } });
      const page = await getText(`http://127.0.0.1:${port}/`);
      expect(page.body).toContain('data-destination="192.0.2.10/32" data-verdict="ok"');
      expect((await getText(`http://127.0.0.1:${port}/metrics`)).body).toContain('routewarden_expected_routes{family="ipv4"} 2');
      const pids = pidsIn(ns);
      expect(pids.length).toBeGreaterThan(0);

      demo.type('\r');
      await demo.waitFor(/\[2\/6\] kube-vip crashes[\s\S]*Enter for the next step/);
      demo.type('\x03'); // Ctrl-C: the terminal signals every process of the demo
      const { code } = await finished(demo, 20_000);
      expect(code, demo.output()).toBe(130);
      expect(demo.output()).toContain('Stopped (SIGINT); cleaning up.');
      expect(namespaces()).not.toContain(ns);
      expect(pids.filter(alive)).toEqual([]);
      expect(await portClosed(port)).toBe(true);
    });
  });

  describe.skipIf(!hasScript())('the end of the demo at a terminal', () => {
    it('keeps serving the final state until Ctrl-C, which is then a normal exit (0)', async () => {
      const demo = startDemo(['--scenario', 'dual-stack-bounce', '--listen', '127.0.0.1:0'], { pty: true });
      const ns = await namespaceOf(demo);
      const port = await printedPort(demo);
      await demo.waitFor(/Look around; press Enter/);
      const report = JSON.parse((await getText(`http://127.0.0.1:${port}/drift`)).body) as Report;
      expect(report).toMatchObject({ inSync: true, counts: { expected: 3, kernel: 3, orphan: 0, missing: 0 } });
      demo.type('\x03');
      const { code } = await finished(demo, 20_000);
      expect(code, demo.output()).toBe(0);
      expect(namespaces()).not.toContain(ns);
      expect(await portClosed(port)).toBe(true);
    });
  });

  it('on a busy --listen port, or an address it may not bind: one line, exit 2, no namespace left behind', async () => {
    const before = namespaces().filter((n) => n.startsWith('rw-demo-'));
    const [busy, foreign] = await demoOnUnbindable([]);
    expect(busy!.code, busy!.output).toBe(2);
    expect(busy!.output).toMatch(cannotListen(busy!.listen, 'EADDRINUSE'));
    expect(foreign!.code, foreign!.output).toBe(2);
    expect(foreign!.output).toMatch(cannotListen(foreign!.listen, 'EADDRNOTAVAIL'));
    expect(namespaces().filter((n) => n.startsWith('rw-demo-'))).toEqual(before);
  });

  it('SIGTERM to the demo process alone (as a service manager sends it) stops the child in the namespace too', async () => {
    const demo = startDemo(['--listen', '127.0.0.1:0']);
    const ns = await namespaceOf(demo);
    const port = await printedPort(demo);
    await demo.waitFor(/\[1\/6\]/);
    const pids = pidsIn(ns);
    expect(pids.length).toBeGreaterThan(0);
    demo.child.kill('SIGTERM');
    const { code } = await finished(demo, 20_000);
    expect(code, demo.output()).toBe(143);
    expect(namespaces()).not.toContain(ns);
    expect(pids.filter(alive)).toEqual([]);
    expect(await portClosed(port)).toBe(true);
  });
});
