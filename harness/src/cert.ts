// Development certificates for the native TLS topologies and the tests, made by
// scripts/dev-certificate.sh: the same recipe (openssl, self-signed, EC P-256,
// CN=localhost) the nginx and Node images run at start.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './tools.ts';

export const DEV_CERT_SCRIPT = join(ROOT, 'scripts/dev-certificate.sh');

export interface DevCertOptions {
  /** subjectAltName; default DNS:localhost,IP:127.0.0.1,IP:::1. */
  names?: string;
  /** Default /CN=localhost; e.g. /CN=localhost/O=first to tell certificates apart. */
  subject?: string;
  /** Validity; default 2 days (long enough for any run). */
  days?: number;
}

/**
 * A self-signed certificate and its key at `cert` and `key` (kept when both are already
 * there and valid). Throws with openssl's message when it cannot.
 */
export function devCertificateFiles(cert: string, key: string, o: DevCertOptions = {}): { cert: string; key: string } {
  execFileSync('sh', [DEV_CERT_SCRIPT, cert, key], {
    env: {
      ...process.env,
      DEV_CERT_DAYS: String(o.days ?? 2),
      ...(o.names ? { DEV_CERT_NAMES: o.names } : {}),
      ...(o.subject ? { DEV_CERT_SUBJECT: o.subject } : {}),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return { cert, key };
}

/** tls.crt and tls.key in `dir` (created when missing), as nginx.conf and the images name them. */
export function devCertificate(dir: string, o: DevCertOptions = {}): { cert: string; key: string } {
  return devCertificateFiles(join(dir, 'tls.crt'), join(dir, 'tls.key'), o);
}

let shared: string | undefined;
/** One directory with tls.crt and tls.key per process, shared by every TLS topology it starts. */
export function sharedDevCertDir(): string {
  if (!shared) {
    shared = mkdtempSync(join(tmpdir(), 'gw-dev-cert-'));
    devCertificate(shared);
  }
  return shared;
}
