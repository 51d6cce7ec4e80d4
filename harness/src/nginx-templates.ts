// nginx/templates/ rendered outside Docker, the way the nginx image renders them at start:
// first nginx/docker-entrypoint.d/15-check-template-env.envsh (sourced by `sh`, the very
// file the image runs) applies the defaults, checks every variable and derives the rest;
// then envsubst with the official 20-envsubst-on-templates.sh's semantics: every
// `*.template` under the template directory becomes the same relative path without the
// suffix, and only variables defined in the environment whose names match
// NGINX_ENVSUBST_FILTER (the Dockerfile sets NGINX_) are substituted, `$NAME` and `${NAME}`
// alike; everything else (nginx's own `$host`) is left as written. Used by the native
// launcher (nginx.ts) and by the tests that read the rendered config.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT } from './tools.ts';

export const NGINX_TEMPLATE_DIR = join(ROOT, 'nginx/templates');
export const NGINX_TEMPLATE_SUFFIX = '.template';
/** The check script the image sources before rendering (defaults, checks, derived values). */
export const NGINX_TEMPLATE_ENV_SCRIPT = join(ROOT, 'nginx/docker-entrypoint.d/15-check-template-env.envsh');
/** What the Dockerfile's nginx stage sets as NGINX_ENVSUBST_FILTER. */
export const NGINX_ENVSUBST_FILTER = 'NGINX_';

/** The variables a deployment sets (docs/containers.md); unset or empty: the default. */
export interface NginxTemplateVars {
  NGINX_SERVER_NAMES?: string;
  NGINX_BACKEND?: string;
  NGINX_TRUSTED_PROXIES?: string;
  NGINX_PLAIN_HTTP?: 'redirect-to-https' | 'site' | (string & {});
  NGINX_RATE?: string;
  NGINX_BURST?: string;
  NGINX_CONN_LIMIT?: string;
  NGINX_BODY_LIMIT?: string;
  NGINX_RESOLVER?: string;
}

/** A value the check script refused: `message` is its line (naming the variable and the value). */
export class NginxTemplateError extends Error {
  readonly code = 'NGINX_TEMPLATE_ENV';
}

/**
 * The environment the templates are rendered with: `vars` after the image's own check script
 * (run here by `sh`, with the repository's config/limits.json in place of the image's copy).
 * Throws NginxTemplateError with the script's message when it refuses a value.
 */
export function nginxTemplateEnv(vars: NginxTemplateVars = {}, outputDir?: string): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    NGINX_LIMITS_JSON: join(ROOT, 'config/limits.json'),
    NGINX_ENVSUBST_FILTER,
    NGINX_ENVSUBST_TEMPLATE_DIR: NGINX_TEMPLATE_DIR,
    NGINX_ENTRYPOINT_QUIET_LOGS: '1',
  };
  if (outputDir) env.NGINX_ENVSUBST_OUTPUT_DIR = outputDir;
  for (const [k, v] of Object.entries(vars)) if (v !== undefined) env[k] = v;
  // `set -e` as in the image's entrypoint; env -0: values may span lines (the derived lists).
  const r = spawnSync('sh', ['-c', 'set -e; . "$0"; env -0', NGINX_TEMPLATE_ENV_SCRIPT], {
    env,
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (r.status !== 0) {
    throw new NginxTemplateError(r.stderr.trim() || `${NGINX_TEMPLATE_ENV_SCRIPT} exited ${r.status ?? r.signal}`);
  }
  const out: Record<string, string> = {};
  for (const entry of r.stdout.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

/**
 * envsubst restricted to the defined variables whose names match `filter` (an extended regular
 * expression, as the official script hands it to awk; '' matches every name).
 */
export function envsubst(text: string, env: Record<string, string>, filter = ''): string {
  const re = new RegExp(filter);
  const known = (name: string): boolean => Object.hasOwn(env, name) && re.test(name);
  return text.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (whole, braced, bare) => {
    const name = (braced ?? bare) as string;
    return known(name) ? (env[name] as string) : whole;
  });
}

/** Every `*.template` below `dir`, relative to it (find -follow -type f, as the official script). */
function templatesUnder(dir: string, sub = ''): string[] {
  const found: string[] = [];
  for (const e of readdirSync(join(dir, sub), { withFileTypes: true })) {
    const rel = sub ? `${sub}/${e.name}` : e.name;
    if (e.isDirectory()) found.push(...templatesUnder(dir, rel));
    else if (e.name.endsWith(NGINX_TEMPLATE_SUFFIX)) found.push(rel);
  }
  return found.sort();
}

/**
 * Renders every template into `outDir` (relative paths kept, suffix dropped), with the
 * environment nginxTemplateEnv() makes of `vars`. Returns the files written (relative) and
 * that environment.
 */
export function renderNginxTemplates(
  outDir: string,
  vars: NginxTemplateVars = {},
): { files: string[]; env: Record<string, string> } {
  const env = nginxTemplateEnv(vars, outDir);
  const files: string[] = [];
  for (const template of templatesUnder(NGINX_TEMPLATE_DIR)) {
    const file = template.slice(0, -NGINX_TEMPLATE_SUFFIX.length);
    const text = readFileSync(join(NGINX_TEMPLATE_DIR, template), 'utf8');
    mkdirSync(dirname(join(outDir, file)), { recursive: true });
    writeFileSync(join(outDir, file), envsubst(text, env, env.NGINX_ENVSUBST_FILTER ?? ''));
    files.push(file);
  }
  return { files, env };
}

/**
 * The whole config as the image has it under /etc/nginx: nginx/includes (the files without
 * variables) plus the rendered templates, in `dir` (nginx.conf at its top).
 */
export function nginxConfigTree(
  dir: string,
  vars: NginxTemplateVars = {},
): { files: string[]; env: Record<string, string> } {
  cpSync(join(ROOT, 'nginx/includes'), join(dir, 'includes'), { recursive: true });
  const rendered = renderNginxTemplates(dir, vars);
  const includes = readdirSync(join(dir, 'includes')).map((f) => `includes/${f}`);
  return { files: [...new Set([...rendered.files, ...includes])].sort(), env: rendered.env };
}
