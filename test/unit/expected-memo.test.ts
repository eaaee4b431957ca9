import { beforeEach, describe, expect, it } from 'vitest';
import { expectedRoutes, mergeExpected, newServiceSteps } from '../../src/core/expected.ts';
import { ExpectedMemo, leaseHorizon } from '../../src/core/expected-memo.ts';
import type { ClusterSnapshot, EndpointSliceInfo } from '../../src/core/cluster.ts';
import { ep, lease, model, NOW, slice, snapshot, svc } from '../helpers/fixtures.ts';

const web = () => snapshot([svc('web', { ip: '10.0.0.5' })], [slice('web', 'IPv4', [ep('10.1.0.1')])]);
const lo = [{ name: 'lo', ifindex: 1, up: true, addresses: ['127.0.0.1/8'] }];

describe('ExpectedMemo.expectedRoutes', () => {
  let memo: ExpectedMemo;
  beforeEach(() => {
    memo = new ExpectedMemo();
  });

  it("the memo is its owner's: another memo shares nothing with it", () => {
    const s = web();
    const a = memo.expectedRoutes({ snapshot: s, model: model(), interfaces: lo, now: NOW });
    const b = new ExpectedMemo().expectedRoutes({ snapshot: s, model: model(), interfaces: lo, now: NOW });
    expect(b).not.toBe(a);
    expect(b).toEqual(a);
  });

  it('same snapshot, model and interfaces => the same set, not recomputed', () => {
    const s = web();
    const a = memo.expectedRoutes({ snapshot: s, model: model(), interfaces: lo, now: NOW });
    const b = memo.expectedRoutes({ snapshot: s, model: model(), interfaces: [...lo], now: NOW + 60_000 });
    expect(b).toBe(a);
    expect([...a.routes.keys()]).toEqual(['10.0.0.5/32']);
  });

  it('a new snapshot, another model or other interfaces => computed afresh, equal to expectedRoutes()', () => {
    const s = web();
    const a = memo.expectedRoutes({ snapshot: s, model: model(), interfaces: lo, now: NOW });
    for (const input of [
      { snapshot: web(), model: model(), interfaces: lo, now: NOW },
      { snapshot: s, model: model({ interface: 'eth0' }), interfaces: null, now: NOW },
      { snapshot: s, model: model(), interfaces: [{ ...lo[0]!, up: false }], now: NOW },
    ]) {
      const b = memo.expectedRoutes(input);
      expect(b).not.toBe(a);
      expect(b).toEqual(expectedRoutes(input));
    }
  });

  it('a lease expiring after the set was computed => recomputed: the route goes', () => {
    const m = model({ election: 'service' });
    const s = snapshot(
      [svc('web', { ip: '10.0.0.5' })],
      [slice('web', 'IPv4', [ep('10.1.0.1')])],
      [lease('default', 'kubevip-web', 'worker-1', { renewTime: NOW - 2_000, leaseDurationSeconds: 15 })],
    );
    expect(memo.expectedRoutes({ snapshot: s, model: m, interfaces: lo, now: NOW }).routes.size).toBe(1);
    expect(memo.expectedRoutes({ snapshot: s, model: m, interfaces: lo, now: NOW + 13_000 }).routes.size).toBe(1);
    expect(memo.expectedRoutes({ snapshot: s, model: m, interfaces: lo, now: NOW + 13_001 }).routes.size).toBe(0);
  });

  it('a clock that went back => recomputed', () => {
    const s = web();
    const a = memo.expectedRoutes({ snapshot: s, model: model(), interfaces: lo, now: NOW });
    expect(memo.expectedRoutes({ snapshot: s, model: model(), interfaces: lo, now: NOW - 1 })).not.toBe(a);
  });
});

describe('leaseHorizon', () => {
  const leases = (...l: ReturnType<typeof lease>[]) => new Map(l.map((x) => [`${x.namespace}/${x.name}`, x]));
  it.each([
    ['no leases => never', leases(), Infinity],
    ['a valid lease => its expiry', leases(lease('a', 'l', 'n', { renewTime: NOW, leaseDurationSeconds: 10 })), NOW + 10_000],
    [
      'the earliest of several',
      leases(lease('a', 'l', 'n', { renewTime: NOW, leaseDurationSeconds: 10 }), lease('a', 'm', 'n', { renewTime: NOW, leaseDurationSeconds: 5 })),
      NOW + 5_000,
    ],
    ['an expired lease never changes back => ignored', leases(lease('a', 'l', 'n', { renewTime: NOW - 60_000, leaseDurationSeconds: 10 })), Infinity],
    ['no renew or acquire time => always expired, ignored', leases(lease('a', 'l', 'n', { renewTime: undefined, acquireTime: undefined })), Infinity],
  ])('%s', (_name, l, horizon) => {
    expect(leaseHorizon(l, NOW, 0)).toBe(horizon);
  });
});

