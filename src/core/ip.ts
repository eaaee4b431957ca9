// IP parsing and formatting, pure. kube-vip normalises annotation IPs with
// Go's net.IP.String(); routes are compared on the prefix the kernel stores.
// We mirror both here without any library.

import type { Family } from './types.ts';

export interface ParsedIp {
  readonly family: Family;
  /** 4 or 16 bytes. */
  readonly bytes: Uint8Array;
}

const V4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseV4(s: string): Uint8Array | null {
  const m = V4_RE.exec(s);
  if (!m) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = m[i + 1]!;
    // Go's ParseIP rejects leading zeros ("010.0.0.1") since Go 1.17.
    if (part.length > 1 && part.startsWith('0')) return null;
    const n = Number(part);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

function parseV6(s: string): Uint8Array | null {
  if (s.includes('%')) return null; // zones are not IPs for kube-vip either
  let head = s;
  let tail4: Uint8Array | null = null;
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.indexOf('.', lastColon) > 0) {
    tail4 = parseV4(s.slice(lastColon + 1));
    if (!tail4) return null;
    head = s.slice(0, lastColon + 1) + '0:0';
  }
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === '') return [];
    const groups = part.split(':');
    const out: number[] = [];
    for (const g of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = parseGroups(halves[0]!);
  const right = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!left || !right) return null;
  let groups: number[];
  if (halves.length === 2) {
    const fill = 8 - left.length - right.length;
    if (fill < 1) return null;
    groups = [...left, ...new Array<number>(fill).fill(0), ...right];
  } else {
    groups = left;
  }
  if (groups.length !== 8) return null;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  if (tail4) out.set(tail4, 12);
  return out;
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/**
 * Parse an IP literal the way Go's net.ParseIP does. IPv4-mapped IPv6
 * (::ffff:a.b.c.d) is IPv4, as Go's To4() treats it.
 */
export function parseIp(s: string): ParsedIp | null {
  const v4 = parseV4(s);
  if (v4) return { family: 'ipv4', bytes: v4 };
  const v6 = parseV6(s);
  if (!v6) return null;
  if (isV4Mapped(v6)) return { family: 'ipv4', bytes: v6.slice(12) };
  return { family: 'ipv6', bytes: v6 };
}

/**
 * The address as text, as Go's net.IP.String() prints it (RFC 5952 for IPv6:
 * lowercase, no leading zeros, the longest run of two or more zero groups as
 * "::", the first one on ties).
 */
export function formatIp(ip: ParsedIp): string {
  return TEXT.toString('latin1', 0, writeIp(ip.bytes, 0, ip.family));
}

/**
 * formatCidr() of the prefix whose address bytes start at `bytes[at]`: the
 * kernel adapter formats every route of a dump straight from the message.
 */
export function formatCidrAt(bytes: Uint8Array, at: number, family: Family, prefix: number): string {
  let n = writeIp(bytes, at, family);
  TEXT[n++] = 0x2f; // '/'
  n = writeDecimal(prefix, n);
  return TEXT.toString('latin1', 0, n);
}

// Address text is written as ASCII into one scratch buffer and read out as a
// single string: building it piece by piece allocated a string per group and
// per concatenation, 260 bytes of garbage per IPv6 address, for every route
// of every kernel dump. The longest text is an IPv6 address (39) + "/128".
const TEXT = Buffer.alloc(48);
const HEX = [0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66];

function writeDecimal(value: number, n: number): number {
  if (value >= 100) TEXT[n++] = 0x30 + Math.floor(value / 100);
  if (value >= 10) TEXT[n++] = 0x30 + (Math.floor(value / 10) % 10);
  TEXT[n++] = 0x30 + (value % 10);
  return n;
}

/** Writes the address text at the start of TEXT; returns its length. */
function writeIp(b: Uint8Array, at: number, family: Family): number {
  let n = 0;
  if (family === 'ipv4') {
    for (let i = 0; i < 4; i++) {
      if (i > 0) TEXT[n++] = 0x2e; // '.'
      n = writeDecimal(b[at + i]!, n);
    }
    return n;
  }
  const group = (i: number): number => (b[at + 2 * i]! << 8) | b[at + 2 * i + 1]!;
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (group(i) !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && group(j) === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      TEXT[n++] = 0x3a;
      TEXT[n++] = 0x3a;
      i += bestLen - 1;
      continue;
    }
    if (n > 0 && TEXT[n - 1] !== 0x3a) TEXT[n++] = 0x3a; // ':'
    const g = group(i);
    for (let shift = 12, started = false; shift >= 0; shift -= 4) {
      const digit = (g >> shift) & 0xf;
      if (digit === 0 && !started && shift > 0) continue;
      started = true;
      TEXT[n++] = HEX[digit]!;
    }
  }
  return n;
}

/** Normalise an IP literal; null when it is not one. */
export function normalizeIp(s: string): string | null {
  const p = parseIp(s);
  return p ? formatIp(p) : null;
}

export function familyOf(s: string): Family | null {
  return parseIp(s)?.family ?? null;
}

export const maxPrefix = (family: Family): number => (family === 'ipv4' ? 32 : 128);

/** Zero the host bits, as the kernel does for IPv6 destinations. */
export function maskIp(ip: ParsedIp, prefix: number): ParsedIp {
  const out = new Uint8Array(ip.bytes);
  for (let bit = prefix; bit < out.length * 8; bit++) {
    out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  }
  return { family: ip.family, bytes: out };
}

export interface ParsedCidr {
  readonly ip: ParsedIp;
  readonly prefix: number;
}

export function parseCidr(s: string): ParsedCidr | null {
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const ip = parseIp(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(lenText)) return null;
  const prefix = Number(lenText);
  if (prefix > maxPrefix(ip.family)) return null;
  return { ip, prefix };
}

export const formatCidr = (c: ParsedCidr): string => `${formatIp(c.ip)}/${c.prefix}`;

/** Does the network `cidr` contain `ip`? (Go's IPNet.Contains.) */
export function cidrContains(cidr: ParsedCidr, ip: ParsedIp): boolean {
  if (cidr.ip.family !== ip.family) return false;
  const a = maskIp(cidr.ip, cidr.prefix).bytes;
  const b = maskIp(ip, cidr.prefix).bytes;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when the address has bits set beyond the prefix length. */
export function hasHostBits(ip: ParsedIp, prefix: number): boolean {
  const masked = maskIp(ip, prefix).bytes;
  for (let i = 0; i < masked.length; i++) if (masked[i] !== ip.bytes[i]) return true;
  return false;
}
