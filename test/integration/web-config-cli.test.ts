// `routewarden run --web-config-file` with a file it cannot use: one line on
// stderr, exit 2, and nothing served (the file is read before the API, the
// kernel or the HTTP server are touched). Pinned to the exact messages.

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certDir, opensslBinary } from '../helpers/certs.ts';
import type { CertDir } from '../helpers/certs.ts';
import { freePort } from '../helpers/prometheus.ts';
import { PATIENCE_MS } from '../helpers/patience.ts';

const suite = opensslBinary() === null ? describe.skip : describe;

suite('run with an unusable web configuration file', () => {
  let certs: CertDir;
  let dir: string;
  let port: number;

  beforeAll(async () => {
    certs = certDir();
    dir = mkdtempSync(join(tmpdir(), 'rw-webcfg-'));
    const ca = certs.ca('ca');
    const a = certs.leaf('a', ca, { san: 'IP:127.0.0.1', usage: 'serverAuth' });
    const b = certs.leaf('b', ca, { san: 'IP:127.0.0.1', usage: 'serverAuth' });
    copyFileSync(a.cert, join(dir, 'a.crt'));
    copyFileSync(a.key, join(dir, 'a.key'));
    copyFileSync(b.key, join(dir, 'b.key'));
    writeFileSync(join(dir, 'not-a-ca.pem'), 'hello\n');
    port = await freePort();
  });
  afterAll(() => {
    certs?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = (file: string, how: 'flag' | 'env' = 'flag') =>
    spawnSync(
      process.execPath,
      [
        new URL('../../bin/routewarden.js', import.meta.url).pathname,
        'run',
        '--listen',
        `127.0.0.1:${port}`,
        '--kubeconfig',
        '/nonexistent/kubeconfig',
        '--node-name',
        'worker-1',
        ...(how === 'flag' ? ['--web-config-file', file] : []),
      ],
      {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...(how === 'env' ? { ROUTEWARDEN_WEB_CONFIG_FILE: file } : {}) },
        timeout: PATIENCE_MS,
      },
    );

  const cases: [string, string, (f: string) => string][] = [
    ['no such file', '', (f) => `--web-config-file ${f}: no such file`],
    [
      'malformed YAML',
      'tls_server_config: [\n',
      (f) => `--web-config-file ${f}: not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]`,
    ],
    ['an unknown key', 'basic_auth:\n  a: b\n', (f) => `--web-config-file ${f}: unknown key "basic_auth"`],
    [
      'a missing certificate',
      'tls_server_config:\n  cert_file: gone.crt\n  key_file: a.key\n',
      (f) => `--web-config-file ${f}: tls_server_config.cert_file ${join(dir, 'gone.crt')}: no such file`,
    ],
    [
      'a missing key',
      'tls_server_config:\n  cert_file: a.crt\n  key_file: gone.key\n',
      (f) => `--web-config-file ${f}: tls_server_config.key_file ${join(dir, 'gone.key')}: no such file`,
    ],
    [
      'a key of another certificate',
      'tls_server_config:\n  cert_file: a.crt\n  key_file: b.key\n',
      (f) => `--web-config-file ${f}: tls_server_config: key values mismatch (cert_file ${join(dir, 'a.crt')}, key_file ${join(dir, 'b.key')})`,
    ],
    [
      'a client CA file without a certificate',
      'tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  client_ca_file: not-a-ca.pem\n  client_auth_type: RequireAndVerifyClientCert\n',
      (f) => `--web-config-file ${f}: tls_server_config.client_ca_file ${join(dir, 'not-a-ca.pem')}: no PEM certificate in it`,
    ],
    [
      'a bad hash',
      'basic_auth_users:\n  prometheus: $2y$10$short\n',
      (f) =>
        `--web-config-file ${f}: basic_auth_users.prometheus: not a bcrypt hash (expected $2a$, $2b$ or $2y$, a cost from 04 to 31 and 60 characters; make one with htpasswd -nBC 10 "" | tr -d ':\\n')`,
    ],
  ];

  it.each(cases)('%s: one line, exit 2, nothing started', (name, yaml, message) => {
    const file = join(dir, `${name.replaceAll(' ', '-')}.yml`);
    if (name !== 'no such file') writeFileSync(file, yaml);
    // The variable is the same option: tried on the first case only (each run costs a Node start).
    for (const how of name === 'no such file' ? (['flag', 'env'] as const) : (['flag'] as const)) {
      const r = run(file, how);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toBe(`routewarden: ${message(file)}\n`);
      // run logs "routewarden started" once it listens: it never got there.
      expect(r.stdout).not.toContain('started');
    }
  });
});
