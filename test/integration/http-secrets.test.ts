// What the HTTP endpoints show while the API fails never carries the
// kubeconfig's credentials: a bearer token, a basic-auth password, a client
// key, and a password in the server URL are planted, the API is made to fail
// (an outage of the double; a server URL carrying a password, which
// routewarden refuses before any request), and every endpoint's answer, and the logs, are searched for them.
// A third run has --web-disable-status: only /metrics, /healthz and /readyz answer.

import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { describeIfRoot, killAndWait } from '../helpers/netns.ts';
import { PATIENCE_MS } from '../helpers/patience.ts';
import { createWorld, eventually } from '../helpers/world.ts';
import type { World } from '../helpers/world.ts';
import type { ChildProcess } from 'node:child_process';

const TOKEN = 'sha256~PLANTED-bearer-token-7f3a9c';
const PASSWORD = 'PLANTED-basic-password-51ce';
const URL_PASSWORD = 'PLANTED-url-password-d0e2';
const ENDPOINTS = ['/', '/drift', '/metrics', '/healthz', '/readyz', '/no-such-page'];
const PORT_OUTAGE = 19970;
const PORT_URL = 19971;
const PORT_BARE = 19972;

describeIfRoot('the endpoints never show kubeconfig credentials', () => {
  let w: World;
  const runs: ChildProcess[] = [];
  let key: string;
  const logs: string[] = [];

  const kubeconfig = (name: string, server: string): string => {
    const file = join(w.dir, name);
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'u', user: { token: TOKEN, username: 'admin', password: PASSWORD, 'client-key-data': Buffer.from(key).toString('base64') } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u', namespace: 'default' } }],
        'current-context': 'x',
      }),
      { mode: 0o644 },
    );
    return file;
  };
  const start = (args: string[], file: string) => {
    const child = w.spawnCli(['run', '--interval', '1s', '--kube-vip-config', 'off', '--kubeconfig', file, ...args]);
    child.stdout!.on('data', (d: Buffer) => logs.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
    runs.push(child);
  };
  // Every form a leak could take: the secret itself, its base64, a URL-encoded copy, a line of the key.
  const planted = (): string[] => {
    const keyLine = key.split('\n')[1]!;
    return [
      TOKEN,
      PASSWORD,
      URL_PASSWORD,
      keyLine,
      Buffer.from(key).toString('base64').slice(0, 40),
      Buffer.from(`admin:${PASSWORD}`).toString('base64'),
      encodeURIComponent(URL_PASSWORD),
    ];
  };

  beforeAll(async () => {
    w = await createWorld();
    key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const server = (parse(readFileSync(w.kubeconfig, 'utf8')) as { clusters: { cluster: { server: string } }[] }).clusters[0]!.cluster.server;
    await w.api.outage(true, 'unavailable');
    start(['--listen', `127.0.0.1:${PORT_OUTAGE}`], kubeconfig('outage.kubeconfig', server));
    const withUserinfo = server.replace('http://', `http://admin:${URL_PASSWORD}@`);
    start(['--listen', `127.0.0.1:${PORT_URL}`], kubeconfig('userinfo.kubeconfig', withUserinfo));
    start(['--listen', `127.0.0.1:${PORT_BARE}`, '--web-disable-status'], kubeconfig('bare.kubeconfig', server));
    // Both have finished checks that could not read the API.
    await eventually(async () => {
      const r = await w.get(PORT_OUTAGE, '/drift');
      return r.status === 200 && (JSON.parse(r.body) as { errors: { kubernetes?: string } }).errors.kubernetes !== undefined;
    }, 'the outage run reporting the API error').catch((err: Error) => {
      throw new Error(`${err.message}\n${logs.join('')}`);
    });
    await eventually(async () => {
      const r = await w.get(PORT_URL, '/drift');
      return r.status === 200 && (JSON.parse(r.body) as { errors: { kubernetes?: string } }).errors.kubernetes !== undefined;
    }, 'the userinfo run reporting the API error').catch((err: Error) => {
      throw new Error(`${err.message}\n${logs.join('')}`);
    });
  }, 3 * PATIENCE_MS);

  afterAll(async () => {
    for (const r of runs) await killAndWait(r);
    await w?.api.outage(false);
    await w?.destroy();
  });

  it('the API error is on show, and none of the planted secrets is, on any endpoint', async () => {
    const drift = JSON.parse((await w.get(PORT_OUTAGE, '/drift')).body) as { errors: { kubernetes: string } };
    expect(drift.errors.kubernetes).toMatch(/503|outage|unavailable/i);
    const userinfo = JSON.parse((await w.get(PORT_URL, '/drift')).body) as { errors: { kubernetes: string } };
    // Refused before any request, and the URL is not repeated.
    expect(userinfo.errors.kubernetes).toContain("the cluster's server URL carries credentials");
    for (const port of [PORT_OUTAGE, PORT_URL, PORT_BARE]) {
      for (const path of ENDPOINTS) {
        const { body } = await w.get(port, path);
        for (const secret of planted()) expect(body.includes(secret), `${secret} in ${path} on :${port}`).toBe(false);
      }
    }
  });

  it('nor in the logs', () => {
    const all = logs.join('');
    expect(all).toContain('"level"');
    for (const secret of planted())
      expect(
        all.includes(secret),
        `${secret} in ${all
          .split('\n')
          .filter((l) => l.includes(secret))
          .join('\n')}`,
      ).toBe(false);
  });

  it('--web-disable-status: no /drift and no status page, /metrics and the probes still answer', async () => {
    await eventually(async () => (await w.get(PORT_BARE, '/healthz')).status === 200, 'the third run serving');
    expect((await w.get(PORT_BARE, '/drift')).status).toBe(404);
    expect((await w.get(PORT_BARE, '/')).status).toBe(404);
    expect((await w.get(PORT_BARE, '/nope')).body).toBe('not found: try /metrics, /healthz, /readyz\n');
    expect((await w.get(PORT_BARE, '/metrics')).body).toContain('routewarden_source_up{source="kubernetes"} 0');
    expect((await w.get(PORT_OUTAGE, '/')).status).toBe(200);
  });
});
