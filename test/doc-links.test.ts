// Every relative link in the README and the docs points at a file that exists,
// and a link to a heading (`file.md#anchor`) at a heading that exists, with
// GitHub's anchor rules. Links inside code are not links; external ones are not
// followed (no network here).
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The documents checked: the front door, docs/, the load-test guide, and the published reports. */
function documents(): string[] {
  const md = (dir: string) =>
    existsSync(join(ROOT, dir))
      ? readdirSync(join(ROOT, dir))
          .filter((f) => f.endsWith('.md'))
          .map((f) => join(dir, f))
      : [];
  const published = join('loadtest/results/published');
  const reports = readdirSync(join(ROOT, published)).map((d) => join(published, d, 'report.md'));
  return ['README.md', 'loadtest/README.md', ...md('docs'), ...md('server/docs'), ...reports].filter((f) =>
    existsSync(join(ROOT, f)),
  );
}

/** The text without fenced code blocks and inline code spans, where brackets are not links. */
function withoutCode(md: string): string {
  return md.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Link targets: [text](target) and ![alt](target), a title after the target allowed. */
function linksOf(md: string): string[] {
  return [...withoutCode(md).matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
}

/** GitHub's anchors for the headings of a document (a repeated heading gets -1, -2, …). */
function anchorsOf(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of md.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = m[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*]/g, '');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

test('anchors follow GitHub: punctuation dropped, spaces to hyphens, repeats numbered', () => {
  const a = anchorsOf("# The app contract (this project's WSGI)\n## The comparison: `npm run compare`\n## A\n## A\n");
  assert.deepEqual([...a], ['the-app-contract-this-projects-wsgi', 'the-comparison-npm-run-compare', 'a', 'a-1']);
});

test('every relative link in README.md and the docs resolves to a file (and heading) that exists', () => {
  const docs = documents();
  assert.ok(docs.includes('README.md') && docs.includes('docs/benchmarks.md'), docs.join(', '));
  const broken: string[] = [];
  let checked = 0;
  for (const doc of docs) {
    const text = readFileSync(join(ROOT, doc), 'utf8');
    for (const link of linksOf(text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:
      const [path, anchor] = link.split('#') as [string, string | undefined];
      const target = path === '' ? join(ROOT, doc) : resolve(ROOT, dirname(doc), decodeURIComponent(path));
      checked++;
      if (!existsSync(target)) {
        broken.push(`${doc}: ${link} (no ${relative(ROOT, target)})`);
        continue;
      }
      if (anchor && target.endsWith('.md') && !anchorsOf(readFileSync(target, 'utf8')).has(anchor))
        broken.push(`${doc}: ${link} (no heading #${anchor} in ${relative(ROOT, target)})`);
    }
  }
  assert.deepEqual(broken, []);
  assert.ok(checked > 30, `${checked} links checked`);
});
