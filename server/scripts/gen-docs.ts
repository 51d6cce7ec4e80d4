/** Writes docs/settings.md from the settings table (`npm run docs -w @gw/server`). */
import { writeFileSync } from 'node:fs';
import { settingsMarkdown } from '../src/config.js';

writeFileSync(new URL('../docs/settings.md', import.meta.url), settingsMarkdown());
