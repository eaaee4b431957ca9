// Relays TCP connections on the host to a Unix socket. In namespace mode the
// routewarden service runs inside a throw-away network namespace: a process
// there cannot be reached on the host's loopback, but a socket file can be
// opened from any namespace. The demo's parent process listens on --listen
// and hands every connection to the service's socket, byte for byte.

import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpToUnixRelay {
  /** The port actually bound (the one asked for, or a free one for 0). */
  readonly port: number;
  readonly host: string;
  /** Stops listening and cuts every relayed connection. Idempotent. */
  close(): Promise<void>;
}

export function relayTcpToUnix(listen: { readonly host: string; readonly port: number }, socketPath: string): Promise<TcpToUnixRelay> {
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect({ path: socketPath, allowHalfOpen: true });
    track(client);
    track(upstream);
    // Either side failing ends both: a half-relayed HTTP exchange is worthless.
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });

  let closed: Promise<void> | null = null;
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`listening on ${listen.host}:${listen.port}: ${err.message}`, { cause: err })));
    server.listen(listen.port, listen.host, () => {
      const addr = server.address();
      const port = addr !== null && typeof addr === 'object' ? addr.port : listen.port;
      resolve({
        port,
        host: listen.host,
        close() {
          closed ??= new Promise<void>((done) => {
            server.close(() => done());
            for (const s of sockets) s.destroy();
          });
          return closed;
        },
      });
    });
  });
}
