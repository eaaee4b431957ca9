// A small request/dump layer for NETLINK_ROUTE on top of the `netlink`
// package's RawNetlinkSocket.
//
// Why not createRtNetlink()'s request(): its multipart handling drops the
// NLMSG_DONE payload, which is where the kernel reports an error that ended a
// dump early, and it reports NLMSG_ERROR only as a string. A truncated dump
// read as complete would show every route after the cut as "missing", so we
// frame messages ourselves (the header is 16 bytes) and keep the package's
// parsers for the payloads. It also lets a dump stream through a callback
// instead of materialising 50k parsed messages first.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { RawNetlinkSocket } from 'netlink';
import { errnoName, errnoNameOf } from './errors.ts';

export const NETLINK_ROUTE = 0;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
/** The dump was interrupted by a concurrent change: its content may be inconsistent. */
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP = 0x300;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

const HEADER = 16;
/** Larger than any datagram the kernel sends us (dumps cap at 32 KiB). */
const RECV_BUFFER = 64 * 1024;
/** No request to the kernel should take this long; a hang becomes an error, not a stuck loop. */
const DEFAULT_TIMEOUT_MS = 10_000;

/** A failed netlink exchange: `errno` is the kernel's (or the socket's) errno name. */
export class NetlinkError extends Error {
  readonly errno: string;
  constructor(errno: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NetlinkError';
    this.errno = errno;
  }
}

/** The dump saw NLM_F_DUMP_INTR: retry it. */
export class DumpInterruptedError extends NetlinkError {
  constructor() {
    super('EINTR', 'dump interrupted by a concurrent change (NLM_F_DUMP_INTR)');
    this.name = 'DumpInterruptedError';
  }
}

/**
 * Called for each reply message with its type and its payload (after the
 * netlink header) as `datagram[start, end)`: a dump of every table yields tens
 * of thousands of messages, most of them skipped, so no view is made for them.
 */
export type MessageSink = (type: number, datagram: Buffer, start: number, end: number) => void;

interface Pending {
  readonly seq: number;
  readonly dump: boolean;
  readonly sink: MessageSink;
  interrupted: boolean;
  resolve(): void;
  reject(err: Error): void;
}

/** One request of a batch: a message type, its flags (NLM_F_REQUEST and NLM_F_ACK are added) and its body. */
export interface BatchRequest {
  readonly type: number;
  readonly flags: number;
  readonly payload: readonly Uint8Array[];
}

/** A batch in flight: which sequence numbers are ours, and which one closes the datagram in flight. */
interface PendingBatch {
  readonly index: Map<number, number>;
  readonly results: (NetlinkError | null)[];
  lastSeq: number;
  receive(seq: number, errno: number): void;
  reject(err: Error): void;
}

/** Requests per datagram in a batch: should all fail, their error ACKs (one skb each) must fit the receive buffer. */
const BATCH_WINDOW = 64;

export interface RtnlSocketOptions {
  /** rtnetlink multicast groups (RTNLGRP_*) to join. */
  readonly groups?: readonly number[];
  /** Receives every datagram that is not a reply to our own request. */
  readonly onNotification?: (datagram: Buffer) => void;
  /** Socket-level errors (ENOBUFS when notifications overflowed the receive buffer). */
  readonly onError?: (err: NetlinkError) => void;
  readonly recvBufferSize?: number;
  /** Size each read exactly (two syscalls) instead of reading into a 64 KiB buffer; for notification sockets. */
  readonly peek?: boolean;
  readonly timeoutMs?: number;
}

/**
 * One rtnetlink socket. Requests are serialised: the kernel runs one dump per
 * socket at a time and replies are matched by sequence number. The socket is
 * unreferenced while idle so it never keeps the process alive by itself.
 */
