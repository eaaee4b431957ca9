// Kernel errno -> KernelError, shared by the netlink adapter and the in-memory
// fake so both produce the same codes and the same messages (the contract
// suite compares them). Pure: no I/O.

import { constants as osConstants } from 'node:os';
import { getSystemErrorMap } from 'node:util';
import { KernelError, type KernelErrorCode } from '../core/ports.ts';
import type { RouteSpec } from '../core/types.ts';

// glibc's strerror() texts, which is what `ip` prints and what operators grep
// for; libuv's own texts ("file already exists") read differently.
const STRERROR: Readonly<Record<string, string>> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ESRCH: 'No such process',
  EIO: 'Input/output error',
  EACCES: 'Permission denied',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  ENODEV: 'No such device',
  EINVAL: 'Invalid argument',
  ENOBUFS: 'No buffer space available',
  ENETDOWN: 'Network is down',
  ENETUNREACH: 'Network is unreachable',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  EPROTONOSUPPORT: 'Protocol not supported',
  EOPNOTSUPP: 'Operation not supported',
  ETIMEDOUT: 'Connection timed out',
};

/**
 * The class an errno name falls into. The loop decides retry vs stop on the
 * class, so aliases fold in here:
 * - EACCES is a permission failure like EPERM (LSMs answer EACCES);
 * - ENOENT is what IPv6 and some IPv4 paths answer for "no such route";
 * - ENETDOWN ("Nexthop device is not up", an admin-down interface, E20) is a
 *   device problem that only a change of the device fixes, like ENODEV; the
 *   message keeps the real errno name.
 */
export function errorClass(errnoName: string): KernelErrorCode {
  switch (errnoName) {
    case 'EPERM':
    case 'EACCES':
      return 'EPERM';
    case 'EEXIST':
      return 'EEXIST';
    case 'ESRCH':
    case 'ENOENT':
      return 'ESRCH';
    case 'ENODEV':
    case 'ENETDOWN':
      return 'ENODEV';
    case 'EINVAL':
      return 'EINVAL';
    case 'ENETUNREACH':
      return 'ENETUNREACH';
    default:
      return 'EIO';
  }
}

const errnoNames = new Map<number, string>(Object.entries(osConstants.errno).map(([name, value]) => [value, name]));

/** `EEXIST` for 17 (or -17, as netlink ACKs carry it); `errno 999` when unknown. */
export function errnoName(errno: number): string {
  return errnoNames.get(Math.abs(errno)) ?? `errno ${Math.abs(errno)}`;
}

/** `EEXIST (File exists)`. */
export function describeErrno(name: string): string {
  const text = STRERROR[name] ?? systemMessage(name);
  return text ? `${name} (${text})` : name;
}

function systemMessage(name: string): string | undefined {
  const value = (osConstants.errno as Record<string, number | undefined>)[name];
  if (value === undefined) return undefined;
  return getSystemErrorMap().get(-value)?.[1];
}

/** `10.0.0.5/32 dev lo table 198`: how every message names a route. */
export function describeRoute(spec: Pick<RouteSpec, 'destination' | 'device' | 'table'>): string {
  return `${spec.destination} dev ${spec.device} table ${spec.table}`;
}

/**
 * A KernelError whose message says what was attempted and what the kernel
 * answered: `adding route 10.0.0.5/32 dev lo table 198: EEXIST (File exists)`.
 * `detail` adds our own explanation when the kernel's errno alone is vague.
 */
export function kernelError(action: string, errno: string, detail?: string, cause?: unknown): KernelError {
  const suffix = detail ? `: ${detail}` : '';
  return new KernelError(errorClass(errno), `${action}: ${describeErrno(errno)}${suffix}`, cause === undefined ? undefined : { cause });
}

/** Errors thrown by the netlink package's native layer carry a `code` like `EPERM`. */
export function errnoNameOf(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string' && /^E[A-Z0-9]+$/.test(err.code)) {
    return err.code;
  }
  return 'EIO';
}
