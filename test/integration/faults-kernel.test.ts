// Kernel-side faults, end to end: the real CLI in a network namespace against
// the API double, as a user runs it. Each test asserts what the user sees:
// the process still running (or its exit code), /metrics, Events, the table.
// docs/reliability.md ("Kernel notifications", "Repair safety") says what
// each promises. SIGKILL in the middle of a flush-rebuild is in
// repair.test.ts; a kernel that stops answering netlink, and one whose dump
// cannot be decoded, are in faults-kube.test.ts ("health when the kernel
// fails").

import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { endpointSlice, service } from '../../tools/apidouble/index.ts';
import type { KubeObject } from '../../tools/apidouble/index.ts';
import { describeIfRoot, killAndWait } from '../helpers/netns.ts';
import { CLI, eventually, monitorDeletions, resetWorld, sample, useWorld } from '../helpers/world.ts';
import type { World } from '../helpers/world.ts';

const BURST = fileURLToPath(new URL('../helpers/route-burst.ts', import.meta.url));

/** Owned routes of table 198, IPv4, as destinations. */
async function owned(w: World): Promise<string[]> {
  const out = await w.ip('-j route show table 198 proto 248').catch(() => '[]');
  return (JSON.parse(out || '[]') as { dst: string }[]).map((r) => r.dst).sort();
}

