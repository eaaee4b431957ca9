// The namespace harness other integration tests build on: namespaces that
// clean up after themselves, interfaces, and the TCP -> Unix socket forwarder
// that lets an in-namespace process reach a server in the test process.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNetns, describeIfRoot, forwardTcpToUnix, type Netns } from '../helpers/netns.ts';

const namespaces = (): string[] =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '');

/** GET http://127.0.0.1:<port>/<path> from inside `ns`; prints the status and body, or the error code. */
const GET = `
  const [port, path] = process.argv.slice(1);
  fetch('http://127.0.0.1:' + port + path).then(
    async (r) => console.log(r.status + ' ' + (await r.text())),
    (e) => console.log('error ' + (e.cause?.code ?? e.message)),
  );
`;

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve) => server.listen(path, resolve));
}

describeIfRoot('network namespace harness', () => {
  let ns: Netns;
  let dir: string;
  beforeAll(async () => {
    ns = await createNetns();
    dir = mkdtempSync(join(tmpdir(), 'rwtest-'));
  });
  afterAll(async () => {
    await ns?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a new namespace has lo up and nothing else', async () => {
    const links = JSON.parse(await ns.ip('-j link show')) as { ifname: string; flags: string[] }[];
    expect(links.map((l) => [l.ifname, l.flags.includes('UP')])).toEqual([['lo', true]]);
  });

  it('exec reports the exit code and output of a command run inside the namespace', async () => {
    expect(await ns.exec(['sh', '-c', 'echo out; echo err >&2; exit 3'])).toEqual({ stdout: 'out\n', stderr: 'err\n', code: 3 });
  });

  it('ip throws with the command and ip stderr when it fails', async () => {
    await expect(ns.ip('route add 10.9.0.1/32 dev rw-nosuch')).rejects.toThrow(/route add 10\.9\.0\.1\/32 dev rw-nosuch.*Cannot find device/);
  });

  it('addDummy makes an up interface with carrier and its addresses', async () => {
    await ns.addDummy('rw-h0', ['192.168.80.1/24', 'fd00:80::1/64']);
    const [link] = JSON.parse(await ns.ip('-j addr show dev rw-h0')) as { flags: string[]; addr_info: { local: string; prefixlen: number }[] }[];
    expect(link?.flags).toEqual(expect.arrayContaining(['UP', 'LOWER_UP']));
    expect(link?.addr_info.map((a) => `${a.local}/${a.prefixlen}`)).toEqual(expect.arrayContaining(['192.168.80.1/24', 'fd00:80::1/64']));
  });

  it('the forwarder relays HTTP from inside the namespace to a Unix socket server in this process', async () => {
    const socketPath = join(dir, 'api.sock');
    const server = createServer((req, res) => res.end(`hello ${req.url}`));
    await listen(server, socketPath);
    const forwarder = await forwardTcpToUnix(ns, 0, socketPath);
    try {
      expect(forwarder.port).toBeGreaterThan(0);
      const r = await ns.exec([process.execPath, '-e', GET, String(forwarder.port), '/api/v1/services']);
      expect(r.stdout.trim()).toBe('200 hello /api/v1/services');
    } finally {
      await forwarder.close();
      server.close();
    }
  });

  it('the forwarder survives a connection to a server that is not there yet and relays once it is', async () => {
    const socketPath = join(dir, 'late.sock');
    const forwarder = await forwardTcpToUnix(ns, 0, socketPath);
    const server = createServer((_req, res) => res.end('late'));
    try {
      const before = await ns.exec([process.execPath, '-e', GET, String(forwarder.port), '/']);
      expect(before.stdout).toMatch(/^error /);
      await listen(server, socketPath);
      const after = await ns.exec([process.execPath, '-e', GET, String(forwarder.port), '/']);
      expect(after.stdout.trim()).toBe('200 late');
    } finally {
      await forwarder.close();
      server.close();
    }
  });

  it('a fixed port that is taken fails with the reason instead of hanging', async () => {
    const first = await forwardTcpToUnix(ns, 0, join(dir, 'x.sock'));
    try {
      await expect(forwardTcpToUnix(ns, first.port, join(dir, 'x.sock'))).rejects.toThrow(/exited with code 1.*EADDRINUSE/);
    } finally {
      await first.close();
    }
  });

  it('destroy kills what was spawned and deletes the namespace', async () => {
    const other = await createNetns();
    const child = other.spawn(['sleep', '300']);
    const forwarder = await forwardTcpToUnix(other, 0, join(dir, 'y.sock'));
    expect(namespaces()).toContain(other.name);
    await other.destroy();
    expect(namespaces()).not.toContain(other.name);
    expect(child.exitCode !== null || child.signalCode !== null).toBe(true);
    await forwarder.close(); // already gone: resolves at once
    await other.destroy(); // idempotent
  });
});
