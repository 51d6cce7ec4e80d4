/**
 * Starting a master from code: what the CLI does after it has parsed its arguments, as a function.
 * `serve()` takes the same settings as a config file (snake_case names, validated the same way,
 * `GATEWAY_*` environment variables filling what it does not set) and resolves once every address
 * is bound and the workers are booting; the returned handle reloads, scales and stops it.
 */
import { Arbiter } from './arbiter.js';
import { type ParsedArgs, resolveConfig } from './config.js';
import { GatewayError } from './errors.js';
import { createErrorLog } from './logger.js';
import { MASTER_SIGNALS, type MasterSignal } from './master-signals.js';
import { type Config, SETTINGS, type SettingName } from './settings.js';

/** A setting as a config file or code gives it (strings are parsed as on the command line). */
export type SettingInput = string | number | boolean | readonly string[] | null;

/** Settings of docs/settings.md by name, except the command-line-only ones. */
export type ServeSettings = { [K in Exclude<SettingName, 'check_config' | 'print_config'>]?: SettingInput };

export interface ServeOptions extends ServeSettings {
  /** The app: `MODULE[:EXPORT]`, a path or a package name, imported by each worker. */
  app: string;
  /**
   * Install handlers for the master's signals (TERM, INT, QUIT, HUP, TTIN, TTOU, USR1) on this
   * process, with Gunicorn's meanings, until the master stops. Default true.
   */
  signals?: boolean;
  /** Where `GATEWAY_*`, `WEB_CONCURRENCY` and `PORT` are read from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** A running master. */
export interface RunningGateway {
  /** The resolved configuration it runs with (after a HUP reload, the one it started with). */
  readonly config: Config;
  /** Bound addresses, `HOST:PORT` or a socket path (an ephemeral port is resolved). */
  readonly addresses: string[];
  /** Pids of the current worker processes. */
  readonly workerPids: number[];
  /** Queues a master signal, exactly as `kill -SIG` would (HUP: zero-downtime reload, TTIN: one more worker). */
  signal(sig: MasterSignal): void;
  /**
   * Graceful (default): as TERM, after shutdown_delay (if set) in-flight requests finish, up to
   * graceful_timeout. Resolves with the exit status.
   */
  stop(options?: { graceful?: boolean }): Promise<number>;
  /**
   * Resolves once every worker has booted and serves (signals such as HUP are acted on from then
   * on); rejects with the reason if the master stops first (the app cannot be loaded, say).
   */
  readonly ready: Promise<void>;
  /** Resolves with the exit status once the master has stopped, for whatever reason. */
  readonly done: Promise<number>;
  /** Why it stopped by itself, if it did: no worker could boot, or the app could not be loaded. */
  readonly error: GatewayError | undefined;
}

interface MasterOptions {
  config: Config;
  app: string;
  reloadConfig: () => Promise<Config>;
  signals: boolean;
}

/** Binds, boots and supervises; the CLI and serve() both start masters through this. @internal */
export async function startMaster(o: MasterOptions): Promise<RunningGateway> {
  const errorLog = createErrorLog(o.config.errorlog, o.config.loglevel, 'master');
  const arbiter = new Arbiter({
    config: o.config,
    app: o.app,
    log: errorLog.logger,
    reloadConfig: o.reloadConfig,
    reopenLogs: () => errorLog.reopen(),
  });
  const handlers = new Map<MasterSignal, () => void>();
  if (o.signals) {
    for (const sig of MASTER_SIGNALS) {
      const handler = () => arbiter.signal(sig);
      handlers.set(sig, handler);
      process.on(`SIG${sig}`, handler);
    }
  }
  const release = () => {
    for (const [sig, handler] of handlers) process.off(`SIG${sig}`, handler);
    errorLog.flush();
  };
  try {
    await arbiter.start();
  } catch (err) {
    release();
    throw err;
  }
  const done = arbiter.done.then((code) => {
    release();
    return code;
  });
  const ready = Promise.race([
    arbiter.ready,
    done.then((code) => {
      throw (
        arbiter.haltedBy ??
        new GatewayError('GW_ERR_WORKER_BOOT', `the master stopped (${code}) before its workers were ready`)
      );
    }),
  ]);
  // A caller that only awaits `done` has not lost an error: the same reason is there as `error`.
  ready.catch(() => {});
  return {
    config: o.config,
    get addresses() {
      return arbiter.addresses;
    },
    get workerPids() {
      return [...arbiter.workers.values()].map((w) => w.pid);
    },
    get error() {
      return arbiter.haltedBy;
    },
    signal: (sig) => arbiter.signal(sig),
    ready,
    stop: ({ graceful = true } = {}) => {
      arbiter.signal(graceful ? 'TERM' : 'QUIT');
      return done;
    },
    done,
  };
}

/**
 * Starts the gateway's master in this process, hosting `app` across its workers.
 *
 * @example
 * import { serve } from 'nodicorn';
 *
 * const gateway = await serve({ app: './app.js', bind: '127.0.0.1:8000', workers: 4 });
 * await gateway.ready;
 * console.log(`serving on ${gateway.addresses.join(', ')}`);
 * // later: zero-downtime reload of the app's code, then a graceful stop
 * gateway.signal('HUP');
 * await gateway.stop();
 */
export async function serve(options: ServeOptions): Promise<RunningGateway> {
  const { app, signals = true, env = process.env, ...settings } = options;
  const allowed = new Set<string>(SETTINGS.filter((s) => !s.cliOnly).map((s) => s.name));
  const values = new Map<string, unknown>();
  for (const [name, value] of Object.entries(settings)) {
    if (!allowed.has(name))
      throw new GatewayError('GW_ERR_CONFIG_UNKNOWN', `unknown setting "${name}" given to serve()`);
    if (value !== undefined) values.set(name, value);
  }
  // The options take the command line's place: above the environment and a config file.
  const args: ParsedArgs = { values, app, help: false, version: false };
  const { config } = await resolveConfig(args, env);
  return startMaster({ config, app, signals, reloadConfig: async () => (await resolveConfig(args, env)).config });
}
