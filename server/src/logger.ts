/**
 * Logs: an error log (master and workers, JSON via pino, stderr by default) and an access log
 * (workers only, one JSON line a request, off by default). Both are files that USR1 reopens, so
 * logrotate can move them away.
 */
import pino, { type Logger } from 'pino';

const LEVELS: Record<string, pino.Level> = {
  debug: 'debug',
  info: 'info',
  warning: 'warn',
  error: 'error',
  critical: 'fatal',
};

export interface ReopenableLogger {
  logger: Logger;
  reopen(): void;
  flush(): void;
}

function destination(
  target: string,
  sync: boolean,
): pino.DestinationStream & { reopen?: () => void; flushSync?: () => void } {
  if (target === '-') return pino.destination({ dest: 1, sync });
  if (target === 'stderr') return pino.destination({ dest: 2, sync });
  return pino.destination({ dest: target, sync, mkdir: true });
}

/**
 * `ownPid: false` leaves the pid out of the base, for records that carry another process's pid
 * (the master recording a worker's captured output): pino would write a second `pid` key.
 */
export function createErrorLog(
  target: string,
  level: string,
  role: 'master' | 'worker',
  ownPid = true,
): ReopenableLogger {
  const dest = destination(target === '-' ? 'stderr' : target, true);
  const logger = pino(
    {
      level: LEVELS[level] ?? 'info',
      base: ownPid ? { pid: process.pid, role } : { role },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
  const isFile = target !== '-' && target !== 'stderr';
  return {
    logger,
    reopen: () => {
      if (isFile) dest.reopen?.();
    },
    flush: () => dest.flushSync?.(),
  };
}

/** The access log: one pino line a request (no pid or hostname in the base: the entry has worker_pid). */
export interface AccessLog {
  write(entry: Record<string, unknown>): void;
  reopen(): void;
  flush(): void;
}

export function createAccessLog(target: string): AccessLog {
  // Buffered: a synchronous write per request would cost more than the request itself.
  const dest = destination(target, false);
  const logger = pino(
    { base: null, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
    dest,
  );
  const isFile = target !== '-';
  return {
    write: (entry) => logger.info(entry),
    reopen: () => {
      if (isFile) dest.reopen?.();
    },
    flush: () => {
      try {
        dest.flushSync?.();
      } catch {
        /* not open yet: nothing buffered */
      }
    },
  };
}
