// The gateway as a user gets it: `npm pack` of server/ (the package nodicorn) installs into a new
// project outside this repository, with no workspace link and none of this tree's files, and the
// installed bin and serve() run the examples/ apps on their real frameworks from that install.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, request, startGateway } from '@gw/harness';

const FRAMEWORKS = ['express', 'hono', 'koa', 'fastify', 'listener'] as const;
const work = mkdtempSync(join(tmpdir(), 'nodicorn-pack-'));
const project = join(work, 'project');
const bin = join(project, 'node_modules/.bin/nodicorn');

function npm(args: string[], cwd: string): string {
  const r = spawnSync('npm', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  assert.equal(r.status, 0, `npm ${args.join(' ')} (in ${cwd}) failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

describe('npm pack of the gateway installs into a new project and runs apps from there', () => {
  let tarball = '';

  before(() => {
    const packed = JSON.parse(npm(['pack', '-w', 'nodicorn', '--pack-destination', work, '--json'], ROOT)) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    const [info] = packed;
    assert.ok(info, 'npm pack printed nothing');
    tarball = join(work, info.filename);
    const files = info.files.map((f) => f.path);
    for (const needed of ['bin/nodicorn.js', 'dist/cli.js', 'dist/worker.js', 'dist/index.d.ts', 'README.md']) {
      assert.ok(files.includes(needed), `the tarball lacks ${needed}`);
    }
    for (const needed of ['docs/settings.md', 'docs/errors.md']) assert.ok(files.includes(needed), `no ${needed}`);
    assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/')), 'sources or tests packed');

    // The frameworks at the versions the examples use (npm's cache already has them from npm ci).
    const examples = JSON.parse(readFileSync(join(ROOT, 'examples/package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const deps = Object.entries(examples.dependencies).map(([name, range]) => `${name}@${range}`);
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      `${JSON.stringify({ name: 'scratch', private: true, type: 'module' })}\n`,
    );
    npm(['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, ...deps], project);
    for (const fw of FRAMEWORKS) {
      mkdirSync(join(project, fw));
      copyFileSync(join(ROOT, 'examples', fw, 'app.mjs'), join(project, fw, 'app.mjs'));
    }
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  test('the install is a copy of the tarball, with no link into this repository and no private dependency', () => {
    const installed = join(project, 'node_modules/nodicorn');
    assert.ok(lstatSync(installed).isDirectory() && !lstatSync(installed).isSymbolicLink());
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(manifest.name, 'nodicorn');
    assert.deepEqual(
      Object.keys((manifest.dependencies ?? {}) as object).filter((d) => d.startsWith('@gw/')),
      [],
    );
    assert.ok(!existsSync(join(project, 'node_modules/@gw')), 'a workspace package came along');
  });

  test('npx --no-install nodicorn --version answers from the installed bin', () => {
    const r = spawnSync('npx', ['--no-install', 'nodicorn', '--version'], { cwd: project, encoding: 'utf8' });
    const { version } = JSON.parse(readFileSync(join(ROOT, 'server/package.json'), 'utf8')) as { version: string };
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `nodicorn ${version}\n`);
  });

  for (const fw of FRAMEWORKS) {
    test(`the installed bin hosts the ${fw} example: GET JSON, POST JSON, then a graceful stop`, async () => {
      const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', `${fw}/app.mjs`], {}, { cli: bin, cwd: project });
      try {
        const got = await request(`${gw.url}/`);
        assert.equal(got.status, 200);
        assert.match(got.headers['content-type'] ?? '', /application\/json/);
        const echoed = await request(`${gw.url}/echo`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ hello: fw }),
        });
        assert.equal(echoed.status, 200);
        assert.deepEqual(echoed.json().echo ?? echoed.json(), { hello: fw });
      } finally {
        assert.equal(await gw.stop(), 0);
      }
    });
  }

  test('serve() from the installed package starts a master from code and stops it with status 0', () => {
    const script = join(project, 'serve.mjs');
    writeFileSync(
      script,
      [
        "import { serve } from 'nodicorn';",
        "const gateway = await serve({ app: './fastify/app.mjs', bind: '127.0.0.1:0', workers: 1, loglevel: 'warning' });",
        'await gateway.ready;',
        "const res = await fetch('http://' + gateway.addresses[0] + '/');",
        'console.log(JSON.stringify({ status: res.status, type: res.headers.get("content-type") }));',
        'process.exitCode = await gateway.stop();',
        '',
      ].join('\n'),
    );
    const r = spawnSync(process.execPath, [script], { cwd: project, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { status: number; type: string };
    assert.equal(out.status, 200);
    assert.match(out.type, /application\/json/);
  });
});
