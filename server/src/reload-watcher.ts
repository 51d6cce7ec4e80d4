/**
 * `--reload`, for development (Gunicorn's and Uvicorn's --reload): the master watches the app's
 * files and reloads through the HUP path on a change. Each new worker is a new process, so it
 * imports the edited code (Node caches ES modules per process, never across). A save that does
 * not load aborts the reload, as a HUP would, and the old workers keep serving.
 */
import { type FSWatcher, watch } from 'node:fs';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import { splitAppSpec } from './app-loader.js';

/** After a change, wait this long for the next one: an editor's save is often several writes. */
export const RELOAD_DEBOUNCE_MS = 200;

/**
 * What to watch: the directory of the app module's file, or the working directory when the app
 * is a package name (its files are then wherever Node resolves it, which the developer edits less).
 */
export function watchRoot(app: string, cwd = process.cwd()): string {
  const { module } = splitAppSpec(app);
  const isPath = module.startsWith('.') || isAbsolute(module) || /\.[cm]?[jt]s$/.test(module);
  return isPath ? dirname(resolve(cwd, module)) : cwd;
}

/** Dependencies, dotfiles and dot-directories (.git, an editor's swap file), backups ending in `~`. */
export function ignoredChange(relative: string): boolean {
  return relative
    .split(sep)
    .some((part) => part === 'node_modules' || part.startsWith('.') || part.endsWith('~') || part === '');
}

export interface ReloadWatcher {
  close(): void;
}

/** Watches `root` recursively and calls `reload` once per burst of changes. */
export function watchForReload(root: string, log: Logger, reload: () => void): ReloadWatcher {
  let timer: NodeJS.Timeout | undefined;
  let changed: string | undefined;
  let watcher: FSWatcher;
  try {
    watcher = watch(root, { recursive: true }, (_event, filename) => {
      if (!filename || ignoredChange(filename.toString())) return;
      changed ??= filename.toString();
      clearTimeout(timer);
      timer = setTimeout(() => {
        log.info(`Reload: ${changed} changed (watching ${root})`);
        changed = undefined;
        reload();
      }, RELOAD_DEBOUNCE_MS);
    });
  } catch (err) {
    log.error({ err }, `Reload: cannot watch ${root}: ${(err as Error).message}; --reload is off`);
    return { close: () => {} };
  }
  watcher.on('error', (err) => log.error({ err }, `Reload: watching ${root} failed: ${err.message}`));
  log.info(`Reload: watching ${root} for changes (--reload is a development tool)`);
  return {
    close: () => {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
