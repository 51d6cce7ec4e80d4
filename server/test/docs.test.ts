/** Generated and hand-written docs stay in step with the code they describe. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { settingsMarkdown } from '../src/config.js';
import { ERRORS } from '../src/errors.js';
import { SETTINGS } from '../src/settings.js';

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
