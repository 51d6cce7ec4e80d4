/**
 * The gateway as a library: `serve()` starts a master from code with the CLI's settings; the app
 * contract's types are for apps that want to type themselves against it; the rest are the pieces
 * the CLI is made of.
 */
export type { AppContext, FetchApp, HostedApp, NodeBindings, RequestListener } from './app-loader.js';
export { loadApp, splitAppSpec } from './app-loader.js';
export { Arbiter, type ArbiterOptions } from './arbiter.js';
export { parseArgv, printConfig, resolveConfig, settingsMarkdown } from './config.js';
export { ERRORS, type ErrorCode, EXIT, GatewayError } from './errors.js';
export { MASTER_SIGNALS, type MasterSignal } from './master-signals.js';
export { type RunningGateway, type ServeOptions, type ServeSettings, type SettingInput, serve } from './serve.js';
export { type Config, SETTINGS } from './settings.js';
