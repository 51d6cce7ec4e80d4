// Where the comparison's results live, and which folders a run may touch.
//
//   loadtest/results/runs/<timestamp>/    every run of `npm run compare`, a folder of its own (not in git)
//   loadtest/results/latest[-compose|-tls] a symlink to the newest such run of that kind (not in git)
//   loadtest/results/published/<name>/    the runs the README and docs cite (in git)
//
// A run only ever creates its own folder and repoints a latest link: it never
// deletes a folder, so a partial run (`--scenarios capacity`) cannot take the
// published figures with it. Publishing is a deliberate step (publish.ts).
import { lstatSync, mkdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** loadtest/results of this checkout. */
export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../results');

/** The folders of a results directory that no latest link may be named after. */
const RESERVED = new Set(['runs', 'published']);

/** The folder of a published run, e.g. publishedDir(RESULTS_DIR, 'native'). */
export function publishedDir(results: string, name: string): string {
  return join(results, 'published', name);
}

/**
 * Creates the folder of a new run, `runs/<stamp>/`, and returns its path. Never
 * reuses one: when two runs start within the same second the second gets
 * `<stamp>-2`, and so on.
 */
export function newRunDir(results: string, stamp: string): string {
  const runs = join(results, 'runs');
  mkdirSync(runs, { recursive: true });
  for (let n = 1; ; n++) {
    const dir = join(runs, n === 1 ? stamp : `${stamp}-${n}`);
    try {
      mkdirSync(dir);
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** Whether something other than a symlink (a real folder or file) is at `path`. */
function realEntryAt(path: string): boolean {
  try {
    return !lstatSync(path).isSymbolicLink();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

export interface Repointed {
  /** The link, results/<name>. */
  link: string;
  /** What it points at, relative to the results directory (so the checkout can move). */
  target: string;
  /** Where a real folder found at the link's place was moved (kept, never deleted). */
  movedAside?: string;
}

/**
 * Points `results/<name>` (latest, latest-compose, latest-tls) at `runDir`.
 * The link is replaced in one rename, so a reader sees the old run or the new
 * one, never neither. A real folder in its place (a copy from before runs had
 * folders of their own) is moved into runs/ rather than deleted.
 */
export function pointLatest(results: string, name: string, runDir: string): Repointed {
  if (name !== basename(name) || name.startsWith('.') || RESERVED.has(name))
    throw new Error(`latest link name must be a plain name other than ${[...RESERVED].join(', ')}: ${name}`);
  const link = join(results, name);
  const target = relative(results, runDir);
  const out: Repointed = { link, target };
  if (realEntryAt(link)) {
    mkdirSync(join(results, 'runs'), { recursive: true });
    out.movedAside = join(results, 'runs', `${name}-moved-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    renameSync(link, out.movedAside);
  }
  const tmp = join(results, `.${name}.${process.pid}.tmp`);
  rmSync(tmp, { force: true }); // a link left by a run that died right here
  symlinkSync(target, tmp);
  renameSync(tmp, link);
  return out;
}
