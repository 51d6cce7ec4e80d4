/**
 * TLS for the gateway when it is the edge (the `gateway` topology). Files are read when a worker
 * boots: a HUP reload starts workers that read them again, so a renewed certificate is served
 * by the new workers while the old ones finish their connections. The master checks the files
 * before it starts anything, so a bad certificate is one clear line, never a half-started server.
 */
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { GatewayError } from './errors.js';
import { alpnProtocols } from './http2-server.js';
import type { Config } from './settings.js';

export function tlsEnabled(config: Config): boolean {
  return config.certfile !== null;
}

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new GatewayError(
      'GW_ERR_TLS',
      `cannot read the ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { cause: err },
    );
  }
}

/** The options for https.createServer, or throws GW_ERR_TLS naming the problem. */
export function tlsOptions(config: Config): tls.SecureContextOptions & tls.TlsOptions {
  if (config.certfile === null) throw new GatewayError('GW_ERR_TLS', 'no --certfile');
  if (config.keyfile === null) throw new GatewayError('GW_ERR_TLS', '--certfile needs --keyfile');
  const options: tls.SecureContextOptions & tls.TlsOptions = {
    cert: read(config.certfile, 'certificate'),
    key: read(config.keyfile, 'key'),
    minVersion: config.tls_min_version as tls.SecureVersion,
    // h2 and http/1.1 on the same port unless --http-protocols says h1 (http2-server.ts).
    ALPNProtocols: alpnProtocols(config),
  };
  if (config.ca_certs) options.ca = read(config.ca_certs, 'CA file');
  if (config.ciphers) options.ciphers = config.ciphers;
  try {
    tls.createSecureContext(options); // a key that does not match the certificate fails here
  } catch (err) {
    throw new GatewayError('GW_ERR_TLS', `${config.certfile} / ${config.keyfile}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return options;
}
