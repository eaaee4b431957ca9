// Whether this process may change routes: CAP_NET_ADMIN in its effective set.
// Read from /proc/self/status (CapEff, a hex mask) rather than by trying a
// change: a probe would touch the table, and EPERM at the first repair comes
// too late to say so at start.

import { readFileSync } from 'node:fs';

/** CAP_NET_ADMIN's bit in the capability masks (linux/capability.h). */
const CAP_NET_ADMIN = 12;

/** The CapEff mask of a /proc/<pid>/status text, or null when it has none. */
export function effectiveCapabilities(status: string): bigint | null {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : null;
}

/**
 * True when CAP_NET_ADMIN is effective; null when it cannot be told (no
 * /proc): then routewarden does not guess, and a repair finds out.
 */
export function hasNetAdmin(statusFile = '/proc/self/status'): boolean | null {
  let text: string;
  try {
    text = readFileSync(statusFile, 'utf8');
  } catch {
    return null;
  }
  const mask = effectiveCapabilities(text);
  return mask === null ? null : (mask & (1n << BigInt(CAP_NET_ADMIN))) !== 0n;
}
