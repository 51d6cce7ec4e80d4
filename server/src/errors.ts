/**
 * Errors with stable codes, one table (Fastify's `createError(code, message, status)` pattern):
 * each GW_ERR_* code is bound to its title, the exit status the gateway leaves with when it stops
 * on it, and when it happens. The CLI and the master take exit codes from here; docs/errors.md is
 * generated from the table (`npm run docs -w @gw/server`), and a test keeps the two in step.
 */

/** Exit codes, with Gunicorn's numbers where Gunicorn has one. */
export const EXIT = {
  OK: 0,
  RUNTIME: 1,
  USAGE: 2,
  WORKER_BOOT_ERROR: 3,
  APP_LOAD_ERROR: 4,
} as const;

export type ExitName = keyof typeof EXIT;

export interface ErrorSpec {
  /** What went wrong, in a few words (the specific message is the GatewayError's). */
  title: string;
  /** The exit status of a gateway that stops on this error. */
  exit: ExitName;
  /** When it is raised, for docs/errors.md. */
  when: string;
}

function createError(title: string, exit: ExitName, when: string): ErrorSpec {
  return { title, exit, when };
}

export const ERRORS = {
  GW_ERR_USAGE: createError(
    'Invalid command line',
    'USAGE',
    'An unknown option, an option without its value, no app or two apps on the command line.',
  ),
  GW_ERR_CONFIG_INVALID: createError(
    'A setting has an invalid value',
    'USAGE',
    "A setting's value does not validate; the line names the setting, where the value came from (flag, " +
      '`GATEWAY_*` variable or config file) and the value.',
  ),
  GW_ERR_CONFIG_UNKNOWN: createError(
    'Unknown setting',
    'USAGE',
    'The config file has a key that is not a setting (a typo such as `worker` for `workers`).',
  ),
  GW_ERR_CONFIG_FILE: createError(
    'The config file could not be read',
    'USAGE',
    'The config file is missing, unreadable, not JSON / not an ES module, or not an object.',
  ),
  GW_ERR_BIND: createError(
    'A listening address could not be bound',
    'RUNTIME',
    'An address cannot be bound: in use (`EADDRINUSE`), not permitted (`EACCES`), unresolvable host, or a ' +
      'non-socket file at a `unix:` path. Nothing is started.',
  ),
  GW_ERR_REUSE_PORT: createError(
    'Per-worker sockets asked for where Node cannot make them',
    'RUNTIME',
    '`--reuse-port on` on a Node without `reusePort` (before 22.12 / 23.1): it would silently share one ' +
      'socket. Use `auto` (per-worker sockets where Node has them, the shared socket elsewhere) or `off`. ' +
      'Nothing is started.',
  ),
  GW_ERR_PIDFILE: createError(
    'The pid file could not be written',
    'RUNTIME',
    'The pid file names a running process, or cannot be written.',
  ),
  GW_ERR_APP_NOT_FOUND: createError(
    'The app module could not be imported',
    'APP_LOAD_ERROR',
    'The app module does not exist or cannot be imported.',
  ),
  GW_ERR_APP_EXPORT: createError(
    'The app module has no such export',
    'APP_LOAD_ERROR',
    'The module has no such export (`MODULE:EXPORT`); the message lists the exports it has.',
  ),
  GW_ERR_APP_SHAPE: createError(
    'The export is not an app the gateway can host',
    'APP_LOAD_ERROR',
    'The export is neither a request listener, a fetch handler, a Fastify instance, a Koa app nor a factory of ' +
      'one.',
  ),
  GW_ERR_WORKER_BOOT: createError(
    'A worker failed to boot',
    'WORKER_BOOT_ERROR',
    "A worker reported that it cannot boot (it exited 3: it cannot create its server or listen on the master's " +
      "socket) before the first workers were all ready (Gunicorn's `WORKER_BOOT_ERROR`): the master stops (its log " +
      'line `Shutting down: Worker failed to boot …` carries the code). A worker killed while booting, or not ready ' +
      'within `boot_timeout`, is retried with the crash-loop backoff instead. After start-up a failed boot during a ' +
      'HUP reload keeps the old workers serving.',
  ),
  GW_ERR_APP_LOAD: createError(
    'The app failed to load',
    'APP_LOAD_ERROR',
    "The app's module threw while loading, or its factory did (`--check-config`, or the workers at start-up: " +
      "Gunicorn's `APP_LOAD_ERROR`; the master's log line `Shutting down: App failed to load …` carries the " +
      'code). After start-up the same failure during a HUP reload keeps the old workers serving instead.',
  ),
  GW_ERR_TLS: createError(
    'The certificate or key cannot be used',
    'RUNTIME',
    '`--certfile`/`--keyfile`/`--ca-certs` cannot be read, or the key does not match the certificate. Checked ' +
      'by the master before anything binds; during a HUP reload the new workers fail to boot and the old ones ' +
      'keep serving.',
  ),
  GW_ERR_CTL_CONNECT: createError(
    'The control socket does not answer',
    'RUNTIME',
    '`nodicorn ctl` cannot reach the master: no socket at the path (`--socket`, else `GATEWAY_CONTROL_SOCKET`; is ' +
      "`--control-socket` set?), no permission (mode 0600: run it as the master's user), or no answer in time.",
  ),
  GW_ERR_CTL_BAD_REQUEST: createError(
    'The control request is not a JSON object with a command',
    'USAGE',
    'A line on the control socket is not JSON, not an object, has no string `command`, or is over 64 KiB.',
  ),
  GW_ERR_CTL_UNKNOWN_COMMAND: createError(
    'No such control command',
    'USAGE',
    'The command is none of workers, stats, reload, scale, kill, drain (the answer lists them).',
  ),
  GW_ERR_CTL_BAD_ARGUMENT: createError(
    "The command's argument is missing or invalid",
    'USAGE',
    '`scale` needs a worker count from 1 to 1024, `kill` a pid (a positive integer).',
  ),
  GW_ERR_CTL_NO_WORKER: createError(
    'No such worker',
    'RUNTIME',
    "`kill PID`: the pid is not one of the master's live workers (`workers` lists them), or it is already stopping.",
  ),
  GW_ERR_CTL_STATE: createError(
    'The master cannot do that now',
    'RUNTIME',
    '`reload`, `kill` or `drain` before the first workers are ready or once the master is stopping, `reload` ' +
      'also while draining, `scale` once stopping.',
  ),
} as const satisfies Record<`GW_ERR_${string}`, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** The exit status the table binds to a code. */
export function exitCodeOf(code: ErrorCode): number {
  return EXIT[ERRORS[code].exit];
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatewayError';
    this.code = code;
  }

  /** The exit status of a gateway that stops on this error (from the table). */
  get exitCode(): number {
    return exitCodeOf(this.code);
  }
}

