// Faults on the Kubernetes side and in the health endpoints, end to end: the
// real CLI in a network namespace against the API double, whose faults (an
// outage, a hung API, a watch silent after its headers, 410 Gone, a malformed
// object) are switched from here, and against a kernel that stops answering
// netlink or sends a dump the decoder cannot read (test/helpers/netlink-fault.ts,
// switched the same way). Every case asserts what a user sees: exit codes,
// /healthz and /readyz, /metrics, the report and the kernel table.
// docs/reliability.md states the promises these tests hold.

import { beforeEach, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { endpointSlice, service } from '../../tools/apidouble/index.ts';
import type { KubeObject } from '../../tools/apidouble/index.ts';
import type { Report } from '../../src/core/report.ts';
import { describeIfRoot, killAndWait } from '../helpers/netns.ts';
import { netlinkFault } from '../helpers/netlink-fault.ts';
import type { NetlinkFault } from '../helpers/netlink-fault.ts';
import { checkJson, eventually, resetWorld, sample, useWorld } from '../helpers/world.ts';
import type { World } from '../helpers/world.ts';

/** Owned routes of table 198 (IPv4) as destinations, sorted. */
async function owned(w: World): Promise<string[]> {
  const out = await w.ip('-j route show table 198 proto 248').catch(() => '[]');
  return (JSON.parse(out || '[]') as { dst: string }[]).map((r) => (r.dst.includes('/') ? r.dst : `${r.dst}/32`)).sort();
}

/** A Service with one IPv4 VIP and an endpoint elsewhere: kube-vip (election none) routes it on every node. */
function vip(w: World, name: string, ip: string): void {
  w.api.upsert(service({ name, ingressIPs: [ip] }));
  w.api.upsert(endpointSlice({ service: name, addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.5'], nodeName: 'worker-2' }] }));
}

const addRoute = (w: World, ip: string) => w.ip(`route add ${ip}/32 dev lo table 198 proto 248`);

/**
 * `run` in the namespace with its output collected; flags for fast tests (kube-vip discovery off unless asked).
 * ready() waits for /readyz 200; it fails at once when the process has exited, and either way says what it printed.
 */
function startRun(
  w: World,
  port: number,
  extra: readonly string[],
  env?: Record<string, string>,
): { child: ChildProcess; output: () => string; ready: () => Promise<void> } {
  const child = w.spawnCli(['run', '--listen', `127.0.0.1:${port}`, '--interval', '1s', ...extra], env ? { env } : undefined);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const ready = async (): Promise<void> => {
    const outcome = await eventually(async () => (exited() ? 'exited' : (await w.get(port, '/readyz')).status === 200 ? 'ready' : null), 'readiness').catch(
      (err: Error) => err.message,
    );
    if (outcome === 'ready') return;
    const why = outcome === 'exited' ? `routewarden exited (${child.exitCode ?? child.signalCode}) before it was ready` : outcome;
    throw new Error(`${why}; it printed:\n${output.slice(-8000)}`);
  };
  return { child, output: () => output, ready };
}

/** Figures for docs/reliability.md: printed, never asserted (timing depends on the machine). */
const measured = (what: string, since: number): void => console.log(`[measured] ${what}: ${((Date.now() - since) / 1000).toFixed(1)} s`);

const metricsOf = async (w: World, port: number): Promise<string> => (await w.get(port, '/metrics')).body;

describeIfRoot('faults in the Kubernetes view', () => {
  const world = useWorld();
  let w: World;
  beforeEach(async () => {
    w = world();
    await w.api.outage(false);
    w.api.silenceWatches('services', false);
    await resetWorld(w, ['Service', 'EndpointSlice', 'Event']);
  });

  it('a Services watch silent after its headers: re-listed, never repaired from; the legitimate VIP route of a Service it missed stays', async () => {
    vip(w, 'web', '10.0.0.6');
    await addRoute(w, '10.0.0.6');
    const port = 19811;
    const run = startRun(w, port, [
      '--kube-vip-config',
      'off',
      '--remediate',
      '--strategy',
      'surgical',
      '--grace',
      '1s',
      '--min-repair-interval',
      '1s',
      '--watch-idle-timeout',
      '6s',
    ]);
    try {
      await run.ready();
      const listsBefore = w.api.requests('LIST', 'services');
      w.api.silenceWatches('services', true);
      // The cut watch is replaced through a LIST; the watch after it hangs.
      await eventually(() => w.api.requests('LIST', 'services') > listsBefore, 'the re-list after the cut');
      await eventually(() => (w.api.stats().openWatches.services ?? 0) > 0, 'the silent watch to open');
      // A Service the view cannot see yet; kube-vip routes it at once.
      vip(w, 'api', '10.0.0.7');
      await addRoute(w, '10.0.0.7');
      const missed = Date.now();
      // routewarden sees an orphan it must not trust, and finds out by itself that the watch is dead.
      await eventually(() => run.output().includes('services watch is dead; re-listing'), 'the silent watch to be declared dead');
      measured('silent watch: missed Service created -> watch declared dead (--watch-idle-timeout 6s)', missed);
      const m = await metricsOf(w, port);
      expect(sample(m, 'routewarden_remediated_routes_total', 'action="delete"')).toBe(0);
      expect(
        sample(m, 'routewarden_remediation_blocked_total', 'reason="kube_view_unconfirmed"') +
          sample(m, 'routewarden_remediation_blocked_total', 'reason="kube_view_stale"'),
      ).toBeGreaterThan(0);
      // The re-list saw the Service: in sync, nothing deleted.
      await eventually(
        async () => sample(await metricsOf(w, port), 'routewarden_orphan_routes', 'family="ipv4"') === 0,
        'the orphan to be explained by the re-list',
      );
      measured('silent watch: missed Service created -> view correct again (0 routes deleted)', missed);
      expect(await owned(w)).toEqual(['10.0.0.6/32', '10.0.0.7/32']);
      expect(sample(await metricsOf(w, port), 'routewarden_remediated_routes_total', 'action="delete"')).toBe(0);
    } finally {
      w.api.silenceWatches('services', false);
      await killAndWait(run.child);
    }
  });

  it('an API outage and restart: /healthz stays 200, no repair while down, and drift seen before the outage waits a full grace period again', async () => {
    vip(w, 'web', '10.0.0.6');
    await addRoute(w, '10.0.0.6');
    await addRoute(w, '10.0.0.5'); // an orphan
    const port = 19812;
    const run = startRun(w, port, ['--kube-vip-config', 'off', '--remediate', '--strategy', 'surgical', '--grace', '4s', '--min-repair-interval', '1s']);
    try {
      await eventually(async () => sample(await metricsOf(w, port), 'routewarden_orphan_routes', 'family="ipv4"') === 1, 'the orphan to be seen');
      const down = Date.now();
      await w.api.outage(true);
      await eventually(async () => sample(await metricsOf(w, port), 'routewarden_source_up', 'source="kubernetes"') === 0, 'the source to go down');
      measured('API outage: API down -> source_up 0', down);
      // Longer than the grace period: the drift's age before the outage would already allow a repair.
      await new Promise((r) => setTimeout(r, 5_000));
      expect((await w.get(port, '/healthz')).status).toBe(200);
      expect(sample(await metricsOf(w, port), 'routewarden_remediations_total', 'strategy="surgical",result="success"')).toBe(0);
      expect(await owned(w)).toEqual(['10.0.0.5/32', '10.0.0.6/32']);
      const graceBlocksAtRecovery = sample(await metricsOf(w, port), 'routewarden_remediation_blocked_total', 'reason="grace_period"');
      await w.api.outage(false);
      const recovered = Date.now();
      await eventually(async () => sample(await metricsOf(w, port), 'routewarden_source_up', 'source="kubernetes"') === 1, 'the source back up');
      measured('API outage: API back -> source_up 1', recovered);
      await eventually(
        async () => sample(await metricsOf(w, port), 'routewarden_remediations_total', 'strategy="surgical",result="success"') === 1,
        'the repair after recovery',
      );
      measured('API outage: API back -> repair of drift seen before the outage (--grace 4s)', recovered);
      // The first checks after recovery were held by the grace period: the drift's age started again.
      expect(sample(await metricsOf(w, port), 'routewarden_remediation_blocked_total', 'reason="grace_period"')).toBeGreaterThan(graceBlocksAtRecovery);
      expect(await owned(w)).toEqual(['10.0.0.6/32']);
    } finally {
      await killAndWait(run.child);
    }
  });

  it('410 Gone inside the watch stream and as the HTTP status: re-listed, and changes made meanwhile are seen', async () => {
    vip(w, 'web', '10.0.0.6');
    await addRoute(w, '10.0.0.6');
    const port = 19813;
    const run = startRun(w, port, ['--kube-vip-config', 'off']);
    try {
      await run.ready();
      // In the stream: history compacted, then every watch ends and resumes from a version now too old.
      let lists = w.api.requests('LIST', 'services');
      vip(w, 'api', '10.0.0.7');
      w.api.compactHistory();
      const gone = Date.now();
      w.api.closeAllWatches();
      await eventually(() => w.api.requests('LIST', 'services') > lists, 'the re-list after an in-stream 410');
      await eventually(async () => sample(await metricsOf(w, port), 'routewarden_expected_routes', 'family="ipv4"') === 2, 'the new Service in the view');
      measured('410 in the stream -> re-listed, new Service in the metrics', gone);
      // As the HTTP status of the watch request.
      lists = w.api.requests('LIST', 'services');
      w.api.failNextWatch('services', 410);
      vip(w, 'db', '10.0.0.8');
      const goneHttp = Date.now();
      w.api.closeAllWatches();
      await eventually(() => w.api.requests('LIST', 'services') > lists, 'the re-list after an HTTP 410');
      await eventually(async () => sample(await metricsOf(w, port), 'routewarden_expected_routes', 'family="ipv4"') === 3, 'the third Service in the view');
      measured('410 as HTTP status -> re-listed, new Service in the metrics', goneHttp);
      expect(sample(await metricsOf(w, port), 'routewarden_source_up', 'source="kubernetes"')).toBe(1);
      expect(await owned(w)).toEqual(['10.0.0.6/32']);
    } finally {
      await killAndWait(run.child);
    }
  });

  it('an empty Service list never empties the table', async () => {
    vip(w, 'web', '10.0.0.6');
    await addRoute(w, '10.0.0.6');
    const port = 19814;
    const run = startRun(w, port, ['--kube-vip-config', 'off', '--remediate', '--strategy', 'flush-rebuild', '--grace', '1s', '--min-repair-interval', '1s']);
    try {
      await run.ready();
      w.api.delete('Service', 'default', 'web');
      await eventually(
        async () => sample(await metricsOf(w, port), 'routewarden_remediation_blocked_total', 'reason="empty_expected_set"') >= 1,
        'the empty-set guard',
      );
      expect(await owned(w)).toEqual(['10.0.0.6/32']);
      expect(sample(await metricsOf(w, port), 'routewarden_remediated_routes_total', 'action="delete"')).toBe(0);
    } finally {
      await killAndWait(run.child);
    }
  });

  it('a malformed object and an oversized one are rejected alone, named and counted; the rest of the view stands', async () => {
    vip(w, 'web', '10.0.0.6');
    await addRoute(w, '10.0.0.6');
    const malformed = { ...service({ name: 'bad' }), status: { loadBalancer: { ingress: 5 } } } as unknown as KubeObject;
    w.api.upsert(malformed);
    const huge = Array.from({ length: 70_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`).join(',');
    w.api.upsert(service({ name: 'huge', annotations: { 'kube-vip.io/loadbalancerIPs': huge } }));

    const { code, report, stderr } = await checkJson(w, ['--kube-vip-config', 'off']);
    expect(code, stderr).toBe(0);
    expect(report.inSync).toBe(true);
    expect(report.counts.expected).toBe(1);
    expect(report.rejected?.map((r) => `${r.kind} ${r.namespace}/${r.name}`)).toEqual(['Service default/bad', 'Service default/huge']);
    expect(report.rejected?.[1]?.reason).toMatch(/more than 16384/);
    expect(stderr).toContain('kubernetes object rejected, left out of the view: Service default/bad');

    const text = await w.cli(['check', '--kube-vip-config', 'off']);
    expect(text.stdout).toContain('rejected (left out of the view): Service default/bad');

    // The same on a watch, in `run`: counted, and no repair while the view is incomplete.
    w.api.delete('Service', 'default', 'bad');
    w.api.delete('Service', 'default', 'huge');
    const port = 19815;
    const run = startRun(w, port, ['--kube-vip-config', 'off', '--remediate', '--grace', '0s', '--min-repair-interval', '1s']);
    try {
      await run.ready();
      w.api.upsert(malformed);
      await addRoute(w, '10.0.0.9'); // an orphan
      await eventually(
        async () => sample(await metricsOf(w, port), 'routewarden_objects_rejected_total', 'kind="Service"') === 1,
        'the rejection to be counted',
      );
      await eventually(
        async () => sample(await metricsOf(w, port), 'routewarden_remediation_blocked_total', 'reason="objects_rejected"') >= 1,
        'the rejected-objects guard',
      );
      expect(await owned(w)).toEqual(['10.0.0.6/32', '10.0.0.9/32']);
      expect(sample(await metricsOf(w, port), 'routewarden_expected_routes', 'family="ipv4"')).toBe(1);
      expect(run.output()).toContain('kubernetes object rejected');
    } finally {
      await killAndWait(run.child);
    }
  });
});

describeIfRoot('health from the first second', () => {
  const world = useWorld();
  let w: World;
  beforeEach(async () => {
    w = world();
    await w.api.outage(false);
    await resetWorld(w, ['Service', 'EndpointSlice', 'Event']);
  });

  it('an API that accepts connections and never answers: /healthz and /metrics are served at once (kube-vip discovery on), /readyz follows the view', async () => {
    await w.api.outage(true, 'hang');
    const port = 19816;
    const spawned = Date.now();
    const run = startRun(w, port, []);
    try {
      // Served while the API still hangs (discovery waits up to 30 s for it).
      await eventually(async () => (await w.get(port, '/healthz')).status === 200, '/healthz during the hang');
      measured('hung API at start: process spawned -> /healthz 200 (includes Node start-up)', spawned);
      expect((await w.get(port, '/readyz')).status).toBe(503);
      expect((await w.get(port, '/metrics')).body).toContain('routewarden_build_info');
      const answers = Date.now();
      await w.api.outage(false);
      await eventually(async () => (await w.get(port, '/readyz')).status === 200, 'readiness once the API answers');
      measured('hung API at start: API answers -> /readyz 200', answers);
      expect((await w.get(port, '/healthz')).status).toBe(200);
    } finally {
      await killAndWait(run.child);
    }
  });

  it.each([['auto'], ['off']])(
    'run --listen on a port in use, or an address it may not bind, exits 2 at once with one line (--kube-vip-config %s)',
    async (mode) => {
      const port = 19817;
      const first = startRun(w, port, ['--kube-vip-config', 'off']);
      try {
        await eventually(async () => (await w.get(port, '/healthz')).status === 200, 'the first instance');
        const spawned = Date.now();
        const busy = await w.cli(['run', '--listen', `127.0.0.1:${port}`, '--kube-vip-config', mode]);
        measured(`busy port (--kube-vip-config ${mode}): spawned -> exit 2 (includes Node start-up)`, spawned);
        expect(busy.code).toBe(2);
        expect(busy.stderr.trim().split('\n')).toEqual([
          `routewarden: listening on 127.0.0.1:${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}`,
        ]);
        const foreign = await w.cli(['run', '--listen', '192.0.2.1:9798', '--kube-vip-config', mode]);
        expect(foreign.code).toBe(2);
        expect(foreign.stderr).toMatch(/^routewarden: listening on 192\.0\.2\.1:9798: listen EADDRNOTAVAIL/);
      } finally {
        await killAndWait(first.child);
      }
    },
  );
});

// The loop's heartbeat bound is max(2 x --interval, 10 s): 10 s here
// (--interval 1s); the DaemonSet's liveness probe then needs 3 failures 10 s
// apart (deploy/base/daemonset.yaml).
describeIfRoot('health when the kernel fails', () => {
  const world = useWorld();
  let w: World;
  let fault: NetlinkFault;
  beforeEach(async () => {
    w = world();
    fault ??= netlinkFault(w.dir);
    fault.set(null);
    await w.api.outage(false);
    await resetWorld(w, ['Service', 'EndpointSlice', 'Event']);
    vip(w, 'web', '10.0.0.6');
    await addRoute(w, '10.0.0.6');
  });

  // drop: every request is swallowed, none is answered (a blocked kernel);
  // corrupt: the route decoder throws on every dump. Either way the check
  // fails; the first /healthz failure may come while a check still waits.
  it.each([
    // A blocked kernel fails whichever request the check sends first: between
    // --interval ticks the incremental check reads only the interfaces (the
    // routes come from notifications), a full check the routes and the interfaces.
    ['a kernel that stops answering netlink: checks time out', 'drop', '(?:routes in table 198|interfaces): ETIMEDOUT', 19818],
    ['a route dump the decoder cannot read: every check fails', 'corrupt', 'routes in table 198: EPROTO', 19819],
  ] as const)('%s; /healthz fails, nothing is repaired, check exits 2; all recovers once the kernel is right again', async (what, mode, failure, port) => {
    const run = startRun(
      w,
      port,
      ['--kube-vip-config', 'off', '--remediate', '--strategy', 'surgical', '--grace', '0s', '--min-repair-interval', '1s'],
      fault.env,
    );
    const reason = new RegExp(`\\(last: kernel table not read: listing ${failure}`);
    try {
      await run.ready();
      expect((await w.get(port, '/healthz')).status).toBe(200);
      fault.set(mode);
      const faulty = Date.now();
      await addRoute(w, '10.0.0.9'); // an orphan routewarden would repair at once (--grace 0s) if it could see it
      const stalled = await eventually(async () => {
        const h = await w.get(port, '/healthz');
        return h.status === 503 ? h.body : null;
      }, '/healthz to fail');
      measured(`${mode}: fault on -> /healthz 503 (--interval 1s: bound 10 s)`, faulty);
      expect(stalled).toMatch(/^check loop stalled: no check finished well for \d+s/);
      await eventually(async () => reason.test((await w.get(port, '/healthz')).body), `/healthz to say ${reason}`);
      measured(`${mode}: fault on -> /healthz names it`, faulty);
      const m = await metricsOf(w, port);
      expect(sample(m, 'routewarden_source_up', 'source="kernel"')).toBe(0);
      expect(sample(m, 'routewarden_checks_total', 'result="error"')).toBeGreaterThan(0);
      expect(sample(m, 'routewarden_remediation_blocked_total', 'reason="kernel_read_failed"')).toBeGreaterThan(0);
      expect(sample(m, 'routewarden_remediations_total', 'strategy="surgical",result="success"')).toBe(0);
      // A one-shot check against the same kernel: the report, then exit 2, no stack trace.
      const check = await w.cli(['check', '--kube-vip-config', 'off', '--output', 'json'], { env: fault.env });
      expect(check.code, check.stderr).toBe(2);
      expect((JSON.parse(check.stdout) as Report).errors?.kernel).toMatch(new RegExp(`^listing ${failure}`));
      expect(check.stderr).not.toMatch(/\n\s+at /);
      expect(await owned(w), what).toEqual(['10.0.0.6/32', '10.0.0.9/32']);

      fault.set(null);
      const right = Date.now();
      await eventually(async () => (await w.get(port, '/healthz')).status === 200, '/healthz to recover');
      measured(`${mode}: fault off -> /healthz 200`, right);
      await eventually(async () => (await owned(w)).length === 1, 'the orphan to be repaired once the kernel is right again');
      measured(`${mode}: fault off -> the orphan added during the fault repaired`, right);
      expect(await owned(w)).toEqual(['10.0.0.6/32']);
      expect(sample(await metricsOf(w, port), 'routewarden_source_up', 'source="kernel"')).toBe(1);
      expect(run.child.exitCode).toBeNull();
    } finally {
      fault.set(null);
      await killAndWait(run.child);
    }
  });
});

describeIfRoot('check: what an operator runs by hand', () => {
  const world = useWorld();
  let w: World;
  beforeEach(async () => {
    w = world();
    await resetWorld(w, ['Service', 'EndpointSlice', 'Event']);
    vip(w, 'web', '10.0.0.6');
    await addRoute(w, '10.0.0.5'); // orphan; 10.0.0.6 missing
  });

  it('a confirmation never changes the table, even in a container with ROUTEWARDEN_REMEDIATE=true', async () => {
    const r = await w.cli(['check', '--kube-vip-config', 'off'], { env: { ROUTEWARDEN_REMEDIATE: 'true' } });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('REPAIR');
    expect(r.stderr).toContain('ROUTEWARDEN_REMEDIATE is ignored by check');
    expect(await owned(w)).toEqual(['10.0.0.5/32']);
  });

  it('check --remediate --dry-run prints the plan; check --remediate says what it did; a refusal says why', async () => {
    const dry = await w.cli(['check', '--kube-vip-config', 'off', '--remediate', '--dry-run', '--strategy', 'surgical']);
    expect(dry.code).toBe(1);
    expect(dry.stdout).toContain('REPAIR PLAN (--dry-run, nothing changed): surgical, 2 steps');
    expect(dry.stdout).toContain('would add 10.0.0.6/32 dev lo');
    expect(dry.stdout).toContain('would delete 10.0.0.5/32 dev lo');
    expect(dry.stderr).toContain('dry run: repair plan (nothing changed)');
    expect(await owned(w)).toEqual(['10.0.0.5/32']);

    const refused = await w.cli(['check', '--kube-vip-config', 'off', '--remediate', '--max-deletions', '0', '--strategy', 'surgical']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('REPAIR REFUSED (max_deletions)');
    expect(await owned(w)).toEqual(['10.0.0.5/32']);

    const done = await w.cli(['check', '--kube-vip-config', 'off', '--remediate', '--strategy', 'surgical']);
    expect(done.code).toBe(0);
    expect(done.stdout).toContain('REPAIR DONE: surgical, 1 added, 1 deleted, 0 failed; table in sync afterwards: yes');
    expect(await owned(w)).toEqual(['10.0.0.6/32']);
  });
});