export class RtnlSocket {
  readonly #raw: RawNetlinkSocket;
  readonly #timeoutMs: number;
  readonly #onNotification: ((datagram: Buffer) => void) | undefined;
  readonly #onError: ((err: NetlinkError) => void) | undefined;
  #seq = Math.floor(Math.random() * 0x7fffffff);
  #pending: Pending | null = null;
  #batch: PendingBatch | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(options: RtnlSocketOptions = {}) {
    try {
      this.#raw = new RawNetlinkSocket(NETLINK_ROUTE, {
        recvBufferSize: options.recvBufferSize ?? 0,
        sendBufferSize: 0,
        // For dumps, one read per datagram into a fixed buffer instead of the
        // package's default peek-then-read: the kernel sizes dump datagrams by
        // the reader's buffer (up to 32 KiB), so this also cuts a 50k-route
        // dump from ~1200 datagrams to ~150. Notifications are one small
        // message each: peeking sizes their buffers exactly.
        messagePeeking: options.peek ?? false,
        msgBufferSize: RECV_BUFFER,
      });
    } catch (err) {
      throw new NetlinkError(errnoNameOf(err), 'cannot open rtnetlink socket', { cause: err });
    }
    this.#raw.unref();
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#onNotification = options.onNotification;
    this.#onError = options.onError;
    this.#raw.on('message', (buf: Buffer) => this.#receive(buf));
    // Either way something was lost: fail the request in flight and tell
    // the owner (a subscriber must re-read everything).
    const lost = (e: NetlinkError): void => {
      this.#fail(e);
      this.#onError?.(e);
    };
    this.#raw.on('truncatedMessage', () => lost(new NetlinkError('EMSGSIZE', 'netlink message truncated')));
    this.#raw.on('error', (err: Error) => {
      lost(new NetlinkError(errnoNameOf(err), `rtnetlink socket error: ${err.message}`, { cause: err }));
    });
    try {
      for (const group of options.groups ?? []) this.#raw.addMembership(group);
    } catch (err) {
      this.close();
      throw new NetlinkError(errnoNameOf(err), 'cannot join rtnetlink multicast group', { cause: err });
    }
  }

  /** Send one request and resolve on its ACK; reply messages go to `sink`. */
  request(type: number, flags: number, payload: readonly Uint8Array[], sink: MessageSink = () => {}): Promise<void> {
    return this.#enqueue(type, flags | NLM_F_REQUEST | NLM_F_ACK, payload, false, sink);
  }

  /** Run a dump; every message goes to `sink`. Rejects with DumpInterruptedError when the kernel flagged it. */
  dump(type: number, payload: readonly Uint8Array[], sink: MessageSink): Promise<void> {
    return this.#enqueue(type, NLM_F_REQUEST | NLM_F_DUMP, payload, true, sink);
  }

  /**
   * Many requests in order, pipelined the way `ip -batch` is not: up to
   * BATCH_WINDOW messages go out in one datagram, which the kernel handles one
   * after another. Only the last asks for an ACK; the kernel answers every
   * failing message anyway (netlink_rcv_skb acks on error whatever the
   * flags), in order, so once the last ACK is in, every message without an
   * error succeeded. Then the next datagram leaves. A failing request does not
   * stop the others. Resolves with one entry per request: null when it
   * succeeded, else the kernel's error; rejects only when the socket fails
   * (an error ACK dropped for want of buffer space surfaces as ENOBUFS).
   */
  requestBatch(requests: readonly BatchRequest[]): Promise<(NetlinkError | null)[]> {
    const run = (): Promise<(NetlinkError | null)[]> => this.#exchangeBatch(requests);
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  /** The socket's netlink port id (nl_pid), as /proc/net/netlink lists it; null once closed. */
  port(): number | null {
    if (this.#closed) return null;
    try {
      return (this.#raw.address() as { port: number }).port;
    } catch {
      return null;
    }
  }

  /** SO_RCVBUF as the kernel set it (twice what was asked, capped by net.core.rmem_max); null once closed. */
  receiveBufferSize(): number | null {
    if (this.#closed) return null;
    try {
      return this.#raw.getRecvBufferSize();
    } catch {
      return null;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#fail(new NetlinkError('EBADF', 'rtnetlink socket closed'));
    this.#raw.close();
  }

  #enqueue(type: number, flags: number, payload: readonly Uint8Array[], dump: boolean, sink: MessageSink): Promise<void> {
    const run = (): Promise<void> => this.#exchange(type, flags, payload, dump, sink);
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  #exchange(type: number, flags: number, payload: readonly Uint8Array[], dump: boolean, sink: MessageSink): Promise<void> {
    if (this.#closed) return Promise.reject(new NetlinkError('EBADF', 'rtnetlink socket closed'));
    this.#seq = (this.#seq % 0x7fffffff) + 1;
    const seq = this.#seq;
    const header = this.#header(type, flags, seq, payload);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#fail(new NetlinkError('ETIMEDOUT', `no reply from the kernel within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.#pending = null;
        this.#raw.unref();
      };
      this.#pending = {
        seq,
        dump,
        sink,
        interrupted: false,
        resolve: () => {
          finish();
          resolve();
        },
        reject: (err) => {
          finish();
          reject(err);
        },
      };
      this.#raw.ref();
      this.#raw.send([header, ...payload], undefined, (err) => {
        if (err) this.#fail(new NetlinkError(errnoNameOf(err), `sending netlink request: ${err.message}`, { cause: err }));
      });
    });
  }

  #exchangeBatch(requests: readonly BatchRequest[]): Promise<(NetlinkError | null)[]> {
    if (this.#closed) return Promise.reject(new NetlinkError('EBADF', 'rtnetlink socket closed'));
    const results: (NetlinkError | null)[] = new Array<NetlinkError | null>(requests.length).fill(null);
    if (requests.length === 0) return Promise.resolve(results);
    return new Promise((resolve, reject) => {
      let next = 0;
      let timer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        clearTimeout(timer);
        this.#batch = null;
        this.#raw.unref();
      };
      const batch: PendingBatch = {
        index: new Map(),
        results,
        lastSeq: 0,
        receive: (seq, errno) => {
          const i = batch.index.get(seq);
          if (i === undefined) return;
          if (errno < 0) results[i] = new NetlinkError(errnoName(errno), `kernel answered ${errnoName(errno)}`);
          if (seq === batch.lastSeq) sendNext();
        },
        reject: (err) => {
          finish();
          reject(err);
        },
      };
      const sendNext = (): void => {
        clearTimeout(timer);
        if (next >= requests.length) {
          finish();
          resolve(results);
          return;
        }
        const end = Math.min(requests.length, next + BATCH_WINDOW);
        const bufs: Uint8Array[] = [];
        batch.index.clear();
        for (; next < end; next++) {
          const r = requests[next]!;
          this.#seq = (this.#seq % 0x7fffffff) + 1;
          batch.index.set(this.#seq, next);
          const ack = next === end - 1 ? NLM_F_ACK : 0;
          bufs.push(this.#header(r.type, r.flags | NLM_F_REQUEST | ack, this.#seq, r.payload), ...r.payload);
        }
        batch.lastSeq = this.#seq;
        timer = setTimeout(() => this.#fail(new NetlinkError('ETIMEDOUT', `no reply from the kernel within ${this.#timeoutMs} ms`)), this.#timeoutMs);
        this.#raw.send(bufs, undefined, (err) => {
          if (err) this.#fail(new NetlinkError(errnoNameOf(err), `sending netlink requests: ${err.message}`, { cause: err }));
        });
      };
      this.#batch = batch;
      this.#raw.ref();
      sendNext();
    });
  }

  /** nlmsghdr for a message of `payload`; nlmsg_pid 0: the kernel fills in our port. */
  #header(type: number, flags: number, seq: number, payload: readonly Uint8Array[]): Buffer {
    let length = HEADER;
    for (const p of payload) length += p.length;
    // From Node's shared pool: a 10,000-route repair sends 10,000 headers.
    const header = Buffer.allocUnsafe(HEADER);
    header.writeUInt32LE(length, 0);
    header.writeUInt16LE(type, 4);
    header.writeUInt16LE(flags, 6);
    header.writeUInt32LE(seq, 8);
    header.writeUInt32LE(0, 12); // nlmsg_pid
    return header;
  }

  #fail(err: NetlinkError): void {
    this.#pending?.reject(err);
    this.#batch?.reject(err);
  }

  /** ACKs of a batch: one NLMSG_ERROR per request, errno 0 for success. */
  #receiveBatch(batch: PendingBatch, buf: Buffer): void {
    let offset = 0;
    while (offset + HEADER <= buf.length) {
      const length = buf.readUInt32LE(offset);
      if (length < HEADER || offset + length > buf.length) {
        batch.reject(new NetlinkError('EPROTO', `malformed netlink message (length ${length})`));
        return;
      }
      if (buf.readUInt16LE(offset + 4) === NLMSG_ERROR) {
        const errno = length - HEADER >= 4 ? buf.readInt32LE(offset + HEADER) : 0;
        batch.receive(buf.readUInt32LE(offset + 8), errno);
        if (this.#batch !== batch) return; // done, or failed
      }
      offset += (length + 3) & ~3;
    }
  }

  #receive(buf: Buffer): void {
    const batch = this.#batch;
    if (batch && buf.length >= HEADER && batch.index.has(buf.readUInt32LE(8))) {
      this.#receiveBatch(batch, buf);
      return;
    }
    const pending = this.#pending;
    // Datagrams are either replies (all messages carry our seq) or multicast
    // notifications (seq 0); the kernel never mixes them in one datagram.
    if (buf.length < HEADER || !pending || buf.readUInt32LE(8) !== pending.seq) {
      this.#onNotification?.(buf);
      return;
    }
    let offset = 0;
    while (offset + HEADER <= buf.length) {
      const length = buf.readUInt32LE(offset);
      if (length < HEADER || offset + length > buf.length) {
        pending.reject(new NetlinkError('EPROTO', `malformed netlink message (length ${length})`));
        return;
      }
      const type = buf.readUInt16LE(offset + 4);
      const flags = buf.readUInt16LE(offset + 6);
      const start = offset + HEADER;
      const end = offset + length;
      offset += (length + 3) & ~3;
      if (flags & NLM_F_DUMP_INTR) pending.interrupted = true;
      if (type === NLMSG_ERROR || type === NLMSG_DONE) {
        // NLMSG_ERROR carries the errno (0 = ACK); a dump's NLMSG_DONE carries
        // the error that ended it, if any.
        const errno = end - start >= 4 ? buf.readInt32LE(start) : 0;
        if (errno < 0) pending.reject(new NetlinkError(errnoName(errno), `kernel answered ${errnoName(errno)}`));
        else if (pending.interrupted) pending.reject(new DumpInterruptedError());
        else if (type === NLMSG_DONE || !pending.dump) pending.resolve();
        return;
      }
      if (type === NLMSG_NOOP) continue;
      if (type === NLMSG_OVERRUN) {
        pending.reject(new NetlinkError('EOVERFLOW', 'netlink overrun'));
        return;
      }
      try {
        pending.sink(type, buf, start, end);
      } catch (err) {
        pending.reject(err instanceof NetlinkError ? err : new NetlinkError('EPROTO', `cannot parse netlink message: ${String(err)}`, { cause: err }));
        return;
      }
    }
  }
}