function addService(w: World, name: string, ip: string): void {
  w.api.upsert(service({ name, ingressIPs: [ip] }));
  w.api.upsert(endpointSlice({ service: name, addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.5'], nodeName: 'worker-2' }] }));
}

/** Collects a child's stderr (routewarden's log) and watches for an exit. */
function watch(child: ChildProcess): { log: () => string; exited: () => string | null } {
  let log = '';
  let exit: string | null = null;
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.once('exit', (code, signal) => (exit = `exit ${code} signal ${signal}`));
  return { log: () => log, exited: () => exit };
}

async function metrics(w: World, port: number): Promise<string> {
  return (await w.get(port, '/metrics')).body;
}

const events = (w: World, reason: string): string[] =>
  (w.api.list('Event') as (KubeObject & { reason?: string; message?: string })[]).filter((e) => e.reason === reason).map((e) => e.message ?? '');

describeIfRoot('kernel notifications under a burst', () => {
  const world = useWorld();
  let w: World;
  let child: ChildProcess | null = null;
  beforeEach(async () => {
    w = world();
    await resetWorld(w, ['Service', 'EndpointSlice', 'Event']);
    addService(w, 'web', '10.0.0.6');
    await w.ip('route add 10.0.0.6/32 dev lo table 198 proto 248');
  });
  afterEach(async () => {
    if (child) await killAndWait(child);
    child = null;
  });

  // --interval 1h: between start and the end of the test no periodic check
  // runs, so the view can only follow the table through notifications and
  // the re-reads their loss triggers.
  it.each([
    ['the default buffer (4 MiB asked; capped by net.core.rmem_max)', [] as string[], 19811],
    ['a 212,992-byte buffer, the common rmem_max', ['--notification-buffer', '212992'], 19812],
  ])('a 20,001-change burst with %s: the process survives, the view is right afterwards, and later changes are still seen', async (_name, extra, port) => {
    child = w.spawnCli(['run', '--listen', `127.0.0.1:${port}`, '--interval', '1h', '--kube-vip-config', 'off', ...extra]);
    const proc = watch(child);
    await eventually(async () => (await w.get(port, '/readyz')).status === 200, 'readiness');
    expect(sample(await metrics(w, port), 'routewarden_orphan_routes', 'family="ipv4"')).toBe(0);

    const burstStarted = Date.now();
    const burst = w.ns.spawnNode(BURST, ['10000', '10.51.0.1']);
    let out = '';
    burst.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => burst.once('exit', r));
    expect(code, out).toBe(0);
    const result = JSON.parse(out) as { changes: number; ms: number; errors: number };
    expect(result).toMatchObject({ changes: 20_001, errors: 0 });
    console.log(`burst: ${result.changes} changes in ${result.ms} ms (${extra.join(' ') || 'default buffer'})`);

    // The table now holds the VIP and one orphan; the view must say so.
    expect(await owned(w)).toEqual(['10.0.0.6', '10.51.0.1']);
    const burstEnded = Date.now();
    await eventually(async () => sample(await metrics(w, port), 'routewarden_orphan_routes', 'family="ipv4"') === 1, 'the orphan left by the burst to be seen');
    // Figures for docs/reliability.md, not assertions.
    console.log(`view right ${Date.now() - burstEnded} ms after the burst ended (${Date.now() - burstStarted} ms after it began)`);
    expect(proc.exited(), proc.log()).toBeNull();
    const lost = sample(await metrics(w, port), 'routewarden_kernel_notifications_lost_total');
    console.log(`notifications lost: ${lost} (${extra.join(' ') || 'default buffer'})`);
    if (extra.length > 0) {
      // 20,001 notifications cannot fit in ~425 KiB: the loss is detected and counted, and said once per loss.
      expect(lost).toBeGreaterThan(0);
      expect(proc.log()).toContain('kernel notifications lost; re-reading the whole table');
    } else {
      expect(lost).toBeGreaterThanOrEqual(0);
    }
    expect(proc.log()).not.toContain('terminate called');

    // The socket still listens: one more change, seen without a periodic check.
    await w.ip('route add 10.51.0.2/32 dev lo table 198 proto 248');
    // This wait has timed out in some full-suite runs on a loaded machine (not
    // reproduced alone): say what the process logged when it does.
    await eventually(
      async () => sample(await metrics(w, port), 'routewarden_orphan_routes', 'family="ipv4"') === 2,
      'a change after the burst to be seen',
    ).catch(async (err: Error) => {
      const seen = (await metrics(w, port).catch((e: Error) => `GET /metrics failed: ${e.message}`))
        .split('\n')
        .filter((l) => /^routewarden_(check|orphan|kernel|source_up|last)/.test(l))
        .join('\n');
      throw new Error(`${err.message}; /metrics said:\n${seen}\nthe table holds ${(await owned(w)).join(' ')}; the process logged:\n${proc.log()}`);
    });
    expect(proc.exited(), proc.log()).toBeNull();
  });
});

describeIfRoot('repair safety', () => {
  const world = useWorld();
  let w: World;
  const children: ChildProcess[] = [];
  beforeEach(async () => {
    w = world();
    await resetWorld(w, ['Service', 'EndpointSlice', 'Event']);
    for (const fam of ['-4']) await w.ip(`${fam} route flush table 198 proto 4`).catch(() => '');
  });
  afterEach(async () => {
    for (const c of children.splice(0)) await killAndWait(c);
  });

  it('flush-rebuild next to a foreign route at an in-sync VIP: the VIP is never withdrawn, the orphan goes, the foreign route stays', async () => {
    addService(w, 'web', '10.0.0.6');
    addService(w, 'api', '10.0.0.7');
    await w.ip('route add 10.0.0.6/32 dev lo table 198 proto 248'); // in sync
    await w.ip('route add 10.0.0.6/32 dev lo table 198 proto 4 metric 100'); // foreign, same destination
    await w.ip('route add 10.0.0.5/32 dev lo table 198 proto 248'); // orphan
    const mon = monitorDeletions(w);
    await mon.ready;
    const r = await w.cli(['check', '--remediate', '--strategy', 'flush-rebuild', '--kube-vip-config', 'off']);
    await eventually(() => mon.deleted().includes('10.0.0.5'), 'the orphan deletion to show');
    await mon.stop();
    expect(r.code, r.stderr).toBe(0);
    expect(mon.deleted()).not.toContain('10.0.0.6');
    expect(await owned(w)).toEqual(['10.0.0.6', '10.0.0.7']);
    expect(await w.ip('route show table 198 proto 4')).toContain('10.0.0.6 dev lo scope link metric 100');
  });

  it("drift no repair can fix (a foreign route holds a missing VIP's destination): blocked as no_progress, never a flush of the healthy routes", async () => {
    addService(w, 'web', '10.0.0.6');
    addService(w, 'api', '10.0.0.7');
    await w.ip('route add 10.0.0.7/32 dev lo table 198 proto 248'); // in sync
    await w.ip('route add 10.0.0.6/32 dev lo table 198 proto 4'); // foreign, where web's VIP should be
    const mon = monitorDeletions(w);
    await mon.ready;
    const port = 19821;
    const child = w.spawnCli([
      'run',
      '--listen',
      `127.0.0.1:${port}`,
      '--interval',
      '1s',
      '--remediate',
      '--strategy',
      'flush-rebuild',
      '--grace',
      '0s',
      '--min-repair-interval',
      '0s',
      '--kube-vip-config',
      'off',
    ]);
    children.push(child);
    const proc = watch(child);
    await eventually(
      async () => sample(await metrics(w, port), 'routewarden_remediation_blocked_total', 'reason="no_progress"') >= 3,
      'three no_progress refusals',
    );
    const m = await metrics(w, port);
    expect(sample(m, 'routewarden_remediations_total', 'strategy="flush-rebuild",result="success"')).toBe(0);
    expect(sample(m, 'routewarden_remediations_total', 'strategy="flush-rebuild",result="failure"')).toBe(0);
    expect(sample(m, 'routewarden_remediated_routes_total', 'action="delete"')).toBe(0);
    await mon.stop();
    expect(mon.deleted()).toEqual([]);
    expect(await owned(w)).toEqual(['10.0.0.7']);
    // One Event says why, not one per check.
    const why = () => events(w, 'RepairBlocked').filter((e) => e.includes('no repair can change this drift'));
    await eventually(() => why().length > 0, 'the RepairBlocked Event');
    expect(why()).toHaveLength(1);
    expect(why()[0]).toContain('10.0.0.6/32 (destination taken by a route of another protocol (never touched))');
    expect(proc.exited(), proc.log()).toBeNull();
  });

  it('a competing writer re-adding a route after every repair: flapping is detected, repair stops fighting, one Event', async () => {
    addService(w, 'web', '10.0.0.6');
    await w.ip('route add 10.0.0.6/32 dev lo table 198 proto 248');
    const port = 19822;
    const child = w.spawnCli([
      'run',
      '--listen',
      `127.0.0.1:${port}`,
      '--interval',
      '1s',
      '--remediate',
      '--grace',
      '0s',
      '--min-repair-interval',
      '0s',
      '--kube-vip-config',
      'off',
    ]);
    children.push(child);
    const proc = watch(child);
    await eventually(async () => (await w.get(port, '/readyz')).status === 200, 'readiness');
    // The writer puts 10.3.0.1 back after every repair, once that repair has
    // been read back (its count moved): a writer that raced the read-back
    // would make that repair "no progress" and hold the next one back for a
    // minute, which on a loaded machine made this test time out.
    const repairsIn = (m: string): number =>
      sample(m, 'routewarden_remediations_total', 'strategy="flush-rebuild",result="success"') +
      sample(m, 'routewarden_remediations_total', 'strategy="flush-rebuild",result="failure"');
    let writing = true;
    let readds = 0;
    const writer = (async () => {
      await w.ip('route add 10.3.0.1/32 dev lo table 198 proto 248');
      let seen = 0;
      while (writing) {
        const done = repairsIn(await metrics(w, port));
        if (done > seen && !(await owned(w)).includes('10.3.0.1')) {
          await w.ip('route add 10.3.0.1/32 dev lo table 198 proto 248');
          seen = done;
          readds++;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const writerStarted = Date.now();
    try {
      await eventually(
        async () => sample(await metrics(w, port), 'routewarden_remediation_blocked_total', 'reason="flapping"') >= 3,
        'repairs blocked as flapping',
      );
    } finally {
      writing = false;
      await writer;
    }
    const m = await metrics(w, port);
    console.log(`flapping detected within ${Date.now() - writerStarted} ms of the writer starting`);
    expect(sample(m, 'routewarden_flapping_routes')).toBe(1);
    // Five repairs of 10.3.0.1 make it flapping; each was undone once.
    const repairs = repairsIn(m);
    expect(repairs).toBe(5);
    expect(readds).toBe(5);
    // The route stays where the writer put it, the VIP where it was; repair has stopped.
    await eventually(async () => sample(await metrics(w, port), 'routewarden_remediation_blocked_total', 'reason="flapping"') >= 6, 'more flapping refusals');
    expect(repairsIn(await metrics(w, port))).toBe(repairs);
    expect(await owned(w)).toEqual(['10.0.0.6', '10.3.0.1']);
    const flappingEvents = events(w, 'RepairBlocked').filter((e) => e.includes('flapping'));
    expect(flappingEvents).toHaveLength(1);
    expect(flappingEvents[0]).toContain('10.3.0.1/32');
    expect(events(w, 'RoutesRepaired').length).toBe(repairs);
    expect(proc.exited(), proc.log()).toBeNull();
  });

  it('run --remediate without CAP_NET_ADMIN: one line at start, routewarden_repair_capable 0, refused as not_permitted, one Event', async () => {
    addService(w, 'web', '10.0.0.6');
    await w.ip('route add 10.0.0.5/32 dev lo table 198 proto 248'); // orphan
    const port = 19823;
    const child = w.ns.spawn(
      [
        'setpriv',
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        CLI,
        'run',
        '--remediate',
        '--kubeconfig',
        w.kubeconfig,
        '--node-name',
        'worker-1',
        '--listen',
        `127.0.0.1:${port}`,
        '--interval',
        '1s',
        '--grace',
        '0s',
        '--min-repair-interval',
        '0s',
        '--kube-vip-config',
        'off',
      ],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: w.dir } },
    );
    children.push(child);
    const proc = watch(child);
    await eventually(
      async () => sample(await metrics(w, port), 'routewarden_remediation_blocked_total', 'reason="not_permitted"') >= 4,
      'not_permitted refusals',
    );
    const m = await metrics(w, port);
    expect(sample(m, 'routewarden_repair_capable')).toBe(0);
    expect(sample(m, 'routewarden_remediations_total', 'strategy="flush-rebuild",result="failure"')).toBe(0);
    expect(
      proc
        .log()
        .split('\n')
        .filter((l) => l.includes('--remediate without CAP_NET_ADMIN')),
    ).toHaveLength(1);
    expect(events(w, 'RepairBlocked').filter((e) => e.includes('CAP_NET_ADMIN'))).toHaveLength(1);
    expect(events(w, 'RoutesRepaired')).toHaveLength(0);
    expect(await owned(w)).toEqual(['10.0.0.5']);
    expect(proc.exited(), proc.log()).toBeNull();
  });

  it.each(['254', '255'])('--remediate on table %s without --allow-system-table: one line, exit 2, nothing changed', async (table) => {
    await w.ip(`route add 10.0.0.5/32 dev lo table ${table} proto 248`);
    const before = await w.ip(`route show table ${table}`);
    for (const command of ['check', 'run']) {
      const r = await w.cli([command, '--table', table, '--remediate', '--kube-vip-config', 'off']);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toEqual([
        `routewarden: refusing --remediate on table ${table} (${table === '254' ? 'main' : 'local'}), one of the kernel's own tables: repairs there change the host's routes; add --allow-system-table to allow it`,
      ]);
    }
    expect(await w.ip(`route show table ${table}`)).toBe(before);
    await w.ip(`route del 10.0.0.5/32 dev lo table ${table} proto 248`);
  });
});
