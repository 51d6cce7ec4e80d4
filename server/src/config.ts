/**
 * Resolving the configuration: command line > GATEWAY_* environment > config file > defaults,
 * all derived from the one list in settings.ts. Every bad value becomes one line naming the
 * setting, where it came from and the value, before anything is started.
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { GatewayError } from './errors.js';
import { defaultOf, defaultWorkerCount, envName, showValue } from './setting-spec.js';
import { type AnySetting, type Config, SETTINGS } from './settings.js';
import { bootTimeoutS } from './settings-workers.js';

export interface ParsedArgs {
  values: Map<string, unknown>;
  app: string | undefined;
  help: boolean;
  version: boolean;
}

const byFlag = new Map<string, AnySetting>();
for (const s of SETTINGS) for (const f of s.flags) byFlag.set(f, s);

export function parseArgv(argv: readonly string[]): ParsedArgs {
  const values = new Map<string, unknown>();
  const out: ParsedArgs = { values, app: undefined, help: false, version: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      out.help = true;
      continue;
    }
    if (arg === '--version' || arg === '-v') {
      out.version = true;
      continue;
    }
    if (arg === '--') {
      for (const rest of argv.slice(i + 1)) setApp(out, rest);
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      setApp(out, arg);
      continue;
    }

    let flag = arg;
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq !== -1) {
      flag = arg.slice(0, eq);
      inline = arg.slice(eq + 1);
    } else if (!arg.startsWith('--') && arg.length > 2) {
      flag = arg.slice(0, 2);
      inline = arg.slice(2);
    }
    const setting = byFlag.get(flag);
    if (!setting) throw new GatewayError('GW_ERR_USAGE', `unknown option ${flag} (see --help)`);

    if (setting.kind === 'bool') {
      values.set(setting.name, inline ?? true);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new GatewayError('GW_ERR_USAGE', `option ${flag} needs a value`);
    if (setting.kind === 'list') {
      const prev = (values.get(setting.name) as string[] | undefined) ?? [];
      values.set(setting.name, [
        ...prev,
        ...value
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean),
      ]);
    } else {
      values.set(setting.name, value);
    }
  }
  return out;
}

function setApp(out: ParsedArgs, arg: string): void {
  if (out.app !== undefined) throw new GatewayError('GW_ERR_USAGE', `one app only: got "${out.app}" and "${arg}"`);
  out.app = arg;
}

async function loadConfigFile(path: string): Promise<Record<string, unknown>> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new GatewayError('GW_ERR_CONFIG_FILE', `config file ${path} does not exist`);
  let data: unknown;
  try {
    if (extname(abs) === '.json') data = JSON.parse(readFileSync(abs, 'utf8'));
    else data = ((await import(pathToFileURL(abs).href)) as { default?: unknown }).default;
  } catch (err) {
    throw new GatewayError('GW_ERR_CONFIG_FILE', `config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new GatewayError('GW_ERR_CONFIG_FILE', `config file ${path} must hold an object of settings`);
  }
  const known = new Set<string>([...SETTINGS.map((s) => s.name), 'app']);
  for (const key of Object.keys(data)) {
    if (!known.has(key)) throw new GatewayError('GW_ERR_CONFIG_UNKNOWN', `unknown setting "${key}" in ${path}`);
  }
  return data as Record<string, unknown>;
}

export interface Resolved {
  config: Config;
  /** MODULE[:EXPORT] of the app, from the command line or the config file's `app`. */
  app: string | undefined;
  /** Where the worker count came from: the flag, variable or file that set it, or what its default read. */
  workersSource: string;
}

/**
 * On a reload, the addresses the master bound at start (public and metrics) stay as they are: each
 * one the new configuration changes is put back in it, and its name returned.
 */
export function keepBoundAddresses(next: Config, current: Config): Array<'bind' | 'metrics_bind' | 'health_bind'> {
  const changed: Array<'bind' | 'metrics_bind' | 'health_bind'> = [];
  if (JSON.stringify(next.bind) !== JSON.stringify(current.bind)) {
    next.bind = current.bind;
    changed.push('bind');
  }
  for (const key of ['metrics_bind', 'health_bind'] as const) {
    if (next[key] === current[key]) continue;
    next[key] = current[key];
    changed.push(key);
  }
  return changed;
}

/**
 * The configuration a reload runs with: `reread`'s, its addresses put back as bound (reported:
 * the new workers must agree with what is served), or the current one when the new one is invalid.
 */
export async function reloadedConfig(
  current: Config,
  reread: (() => Promise<Config>) | undefined,
  log: Logger,
): Promise<Config> {
  if (!reread) return current;
  try {
    const next = await reread();
    for (const key of keepBoundAddresses(next, current))
      log.warn(`${key} changed in the configuration: addresses change only on restart`);
    return next;
  } catch (err) {
    log.error(`Reload: the new configuration is invalid, keeping the current one: ${(err as Error).message}`);
    return current;
  }
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
}

