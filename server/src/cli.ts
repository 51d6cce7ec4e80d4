#!/usr/bin/env node
/**
 * `gateway [OPTIONS] MODULE[:EXPORT]`: resolves the configuration, then runs the master (and
 * `gateway ctl COMMAND`: the control socket's client, ctl.ts). A bad
 * command line or configuration is one line on stderr, before anything starts. Every exit on an
 * error takes its status from the errors table (errors.ts): 2 for usage and configuration, 4 for an
 * app that cannot load, 1 for what stops the start (bind, pid file, TLS) and anything unforeseen.
 */
import { readFileSync } from 'node:fs';
import { loadApp } from './app-loader.js';
import { helpText, type ParsedArgs, parseArgv, printConfig, resolveConfig } from './config.js';
import { runCtl } from './ctl.js';
import { EXIT, exitCodeFor, formatError, GatewayError } from './errors.js';
import { startMaster } from './serve.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

function die(err: unknown): never {
  process.stderr.write(`gateway: ${formatError(err)}\n`);
  process.exit(exitCodeFor(err));
}

async function main(argv: string[]): Promise<void> {
  // `nodicorn ctl ...`: a client of a running master's control socket, not a master (ctl.ts).
  if (argv[0] === 'ctl') process.exit(await runCtl(argv.slice(1)));
  let args: ParsedArgs;
  try {
    args = parseArgv(argv);
  } catch (err) {
    die(err);
  }
  if (args.help) {
    process.stdout.write(`${helpText()}\n`);
    return;
  }
  if (args.version) {
    process.stdout.write(`nodicorn ${VERSION}\n`);
    return;
  }

  const resolved = await resolveConfig(args).catch((err: unknown) => die(err));
  const { config, app, workersSource } = resolved;
  if (config.print_config) {
    process.stdout.write(`${printConfig(config, { app: app ?? null, workers_source: workersSource })}\n`);
    return;
  }
  if (!app) die(new GatewayError('GW_ERR_USAGE', 'no app given: gateway [OPTIONS] MODULE[:EXPORT] (see --help)'));

  if (config.check_config) {
    try {
      const hosted = await loadApp(app, { trustProxy: true, workerId: 0, generation: 0 });
      await hosted.close?.();
      process.stdout.write(`configuration OK; ${app} is a ${hosted.kind} app\n`);
      for (const note of hosted.notes ?? []) process.stdout.write(`note: ${note}\n`);
      process.exit(EXIT.OK);
    } catch (err) {
      // The app's own error (a throw at import time, a failing factory): its stack is what helps.
      if (err instanceof GatewayError) die(err);
      die(
        new GatewayError('GW_ERR_APP_LOAD', `${app} failed to load:\n${(err as Error)?.stack ?? String(err)}`, {
          cause: err,
        }),
      );
    }
  }

  const gateway = await startMaster({
    config,
    app,
    signals: true,
    reloadConfig: async () => (await resolveConfig(parseArgv(argv))).config,
  }).catch((err: unknown) => die(err));
  const code = await gateway.done;
  // Stopped on an error (no worker could boot or load the app): one plain line, as for a failed
  // start, whatever the error log's destination, and the exit status the table gives the error.
  if (gateway.error) die(gateway.error);
  process.exit(code);
}

void main(process.argv.slice(2)).catch((err: unknown) => die(err));
