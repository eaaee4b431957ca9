// A burst of route changes, as fast as the kernel takes them: run inside a
// network namespace (`ns.spawnNode`). `ip -batch` waits for each answer and
// takes seconds for 20,000 changes on a busy machine; this pipelines them 64
// to a datagram through routewarden's own RtnlSocket, ~0.1-1 s here.
//
//   node route-burst.ts <count> <final-orphan>
//   adds <count> /32 routes in 10.50.0.0/16 (table 198, proto 248, dev lo),
//   deletes them again, then adds <final-orphan>/32: 2*count+1 changes.
//   stdout: {"changes":N,"ms":T,"errors":E}

import { NLM_F_CREATE, NLM_F_EXCL, RtnlSocket, type BatchRequest } from '../../src/kernel/rtnl.ts';
import { encodeRouteRequest, setRequestIfindex } from '../../src/kernel/translate.ts';
import { routeProtocol, RTN_UNICAST, tableId } from '../../src/core/types.ts';

const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const LO = 1;

const count = Number(process.argv[2] ?? 10_000);
const finalOrphan = process.argv[3] ?? '10.51.0.1';

function request(type: number, destination: string): BatchRequest {
  const encoded = encodeRouteRequest({ family: 'ipv4', destination, table: tableId(198), protocol: routeProtocol(248), type: RTN_UNICAST, device: 'lo' }, LO);
  if (!Buffer.isBuffer(encoded)) throw new Error(encoded.problem);
  setRequestIfindex(encoded, LO);
  return { type, flags: type === RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_EXCL : 0, payload: [encoded] };
}

const dests = Array.from({ length: count }, (_, i) => `10.50.${i >> 8}.${i & 255}/32`);
const socket = new RtnlSocket({ peek: true });
const started = performance.now();
const results = [
  ...(await socket.requestBatch(dests.map((d) => request(RTM_NEWROUTE, d)))),
  ...(await socket.requestBatch(dests.map((d) => request(RTM_DELROUTE, d)))),
  ...(await socket.requestBatch([request(RTM_NEWROUTE, `${finalOrphan}/32`)])),
];
const ms = Math.round(performance.now() - started);
socket.close();
process.stdout.write(`${JSON.stringify({ changes: results.length, ms, errors: results.filter(Boolean).length })}\n`);
