import { describe, expect, it } from 'vitest';
import { cidrContains, normalizeIp, parseCidr, parseIp, formatCidr, maskIp, hasHostBits } from '../../src/core/ip.ts';

describe('normalizeIp (Go net.IP.String())', () => {
  it.each([
    ['10.0.0.5', '10.0.0.5'],
    ['FD00:0:0:0::5', 'fd00::5'],
    ['fd00:0000:0000:0001:0000:0000:0000:0005', 'fd00:0:0:1::5'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::', '::'],
    ['::1', '::1'],
    ['::ffff:10.0.0.5', '10.0.0.5'],
    ['64:ff9b::10.0.0.5', '64:ff9b::a00:5'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ])('%s => %s', (input, want) => {
    expect(normalizeIp(input)).toBe(want);
  });

  it.each(['', '10.0.0', '10.0.0.256', '010.0.0.1', 'fd00::5::1', 'vip.example.com', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0'])('%j is not an IP', (input) => {
    expect(parseIp(input)).toBeNull();
  });
});

describe('prefixes', () => {
  it('masks IPv6 host bits like the kernel', () => {
    const c = parseCidr('fd00:1::5/64')!;
    expect(formatCidr({ ip: maskIp(c.ip, c.prefix), prefix: 64 })).toBe('fd00:1::/64');
    expect(hasHostBits(c.ip, 64)).toBe(true);
    expect(hasHostBits(parseIp('10.0.1.0')!, 24)).toBe(false);
  });
  it('contains follows the network, not the address', () => {
    expect(cidrContains(parseCidr('192.168.10.4/24')!, parseIp('192.168.10.250')!)).toBe(true);
    expect(cidrContains(parseCidr('192.168.10.4/24')!, parseIp('192.168.11.1')!)).toBe(false);
    expect(cidrContains(parseCidr('fd00:10::4/64')!, parseIp('10.0.0.1')!)).toBe(false);
  });
  it('rejects prefixes longer than the family allows', () => {
    expect(parseCidr('10.0.0.1/33')).toBeNull();
    expect(parseCidr('fd00::1/129')).toBeNull();
  });
});
