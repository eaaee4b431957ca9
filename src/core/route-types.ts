// What the kernel does with a route of each type as kube-vip sends it
// (`vip_routingtabletype`; PrepareRoute, pkg/vip/address.go: scope universe,
// link for RTN_LOCAL, an output device, no gateway). Checked against Linux
// 6.18 in a network namespace (docs/kube-vip-routing.md §2.1; kernel contract
// cases in test/helpers/kernel-contract.ts). One source for the expected set
// (expected.ts draftRoute), the kernel adapters' EINVAL explanation and the
// in-memory table (src/kernel).

import type { Family } from './types.ts';

/** RTN_MAX: the kernel refuses any higher route type ("Invalid route type"). */
const RTN_MAX = 11;

const NAMES = ['unspec', 'unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat', 'xresolve'];

/** Error routes: the kernel refuses a device on them for IPv4, and stores IPv6 ones on `lo`. */
const isErrorType = (type: number): boolean => type >= 6 && type <= 9;

/** The name `ip route` shows for a route type. */
export const routeTypeName = (type: number): string => NAMES[type] ?? String(type);

/**
 * Why the kernel refuses to add a route of this type in this family with
 * kube-vip's scope and a device (EINVAL), or null when it takes it. IPv4
 * takes unicast and multicast only: local, broadcast, anycast, nat and
 * xresolve fail on the scope ("Invalid scope"), blackhole, unreachable,
 * prohibit and throw on the device. IPv6 takes every type up to RTN_MAX.
 */
export function routeTypeRefusal(family: Family, type: number): string | null {
  if (type > RTN_MAX) return `route type ${type} is above RTN_MAX (${RTN_MAX}) (kernel: "Invalid route type")`;
  if (family === 'ipv6') return null;
  if (type === 1 || type === 5) return null;
  if (type === 2) return 'IPv4 local routes with scope link are refused (kernel: "Invalid scope")';
  if (isErrorType(type))
    return `IPv4 ${routeTypeName(type)} routes cannot name a device (kernel: "Gateway, device and multipath can not be specified for this route type")`;
  return `IPv4 ${routeTypeName(type)} routes with scope universe are refused (kernel: "Invalid scope")`;
}

/**
 * The device the kernel stores a route on: IPv6 blackhole, unreachable,
 * prohibit and throw routes go to `lo` whatever device the request names
 * (so a delete naming kube-vip's device finds nothing: ESRCH); every other
 * route keeps its device.
 */
export function storedDevice(family: Family, type: number, device: string): string {
  return storedOnLo(family, type) ? 'lo' : device;
}

/** IPv6 error routes: stored on `lo`, so kube-vip's own delete, which names its device, misses them (ESRCH). */
export const storedOnLo = (family: Family, type: number): boolean => family === 'ipv6' && isErrorType(type);
