/**
 * How a setting is declared (settings.ts holds the list), and the validators that turn what the
 * command line, the environment or a config file gave into typed values. A validator's return type
 * is the setting's value type: `Config` is derived from them, never written out by hand.
 */
import { type Bind, parseBind } from './binds.js';
import { cpuWorkerCount, type WorkerCount } from './cpu-quota.js';
import { parseCidrList } from './forwarded.js';

export type Kind = 'int' | 'seconds' | 'string' | 'bool' | 'list';

export type Section =
  | 'Server socket'
  | 'Worker processes'
  | 'Upgrades (WebSockets)'
  | 'Security'
  | 'Logging'
  | 'Metrics'
  | 'Health checks'
  | 'Server mechanics'
  | 'SSL'
  | 'Config'
  | 'Debugging';

export interface SettingSpec<N extends string, T> {
  /** snake_case, as in Gunicorn; also the key in a config file. */
  name: N;
  section: Section;
  /** CLI flags: long first, then the short one if any. */
  flags: readonly string[];
  kind: Kind;
  /** Placeholder shown in --help and the docs. */
  meta?: string;
  default: T | (() => T);
  /** Shown in the docs instead of the computed default. */
  defaultText?: string;
  /** Turns a raw string (CLI/env) or a config-file value into the typed value, or throws. */
  validate: (raw: unknown) => T;
  /** How --print-config, --help and the docs show a value; JSON when absent. (Method syntax: bivariant.) */
  show?(value: T): string;
  desc: string;
  /** Settings that only make sense on the command line (no env, no config file). */
  cliOnly?: boolean;
}

/** Declares a setting; `N` keeps the name's literal type, from which `Config`'s keys come. */
export function spec<N extends string, T>(s: SettingSpec<N, T>): SettingSpec<N, T> {
  return s;
}

/** A setting's environment variable: `max_requests` is GATEWAY_MAX_REQUESTS. */
export function envName(name: string): string {
  return `GATEWAY_${name.toUpperCase()}`;
}

/** A setting's default, computed when it is a function (from the environment: PORT, WEB_CONCURRENCY). */
export function defaultOf(s: SettingSpec<string, unknown>): unknown {
  const d = s.default as unknown;
  return typeof d === 'function' ? (d as () => unknown)() : d;
}

/** The one way to show a value of any setting (any spec is a SettingSpec<string, unknown>: `show` is bivariant). */
export function showValue(s: SettingSpec<string, unknown>, value: unknown): string {
  return s.show ? s.show(value) : JSON.stringify(value);
}

function fail(why: string): never {
  throw new TypeError(why);
}

export function toInt(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (raw: unknown): number => {
    const s =
      typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : fail('expected an integer');
    if (!/^-?\d+$/.test(s)) fail('expected an integer');
    const n = Number(s);
    if (n < min || n > max)
      fail(max === Number.MAX_SAFE_INTEGER ? `must be >= ${min}` : `must be between ${min} and ${max}`);
    return n;
  };
}

/** Seconds may be fractional (0.5) like Gunicorn's timeouts; stored as seconds. */
export function toSeconds(min: number) {
  return (raw: unknown): number => {
    const s =
      typeof raw === 'number'
        ? String(raw)
        : typeof raw === 'string'
          ? raw.trim()
          : fail('expected a number of seconds');
    if (!/^\d+(\.\d+)?$/.test(s)) fail('expected a number of seconds');
    const n = Number(s);
    if (n < min) fail(`must be >= ${min}`);
    return n;
  };
}

export function toBool(raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string') {
    const s = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
  }
  return fail('expected true or false');
}

export function toOptionalString(raw: unknown): string | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw !== 'string') fail('expected a string');
  return raw.trim() === '' ? null : raw;
}

function toList(raw: unknown): string[] {
  if (Array.isArray(raw)) return raw.map(String);
  if (typeof raw === 'string')
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  return fail('expected a comma-separated list');
}

export function toCidrs(raw: unknown): string[] {
  return parseCidrList(toList(raw));
}

