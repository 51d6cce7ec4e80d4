/** Generated and hand-written docs stay in step with the code they describe. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Bind } from '../src/binds.js';
import { settingsMarkdown } from '../src/config.js';
import { ERRORS, type ErrorCode, EXIT, errorsMarkdown, exitCodeFor, GatewayError } from '../src/errors.js';
import { type Config, SETTINGS, type SettingName } from '../src/settings.js';

test('docs/settings.md is generated from the settings table and current (npm run docs -w @gw/server)', () => {
  const committed = readFileSync(new URL('../docs/settings.md', import.meta.url), 'utf8');
  assert.equal(committed, settingsMarkdown());
  for (const s of SETTINGS) assert.ok(committed.includes(`### \`${s.name}\``));
});

test('docs/errors.md is generated from the errors table and current: every code documented, no other', () => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  assert.equal(doc, errorsMarkdown(), 'stale: run npm run docs -w @gw/server');
  const documented = [...doc.matchAll(/^\| `(GW_ERR_\w+)` +\|/gm)].map((m) => m[1]);
  assert.deepEqual(documented, Object.keys(ERRORS));
  // No code is named anywhere in the file that the table does not have (a renamed or removed one).
  for (const [name] of doc.matchAll(/GW_ERR_\w+/g)) assert.ok(Object.hasOwn(ERRORS, name), `${name} is a code`);
});

test('each error code is bound to the exit status the CLI stops with', () => {
  const byExit = (exit: number) =>
    Object.keys(ERRORS)
      .filter((code) => new GatewayError(code as ErrorCode, 'x').exitCode === exit)
      .sort();
  assert.deepEqual(byExit(EXIT.USAGE), [
    'GW_ERR_CONFIG_FILE',
    'GW_ERR_CONFIG_INVALID',
    'GW_ERR_CONFIG_UNKNOWN',
    'GW_ERR_CTL_BAD_ARGUMENT',
    'GW_ERR_CTL_BAD_REQUEST',
    'GW_ERR_CTL_UNKNOWN_COMMAND',
    'GW_ERR_USAGE',
  ]);
  assert.deepEqual(byExit(EXIT.RUNTIME), [
    'GW_ERR_BIND',
    'GW_ERR_CTL_CONNECT',
    'GW_ERR_CTL_NO_WORKER',
    'GW_ERR_CTL_STATE',
    'GW_ERR_PIDFILE',
    'GW_ERR_REUSE_PORT',
    'GW_ERR_TLS',
  ]);
  assert.deepEqual(byExit(EXIT.WORKER_BOOT_ERROR), ['GW_ERR_WORKER_BOOT']);
  assert.deepEqual(byExit(EXIT.APP_LOAD_ERROR), [
    'GW_ERR_APP_EXPORT',
    'GW_ERR_APP_LOAD',
    'GW_ERR_APP_NOT_FOUND',
    'GW_ERR_APP_SHAPE',
  ]);
  assert.equal(exitCodeFor(new Error('unforeseen')), EXIT.RUNTIME);
});

test('each setting is declared once, with unique flags and a description', () => {
  const names = SETTINGS.map((s) => s.name);
  assert.equal(new Set(names).size, names.length);
  const flags = SETTINGS.flatMap((s) => [...s.flags]);
  assert.equal(new Set(flags).size, flags.length);
  for (const s of SETTINGS) assert.ok(s.desc.length > 20, `${s.name} has a description`);
});

// Checked by the type checker (npm run typecheck): Config is derived from the table, so its keys are
// exactly the settings' names and each value has its validator's type.
type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
const derived: [
  Equal<keyof Config, SettingName>,
  Equal<Config['bind'], Bind[]>,
  Equal<Config['unix_socket_mode'], number>,
  Equal<Config['errorlog'], string>,
  Equal<Config['metrics_bind'], string | null>,
  Equal<Config['print_config'], boolean>,
] = [true, true, true, true, true, true];
void derived;