/** A netlink socket's receive side, as the kernel lists it in /proc/self/net/netlink. */
export interface SocketQueue {
  /** Messages dropped because they did not fit the receive buffer (the Drops column). */
  readonly drops: number;
  /** Bytes queued, not read yet (the Rmem column: sk_rmem_alloc). */
  readonly queued: number;
}

/**
 * The receive side of the NETLINK_ROUTE socket with this port id in this
 * network namespace: every notification that did not fit the receive buffer
 * (Drops) and what is queued unread (Rmem); null when the file or the socket
 * cannot be found.
 */
export function socketQueue(port: number, table = '/proc/self/net/netlink'): SocketQueue | null {
  let text: string;
  try {
    text = readFileSync(table, 'latin1');
  } catch {
    return null;
  }
  const lines = text.split('\n');
  const header = (lines[0] ?? '').trim().split(/\s+/);
  const eth = header.indexOf('Eth');
  const pid = header.indexOf('Pid');
  const rmem = header.indexOf('Rmem');
  const drops = header.indexOf('Drops');
  if (eth < 0 || pid < 0 || rmem < 0 || drops < 0) return null;
  for (const line of lines.slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[eth] === String(NETLINK_ROUTE) && cols[pid] === String(port)) {
      const d = Number(cols[drops]);
      const q = Number(cols[rmem]);
      return Number.isSafeInteger(d) && Number.isSafeInteger(q) ? { drops: d, queued: q } : null;
    }
  }
  return null;
}

/**
 * True when the `netlink` package loads routewarden's patched native binding
 * (native/netlink/binding.cc, built at install by scripts/netlink-native.mjs)
 * rather than the package's prebuilt one, which aborts the process when
 * notifications overflow.
 */
export function nativeBindingPatched(): boolean {
  try {
    const fromNetlink = createRequire(createRequire(import.meta.url).resolve('netlink/package.json'));
    const dir = fromNetlink.resolve('./package.json').replace(/package\.json$/, '');
    const binding = (fromNetlink('node-gyp-build') as (dir: string) => { routewardenPatch?: unknown })(dir);
    return typeof binding.routewardenPatch === 'number';
  } catch {
    return false;
  }
}
