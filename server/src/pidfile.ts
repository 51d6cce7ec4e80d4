/**
 * The master's pid file: written at start (refused while the pid it names is alive), removed on
 * exit only if it still names this process (a second gateway's file is left alone).
 */
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { GatewayError } from './errors.js';

export function writePidfile(path: string): void {
  if (existsSync(path)) {
    const old = Number(readFileSync(path, 'utf8').trim());
    let alive = false;
    if (Number.isInteger(old) && old > 0 && old !== process.pid) {
      try {
        process.kill(old, 0);
        alive = true;
      } catch {
        /* stale */
      }
    }
    if (alive) throw new GatewayError('GW_ERR_PIDFILE', `already running on pid ${old} (pid file ${path})`);
  }
  try {
    writeFileSync(path, `${process.pid}\n`);
  } catch (err) {
    throw new GatewayError('GW_ERR_PIDFILE', `cannot write pid file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export function removePidfile(path: string): void {
  try {
    if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
  } catch {
    /* gone already */
  }
}
