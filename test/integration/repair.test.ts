// Repair end to end: the real CLI in a network namespace against the API
// double. What the table holds afterwards is read with `ip`, and what happened
// during a repair with `ip monitor route` — an independent observer.

import { beforeEach, expect, it } from 'vitest';
import { endpointSlice, service } from '../../tools/apidouble/index.ts';
import type { KubeObject } from '../../tools/apidouble/index.ts';
import { describeIfRoot, killAndWait } from '../helpers/netns.ts';
import { eventually, monitorDeletions, resetWorld, sample, useWorld } from '../helpers/world.ts';
import type { World } from '../helpers/world.ts';

/** Owned routes of table 198 as "dst dev" lines, both families, sorted. */
async function ownedRoutes(w: World): Promise<string[]> {
  const lines: string[] = [];
  for (const fam of ['-4', '-6']) {
    const out = await w.ip(`${fam} -j route show table 198 proto 248`).catch(() => '[]');
    for (const r of JSON.parse(out || '[]') as { dst: string; dev: string }[]) {
      const dst = r.dst.includes('/') ? r.dst : `${r.dst}/${fam === '-4' ? 32 : 128}`;
      lines.push(`${dst} ${r.dev}`);
    }
  }
  return lines.sort();
}

async function foreignRoutes(w: World): Promise<string> {
  return (await w.ip('route show table 198 proto 4').catch(() => '')) + (await w.ip('-6 route show table 198 proto 4').catch(() => ''));
}