describe('expectedRoutes with per-Service steps kept between calls', () => {
  // Each step changes the snapshot a little; the set computed with the kept
  // steps must equal the one computed from scratch, whatever changed.
  const base = () => ({
    services: [
      svc('a', { ip: '10.0.0.1' }),
      svc('b', { ip: ['10.0.0.2', 'fd00::2'] }),
      svc('c', { ip: '10.0.0.3', externalTrafficPolicy: 'Local' }),
      svc('d', { ip: '10.0.0.2' }),
    ],
    slices: [
      slice('a', 'IPv4', [ep('10.1.0.1')]),
      slice('b', 'IPv4', [ep('10.1.0.2')]),
      slice('b', 'IPv6', [ep('fd00:1::2')]),
      slice('c', 'IPv4', [ep('10.1.0.3', { nodeName: 'worker-1' })]),
      slice('d', 'IPv4', [ep('10.1.0.4')]),
    ],
    leases: [lease('default', 'kubevip-a', 'worker-1'), lease('default', 'kubevip-b', 'worker-2'), lease('kube-system', 'plndr-svcs-lock', 'worker-1')],
  });
  type World = ReturnType<typeof base>;
  const changes: [string, (w: World) => void][] = [
    ['nothing changes', () => {}],
    [
      'a Service changes its VIP',
      (w) => {
        w.services[0] = svc('a', { ip: '10.0.0.9' });
      },
    ],
    [
      'an EndpointSlice loses its endpoints',
      (w) => {
        w.slices[0] = slice('a', 'IPv4', []);
      },
    ],
    [
      "a Local Service's endpoint moves away",
      (w) => {
        w.slices[3] = slice('c', 'IPv4', [ep('10.1.0.3', { nodeName: 'worker-3' })]);
      },
    ],
    [
      'a Service goes away',
      (w) => {
        w.services.splice(1, 1);
      },
    ],
    [
      'a Service is annotated ignore',
      (w) => {
        w.services[0] = svc('a', { ip: '10.0.0.9', annotations: { 'kube-vip.io/ignore': 'true' } });
      },
    ],
    [
      'a lease changes hands',
      (w) => {
        w.leases[0] = lease('default', 'kubevip-a', 'worker-2');
      },
    ],
    [
      'the global lease changes hands',
      (w) => {
        w.leases[2] = lease('kube-system', 'plndr-svcs-lock', 'worker-2');
      },
    ],
    [
      'a Service comes back',
      (w) => {
        w.services.push(svc('b', { ip: ['10.0.0.2', 'fd00::2'] }));
      },
    ],
  ];
  it.each(['none', 'service', 'global'] as const)('election %s: identical to a computation from scratch after every change', (election) => {
    const m = model({ election });
    const kept = newServiceSteps();
    const w = base();
    let now = NOW;
    // Unchanged slice groups stay the same arrays, as the cluster index keeps them.
    const groups = new Map<string, EndpointSliceInfo[]>();
    const stable = (s: ClusterSnapshot): ClusterSnapshot => {
      const slicesByService = new Map<string, readonly EndpointSliceInfo[]>();
      for (const [k, list] of s.slicesByService) {
        const prev = groups.get(k);
        const same = prev !== undefined && prev.length === list.length && prev.every((x, i) => x === list[i]);
        if (!same) groups.set(k, [...list]);
        slicesByService.set(k, groups.get(k)!);
      }
      return { ...s, slicesByService };
    };
    let reused = 0;
    for (const [name, change] of changes) {
      change(w);
      const s = stable(snapshot(w.services, w.slices, w.leases));
      const before = kept.entries.get('default/d');
      for (const t of [now, now + 14_000]) {
        const input = { snapshot: s, model: m, interfaces: lo, now: t };
        expect(expectedRoutes(input, kept), `${name} at +${t - NOW} ms`).toEqual(expectedRoutes(input));
      }
      if (before !== undefined && kept.entries.get('default/d') === before) reused++;
      now += 1000;
    }
    // Service d never changes: its steps were replayed, not recomputed (under a
    // global election the lease state flips between the two instants, so never).
    if (election !== 'global') expect(reused).toBeGreaterThan(0);
  });
});

describe('ExpectedMemo.mergeExpected', () => {
  const memo = new ExpectedMemo();
  const a = () => expectedRoutes({ snapshot: web(), model: model(), interfaces: lo, now: NOW });
  it('the same sets and ids => the same merged set; anything else => merged afresh, equal to mergeExpected()', () => {
    const x = a();
    const y = a();
    const first = memo.mergeExpected([
      { id: 'p1', set: x },
      { id: 'p2', set: y },
    ]);
    expect(
      memo.mergeExpected([
        { id: 'p1', set: x },
        { id: 'p2', set: y },
      ]),
    ).toBe(first);
    for (const parts of [
      [{ id: 'p1', set: x }],
      [
        { id: 'p1', set: x },
        { id: 'p3', set: y },
      ],
      [
        { id: 'p1', set: x },
        { id: 'p2', set: a() },
      ],
    ]) {
      const m = memo.mergeExpected(parts);
      expect(m).not.toBe(first);
      expect(m).toEqual(mergeExpected(parts));
    }
  });
});
