import { describe, expect, it } from 'vitest';
import { expectedRoutes } from '../../src/core/expected.ts';
import { leaseHorizon, memoizedExpectedRoutes } from '../../src/core/expected-memo.ts';
import { ep, lease, model, NOW, slice, snapshot, svc } from '../helpers/fixtures.ts';

const web = () => snapshot([svc('web', { ip: '10.0.0.5' })], [slice('web', 'IPv4', [ep('10.1.0.1')])]);
const lo = [{ name: 'lo', ifindex: 1, up: true, addresses: ['127.0.0.1/8'] }];

describe('memoizedExpectedRoutes', () => {
  it('same snapshot, model and interfaces => the same set, not recomputed', () => {
    const s = web();
    const a = memoizedExpectedRoutes({ snapshot: s, model: model(), interfaces: lo, now: NOW });
    const b = memoizedExpectedRoutes({ snapshot: s, model: model(), interfaces: [...lo], now: NOW + 60_000 });
    expect(b).toBe(a);
    expect([...a.routes.keys()]).toEqual(['10.0.0.5/32']);
  });

  it('a new snapshot, another model or other interfaces => computed afresh, equal to expectedRoutes()', () => {
    const s = web();
    const a = memoizedExpectedRoutes({ snapshot: s, model: model(), interfaces: lo, now: NOW });
    for (const input of [
      { snapshot: web(), model: model(), interfaces: lo, now: NOW },
      { snapshot: s, model: model({ interface: 'eth0' }), interfaces: null, now: NOW },
      { snapshot: s, model: model(), interfaces: [{ ...lo[0]!, up: false }], now: NOW },
    ]) {
      const b = memoizedExpectedRoutes(input);
      expect(b).not.toBe(a);
      expect(b).toEqual(expectedRoutes(input));
    }
  });

  it('a lease expiring after the set was computed => recomputed: the route goes', () => {
    const m = model({ election: 'service' });
    const s = snapshot([svc('web', { ip: '10.0.0.5' })], [slice('web', 'IPv4', [ep('10.1.0.1')])], [lease('default', 'kubevip-web', 'worker-1', { renewTime: NOW - 2_000, leaseDurationSeconds: 15 })]);
    expect(memoizedExpectedRoutes({ snapshot: s, model: m, interfaces: lo, now: NOW }).routes.size).toBe(1);
    expect(memoizedExpectedRoutes({ snapshot: s, model: m, interfaces: lo, now: NOW + 13_000 }).routes.size).toBe(1);
    expect(memoizedExpectedRoutes({ snapshot: s, model: m, interfaces: lo, now: NOW + 13_001 }).routes.size).toBe(0);
  });

  it('a clock that went back => recomputed', () => {
    const s = web();
    const a = memoizedExpectedRoutes({ snapshot: s, model: model(), interfaces: lo, now: NOW });
    expect(memoizedExpectedRoutes({ snapshot: s, model: model(), interfaces: lo, now: NOW - 1 })).not.toBe(a);
  });
});

describe('leaseHorizon', () => {
  const leases = (...l: ReturnType<typeof lease>[]) => new Map(l.map((x) => [`${x.namespace}/${x.name}`, x]));
  it.each([
    ['no leases => never', leases(), Infinity],
    ['a valid lease => its expiry', leases(lease('a', 'l', 'n', { renewTime: NOW, leaseDurationSeconds: 10 })), NOW + 10_000],
    ['the earliest of several', leases(lease('a', 'l', 'n', { renewTime: NOW, leaseDurationSeconds: 10 }), lease('a', 'm', 'n', { renewTime: NOW, leaseDurationSeconds: 5 })), NOW + 5_000],
    ['an expired lease never changes back => ignored', leases(lease('a', 'l', 'n', { renewTime: NOW - 60_000, leaseDurationSeconds: 10 })), Infinity],
    ['no renew or acquire time => always expired, ignored', leases(lease('a', 'l', 'n', { renewTime: undefined, acquireTime: undefined })), Infinity],
  ])('%s', (_name, l, horizon) => {
    expect(leaseHorizon(l, NOW, 0)).toBe(horizon);
  });
});
