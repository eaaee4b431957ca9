// The interfaces the adapters implement. The loop, the CLI and the tests
// depend on these, never on a concrete adapter.

import type { ClusterChanges, ClusterSnapshot, InterfaceInfo } from './cluster.ts';
import type { KernelChange } from './kernel-mirror.ts';
import type { KernelDump, RouteSpec, SourceStatus } from './types.ts';

/** Error classes a kernel operation can end in; decide retry vs stop on these. */
export type KernelErrorCode =
  | 'EPERM' // no permission (not root, no CAP_NET_ADMIN)
  | 'EEXIST' // add: a route with the same table/dst/tos/metric exists
  | 'ESRCH' // delete: no such route
  | 'ENODEV' // add: the device does not exist
  | 'EINVAL' // the kernel refused the attributes
  | 'ENETUNREACH'
  | 'EIO'; // anything else

export class KernelError extends Error {
  readonly code: KernelErrorCode;
  constructor(code: KernelErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KernelError';
    this.code = code;
  }
}

/** One change of a batch; a repair plan's steps are such changes. */
export interface RouteChange {
  readonly op: 'add' | 'delete';
  readonly route: RouteSpec;
}

/**
 * kube-vip's table on this node. An implementation is bound to one
 * (table, protocol) pair at construction.
 */
export interface KernelTable {
  /** Every route of the table, both families, split into owned (protocol matches) and foreign. */
  dump(): Promise<KernelDump>;
  /** Add a route with exactly kube-vip's attributes (NLM_F_CREATE|NLM_F_EXCL). */
  add(route: RouteSpec): Promise<void>;
  /** Delete the owned route matching table, destination, device and protocol. */
  delete(route: RouteSpec): Promise<void>;
  /**
   * Optional: the same adds and deletes, in this order, as one pipelined
   * exchange (what `ip -batch` is to `ip route`); every change is tried
   * whatever happens to the others. One result per change: null when done,
   * else the KernelError that add()/delete() would have thrown. Never rejects.
   */
  applyAll?(changes: readonly RouteChange[]): Promise<(KernelError | null)[]>;
  /** Interfaces with their addresses and state. */
  interfaces(): Promise<InterfaceInfo[]>;
  /**
   * The output devices of this node's default routes in the main table, per
   * family, as kube-vip's GetDefaultGatewayInterface reads them (the first
   * default route, or multipath hop, with a device). Optional: an adapter
   * without it leaves kube-vip's default-gateway interface not judged.
   */
  defaultRoutes?(): Promise<{ readonly ipv4: string | null; readonly ipv6: string | null }>;
  /**
   * Call `onChange` whenever a route notification for the table (with
   * `routes`) or a link change (without an argument) arrives, and with `lost`
   * or `resync` when notifications were lost or could not be listened to:
   * then only a full re-read is right (see KernelChange). Returns an
   * unsubscribe function.
   */
  subscribe(onChange: (change?: KernelChange) => void): () => void;
  close(): Promise<void>;
}

/** The Kubernetes side: informers behind an index. */
export interface ClusterSource {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** ok only when every informer has listed successfully and its watch is alive. */
  status(): SourceStatus;
  /** The current indexed view. Meaningless unless status().state === 'ok'. */
  snapshot(): ClusterSnapshot;
  /**
   * Optional: the view without a copy, the index's own maps. Valid only until
   * the next await (informer events change it in place); the incremental
   * engine reads it synchronously. snapshot() is the stable view.
   */
  live?(): ClusterSnapshot;
  /**
   * Optional: the change journal. What changed since `cursor` (a value this
   * method returned before; undefined the first time), and the cursor to
   * pass next time. 'all' when the journal no longer reaches back that far
   * (or on the first call): then only a full computation is right.
   */
  changes?(cursor: number | undefined): { readonly cursor: number; readonly changed: ClusterChanges | 'all' };
  /** Called on every informer event and on status changes. Returns unsubscribe. */
  onChange(cb: () => void): () => void;
  /**
   * When the server last proved the whole view current (epoch ms of the
   * stalest part's last LIST, event or bookmark); undefined when unknown.
   * Absent: the source cannot tell (a simulated one), freshness is not judged.
   */
  freshness?(): { readonly lastHeardAt: number | undefined };
  /** Objects rejected so far, by Kubernetes kind, since start (a counter). */
  rejectedTotal?(): Readonly<Record<string, number>>;
}

/** Kubernetes Events about this node (RoutesRepaired, RepairBlocked). */
export interface EventSink {
  emit(event: { readonly type: 'Normal' | 'Warning'; readonly reason: string; readonly message: string }): Promise<void>;
}