export async function resolveConfig(args: ParsedArgs, env: NodeJS.ProcessEnv = process.env): Promise<Resolved> {
  const configPath = (args.values.get('config') as string | undefined) ?? env[envName('config')];
  const file = configPath ? await loadConfigFile(configPath) : {};
  const out: Partial<Record<keyof Config, unknown>> = {};
  let workersSource = '';
  for (const s of SETTINGS) {
    const sources: Array<[string, unknown]> = [
      [s.flags[0]!, args.values.get(s.name)],
      ...(s.cliOnly
        ? []
        : ([
            [envName(s.name), env[envName(s.name)]],
            [`${configPath}: ${s.name}`, file[s.name]],
          ] as Array<[string, unknown]>)),
    ];
    const given = sources.find(([, v]) => v !== undefined);
    if (s.name === 'workers') workersSource = given?.[0] ?? '';
    if (!given) {
      try {
        if (s.name === 'workers') {
          const count = defaultWorkerCount();
          workersSource = count.source;
          out.workers = count.workers;
          continue;
        }
        out[s.name] = defaultOf(s);
      } catch (err) {
        // Only computed defaults can fail, from the environment (WEB_CONCURRENCY, PORT).
        throw new GatewayError(
          'GW_ERR_CONFIG_INVALID',
          `invalid default for ${s.name} from the environment: ${(err as Error).message}`,
        );
      }
      continue;
    }
    const [where, raw] = given;
    try {
      out[s.name] = s.validate(raw);
    } catch (err) {
      throw new GatewayError(
        'GW_ERR_CONFIG_INVALID',
        `invalid value for ${s.name} (${where}): ${describe(raw)}: ${(err as Error).message}`,
      );
    }
  }
  // Every setting was given a value by its own validator (or is its default) in the loop above.
  const config = out as Config;
  // Computed from another setting, so after them all: --print-config shows the number in effect.
  config.boot_timeout = bootTimeoutS(config);
  if (config.header_timeout > config.request_timeout) {
    throw new GatewayError(
      'GW_ERR_CONFIG_INVALID',
      `header_timeout (${config.header_timeout}) must not exceed request_timeout (${config.request_timeout})`,
    );
  }
  if ((config.certfile === null) !== (config.keyfile === null)) {
    throw new GatewayError('GW_ERR_CONFIG_INVALID', 'certfile and keyfile go together: give both or neither');
  }
  const app = args.app ?? (typeof file.app === 'string' ? file.app : undefined);
  return { config, app, workersSource };
}

/**
 * --print-config: one `name = JSON` a line, every setting, then the app and where the worker
 * count came from (lines of their own, so each line still parses as `name = JSON`).
 */
export function printConfig(config: Config, extra: Record<string, string | null> = {}): string {
  const line = (name: string, shown: string) => `${name.padEnd(26)} = ${shown}`;
  return [
    ...SETTINGS.filter((s) => !s.cliOnly).map((s) => line(s.name, showValue(s, config[s.name]))),
    ...Object.entries(extra).map(([name, value]) => line(name, JSON.stringify(value))),
  ].join('\n');
}

export function helpText(): string {
  const lines = [
    'usage: gateway [OPTIONS] MODULE[:EXPORT]',
    "       gateway ctl [--socket PATH] COMMAND [ARG]   (a running master's --control-socket; ctl --help)",
    '',
    "Hosts MODULE's app (a request listener, a fetch handler, or a Fastify instance or factory)",
    'across a pool of worker processes. Signals on the master: TERM graceful stop, INT/QUIT quick stop,',
    'HUP reload, TTIN/TTOU one worker more/less, USR1 reopen log files.',
    '',
  ];
  let section = '';
  for (const s of SETTINGS) {
    if (s.section !== section) {
      section = s.section;
      lines.push(`${section}:`);
    }
    const flags = [...s.flags].reverse().join(', ') + (s.meta ? ` ${s.meta}` : '');
    lines.push(`  ${flags}`);
    lines.push(`      ${s.desc}`);
    const def = s.defaultText ?? (s.kind === 'bool' ? undefined : showValue(s, defaultOf(s)));
    if (def !== undefined) lines.push(`      default: ${def}${s.cliOnly ? '' : `; env ${envName(s.name)}`}`);
  }
  lines.push('', '  -h, --help       this text', '  -v, --version    the version');
  return lines.join('\n');
}

/** docs/settings.md, generated; a test fails when the committed file is stale. */
export function settingsMarkdown(): string {
  const out = [
    '# Gateway settings',
    '',
    '<!-- Generated from server/src/settings.ts by `npm run docs -w @gw/server`. Do not edit. -->',
    '',
    'Precedence: command line > `GATEWAY_*` environment > config file (`-c`) > default.',
    '',
  ];
  let section = '';
  for (const s of SETTINGS) {
    if (s.section !== section) {
      section = s.section;
      out.push(`## ${section}`, '');
    }
    out.push(`### \`${s.name}\``, '');
    out.push(`- Flags: ${[...s.flags].map((f) => `\`${f}${s.meta ? ` ${s.meta}` : ''}\``).join(', ')}`);
    if (!s.cliOnly) out.push(`- Environment: \`${envName(s.name)}\``);
    const def = s.defaultText ?? (s.kind === 'bool' ? 'false' : showValue(s, defaultOf(s)));
    out.push(`- Default: \`${def}\``, '', s.desc, '');
  }
  return out.join('\n');
}
