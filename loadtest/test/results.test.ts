// The results folders (loadtest/compare/results.ts, publish.ts) in a temp dir:
// a run gets a folder of its own, latest is repointed at it, and nothing else
// under results/ (other runs, the published folders) is touched.
import { strict as assert } from 'node:assert';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { publishRun } from '../compare/publish.ts';
import { newRunDir, pointLatest, publishedDir, RESULTS_DIR } from '../compare/results.ts';

/** Every file under `dir` with its content, to show a tree was left as it was. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true }))
    if (e.isFile())
      out[join(e.parentPath, e.name).slice(dir.length)] = readFileSync(join(e.parentPath, e.name), 'utf8');
  return out;
}

/** A results dir as a checkout has it: two published runs, one earlier run. */
function resultsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'results-test-'));
  for (const name of ['native', 'tls']) {
    mkdirSync(publishedDir(dir, name), { recursive: true });
    writeFileSync(join(publishedDir(dir, name), 'run.json'), `{"published":"${name}"}\n`);
    writeFileSync(join(publishedDir(dir, name), 'report.md'), `# ${name}\n`);
  }
  mkdirSync(join(dir, 'runs/2026-01-01T00-00-00'), { recursive: true });
  writeFileSync(join(dir, 'runs/2026-01-01T00-00-00/run.json'), '{"run":"earlier"}\n');
  return dir;
}

/** What a run writes into its folder. */
function finishRun(dir: string, tag: string): void {
  mkdirSync(join(dir, 'logs'));
  writeFileSync(join(dir, 'logs/gateway.log'), 'log\n');
  writeFileSync(join(dir, 'run.json'), `{"run":"${tag}"}\n`);
  writeFileSync(join(dir, 'report.md'), `# ${tag}\n`);
  writeFileSync(join(dir, 'capacity.svg'), '<svg/>\n');
  writeFileSync(join(dir, 'cpu-full.xml'), '<testsuites/>\n');
}

test('a run gets a folder of its own under runs/, never one that exists', () => {
  const dir = resultsDir();
  try {
    const a = newRunDir(dir, '2026-02-02T10-00-00');
    assert.equal(a, join(dir, 'runs/2026-02-02T10-00-00'));
    assert.deepEqual(readdirSync(a), [], 'a new, empty folder');
    const b = newRunDir(dir, '2026-02-02T10-00-00');
    assert.equal(b, join(dir, 'runs/2026-02-02T10-00-00-2'), 'the same second: the next free name');
    assert.equal(newRunDir(dir, '2026-02-02T10-00-00'), join(dir, 'runs/2026-02-02T10-00-00-3'));
    // And in a results dir that has no runs/ yet.
    const fresh = mkdtempSync(join(tmpdir(), 'results-test-'));
    assert.equal(newRunDir(fresh, 's'), join(fresh, 'runs/s'));
    rmSync(fresh, { recursive: true });
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('latest is repointed at each new run; other runs and the published folders are left as they were', () => {
  const dir = resultsDir();
  try {
    const published = snapshot(join(dir, 'published'));
    const earlier = snapshot(join(dir, 'runs/2026-01-01T00-00-00'));

    // A partial run (say --scenarios capacity): its own folder, latest points at it.
    const first = newRunDir(dir, '2026-02-02T10-00-00');
    finishRun(first, 'partial');
    const p = pointLatest(dir, 'latest', first);
    assert.deepEqual(p, { link: join(dir, 'latest'), target: 'runs/2026-02-02T10-00-00' });
    assert.ok(lstatSync(join(dir, 'latest')).isSymbolicLink());
    assert.equal(readlinkSync(join(dir, 'latest')), 'runs/2026-02-02T10-00-00', 'relative: the checkout can move');
    assert.equal(readFileSync(join(dir, 'latest/run.json'), 'utf8'), '{"run":"partial"}\n');

    // The next run: latest moves on, the first run stays whole.
    const second = newRunDir(dir, '2026-02-02T11-00-00');
    finishRun(second, 'whole');
    pointLatest(dir, 'latest', second);
    assert.equal(readFileSync(join(dir, 'latest/report.md'), 'utf8'), '# whole\n');
    assert.equal(readFileSync(join(first, 'run.json'), 'utf8'), '{"run":"partial"}\n');
    assert.ok(existsSync(join(first, 'logs/gateway.log')));

    // Another kind of latest (a tls-only run) is a link of its own.
    pointLatest(dir, 'latest-tls', first);
    assert.equal(readlinkSync(join(dir, 'latest-tls')), 'runs/2026-02-02T10-00-00');
    assert.equal(readlinkSync(join(dir, 'latest')), 'runs/2026-02-02T11-00-00');

    assert.deepEqual(snapshot(join(dir, 'published')), published, 'published: untouched');
    assert.deepEqual(snapshot(join(dir, 'runs/2026-01-01T00-00-00')), earlier, 'an earlier run: untouched');
    assert.deepEqual(readdirSync(dir).sort(), ['latest', 'latest-tls', 'published', 'runs'], 'no temp link left');
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('a real latest folder (the old layout) is moved into runs/, not deleted', () => {
  const dir = resultsDir();
  try {
    mkdirSync(join(dir, 'latest'));
    writeFileSync(join(dir, 'latest/run.json'), '{"run":"old copy"}\n');
    const run = newRunDir(dir, '2026-02-02T12-00-00');
    const p = pointLatest(dir, 'latest', run);
    assert.ok(p.movedAside?.startsWith(join(dir, 'runs/latest-moved-')), String(p.movedAside));
    assert.equal(readFileSync(join(p.movedAside!, 'run.json'), 'utf8'), '{"run":"old copy"}\n');
    assert.ok(lstatSync(join(dir, 'latest')).isSymbolicLink());
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('a latest link may not be named after runs/ or published/, nor be a path', () => {
  const dir = resultsDir();
  try {
    const published = snapshot(join(dir, 'published'));
    const run = newRunDir(dir, 's');
    for (const name of ['published', 'runs', '../latest', 'published/native', '.hidden'])
      assert.throws(() => pointLatest(dir, name, run), /latest link name/, name);
    assert.deepEqual(snapshot(join(dir, 'published')), published);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test("publishing copies a run's report, charts and JSON (not its logs or JUnit files) into published/<name>", () => {
  const dir = resultsDir();
  try {
    const run = newRunDir(dir, '2026-02-02T13-00-00');
    finishRun(run, 'to publish');
    pointLatest(dir, 'latest', run);
    const other = snapshot(publishedDir(dir, 'native'));
    const files = publishRun(dir, join(dir, 'latest'), 'tls');
    assert.deepEqual(files.sort(), ['capacity.svg', 'report.md', 'run.json']);
    assert.deepEqual(snapshot(publishedDir(dir, 'tls')), {
      '/capacity.svg': '<svg/>\n',
      '/report.md': '# to publish\n',
      '/run.json': '{"run":"to publish"}\n',
    });
    assert.deepEqual(snapshot(publishedDir(dir, 'native')), other, 'another published run: untouched');
    assert.throws(() => publishRun(dir, join(dir, 'runs'), 'x'), /no run\.json/);
    assert.throws(() => publishRun(dir, run, '../native'), /published name/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test("this checkout's results dir: loadtest/results, with the published runs the docs cite", () => {
  assert.match(RESULTS_DIR, /loadtest\/results$/);
  for (const name of ['native', 'compose', 'tls'])
    assert.ok(existsSync(join(publishedDir(RESULTS_DIR, name), 'run.json')), `published/${name}/run.json`);
});
