// Publishes a finished run: copies its report, charts, run.json and raw k6
// summaries (not its logs, warm-up output or JUnit files) into
// loadtest/results/published/<name>/, the folder the README and docs cite and
// git keeps. The one command that replaces published figures, so it is never
// part of a run:
//
//   node --import tsx loadtest/compare/publish.ts loadtest/results/latest native
//
// Then update the figures the README quotes (test/readme-figures.test.ts says which).
import { cpSync, existsSync, mkdirSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { publishedDir, RESULTS_DIR } from './results.ts';

/** The files of a run folder that are published. */
export const PUBLISHED_FILE = /\.(md|svg|json)$/;

/** Replaces published/<name>/ with the published files of `runDir`; returns the file names copied. */
export function publishRun(results: string, runDir: string, name: string): string[] {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name))
    throw new Error(`a published name is lower-case letters, digits and -: ${name}`);
  const from = realpathSync(runDir);
  if (!existsSync(join(from, 'run.json'))) throw new Error(`${runDir} holds no run.json: not a finished run`);
  const to = publishedDir(results, name);
  rmSync(to, { recursive: true, force: true });
  mkdirSync(to, { recursive: true });
  const files = readdirSync(from).filter((f) => PUBLISHED_FILE.test(f));
  for (const f of files) cpSync(join(from, f), join(to, f));
  return files;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [runDir, name] = process.argv.slice(2);
  if (!runDir || !name) {
    console.error('usage: publish.ts RUN_DIR NAME   (e.g. loadtest/results/latest native)');
    process.exit(2);
  }
  const files = publishRun(RESULTS_DIR, runDir, name);
  console.log(`published ${files.length} files to ${publishedDir(RESULTS_DIR, name)}`);
}
