// Throw-away certificates for TLS tests, made with the openssl CLI: a CA, a
// server certificate for 127.0.0.1/localhost and client certificates signed by
// it (or self-signed, for the negative cases). EC P-256 keys: fast to make.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary } from './prometheus.ts';

export const opensslBinary = (): string | null => findBinary('openssl');

export interface Pair {
  readonly cert: string;
  readonly key: string;
}

export interface CertDir {
  readonly dir: string;
  /** A new CA (self-signed). */
  ca(name: string): Pair;
  /** A leaf signed by `ca` (or self-signed when `ca` is null), with the given subjectAltName and extendedKeyUsage. */
  leaf(name: string, ca: Pair | null, opts: { san?: string; usage: 'serverAuth' | 'clientAuth' }): Pair;
  /** The serial number openssl gave a certificate (hex, upper case). */
  serial(cert: string): string;
  remove(): void;
}

export function certDir(): CertDir {
  const openssl = opensslBinary();
  if (openssl === null) throw new Error('openssl is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'rw-certs-'));
  const run = (args: string[]) => execFileSync(openssl, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  const newKey = (key: string) => run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  return {
    dir,
    ca(name) {
      const key = join(dir, `${name}.key`);
      const cert = join(dir, `${name}.crt`);
      newKey(key);
      run([
        'req',
        '-x509',
        '-new',
        '-key',
        key,
        '-out',
        cert,
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ]);
      return { cert, key };
    },
    leaf(name, ca, opts) {
      const key = join(dir, `${name}.key`);
      const cert = join(dir, `${name}.crt`);
      const csr = join(dir, `${name}.csr`);
      const ext = join(dir, `${name}.ext`);
      newKey(key);
      writeFileSync(
        ext,
        [
          'basicConstraints=CA:FALSE',
          'keyUsage=critical,digitalSignature',
          `extendedKeyUsage=${opts.usage}`,
          ...(opts.san ? [`subjectAltName=${opts.san}`] : []),
        ].join('\n') + '\n',
      );
      run(['req', '-new', '-key', key, '-out', csr, '-subj', `/CN=${name}`]);
      if (ca) run(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext]);
      else run(['x509', '-req', '-in', csr, '-signkey', key, '-out', cert, '-days', '2', '-extfile', ext]);
      return { cert, key };
    },
    serial(cert) {
      return run(['x509', '-in', cert, '-noout', '-serial'])
        .trim()
        .replace(/^serial=/, '')
        .toUpperCase();
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
