/**
 * The numbers that nginx, the gateway and the app must agree on live in config/limits.json at
 * the repository root (one source of truth); the gateway's defaults are read from it.
 */
import { readFileSync } from 'node:fs';

export interface SharedLimits {
  bodyLimitBytes: number;
  maxWaitMs: number;
  maxCpuMs: number;
  gatewayKeepAliveTimeoutS: number;
  nginxUpstreamKeepAliveTimeoutS: number;
  workerTimeoutS: number;
  gracefulTimeoutS: number;
  proxyReadTimeoutS: number;
  stopGracePeriodS: number;
  clientHeaderTimeoutS: number;
  clientBodyTimeoutS: number;
  clientSendTimeoutS: number;
  clientKeepAliveTimeoutS: number;
}

// server/dist/limits.js and server/src/limits.ts are both two levels below the repo root.
const LIMITS_URL = new URL('../../config/limits.json', import.meta.url);

export const limits: SharedLimits = JSON.parse(readFileSync(LIMITS_URL, 'utf8'));
