import { describe, expect, it } from 'vitest';
import { cidrContains, normalizeIp, parseCidr, parseIp, formatCidr, formatCidrAt, formatIp, maskIp, hasHostBits } from '../../src/core/ip.ts';

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

describe('formatIp and formatCidrAt (text straight from a kernel message)', () => {
  // Zero groups in every pattern: runs of one (never "::"), ties (the first
  // run wins), runs at either end. The WHATWG URL parser serialises IPv6 by
  // the same rule, so it is an independent oracle.
  const patterns = Array.from({ length: 256 }, (_, m) => m);
  it.each(patterns)('IPv6 with zero-group mask %i matches the URL parser', (mask) => {
    const bytes = new Uint8Array(16);
    for (let g = 0; g < 8; g++) if ((mask & (1 << g)) === 0) bytes[2 * g + 1] = g + 1;
    const text = formatIp({ family: 'ipv6', bytes });
    expect(`[${text}]`).toBe(new URL(`http://[${text}]/`).hostname);
    expect(parseIp(text)?.bytes).toEqual(bytes);
  });

  it('reads at an offset inside a larger buffer', () => {
    const buf = Buffer.from([0xff, 10, 0, 0, 5, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]);
    expect(formatCidrAt(buf, 1, 'ipv4', 32)).toBe('10.0.0.5/32');
    expect(formatCidrAt(buf, 5, 'ipv6', 128)).toBe('fd00::5/128');
  });

  it('writes every IPv4 byte value and prefix length in decimal', () => {
    for (let v = 0; v < 256; v++) {
      const bytes = new Uint8Array([v, 255 - v, v % 10, v % 100]);
      expect(formatCidrAt(bytes, 0, 'ipv4', v % 33)).toBe(`${v}.${255 - v}.${v % 10}.${v % 100}/${v % 33}`);
    }
  });

  it('writes groups with and without leading zero digits', () => {
    const bytes = Uint8Array.from([0x00, 0x01, 0x00, 0x10, 0x01, 0x00, 0x10, 0x00, 0xab, 0xcd, 0, 0, 0x0f, 0xff, 0, 0x0a]);
    expect(formatIp({ family: 'ipv6', bytes })).toBe('1:10:100:1000:abcd:0:fff:a');
  });
});
