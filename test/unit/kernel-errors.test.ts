// errno names to the KernelError classes the loop decides on, and the wording
// every kernel error shares.

import { describe, expect, it } from 'vitest';
import { KernelError } from '../../src/core/ports.ts';
import { errnoName, errorClass, kernelError } from '../../src/kernel/errors.ts';

describe('errorClass', () => {
  const cases = [
    ['EPERM', 'EPERM', 'no CAP_NET_ADMIN is a permission failure'],
    ['EACCES', 'EPERM', 'an LSM refusal is a permission failure too'],
    ['EEXIST', 'EEXIST', 'a route with the same identity exists'],
    ['ESRCH', 'ESRCH', 'IPv4 says no such route with ESRCH'],
    ['ENOENT', 'ESRCH', 'some paths say no such route with ENOENT'],
    ['ENODEV', 'ENODEV', 'the device does not exist'],
    ['ENETDOWN', 'ENODEV', 'an admin-down device is a device problem as well'],
    ['EINVAL', 'EINVAL', 'the kernel refused the attributes'],
    ['ENETUNREACH', 'ENETUNREACH', 'an unreachable gateway keeps its own class'],
    ['ENOBUFS', 'EIO', 'anything else is EIO'],
    ['ETIMEDOUT', 'EIO', 'a request that got no answer is EIO'],
  ] as const;
  for (const [errno, klass, why] of cases) {
    it(`${errno} => ${klass}: ${why}`, () => {
      expect(errorClass(errno)).toBe(klass);
    });
  }
});

describe('kernelError', () => {
  it('says what was attempted, the errno and its usual text', () => {
    const err = kernelError('adding route 10.0.0.5/32 dev lo table 198', 'EEXIST');
    expect(err).toBeInstanceOf(KernelError);
    expect([err.code, err.message]).toEqual(['EEXIST', 'adding route 10.0.0.5/32 dev lo table 198: EEXIST (File exists)']);
  });

  it('keeps the real errno name in the message when the class differs', () => {
    const err = kernelError('adding route fd00::5/128 dev eth1 table 198', 'ENETDOWN');
    expect([err.code, err.message]).toEqual(['ENODEV', 'adding route fd00::5/128 dev eth1 table 198: ENETDOWN (Network is down)']);
  });

  it('appends our own detail after the errno', () => {
    expect(kernelError('listing routes in table 198', 'EPERM', 'injected').message).toBe(
      'listing routes in table 198: EPERM (Operation not permitted): injected',
    );
  });

  it('names netlink ACK errnos, which are negative', () => {
    expect([errnoName(-17), errnoName(3), errnoName(4242)]).toEqual(['EEXIST', 'ESRCH', 'errno 4242']);
  });
});