/**
 * Host names as nginx's server_name takes them (`example.com`, `*.example.com`, `.example.com`, an
 * IP address, `[::1]`, or `*`), comma- or space-separated, so that NGINX_SERVER_NAMES serves as is.
 */
export function toHostNames(raw: unknown): string[] {
  const items = (typeof raw === 'string' ? [raw] : toList(raw)).flatMap((s) => s.split(/[\s,]+/)).filter(Boolean);
  for (const item of items) {
    if (!/^(?:\*|(?:\*\.|\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])$/.test(item))
      fail(`"${item}" is not a host name`);
  }
  return items.map((item) => item.toLowerCase());
}

export function toBinds(raw: unknown): Bind[] {
  const items = Array.isArray(raw)
    ? raw.map(String)
    : typeof raw === 'string'
      ? raw.split(/[\s,]+/).filter(Boolean)
      : fail('expected HOST:PORT or unix:PATH');
  if (items.length === 0) fail('at least one address is needed');
  return items.map(parseBind);
}

/** An optional address, checked as a bind but kept as the text given (the metrics address). */
export function toOptionalAddress(raw: unknown): string | null {
  const s = toOptionalString(raw);
  if (s !== null) parseBind(s);
  return s;
}

/** Seconds, or null (unset: the setting's default is computed from others, after resolution). */
export function toOptionalSeconds(min: number) {
  const seconds = toSeconds(min);
  return (raw: unknown): number | null => (raw === null || raw === '' ? null : seconds(raw));
}

export function toOctalMode(raw: unknown): number {
  const s =
    typeof raw === 'number'
      ? raw.toString(8)
      : typeof raw === 'string'
        ? raw.trim()
        : fail('expected an octal mode like 660');
  if (!/^0?[0-7]{3}$/.test(s)) fail('expected an octal mode like 660');
  return parseInt(s, 8);
}

export function toLevel(raw: unknown): string {
  const levels = ['debug', 'info', 'warning', 'error', 'critical'];
  const s = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  if (!levels.includes(s)) fail(`expected one of ${levels.join(', ')}`);
  return s;
}

export function toReusePort(raw: unknown): string {
  const modes = ['auto', 'on', 'off'];
  // Gunicorn's reuse_port is a boolean: true/false (a config file's, or GATEWAY_REUSE_PORT=1) read as on/off.
  if (typeof raw === 'boolean') return raw ? 'on' : 'off';
  const s = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  if (['1', 'true', 'yes'].includes(s)) return 'on';
  if (['0', 'false', 'no'].includes(s)) return 'off';
  if (!modes.includes(s)) fail(`expected one of ${modes.join(', ')} (or true, false)`);
  return s;
}

export function toTlsVersion(raw: unknown): string {
  const s = typeof raw === 'string' ? raw.trim() : '';
  if (s !== 'TLSv1.2' && s !== 'TLSv1.3') fail('expected TLSv1.2 or TLSv1.3');
  return s;
}

export function defaultBind(): Bind[] {
  // Like Gunicorn: a platform that sets $PORT wants the server on every interface at that port.
  const port = process.env.PORT;
  return [fromEnv('PORT', port, (v) => parseBind(v ? `0.0.0.0:${v}` : '127.0.0.1:8000'))];
}

/** The default worker count and where it comes from: WEB_CONCURRENCY, else the CPUs this process may use. */
export function defaultWorkerCount(): WorkerCount {
  const raw = process.env.WEB_CONCURRENCY;
  if (raw !== undefined && raw !== '')
    return { workers: fromEnv('WEB_CONCURRENCY', raw, toInt(1, 1024)), source: 'WEB_CONCURRENCY' };
  return cpuWorkerCount();
}

export function defaultWorkers(): number {
  return defaultWorkerCount().workers;
}

/** A default computed from the environment names the variable and its value when it is bad. */
function fromEnv<T>(name: string, raw: string | undefined, parse: (raw: string) => T): T {
  try {
    return parse(raw ?? '');
  } catch (err) {
    throw new TypeError(`${name}=${JSON.stringify(raw)}: ${(err as Error).message}`);
  }
}
