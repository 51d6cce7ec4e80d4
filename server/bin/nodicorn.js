#!/usr/bin/env node
// The `nodicorn` command. It is a file of its own, present before any build, because npm links a
// package's bin when it installs it and skips one whose file does not exist yet: in a fresh clone
// `npm ci` runs before dist/ is built (the root `prepare` script builds it right after).
try {
  await import('../dist/cli.js');
} catch (err) {
  const missing = err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('cli.js');
  if (!missing) throw err;
  process.stderr.write('nodicorn: the gateway is not built (no dist/cli.js): run `npm run build` in its repository\n');
  process.exit(1);
}
