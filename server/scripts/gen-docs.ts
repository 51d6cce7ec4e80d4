/** Writes docs/settings.md and docs/errors.md from their tables (`npm run docs -w @gw/server`). */
import { writeFileSync } from 'node:fs';
import { settingsMarkdown } from '../src/config.js';
import { errorsMarkdown } from '../src/errors.js';

writeFileSync(new URL('../docs/settings.md', import.meta.url), settingsMarkdown());
writeFileSync(new URL('../docs/errors.md', import.meta.url), errorsMarkdown());
