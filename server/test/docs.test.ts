/** Generated and hand-written docs stay in step with the code they describe. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Bind } from '../src/binds.js';
import { settingsMarkdown } from '../src/config.js';
import { ERRORS } from '../src/errors.js';
import { type Config, SETTINGS, type SettingName } from '../src/settings.js';

test('docs/settings.md is generated from the settings table and current (npm run docs -w @gw/server)', () => {
  const committed = readFileSync(new URL('../docs/settings.md', import.meta.url), 'utf8');
  assert.equal(committed, settingsMarkdown());
  for (const s of SETTINGS) assert.ok(committed.includes(`### \`${s.name}\``));
});

test('every error code is documented in docs/errors.md', () => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  for (const code of Object.keys(ERRORS)) assert.ok(doc.includes(`\`${code}\``), `${code} is documented`);
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
