// --web-config-file end to end: a real Prometheus scrapes a real
// `routewarden run` (inside a network namespace, over the API double) over
// TLS, presenting a client certificate from the configured client CA and basic
// auth credentials checked against a bcrypt hash. A second job with the client
// certificate but no password is refused with 401, a client without a
// certificate does not get through the handshake, and the drift alerts still
// fire from what the authenticated job scraped.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, renderRules } from '../../alerts/generate.ts';
import { withShortFor } from '../../alerts/rules.ts';
import { endpointSlice, service } from '../../tools/apidouble/index.ts';
import { certDir, opensslBinary } from '../helpers/certs.ts';
import type { CertDir, Pair } from '../helpers/certs.ts';
import { describeIfRoot, exposeToHost, killAndWait } from '../helpers/netns.ts';
import type { HostExposure } from '../helpers/netns.ts';
import { pollUntil, prometheusBinary, startPrometheus } from '../helpers/prometheus.ts';
import type { Prometheus } from '../helpers/prometheus.ts';
import { createWorld } from '../helpers/world.ts';
import type { World } from '../helpers/world.ts';
import type { ChildProcess } from 'node:child_process';

const missing = [prometheusBinary() === null ? 'prometheus' : '', opensslBinary() === null ? 'openssl' : ''].filter(Boolean);
if (missing.length > 0) console.warn(`SKIPPED Prometheus over TLS and basic auth: ${missing.join(' and ')} not installed`);
const suite = missing.length > 0 ? describe.skip : describeIfRoot;

const PORT = 19961;
const PASSWORD = 'scrape-me-0123';

suite('a real Prometheus scraping routewarden over TLS with client certificates and basic auth', () => {
  let w: World;
  let run: ChildProcess;
  let exposed: HostExposure;
  let prom: Prometheus;
  let dir: string;
  let certs: CertDir;
  let ca: Pair;
  let client: Pair;

  const get = (path: string, opts: { cert?: Pair; password?: string }) =>
    new Promise<{ status: number; body: string; header: string | undefined }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: Number(exposed.address.split(':')[1]),
          path,
          agent: false,
          ca: readFileSync(ca.cert),
          servername: 'localhost',
          ...(opts.cert ? { cert: readFileSync(opts.cert.cert), key: readFileSync(opts.cert.key) } : {}),
          headers: opts.password ? { authorization: `Basic ${Buffer.from(`prometheus:${opts.password}`).toString('base64')}` } : {},
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, header: res.headers['www-authenticate'] as string | undefined }));
        },
      );
      req.on('error', reject);
      req.end();
    });

  beforeAll(async () => {
    w = await createWorld();
    dir = mkdtempSync(join(tmpdir(), 'rw-prom-tls-'));
    certs = certDir();
    ca = certs.ca('scrape-ca');
    const server = certs.leaf('routewarden', ca, { san: 'DNS:localhost,IP:127.0.0.1', usage: 'serverAuth' });
    client = certs.leaf('prometheus', ca, { usage: 'clientAuth' });
    const webConfig = join(certs.dir, 'web.yml');
    writeFileSync(
      webConfig,
      [
        'tls_server_config:',
        `  cert_file: ${server.cert}`,
        `  key_file: ${server.key}`,
        `  client_ca_file: ${ca.cert}`,
        '  client_auth_type: RequireAndVerifyClientCert',
        '  min_version: TLS12',
        'basic_auth_users:',
        `  prometheus: ${bcrypt.hashSync(PASSWORD, 10)}`,
      ].join('\n') + '\n',
    );

    w.api.upsert(service({ name: 'web', ingressIPs: ['10.0.0.6'] }));
    w.api.upsert(endpointSlice({ service: 'web', addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.5'], nodeName: 'worker-2' }] }));
    await w.ip('route add 10.0.0.5/32 dev lo table 198 proto 248 scope global');
    run = w.spawnCli(['run', '--listen', `127.0.0.1:${PORT}`, '--interval', '1s', '--web-config-file', webConfig]);
    exposed = await exposeToHost(w.ns, PORT, join(dir, 'metrics.sock'));
    await pollUntil('routewarden ready over TLS', async () => (await get('/readyz', { cert: client, password: PASSWORD })).status === 200);

    const rules = join(dir, 'routewarden.rules.yaml');
    writeFileSync(rules, renderRules(withShortFor(config, '5s')));
    const tls = { ca_file: ca.cert, cert_file: client.cert, key_file: client.key, server_name: 'localhost' };
    prom = await startPrometheus({
      targets: [exposed.address],
      ruleFiles: [rules],
      scrape: { scheme: 'https', tls_config: tls, basic_auth: { username: 'prometheus', password: PASSWORD } },
      extraJobs: [
        {
          job_name: 'no-password',
          scheme: 'https',
          tls_config: tls,
          static_configs: [{ targets: [exposed.address] }],
        },
      ],
    });
  });

  afterAll(async () => {
    await prom?.stop();
    await exposed?.close();
    if (run) await killAndWait(run);
    await w?.destroy();
    certs?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the authenticated job scrapes the drift', async () => {
    await prom.waitFor('routewarden scraped over TLS', async () => (await prom.query('up{job="routewarden"} == 1')).length === 1);
    const samples = await prom.waitFor('missing routes scraped', async () => {
      const s = await prom.query('routewarden_missing_routes{job="routewarden",family="ipv4"}');
      return s.length > 0 ? s : undefined;
    });
    expect(samples.map((s) => s.value)).toEqual(['1']);
  });

  it('the job without a password is refused with 401', async () => {
    const target = await prom.waitFor('the no-password job scraped and refused', async () => {
      const res = await fetch(`${prom.url}/api/v1/targets?state=active`);
      const body = (await res.json()) as { data: { activeTargets: { labels: { job: string }; health: string; lastError: string }[] } };
      const t = body.data.activeTargets.find((a) => a.labels.job === 'no-password');
      return t && t.health === 'down' ? t : undefined;
    });
    expect(target.lastError).toContain('401');
    expect((await prom.query('up{job="no-password"}')).map((s) => s.value)).toEqual(['0']);
  });

  it('without credentials: 401 with a Basic challenge and no metrics; without a client certificate: no handshake', async () => {
    const none = await get('/metrics', { cert: client });
    expect(none.status).toBe(401);
    expect(none.header).toBe('Basic');
    expect(none.body).not.toContain('routewarden_');
    expect((await get('/drift', { cert: client, password: 'wrong' })).status).toBe(401);
    await expect(get('/metrics', { password: PASSWORD })).rejects.toThrow();
  });

  it('RouteWardenMissingRoutes fires from the authenticated scrapes', async () => {
    const firing = await prom.waitFor('RouteWardenMissingRoutes firing', async () => {
      const a = (await prom.alerts()).find((x) => x.labels.alertname === 'RouteWardenMissingRoutes' && x.state === 'firing');
      return a ?? undefined;
    });
    expect(firing.labels).toMatchObject({ node: 'worker-1', family: 'ipv4', job: 'routewarden' });
  });
});