/** How the gateway exits on an error: its code's exit status, or RUNTIME for anything unforeseen. */
export function exitCodeFor(err: unknown): number {
  return err instanceof GatewayError ? err.exitCode : EXIT.RUNTIME;
}

/** One line for an operator: `gateway: GW_ERR_X: message`. */
export function formatError(err: unknown): string {
  if (err instanceof GatewayError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** A Markdown table with padded columns, as the formatter (Biome) lays it out. */
function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/** docs/errors.md, generated from the table; a test fails when the committed file is stale. */
export function errorsMarkdown(): string {
  const rows = Object.entries(ERRORS).map(([code, e]: [string, ErrorSpec]) => [
    `\`${code}\``,
    e.title,
    e.when,
    `${EXIT[e.exit]} (${e.exit})`,
  ]);
  const exits = Object.entries(EXIT).map(([name, n]) => `${n} ${name}`);
  return [
    '# Gateway error codes',
    '',
    '<!-- Generated from server/src/errors.ts by `npm run docs -w @gw/server`. Do not edit. -->',
    '',
    'Every error the gateway reports to an operator carries a stable code (`gateway: GW_ERR_…: message`',
    'on stderr, or `"code"` in a JSON log line), bound in `server/src/errors.ts` to the exit status the',
    'gateway leaves with when it stops on it.',
    '',
    ...table(['code', 'error', 'when', 'exit code'], rows),
    '',
    `Exit codes: ${exits.join(', ')}.`,
    '',
  ].join('\n');
}