function seedCluster(w: World): void {
  // After the #762 story: web has moved to new IPs, while the table still holds the old ones.
  w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.6', 'fd00::6'] }));
  w.api.upsert(service({ name: 'api', ingressIPs: ['10.0.0.7'] }));
  for (const s of ['web', 'api']) {
    w.api.upsert(endpointSlice({ service: s, addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.5'], nodeName: 'worker-2' }] }));
  }
  w.api.upsert(endpointSlice({ service: 'web', addressType: 'IPv6', endpoints: [{ addresses: ['fd00:244::5'], nodeName: 'worker-2' }] }));
}

async function seedKernel(w: World): Promise<void> {
  await w.ip('route add 10.0.0.5/32 dev lo table 198 proto 248'); // orphan (old IP of web)
  await w.ip('-6 route add fd00::5/128 dev lo table 198 proto 248'); // orphan
  await w.ip('route add 10.0.0.7/32 dev lo table 198 proto 248'); // expected and present
  await w.ip('route add 10.9.0.1/32 dev lo table 198 proto 4'); // foreign
  await w.ip('-6 route add fd00:9::1/128 dev lo table 198 proto 4'); // foreign
}

const EXPECTED_AFTER = ['10.0.0.6/32 lo', '10.0.0.7/32 lo', 'fd00::6/128 lo'];

describeIfRoot('check --remediate', () => {
  const world = useWorld();
  let w: World;
  beforeEach(async () => {
    w = world();
    await resetWorld(w, ['Service', 'EndpointSlice', 'Event']);
  });

  it.each(['flush-rebuild', 'surgical'])(
    '%s repairs the seed story: the table ends exactly with the expected routes, foreign routes untouched',
    async (strategy) => {
      seedCluster(w);
      await seedKernel(w);
      const foreignBefore = await foreignRoutes(w);
      const r = await w.cli(['check', '--remediate', '--strategy', strategy, '--output', 'json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).inSync).toBe(true);
      expect(await ownedRoutes(w)).toEqual(EXPECTED_AFTER);
      expect(await foreignRoutes(w)).toBe(foreignBefore);
      // kube-vip's exact attributes on what was added: unicast, scope global, no metric (IPv4), no src/via/realm.
      const detail = await w.ip('-d route show table 198 10.0.0.6/32');
      expect(detail).toMatch(/^unicast 10\.0\.0\.6 dev lo proto 248 scope global\s*$/m);
      const events = w.api.list('Event') as (KubeObject & { reason?: string; message?: string; involvedObject?: { kind: string; name: string } })[];
      const repaired = events.find((e) => e.reason === 'RoutesRepaired');
      expect(repaired?.involvedObject).toMatchObject({ kind: 'Node', name: 'worker-1' });
      expect(repaired?.message).toContain(strategy);
      expect(repaired?.message).toContain('10.0.0.6/32');
    },
  );

  it('surgical never removes an expected route during the repair; flush-rebuild does, by design', async () => {
    for (const strategy of ['surgical', 'flush-rebuild']) {
      await resetWorld(w, []);
      seedCluster(w);
      await seedKernel(w);
      const mon = monitorDeletions(w);
      await mon.ready;
      const r = await w.cli(['check', '--remediate', '--strategy', strategy]);
      expect(r.code, r.stderr).toBe(0);
      // Let the monitor drain what the kernel already sent.
      await eventually(() => mon.deleted().includes('10.0.0.5'), 'the orphan deletion to show');
      const deletedExpected = mon.deleted().filter((d) => d === '10.0.0.7');
      await mon.stop();
      if (strategy === 'surgical') expect(deletedExpected).toEqual([]);
      else expect(deletedExpected).toEqual(['10.0.0.7']);
    }
  });

  it('--dry-run changes nothing and exits 1 while drift remains', async () => {
    seedCluster(w);
    await seedKernel(w);
    const before = await ownedRoutes(w);
    const r = await w.cli(['check', '--remediate', '--dry-run', '--log-level', 'info']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('dry run: repair plan (nothing changed)');
    // JSON logs (the default) name their level.
    const planned = r.stderr
      .split('\n')
      .filter((l) => l.includes('dry run: repair plan'))
      .map((l) => JSON.parse(l) as { level: unknown });
    expect(planned.map((l) => l.level)).toEqual(['info']);
    expect(await ownedRoutes(w)).toEqual(before);
  });

  it('--log-format text logs the same dry run as logfmt lines', async () => {
    seedCluster(w);
    await seedKernel(w);
    const r = await w.cli(['check', '--remediate', '--dry-run', '--log-level', 'info', '--log-format', 'text']);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^time=\S+ level=(trace|debug|info|warn|error|fatal) name=routewarden( |$)/);
    expect(lines.filter((l) => l.includes('msg="dry run: repair plan (nothing changed)"'))).toHaveLength(1);
  });

  it('an empty expected set never empties the table, unless --allow-empty', async () => {
    await w.ip('route add 10.0.0.5/32 dev lo table 198 proto 248');
    const blocked = await w.cli(['check', '--remediate']);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain('"guard":"empty_expected_set"');
    expect(await ownedRoutes(w)).toEqual(['10.0.0.5/32 lo']);
    const events = w.api.list('Event') as (KubeObject & { reason?: string; message?: string })[];
    expect(events.find((e) => e.reason === 'RepairBlocked')?.message).toContain('refusing to empty the table');

    const allowed = await w.cli(['check', '--remediate', '--allow-empty']);
    expect(allowed.code).toBe(0);
    expect(await ownedRoutes(w)).toEqual([]);
  });

  it('--max-deletions refuses a repair that would delete more routes', async () => {
    seedCluster(w);
    await seedKernel(w);
    const blocked = await w.cli(['check', '--remediate', '--max-deletions', '1']);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain('"guard":"max_deletions"');
    expect(await ownedRoutes(w)).toContain('10.0.0.5/32 lo');
    const ok = await w.cli(['check', '--remediate', '--max-deletions', '2']);
    expect(ok.code).toBe(0);
  });

  it('an unreachable API blocks repair: exit 2 and the table untouched', async () => {
    seedCluster(w);
    await seedKernel(w);
    const before = await ownedRoutes(w);
    await w.api.outage(true);
    try {
      const r = await w.cli(['check', '--remediate', '--allow-empty']);
      expect(r.code).toBe(2);
    } finally {
      await w.api.outage(false);
    }
    expect(await ownedRoutes(w)).toEqual(before);
  });

  it('without CAP_NET_ADMIN the repair is refused with a clear line and no stack trace', async () => {
    seedCluster(w);
    await seedKernel(w);
    const before = await ownedRoutes(w);
    const r = await w.ns.exec([
      'setpriv',
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      process.execPath,
      new URL('../../bin/routewarden.js', import.meta.url).pathname,
      'check',
      '--remediate',
      '--kubeconfig',
      w.kubeconfig,
      '--node-name',
      'worker-1',
    ]);
    expect(r.stderr).not.toContain('kubeconfig');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--remediate without CAP_NET_ADMIN');
    expect(r.stderr).toContain('"guard":"not_permitted"');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(await ownedRoutes(w)).toEqual(before);
  });

  it('SIGKILL in the middle of a flush-rebuild of 1,000 routes: the next run restores the full expected set', async () => {
    const expected: string[] = [];
    const batch: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const ip = `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;
      w.api.upsert(service({ name: `svc-${i}`, ingressIPs: [ip] }));
      w.api.upsert(endpointSlice({ service: `svc-${i}`, addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.5'], nodeName: 'worker-2' }] }));
      expected.push(`${ip}/32 lo`);
      batch.push(`route add ${ip}/32 dev lo table 198 proto 248 scope global`);
    }
    // Stale routes behind the expected ones in the kernel's (sorted) dump
    // order: the flush deletes the 1,000 expected routes first and is still
    // busy with these when the kill lands, so the crash leaves the table
    // without its expected routes — the worst moment for a flush to die.
    for (let i = 0; i < 30_000; i++) batch.push(`route add 10.200.${Math.floor(i / 250)}.${(i % 250) + 1}/32 dev lo table 198 proto 248 scope global`);
    await w.ns.ipBatch(batch);
    const mon = monitorDeletions(w);
    await mon.ready;
    const child = w.spawnCli(['check', '--remediate', '--strategy', 'flush-rebuild', '--max-deletions', '100000']);
    await eventually(() => mon.deleted().length > 0, 'the flush to start deleting');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await mon.stop();
    const broken = await ownedRoutes(w);
    const present = new Set(broken);
    // Mid-flush: expected routes are gone and stale ones remain.
    expect(expected.filter((r) => present.has(r)).length).toBeLessThan(1000);
    expect(broken.length).toBeGreaterThan(0);

    const again = await w.cli(['check', '--remediate', '--strategy', 'flush-rebuild', '--max-deletions', '100000'], { timeoutMs: 120_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(await ownedRoutes(w)).toEqual(expected.sort());
  });
});

describeIfRoot('run --remediate', () => {
  const world = useWorld();
  let w: World;
  beforeEach(() => {
    w = world();
  });

  it('waits out the grace period, then repairs, and counts what it did', async () => {
    seedCluster(w);
    await seedKernel(w);
    const child = w.spawnCli([
      'run',
      '--listen',
      '127.0.0.1:19801',
      '--interval',
      '1s',
      '--remediate',
      '--strategy',
      'surgical',
      '--grace',
      '3s',
      '--min-repair-interval',
      '1s',
    ]);
    try {
      const metrics = async () => (await w.get(19801, '/metrics')).body;
      await eventually(async () => sample(await metrics(), 'routewarden_remediation_blocked_total', 'reason="grace_period"') >= 1, 'a grace-period block');
      expect(await ownedRoutes(w)).toContain('10.0.0.5/32 lo');
      await eventually(
        async () => sample(await metrics(), 'routewarden_remediations_total', 'strategy="surgical",result="success"') === 1,
        'a successful repair',
      );
      expect(await ownedRoutes(w)).toEqual(EXPECTED_AFTER);
      const m = await metrics();
      expect(sample(m, 'routewarden_remediated_routes_total', 'action="add"')).toBe(2);
      expect(sample(m, 'routewarden_remediated_routes_total', 'action="delete"')).toBe(2);
    } finally {
      await killAndWait(child);
    }
  });

  it('a second writer playing kube-vip: never deletes a route expected at that moment, and never repairs in a loop', async () => {
    await resetWorld(w, []);
    seedCluster(w);
    await w.ip('route add 10.0.0.6/32 dev lo table 198 proto 248');
    await w.ip('-6 route add fd00::6/128 dev lo table 198 proto 248');
    await w.ip('route add 10.0.0.7/32 dev lo table 198 proto 248');
    const mon = monitorDeletions(w);
    await mon.ready;
    const child = w.spawnCli([
      'run',
      '--listen',
      '127.0.0.1:19802',
      '--interval',
      '1s',
      '--remediate',
      '--strategy',
      'surgical',
      '--grace',
      '0s',
      '--min-repair-interval',
      '2s',
    ]);
    const started = Date.now();
    try {
      await eventually(async () => (await w.get(19802, '/readyz')).status === 200, 'readiness');
      // The writer adds stray routes and takes them back, as a confused kube-vip would.
      for (let i = 0; i < 20; i++) {
        await w.ip(`route add 10.3.0.${i + 1}/32 dev lo table 198 proto 248`).catch(() => '');
        await new Promise((r) => setTimeout(r, 150));
        await w.ip(`route del 10.3.0.${i + 1}/32 dev lo table 198 proto 248`).catch(() => '');
      }
      const elapsed = (Date.now() - started) / 1000;
      const m = (await w.get(19802, '/metrics')).body;
      const repairs = ['success', 'failure'].reduce(
        (n, result) => n + sample(m, 'routewarden_remediations_total', `strategy="surgical",result="${result}"`),
        0,
      );
      // Bounded by --min-repair-interval: at most one repair per 2 s.
      expect(repairs).toBeLessThanOrEqual(Math.ceil(elapsed / 2) + 1);
      expect(sample(m, 'routewarden_remediation_blocked_total', 'reason="rate_limited"') + repairs).toBeGreaterThan(0);
    } finally {
      await killAndWait(child);
      await mon.stop();
    }
    const expectedDestinations = ['10.0.0.6', '10.0.0.7', 'fd00::6'];
    expect(mon.deleted().filter((d) => expectedDestinations.includes(d))).toEqual([]);
    expect(await ownedRoutes(w)).toEqual(EXPECTED_AFTER);
  });
});
