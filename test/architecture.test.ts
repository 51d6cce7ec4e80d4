// The import rules of docs/architecture.md, checked on every source file: what each package may
// import, that nothing outside a test folder imports test code, that a package reaches another only
// by its name (never by a relative path into it), and that the published gateway and the sample app
// import only what their own package.json declares.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '@gw/harness';

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  workspaces?: string[];
}

const manifest = (dir: string): Manifest =>
  JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as Manifest;
const WORKSPACES = manifest('.').workspaces ?? [];
const WORKSPACE_NAMES = new Set(WORKSPACES.map((w) => manifest(w).name));

/** Areas of the tree and what their sources may import by name (besides node: and relative files). */
const AREAS: Array<{ dir: string; what: string; bare: (name: string) => boolean }> = [
  { dir: 'config/src', what: 'the limits loader', bare: () => false },
  { dir: 'server/src', what: 'the published gateway', bare: declaredBy('server', 'dependencies') },
  { dir: 'app/src', what: 'the sample app', bare: declaredBy('app', 'dependencies') },
  { dir: 'harness/src', what: 'the harness', bare: () => false },
  { dir: 'examples', what: 'the examples', bare: declaredBy('examples', 'dependencies') },
  { dir: 'loadtest/lib', what: 'the k6 library', bare: (n) => n === 'k6' || n.startsWith('k6/') },
  { dir: 'loadtest/scenarios', what: 'the k6 scripts', bare: (n) => n === 'k6' || n.startsWith('k6/') },
  { dir: 'loadtest/compare', what: 'the comparison runner', bare: (n) => n === '@gw/harness' },
  { dir: 'reliability', what: 'the fault scripts', bare: (n) => n === '@gw/harness' },
  { dir: 'server/bench', what: 'the benchmarks', bare: (n) => n === '@gw/harness' || n === '@gw/app' },
  { dir: 'server/scripts', what: "the gateway's generators", bare: (n) => n === '@gw/limits' },
];

function declaredBy(dir: string, field: 'dependencies'): (name: string) => boolean {
  const deps = new Set(Object.keys(manifest(dir)[field] ?? {}));
  return (name) => deps.has(name);
}

const isTestPath = (path: string): boolean => path.split(sep).some((part) => part === 'test' || part === 'tests');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir))) {
    const path = join(dir, entry);
    if (entry === 'node_modules' || entry === 'dist' || entry === 'results' || entry.startsWith('.')) continue;
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...sources(path));
    else if (/\.(ts|js|mjs)$/.test(entry) && !entry.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Module specifiers of static imports, re-exports, side-effect imports and import() of a literal. */
export function specifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gm,
    /^\s*import\s+'([^']+)'/gm,
    /\bimport\(\s*'([^']+)'\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) found.push(m[1] as string);
  return found;
}

const packageName = (spec: string): string =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');
const packageRoot = (file: string): string =>
  WORKSPACES.find((w) => file === w || file.startsWith(`${w}${sep}`)) ?? '.';

describe('imports follow docs/architecture.md', () => {
  it('reads the import forms the tree uses (the check below can fail)', () => {
    const text =
      "import a from 'x';\nimport type { B } from '../test/h.ts';\nexport { c } from './c.js';\nimport 'y';\nawait import('z');";
    assert.deepEqual(specifiers(text).sort(), ['../test/h.ts', './c.js', 'x', 'y', 'z']);
  });

  for (const area of AREAS) {
    it(`${area.dir} (${area.what})`, () => {
      const bad: string[] = [];
      for (const file of sources(area.dir)) {
        if (isTestPath(file)) continue;
        for (const spec of specifiers(readFileSync(join(ROOT, file), 'utf8'))) {
          if (spec.startsWith('.')) {
            const target = relative(ROOT, resolve(ROOT, dirname(file), spec));
            if (isTestPath(target)) bad.push(`${file}: imports test code ${spec}`);
            if (packageRoot(target) !== packageRoot(file))
              bad.push(`${file}: reaches into ${packageRoot(target)} by a path (${spec}): use its package name`);
            continue;
          }
          if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
          const name = packageName(spec);
          if (!area.bare(name)) {
            bad.push(
              `${file}: imports ${spec}, which ${area.dir} may not (${WORKSPACE_NAMES.has(name) ? 'a workspace' : 'a package'})`,
            );
          }
        }
      }
      assert.deepEqual(bad, []);
    });
  }
});

// The house's shape (docs/architecture.md): small modules, and lines a reader can take in.
describe('file and line sizes', () => {
  const tracked = spawnSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' });
  const files = tracked.status === 0 ? tracked.stdout.split('\0').filter(Boolean) : [];
  const code = files.filter((f) => /\.(ts|js|mjs|sh)$/.test(f) && !f.startsWith('loadtest/results/'));

  it('no source file (tests, fixtures and generated files aside) is over 400 lines', (t) => {
    if (files.length === 0) return t.skip('not a git checkout');
    const sourcesOnly = code.filter((f) => !isTestPath(f) && !/\.test\.|\.d\.ts$|fixtures\//.test(f));
    const long = sourcesOnly
      .map((f) => [f, readFileSync(join(ROOT, f), 'utf8').split('\n').length - 1] as const)
      .filter(([, n]) => n > 400)
      .map(([f, n]) => `${f}: ${n} lines`);
    assert.deepEqual(long, []);
  });

  it('no line of code, tests included, is over 140 characters', (t) => {
    if (files.length === 0) return t.skip('not a git checkout');
    const long: string[] = [];
    for (const f of code) {
      readFileSync(join(ROOT, f), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (line.length > 140) long.push(`${f}:${i + 1}: ${line.length} characters`);
        });
    }
    assert.deepEqual(long, []);
  });
});
