/**
 * config/tls-policy.json, read and checked in one place: the protocols and TLS 1.2 cipher suites of
 * every TLS edge (nginx and the gateway). A protocol other than TLSv1.2/TLSv1.3, an empty list, or a
 * suite that is not ECDHE with an AEAD cipher is an error naming the file, so the policy cannot be
 * weakened by an edit that nobody checks. nginx cannot read JSON: test/tls-policy.test.ts checks its
 * literals; the gateway carries a generated copy (server/src/shared-tls-policy.ts). Its own export
 * (`@gw/limits/tls-policy`), so the app, which reads limits.json, never reads this file.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface TlsPolicy {
  /** Oldest first: the first is the gateway's default tls_min_version. */
  readonly protocols: readonly ('TLSv1.2' | 'TLSv1.3')[];
  /** OpenSSL names of the TLS 1.2 suites, in order (nginx's ssl_ciphers, the gateway's --ciphers). */
  readonly tls12Ciphers: readonly string[];
}

export const TLS_POLICY_URL = new URL('../tls-policy.json', import.meta.url);

/** Forward secrecy (ECDHE) and an AEAD cipher: what the policy allows for TLS 1.2. */
const STRONG_SUITE = /^ECDHE-(?:ECDSA|RSA)-(?:AES(?:128|256)-GCM-SHA(?:256|384)|CHACHA20-POLY1305)$/;

export function parseTlsPolicy(raw: unknown, where: string): TlsPolicy {
  const record = (raw ?? {}) as Record<string, unknown>;
  const protocols = record.protocols;
  const ciphers = record.tls12Ciphers;
  if (!Array.isArray(protocols) || protocols.length === 0 || protocols.some((p) => p !== 'TLSv1.2' && p !== 'TLSv1.3'))
    throw new TypeError(`${where}: "protocols" must be a non-empty list of TLSv1.2 and TLSv1.3`);
  if (!Array.isArray(ciphers) || ciphers.length === 0)
    throw new TypeError(`${where}: "tls12Ciphers" must be a non-empty list`);
  for (const c of ciphers) {
    if (typeof c !== 'string' || !STRONG_SUITE.test(c))
      throw new TypeError(`${where}: ${JSON.stringify(c)} is not an ECDHE suite with an AEAD cipher`);
  }
  return Object.freeze({
    protocols: Object.freeze([...protocols].sort() as TlsPolicy['protocols']),
    tls12Ciphers: Object.freeze([...ciphers] as string[]),
  });
}

/**
 * Reads and checks config/tls-policy.json (or another file, for tests).
 *
 * @example
 * const { tls12Ciphers } = loadTlsPolicy() // ['ECDHE-ECDSA-AES128-GCM-SHA256', ...]
 */
export function loadTlsPolicy(url: URL = TLS_POLICY_URL): TlsPolicy {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(url, 'utf8'));
  } catch (err) {
    throw new TypeError(`${fileURLToPath(url)}: ${(err as Error).message}`, { cause: err });
  }
  return parseTlsPolicy(raw, fileURLToPath(url));
}

/** config/tls-policy.json, read once when this module is first imported. */
export const tlsPolicy: TlsPolicy = loadTlsPolicy();
