/**
 * Writes what is generated from the gateway's tables (`npm run docs -w nodicorn`): docs/settings.md,
 * docs/errors.md, src/shared-limits.ts from config/limits.json and src/shared-tls-policy.ts from
 * config/tls-policy.json.
 */
import { writeFileSync } from 'node:fs';
import { limits } from '@gw/limits';
import { tlsPolicy } from '@gw/limits/tls-policy';
import { settingsMarkdown } from '../src/config.js';
import { errorsMarkdown } from '../src/errors.js';
import { sharedLimitsModule } from './shared-limits.js';
import { sharedTlsPolicyModule } from './shared-tls-policy.js';

writeFileSync(new URL('../docs/settings.md', import.meta.url), settingsMarkdown());
writeFileSync(new URL('../docs/errors.md', import.meta.url), errorsMarkdown());
writeFileSync(new URL('../src/shared-limits.ts', import.meta.url), sharedLimitsModule(limits));
writeFileSync(new URL('../src/shared-tls-policy.ts', import.meta.url), sharedTlsPolicyModule(tlsPolicy));
