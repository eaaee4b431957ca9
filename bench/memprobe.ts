// Memory probe: where does `routewarden run`'s RSS go at scale? Starts the API
// double with the benchmark's cluster and the shipped CLI in a throw-away
// namespace, waits for sync and prints a breakdown of /proc/<pid>/smaps next
// to what V8 reports. `sudo node bench/memprobe.ts [--services N] [--routes N] [-- node flags]`
// The CLI gets the DaemonSet's NODE_OPTIONS and MALLOC_* variables unless
// RW_NODE_OPTIONS / RW_ARENAS say otherwise; RW_WAIT=<s> waits longer after
// sync, RW_MAPS=1 lists the large anonymous mappings, RW_SNAPSHOT=1 writes a
// heap snapshot (with `-- --heapsnapshot-signal=SIGUSR2`).

import { readFileSync } from 'node:fs';
import { inOwnNetns } from '../scripts/kernel-netns.ts';
import { createApiDouble } from '../tools/apidouble/index.ts';
import { buildShipped, deployedMallocEnv, deployedNodeOptions } from './build.ts';
import { addLine, generateCluster, seedApi } from './cluster.ts';
import { flushTable, ipBatch } from './kernel.ts';
import { gauge, get, inSync, startCli, until } from './live.ts';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return dflt;
  const raw = process.argv[i + 1] ?? '';
  if (!/^[1-9]\d*$/.test(raw)) {
    process.stderr.write(`memprobe: ${name} must be an integer of at least 1, got ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return Number(raw);
}

function smaps(pid: number): Record<string, number> {
  const text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  const out: Record<string, number> = {};
  let name = '';
  let size = 0;
  for (const line of text.split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const [a, b] = line
        .split(' ')[0]!
        .split('-')
        .map((h) => parseInt(h, 16));
      size = (b! - a!) / 1024;
      name = head[1] || `[anon ${size >= 1024 ? (size >= 65536 ? '>=64M' : '>=1M') : `${size}k`}]`;
      if (name.includes('node_modules') || name.endsWith('.node')) name = '[node binary and addons, file-backed]';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) out[name] = (out[name] ?? 0) + Number(rss[1]) / 1024;
  }
  return out;
}

const services = arg('--services', 10000);
const routes = arg('--routes', 10000);

await inOwnNetns(import.meta.url, async () => {
  const dd = process.argv.indexOf('--');
  const nodeFlags = dd >= 0 ? process.argv.slice(dd + 1) : [];
  const bin = process.env.RW_BIN ?? (await buildShipped());
  const cluster = generateCluster(services, routes, 500);
  const api = createApiDouble();
  await api.listen({ port: 0, host: '127.0.0.1' });
  seedApi(api, cluster);
  flushTable();
  ipBatch(cluster.placed.map((ip) => addLine(ip)));
  const cli = startCli(bin, api.kubeconfig(), process.env.RW_NODE_OPTIONS ?? deployedNodeOptions(), nodeFlags, {
    ...deployedMallocEnv(),
    ...(process.env.RW_ARENAS ? { MALLOC_ARENA_MAX: process.env.RW_ARENAS } : {}),
  });
  try {
    const t = performance.now();
    await until(inSync(cluster.placed.length), 180_000, 'in sync', cli);
    console.log(`in sync after ${Math.round(performance.now() - t)} ms; flags ${JSON.stringify(nodeFlags)}`);
    await new Promise((r) => setTimeout(r, Number(process.env.RW_WAIT ?? 3) * 1000));
    const pid = cli.child.pid!;
    const body = (await get('/metrics')).body;
    const mb = (n: string): string => (gauge(body, n) / 2 ** 20).toFixed(1);
    console.log(
      `rss ${mb('process_resident_memory_bytes')} heapTotal ${mb('nodejs_heap_size_total_bytes')} heapUsed ${mb('nodejs_heap_size_used_bytes')} external ${mb('nodejs_external_memory_bytes')}`,
    );
    for (const m of body.matchAll(/^nodejs_heap_space_size_(total|used)_bytes\{space="(\w+)"\} (\S+)$/gm)) {
      if (Number(m[3]) > 1 << 20) console.log(`  ${m[1]} ${m[2]} ${(Number(m[3]) / 2 ** 20).toFixed(1)}`);
    }
    const rows = Object.entries(smaps(pid))
      .filter(([, v]) => v > 1)
      .sort((a, b) => b[1] - a[1]);
    for (const [k, v] of rows.slice(0, 15)) console.log(`  smaps ${v.toFixed(1).padStart(7)} MB  ${k}`);
    if (process.env.RW_MAPS) {
      const text = readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n');
      for (let i = 0; i < text.length; i++) {
        const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(text[i]!);
        if (!m || m[4]) continue;
        const size = (parseInt(m[2]!, 16) - parseInt(m[1]!, 16)) / 1024;
        const rss = Number(/Rss:\s+(\d+)/.exec(text.slice(i, i + 6).join('\n'))?.[1] ?? 0);
        if (size >= 1024 && rss > 512) console.log(`  map ${m[3]} size ${size} kB rss ${rss} kB`);
      }
    }
    if (process.env.RW_SNAPSHOT) {
      process.kill(pid, 'SIGUSR2');
      await new Promise((r) => setTimeout(r, 20_000));
    }
    console.log(
      readFileSync(`/proc/${pid}/status`, 'utf8')
        .split('\n')
        .filter((l) => /^(VmRSS|RssAnon|RssFile|VmHWM)/.test(l))
        .join('  '),
    );
  } finally {
    await cli.stop();
    await api.close();
  }
});
