// Runs the real netlink KernelTable inside a network namespace and serves it
// over JSON lines on stdin/stdout. A Node process cannot switch namespaces,
// so tests start this with `ip netns exec <ns> node kernel-driver.ts` and talk
// to it through kernel-remote.ts. Exits when stdin closes.
//
//   --table <id> --protocol <n> [--notify-buffer <bytes>]
//   stdin:  {"id":1,"op":"dump"} | {"id":2,"op":"add","route":{...RouteSpec}} | ...
//   stdout: {"ready":true} once, then {"id":1,"ok":true,"result":...}
//           | {"id":2,"ok":false,"error":{"name","code","message"}}
//           | {"event":"change","change":{...KernelChange}?} for every subscription notification

import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { KernelError } from '../../src/core/ports.ts';
import { routeProtocol, tableId } from '../../src/core/types.ts';
import { createNetlinkKernelTable } from '../../src/kernel/netlink.ts';
import type { DriverMessage, DriverRequest, WireOutcome } from './kernel-remote.ts';

const { values } = parseArgs({ options: { table: { type: 'string' }, protocol: { type: 'string' }, 'notify-buffer': { type: 'string' } } });
const table = createNetlinkKernelTable({
  table: tableId(Number(values.table ?? 198)),
  protocol: routeProtocol(Number(values.protocol ?? 248)),
  ...(values['notify-buffer'] !== undefined && { notifyBufferSize: Number(values['notify-buffer']) }),
});

const send = (message: DriverMessage): void => {
  process.stdout.write(`${JSON.stringify(message)}\n`);
};

let unsubscribe: (() => void) | null = null;
let closing = false;

async function handle(request: DriverRequest): Promise<unknown> {
  switch (request.op) {
    case 'dump':
      return table.dump();
    case 'add':
      return table.add(request.route);
    case 'delete':
      return table.delete(request.route);
    case 'apply-all':
      return (await table.applyAll!(request.changes)).map((e): WireOutcome => (e === null ? null : { code: e.code, message: e.message }));
    case 'interfaces':
      return table.interfaces();
    case 'subscribe-events':
      // Synchronous: the groups are joined before the reply is written, so a
      // client that has the reply knows later changes will be reported.
      unsubscribe ??= table.subscribe((change) => send({ event: 'change', ...(change && { change }) }));
      return undefined;
    case 'unsubscribe-events':
      unsubscribe?.();
      unsubscribe = null;
      return undefined;
    case 'close':
      closing = true;
      unsubscribe?.();
      await table.close();
      return undefined;
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === '') return;
  const request = JSON.parse(line) as DriverRequest;
  handle(request).then(
    (result) => {
      send({ id: request.id, ok: true, ...(result !== undefined && { result }) });
      if (closing) process.exit(0);
    },
    (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      send({ id: request.id, ok: false, error: { name: e.name, code: e instanceof KernelError ? e.code : undefined, message: e.message } });
    },
  );
});
lines.on('close', () => {
  void table.close().then(() => process.exit(0));
});

send({ ready: true });
