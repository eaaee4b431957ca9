// The pieces of notification-loss handling that need no kernel: the drop
// and queue counters' parser, the capability mask, and that the netlink package loads
// routewarden's patched binding (what `npm ci` builds; the prebuilt one
// aborts the process on a notification overflow).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { effectiveCapabilities, hasNetAdmin } from '../../src/kernel/capabilities.ts';
import { nativeBindingPatched, socketQueue } from '../../src/kernel/rtnl.ts';

const dir = mkdtempSync(join(tmpdir(), 'rw-notify-'));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('socketQueue', () => {
  const table = file(
    'netlink',
    [
      'sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode',
      '0000000098c927be 0   0          00000000 0        0        0     2        0        4       ',
      '00000000a1b2c3d4 0   123456     00000551 0        0        0     2        8151     9001    ',
      '00000000a1b2c3d5 4   123456     00000000 0        0        0     2        77       9002    ',
      '00000000a1b2c3d6 0   654321     00000551 4352     0        0     2        3        9003    ',
      '',
    ].join('\n'),
  );
  it("reads the Drops and Rmem of the NETLINK_ROUTE socket with that port, not another protocol's", () => {
    expect(socketQueue(123456, table)).toEqual({ drops: 8151, queued: 0 });
    expect(socketQueue(0, table)).toEqual({ drops: 0, queued: 0 });
    expect(socketQueue(654321, table)).toEqual({ drops: 3, queued: 4352 });
  });
  it('is null for an unknown port, a missing file or another layout', () => {
    expect(socketQueue(42, table)).toBeNull();
    expect(socketQueue(1, join(dir, 'absent'))).toBeNull();
    expect(socketQueue(1, file('odd', 'sk Eth Pid\n0 0 1\n'))).toBeNull();
  });
  it("finds this process's own sockets in the real file", () => {
    expect(socketQueue(0)).not.toBeNull(); // the kernel's own socket, port 0, always listed
  });
});

describe('capabilities', () => {
  it('reads CapEff and tests bit 12 (CAP_NET_ADMIN)', () => {
    expect(effectiveCapabilities('Name:\tx\nCapEff:\t0000000000001000\n')).toBe(0x1000n);
    expect(hasNetAdmin(file('with', 'CapInh:\t0000000000000000\nCapEff:\t0000000000001000\n'))).toBe(true);
    expect(hasNetAdmin(file('without', 'CapEff:\t00000000a80425fb\nCapBnd:\t000001ffffffffff\n'))).toBe(false);
    expect(hasNetAdmin(file('none', 'Name:\tx\n'))).toBeNull();
    expect(hasNetAdmin(join(dir, 'absent'))).toBeNull();
  });
});

describe('the netlink package', () => {
  it("loads routewarden's patched native binding (built by npm's postinstall), not the prebuilt one", () => {
    expect(nativeBindingPatched()).toBe(true);
  });
});
