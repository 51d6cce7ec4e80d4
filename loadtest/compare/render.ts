// Re-renders report.md and the SVG charts of a finished run from its run.json,
// e.g. after a change to the report's layout, without measuring again:
//
//   node --import tsx loadtest/compare/render.ts loadtest/results/latest
//
// (latest is a link to the newest folder under runs/; a published folder is
// re-rendered the same way, and the diff then shows what a layout change does.)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RunInfo, renderReport } from './report.ts';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: render.ts RESULTS_DIR (holding run.json)');
  process.exit(2);
}
const info = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunInfo;
const report = renderReport(info);
writeFileSync(join(dir, 'report.md'), report.markdown);
for (const [file, svg] of Object.entries(report.charts)) writeFileSync(join(dir, file), svg);
console.log(`wrote ${join(dir, 'report.md')} and ${Object.keys(report.charts).length} charts`);
